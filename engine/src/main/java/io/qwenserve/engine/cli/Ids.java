package io.qwenserve.engine.cli;

import java.util.Arrays;
import java.util.stream.Collectors;

/** Parses and prints id lists. */
final class Ids {
    private Ids() {}

    /** "1,2,3" or "1 2 3". */
    static int[] parse(String s) {
        String t = s.trim();
        if (t.isEmpty()) {
            return new int[0];
        }
        try {
            return Arrays.stream(t.split("[,\\s]+")).mapToInt(Integer::parseInt).toArray();
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad id list '" + s + "': expected comma-separated integers");
        }
    }

    static String spaced(int[] ids) {
        return Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(" "));
    }
}
