package io.qwenserve.engine.structured;

import java.util.ArrayList;
import java.util.List;

/**
 * Parses the supported regex subset (ECMAScript syntax, as JSON Schema's {@code pattern} uses) into a
 * {@link RegexNode}. The whole text must match: a leading {@code ^} and a trailing {@code $} are accepted and
 * change nothing. Supported: literals and escaped metacharacters, {@code .}, classes {@code [...]} and
 * {@code [^...]} with ranges, {@code \d \D \w \W \s \S}, {@code \n \r \t \f \v \0 \xHH \\uHHHH}, groups
 * {@code (...)}, {@code (?:...)}, {@code (?<name>...)}, alternation, and the quantifiers {@code * + ? {n} {n,}
 * {n,m}} (lazy forms mean the same here). Not supported, each a {@link StructuredOutputException} naming it:
 * backreferences, lookaround, word boundaries, Unicode property escapes, inline flags, anchors inside the pattern.
 */
final class RegexParser {
    static final int MAX_REPEAT = 1000;

    private final String src;
    private int pos;

    private RegexParser(String src) {
        this.src = src;
    }

    static RegexNode parse(String regex) {
        RegexParser p = new RegexParser(regex);
        if (p.peek('^')) {
            p.pos++;
        }
        RegexNode n = p.alternation();
        if (p.pos < regex.length()) {
            throw p.error(p.peek(')') ? "unbalanced ')'" : "unexpected '" + (char) p.cp() + "'", null);
        }
        return n;
    }

    private boolean peek(char c) {
        return pos < src.length() && src.charAt(pos) == c;
    }

    private int cp() {
        return src.codePointAt(pos);
    }

    private boolean atEndAnchor() {
        return peek('$') && pos == src.length() - 1;
    }

    private StructuredOutputException error(String what, String construct) {
        return new StructuredOutputException("regex " + quote(src) + " at offset " + pos + ": " + what, construct);
    }

    private static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private RegexNode alternation() {
        List<RegexNode> options = new ArrayList<>();
        options.add(sequence());
        while (peek('|')) {
            pos++;
            options.add(sequence());
        }
        return options.size() == 1 ? options.get(0) : new RegexNode.Alt(options);
    }

    private RegexNode sequence() {
        List<RegexNode> items = new ArrayList<>();
        while (pos < src.length() && !peek('|') && !peek(')')) {
            if (atEndAnchor()) {
                pos++;
                break;
            }
            items.add(quantified(atom()));
        }
        return items.size() == 1 ? items.get(0) : new RegexNode.Seq(items);
    }

    private RegexNode quantified(RegexNode atom) {
        while (pos < src.length()) {
            int min, max;
            char c = src.charAt(pos);
            if (c == '*') {
                min = 0; max = -1; pos++;
            } else if (c == '+') {
                min = 1; max = -1; pos++;
            } else if (c == '?') {
                min = 0; max = 1; pos++;
            } else if (c == '{' && isBraceQuantifier()) {
                pos++;
                min = number();
                max = min;
                if (peek(',')) {
                    pos++;
                    max = peek('}') ? -1 : number();
                }
                pos++; // '}'
                if (max >= 0 && max < min) {
                    throw error("numbers out of order in {" + min + "," + max + "}", null);
                }
                if (min > MAX_REPEAT || max > MAX_REPEAT) {
                    throw error("repetition counts above " + MAX_REPEAT + " are not supported", "{n,m}");
                }
            } else {
                return atom;
            }
            if (peek('?')) {
                pos++; // lazy: the same set of strings
            } else if (peek('+')) {
                throw error("possessive quantifiers are not supported", "possessive quantifier");
            }
            atom = new RegexNode.Repeat(atom, min, max);
        }
        return atom;
    }

    private boolean isBraceQuantifier() {
        int i = pos + 1;
        int digits = 0;
        while (i < src.length() && Character.isDigit(src.charAt(i))) {
            i++;
            digits++;
        }
        if (digits == 0) {
            return false;
        }
        if (i < src.length() && src.charAt(i) == ',') {
            i++;
            while (i < src.length() && Character.isDigit(src.charAt(i))) {
                i++;
            }
        }
        return i < src.length() && src.charAt(i) == '}';
    }

    private int number() {
        int start = pos;
        while (pos < src.length() && Character.isDigit(src.charAt(pos))) {
            pos++;
        }
        try {
            return Integer.parseInt(src.substring(start, pos));
        } catch (NumberFormatException e) {
            throw error("repetition count too large", "{n,m}");
        }
    }

