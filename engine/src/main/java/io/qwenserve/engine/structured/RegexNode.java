package io.qwenserve.engine.structured;

import java.util.List;

/** The parsed form of a regex in the supported subset ({@link RegexParser}). */
sealed interface RegexNode {
    /** One character from a set. */
    record Chars(CharSet set) implements RegexNode {}

    /** Concatenation; empty is the empty string. */
    record Seq(List<RegexNode> items) implements RegexNode {}

    record Alt(List<RegexNode> options) implements RegexNode {}

    /** {@code max < 0}: unbounded. */
    record Repeat(RegexNode node, int min, int max) implements RegexNode {}
}
