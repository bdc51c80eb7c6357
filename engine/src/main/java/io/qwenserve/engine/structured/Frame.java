package io.qwenserve.engine.structured;

/**
 * One entry of a matcher's stack: the DFA state reached in a rule, above the frame to return to (null at the
 * bottom). The parent's state is the return state of the call. Immutable; equal stacks are equal.
 */
final class Frame {
    final int rule;
    final int state;
    final Frame parent;
    final int depth;
    private final int hash;

    Frame(int rule, int state, Frame parent) {
        this.rule = rule;
        this.state = state;
        this.parent = parent;
        this.depth = parent == null ? 0 : parent.depth + 1;
        this.hash = 31 * (31 * rule + state) + (parent == null ? 0 : parent.hash);
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof Frame f) || f.hash != hash || f.rule != rule || f.state != state) {
            return false;
        }
        return parent == null ? f.parent == null : parent.equals(f.parent);
    }

    @Override
    public int hashCode() {
        return hash;
    }
}
