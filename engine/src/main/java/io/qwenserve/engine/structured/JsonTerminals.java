package io.qwenserve.engine.structured;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * NFA fragments for JSON's lexical pieces: bounded whitespace, strings (with length bounds, patterns, formats, or
 * excluding given keys), numbers and integers (with bounds), and literal values. Numbers are bounded so that output
 * stays meaningful and finite: at most {@value #MAX_DIGITS} integer digits, {@value #MAX_DIGITS} fraction digits and
 * a two-digit exponent.
 */
final class JsonTerminals {
    static final int MAX_DIGITS = 16;
    private static final BigInteger INT_LIMIT = BigInteger.TEN.pow(MAX_DIGITS).subtract(BigInteger.ONE);
    private static final CharSet WS = CharSet.ofChars(" \t\n\r");
    private static final CharSet HEX = CharSet.of('0', '9').union(CharSet.of('a', 'f')).union(CharSet.of('A', 'F'));
    /** Formats as patterns over the decoded string (every match is valid for the format). */
    private static final Map<String, String> FORMATS = Map.of(
            "date", date(),
            "time", time(),
            "date-time", date() + "T" + time(),
            "uuid", "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "email", "[a-z0-9]{1,15}(?:[._+-][a-z0-9]{1,15}){0,3}@[a-z0-9]{1,20}(?:-[a-z0-9]{1,20})?"
                    + "(?:\\.[a-z0-9]{1,20}){0,2}\\.(?:com|org|net|edu|io)",
            "ipv4", "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(?:\\.(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}");

    private final Nfa nfa;
    private final int maxWhitespace;

    JsonTerminals(Nfa nfa, int maxWhitespace) {
        this.nfa = nfa;
        this.maxWhitespace = maxWhitespace;
    }

    static boolean knownFormat(String format) {
        return FORMATS.containsKey(format);
    }

    private static String date() {
        return "[12]\\d{3}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1\\d|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)";
    }

    private static String time() {
        return "(?:[01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(?:\\.\\d{1,6})?(?:Z|[+-](?:0\\d|1[0-7]):[0-5]\\d)"; // offsets within +-18:00, as java.time allows
    }

    /** Between structural characters: at most {@code maxWhitespace} of space, tab, newline, carriage return. */
    Nfa.Frag ws() {
        return nfa.repeat(() -> nfa.chars(WS), 0, maxWhitespace);
    }

    Nfa.Frag literal(String text) {
        return nfa.literal(text);
    }

    /** One character of string content: unescaped, or an escape ({@code \\uXXXX} never a surrogate). */
    Nfa.Frag stringChar() {
        Nfa.Frag simple = nfa.seq(nfa.literal("\\"), nfa.chars(CharSet.ofChars("\"\\/bfnrt")));
        Nfa.Frag notSurrogate = nfa.alt(List.of(
                nfa.seq(nfa.chars(CharSet.ofChars("0123456789abcefABCEF")), hex(), hex(), hex()),
                nfa.seq(nfa.chars(CharSet.ofChars("dD")), nfa.chars(CharSet.of('0', '7')), hex(), hex())));
        Nfa.Frag unicode = nfa.seq(nfa.literal("\\u"), notSurrogate);
        return nfa.alt(List.of(nfa.chars(RegexEmitter.JSON_PLAIN), simple, unicode));
    }

    private Nfa.Frag hex() {
        return nfa.chars(HEX);
    }

    /** A string of {@code min} to {@code max} characters ({@code max < 0}: unbounded). */
    Nfa.Frag string(int min, int max) {
        return nfa.seq(nfa.literal("\""), nfa.repeat(this::stringChar, min, max), nfa.literal("\""));
    }

    /** A string whose decoded value matches {@code regex} whole. */
    Nfa.Frag pattern(String regex) {
        RegexNode node = RegexParser.parse(regex);
        Nfa.Frag body = new RegexEmitter(nfa, RegexEmitter.Encoding.JSON_STRING).emit(node);
        return nfa.seq(nfa.literal("\""), body, nfa.literal("\""));
    }

    Nfa.Frag format(String format) {
        String regex = FORMATS.get(format);
        if (regex == null) {
            throw new StructuredOutputException("unsupported JSON Schema format \"" + format + "\" (supported: "
                    + new TreeMap<>(FORMATS).keySet() + ")", "format");
        }
        return pattern(regex);
    }

    /** A key string, unescaped characters only, that is none of {@code excluded}. */
    Nfa.Frag stringExcept(List<String> excluded) {
        KeyTrie root = new KeyTrie();
        for (String key : excluded) {
            if (key.codePoints().allMatch(RegexEmitter.JSON_PLAIN::contains)) {
                KeyTrie n = root;
                for (int cp : key.codePoints().toArray()) {
                    n = n.children.computeIfAbsent(cp, c -> new KeyTrie());
                }
                n.terminal = true;
            }
        }
        return nfa.seq(nfa.literal("\""), notIn(root), nfa.literal("\""));
    }

    private static final class KeyTrie {
        final TreeMap<Integer, KeyTrie> children = new TreeMap<>();
        boolean terminal;
    }

    private Nfa.Frag notIn(KeyTrie node) {
        List<Nfa.Frag> options = new ArrayList<>();
        CharSet others = RegexEmitter.JSON_PLAIN;
        for (int cp : node.children.keySet()) {
            others = others.minus(CharSet.of(cp));
        }
        options.add(nfa.seq(nfa.chars(others), nfa.star(nfa.chars(RegexEmitter.JSON_PLAIN))));
        node.children.forEach((cp, child) -> options.add(nfa.seq(nfa.chars(CharSet.of(cp)), notIn(child))));
        if (!node.terminal) {
            options.add(nfa.empty());
        }
        return nfa.alt(options);
    }

    // ---- numbers ----

    /** An integer in [lo, hi] (null: unbounded), clamped to {@value #MAX_DIGITS} digits. */
    Nfa.Frag integer(BigInteger lo, BigInteger hi) {
        BigInteger a = lo == null ? INT_LIMIT.negate() : lo.max(INT_LIMIT.negate());
        BigInteger b = hi == null ? INT_LIMIT : hi.min(INT_LIMIT);
        if (a.compareTo(b) > 0) {
            throw new StructuredOutputException("no integer of at most " + MAX_DIGITS
                    + " digits lies between minimum and maximum", "minimum");
        }
        return nfa.alt(intRange(a, b, false));
    }

    /**
     * A number within the bounds (null: unbounded). Bounds are met by the integer part: a bound that is not an
     * integer is rounded inward, and a fraction is only written where every fraction keeps the value in range; no
     * exponent when bounded.
     */
    Nfa.Frag number(BigDecimal lo, boolean loExclusive, BigDecimal hi, boolean hiExclusive) {
        Nfa.Frag frac = nfa.seq(nfa.literal("."), digits(1, MAX_DIGITS));
        if (lo == null && hi == null) {
            Nfa.Frag exp = nfa.seq(nfa.chars(CharSet.ofChars("eE")), nfa.opt(nfa.chars(CharSet.ofChars("+-"))), digits(1, 2));
            Nfa.Frag negativeFraction = nfa.seq(nfa.literal("-0"), frac); // -0.5: its integer part is no integer
            return nfa.seq(nfa.alt(List.of(nfa.seq(integer(null, null), nfa.opt(frac)), negativeFraction)), nfa.opt(exp));
        }
        BigInteger a = lo == null ? INT_LIMIT.negate()
                : loExclusive ? lo.setScale(0, RoundingMode.FLOOR).toBigInteger().add(BigInteger.ONE)
                : lo.setScale(0, RoundingMode.CEILING).toBigInteger();
        BigInteger b = hi == null ? INT_LIMIT
                : hiExclusive ? hi.setScale(0, RoundingMode.CEILING).toBigInteger().subtract(BigInteger.ONE)
                : hi.setScale(0, RoundingMode.FLOOR).toBigInteger();
        a = a.max(INT_LIMIT.negate());
        b = b.min(INT_LIMIT);
        if (a.compareTo(b) > 0) {
            throw new StructuredOutputException("no number the automaton can write lies between minimum and maximum"
                    + " (bounds are met with integer parts)", "minimum");
        }
        List<Nfa.Frag> options = new ArrayList<>(intRange(a, b, false));
        // k.f lies in [k, k+1) and -k.f in (-k-1, -k]: whole fractions stay in range
        options.addAll(withFraction(intRange(a.max(BigInteger.ZERO), b.subtract(BigInteger.ONE), true)));
        if (a.signum() < 0 && b.signum() >= 0) {
            options.add(nfa.seq(nfa.literal("-0"), nfa.literal("."), digits(1, MAX_DIGITS))); // (-1, 0]
        }
        BigInteger negLo = b.negate().max(BigInteger.ONE), negHi = a.negate().subtract(BigInteger.ONE);
        if (negLo.compareTo(negHi) <= 0) {
            options.addAll(withFraction(List.of(nfa.seq(nfa.literal("-"), nfa.alt(nonNegative(negLo, negHi))))));
        }
        return nfa.alt(options);
    }

    private List<Nfa.Frag> withFraction(List<Nfa.Frag> ints) {
        List<Nfa.Frag> out = new ArrayList<>();
        for (Nfa.Frag f : ints) {
            out.add(nfa.seq(f, nfa.literal("."), digits(1, MAX_DIGITS)));
        }
        return out;
    }

    /** Alternatives writing each integer of [a, b] once (no {@code -0}); empty if a > b. */
    private List<Nfa.Frag> intRange(BigInteger a, BigInteger b, boolean nonNegativeOnly) {
        List<Nfa.Frag> out = new ArrayList<>();
        if (a.compareTo(b) > 0) {
            return out;
        }
        if (b.signum() >= 0) {
            out.addAll(nonNegative(a.max(BigInteger.ZERO), b));
        }
        if (a.signum() < 0 && !nonNegativeOnly) {
            BigInteger magLo = b.signum() < 0 ? b.negate() : BigInteger.ONE;
            out.add(nfa.seq(nfa.literal("-"), nfa.alt(nonNegative(magLo, a.negate()))));
        }
        return out;
    }

    /** Canonical decimals (no leading zeros) of [a, b], a >= 0, split by length. */
    private List<Nfa.Frag> nonNegative(BigInteger a, BigInteger b) {
        List<Nfa.Frag> out = new ArrayList<>();
        for (int len = a.toString().length(); len <= b.toString().length(); len++) {
            BigInteger low = len == 1 ? BigInteger.ZERO : BigInteger.TEN.pow(len - 1);
            BigInteger high = BigInteger.TEN.pow(len).subtract(BigInteger.ONE);
            BigInteger x = a.max(low), y = b.min(high);
            if (x.compareTo(y) <= 0) {
                out.add(sameLength(x.toString(), y.toString()));
            }
        }
        return out;
    }

    /** Digit strings of one length between x and y (leading zeros allowed: used for tails). */
    private Nfa.Frag sameLength(String x, String y) {
        if (x.equals(y)) {
            return nfa.literal(x);
        }
        int n = x.length();
        char x0 = x.charAt(0), y0 = y.charAt(0);
        if (n == 1) {
            return nfa.chars(CharSet.of(x0, y0));
        }
        String xt = x.substring(1), yt = y.substring(1);
        if (x0 == y0) {
            return nfa.seq(nfa.literal(String.valueOf(x0)), sameLength(xt, yt));
        }
        List<Nfa.Frag> options = new ArrayList<>();
        char midLo = x0, midHi = y0;
        if (!xt.chars().allMatch(c -> c == '0')) {
            options.add(nfa.seq(nfa.literal(String.valueOf(x0)), sameLength(xt, "9".repeat(n - 1))));
            midLo++;
        }
        if (!yt.chars().allMatch(c -> c == '9')) {
            options.add(nfa.seq(nfa.literal(String.valueOf(y0)), sameLength("0".repeat(n - 1), yt)));
            midHi--;
        }
        if (midLo <= midHi) {
            options.add(nfa.seq(nfa.chars(CharSet.of(midLo, midHi)), digits(n - 1, n - 1)));
        }
        return nfa.alt(options);
    }

    private Nfa.Frag digits(int min, int max) {
        return nfa.repeat(() -> nfa.chars(CharSet.DIGIT), min, max);
    }
}
