package io.qwenserve.engine.structured;

import java.util.ArrayList;
import java.util.List;

/**
 * Builds NFA fragments for parsed regexes, either over the raw UTF-8 text ({@link Encoding#RAW}, for the
 * {@code regex} format) or over the text as it appears inside a JSON string literal ({@link Encoding#JSON_STRING},
 * for {@code pattern} and {@code format}): there {@code "} and {@code \} are written escaped and control
 * characters as {@code \n}, {@code \t}, ... or {@code \\u00XX}, so the decoded string is what the regex matches.
 */
final class RegexEmitter {
    enum Encoding { RAW, JSON_STRING }

    /** Characters a JSON string may hold unescaped. */
    static final CharSet JSON_PLAIN = CharSet.of(0x20, CharSet.MAX).minus(CharSet.ofChars("\"\\"));

    private final Nfa nfa;
    private final Encoding encoding;

    RegexEmitter(Nfa nfa, Encoding encoding) {
        this.nfa = nfa;
        this.encoding = encoding;
    }

    Nfa.Frag emit(RegexNode node) {
        if (node instanceof RegexNode.Chars c) {
            return chars(c.set());
        }
        if (node instanceof RegexNode.Seq s) {
            List<Nfa.Frag> parts = new ArrayList<>();
            for (RegexNode n : s.items()) {
                parts.add(emit(n));
            }
            return nfa.seq(parts);
        }
        if (node instanceof RegexNode.Alt a) {
            List<Nfa.Frag> parts = new ArrayList<>();
            for (RegexNode n : a.options()) {
                parts.add(emit(n));
            }
            return nfa.alt(parts);
        }
        RegexNode.Repeat r = (RegexNode.Repeat) node;
        return nfa.repeat(() -> emit(r.node()), r.min(), r.max());
    }

    Nfa.Frag chars(CharSet set) {
        if (encoding == Encoding.RAW) {
            return nfa.chars(set);
        }
        return jsonChars(nfa, set);
    }

    /** One character of {@code set} as JSON string content. */
    static Nfa.Frag jsonChars(Nfa nfa, CharSet set) {
        List<Nfa.Frag> options = new ArrayList<>();
        CharSet plain = set.intersect(JSON_PLAIN);
        if (!plain.isEmpty()) {
            options.add(nfa.chars(plain));
        }
        if (set.contains('"')) {
            options.add(nfa.literal("\\\""));
        }
        if (set.contains('\\')) {
            options.add(nfa.literal("\\\\"));
        }
        for (int c = 0; c < 0x20; c++) {
            if (set.contains(c)) {
                options.add(nfa.literal(escapeControl(c)));
            }
        }
        if (options.isEmpty()) {
            throw new StructuredOutputException("a character class matches nothing");
        }
        return nfa.alt(options);
    }

    static String escapeControl(int c) {
        return switch (c) {
            case '\b' -> "\\b";
            case '\f' -> "\\f";
            case '\n' -> "\\n";
            case '\r' -> "\\r";
            case '\t' -> "\\t";
            default -> String.format("\\u%04x", c);
        };
    }
}