    private RegexNode atom() {
        int c = cp();
        switch (c) {
            case '(' -> {
                return group();
            }
            case '[' -> {
                return new RegexNode.Chars(charClass());
            }
            case '.' -> {
                pos++;
                return new RegexNode.Chars(CharSet.DOT);
            }
            case '\\' -> {
                return new RegexNode.Chars(escape(false));
            }
            case '^' -> throw error("'^' is only supported at the start of the pattern", "^");
            case '$' -> throw error("'$' is only supported at the end of the pattern", "$");
            case '*', '+', '?' -> throw error("nothing to repeat", null);
            default -> {
                pos += Character.charCount(c);
                return new RegexNode.Chars(CharSet.of(c));
            }
        }
    }

    private RegexNode group() {
        pos++; // '('
        if (peek('?')) {
            String rest = src.substring(pos);
            if (rest.startsWith("?:")) {
                pos += 2;
            } else if (rest.startsWith("?=") || rest.startsWith("?!") || rest.startsWith("?<=") || rest.startsWith("?<!")) {
                throw error("lookaround is not supported", "lookaround");
            } else if (rest.startsWith("?<")) {
                int close = src.indexOf('>', pos);
                if (close < 0) {
                    throw error("unterminated group name", null);
                }
                pos = close + 1;
            } else {
                throw error("inline flags and other (?...) groups are not supported", "(?");
            }
        }
        RegexNode inner = alternation();
        if (!peek(')')) {
            throw error("missing ')'", null);
        }
        pos++;
        return inner;
    }

    private CharSet charClass() {
        pos++; // '['
        boolean negate = peek('^');
        if (negate) {
            pos++;
        }
        CharSet set = CharSet.EMPTY;
        boolean first = true;
        while (true) {
            if (pos >= src.length()) {
                throw error("missing ']'", null);
            }
            if (peek(']') && !first) {
                pos++;
                break;
            }
            if (peek(']')) {
                throw error("empty character class", null);
            }
            first = false;
            CharSet lo = classAtom();
            if (peek('-') && pos + 1 < src.length() && src.charAt(pos + 1) != ']') {
                pos++;
                CharSet hi = classAtom();
                if (lo.single() < 0 || hi.single() < 0) {
                    throw error("a class escape cannot be a range end", null);
                }
                if (lo.single() > hi.single()) {
                    throw error("range out of order in character class", null);
                }
                set = set.union(CharSet.of(lo.single(), hi.single()));
            } else {
                set = set.union(lo);
            }
        }
        return negate ? set.negate() : set;
    }

    private CharSet classAtom() {
        if (peek('\\')) {
            return escape(true);
        }
        int c = cp();
        pos += Character.charCount(c);
        return CharSet.of(c);
    }

    private CharSet escape(boolean inClass) {
        pos++; // '\'
        if (pos >= src.length()) {
            throw error("trailing backslash", null);
        }
        char c = src.charAt(pos++);
        return switch (c) {
            case 'd' -> CharSet.DIGIT;
            case 'D' -> CharSet.DIGIT.negate();
            case 'w' -> CharSet.WORD;
            case 'W' -> CharSet.WORD.negate();
            case 's' -> CharSet.SPACE;
            case 'S' -> CharSet.NOT_SPACE;
            case 'n' -> CharSet.of('\n');
            case 'r' -> CharSet.of('\r');
            case 't' -> CharSet.of('\t');
            case 'f' -> CharSet.of('\f');
            case 'v' -> CharSet.of(0x0B);
            case '0' -> CharSet.of(0);
            case 'x' -> CharSet.of(hex(2));
            case 'u' -> CharSet.of(hex(4));
            case 'b' -> {
                if (inClass) {
                    yield CharSet.of(8);
                }
                throw error("word boundaries (\\b) are not supported", "\\b");
            }
            case 'B' -> throw error("word boundaries (\\B) are not supported", "\\B");
            case 'p', 'P' -> throw error("Unicode property escapes (\\" + c + ") are not supported", "\\" + c);
            case 'k' -> throw error("backreferences are not supported", "backreference");
            case 'c' -> throw error("control escapes (\\c) are not supported", "\\c");
            default -> {
                if (c >= '1' && c <= '9') {
                    throw error("backreferences are not supported", "backreference");
                }
                if (Character.isLetterOrDigit(c)) {
                    throw error("unknown escape \\" + c, "\\" + c);
                }
                yield CharSet.of(c);
            }
        };
    }

    private int hex(int digits) {
        if (pos + digits > src.length()) {
            throw error("truncated hex escape", null);
        }
        try {
            int v = Integer.parseInt(src.substring(pos, pos + digits), 16);
            pos += digits;
            if (v >= 0xD800 && v <= 0xDFFF) {
                throw error("surrogate code points are not characters", null);
            }
            return v;
        } catch (NumberFormatException e) {
            throw error("bad hex escape", null);
        }
    }
}
