package io.qwenserve.service.openai.react;

/** Python's {@code str.strip()}, {@code rstrip()} and {@code lstrip('\n')}, whose whitespace is wider than Java's {@code strip()}. */
final class PyStr {
    private PyStr() {
    }

    /** {@code str.isspace()} for one char: Java whitespace, Unicode space separators (no-break ones too) and U+0085. */
    static boolean isSpace(char c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == '\u0085';
    }

    static String rstrip(String s) {
        int end = s.length();
        while (end > 0 && isSpace(s.charAt(end - 1))) {
            end--;
        }
        return s.substring(0, end);
    }

    static String strip(String s) {
        int start = 0;
        while (start < s.length() && isSpace(s.charAt(start))) {
            start++;
        }
        return rstrip(s.substring(start));
    }

    static String lstripNewlines(String s) {
        int start = 0;
        while (start < s.length() && s.charAt(start) == '\n') {
            start++;
        }
        return s.substring(start);
    }

    /** {@code (s or "").lstrip("\n").rstrip()}: how openai_api.py normalises every message content. */
    static String normalise(String s) {
        return rstrip(lstripNewlines(s == null ? "" : s));
    }
}
