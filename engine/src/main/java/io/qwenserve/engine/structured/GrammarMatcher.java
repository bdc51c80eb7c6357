package io.qwenserve.engine.structured;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One sequence's position in a {@link CompiledGrammar}: which tokens may come next ({@link #mask()}), advanced by
 * each accepted token. Keeps the state after every token, so it can be rolled back or rebuilt by replaying the
 * tokens (a preempted sequence keeps its matcher; its tokens are the same after recompute). Not thread-safe: one
 * owner, the engine loop.
 */
public final class GrammarMatcher {
    private final CompiledGrammar grammar;
    private final TokenBytes tokens;
    private final int[] endIds;
    private final List<MatchState> states = new ArrayList<>();
    private boolean ended;

    /** Token bytes by id (regular tokens); the engine passes its tokenizer's. */
    @FunctionalInterface
    public interface TokenBytes {
        /** The bytes of a regular token, or null for a special or unknown id. */
        byte[] bytes(int id);
    }

    GrammarMatcher(CompiledGrammar grammar, TokenBytes tokens, int[] endIds) {
        this.grammar = grammar;
        this.tokens = tokens;
        this.endIds = endIds.clone();
        Arrays.sort(this.endIds);
        states.add(grammar.start());
    }

    public CompiledGrammar grammar() {
        return grammar;
    }

    /** The mask for the next token (from the shared cache). */
    public TokenMask mask() {
        return grammar.mask(current());
    }

    /** Whether {@code id} may come next: a regular token the grammar continues with, or an end id where complete. */
    public boolean allows(int id) {
        if (ended) {
            return false;
        }
        if (isEnd(id)) {
            return current().accepting;
        }
        byte[] b = tokens.bytes(id);
        return b != null && b.length > 0 && grammar.advance(current(), b) != MatchState.DEAD;
    }

    /**
     * Advances by one token. Returns false, changing nothing, if the token is not allowed. An end id (where
     * allowed) ends the matcher.
     */
    public boolean accept(int id) {
        if (ended) {
            return false;
        }
        if (isEnd(id)) {
            if (!current().accepting) {
                return false;
            }
            ended = true;
            return true;
        }
        byte[] b = tokens.bytes(id);
        if (b == null || b.length == 0) {
            return false;
        }
        MatchState next = grammar.advance(current(), b);
        if (next == MatchState.DEAD) {
            return false;
        }
        states.add(next);
        return true;
    }

    /** The output so far is complete (the grammar accepts it): end-of-sequence is allowed. */
    public boolean isComplete() {
        return current().accepting;
    }

    /** Nothing but the end can follow: complete, and no byte can extend the output. */
    public boolean mustEnd() {
        return current().accepting && !current().canReadByte();
    }

    /** An end id was accepted. */
    public boolean ended() {
        return ended;
    }

    /** Regular tokens accepted so far. */
    public int tokenCount() {
        return states.size() - 1;
    }

    /** Forgets the last {@code n} regular tokens (and an accepted end). */
    public void rollback(int n) {
        if (n < 0 || n > tokenCount()) {
            throw new IllegalArgumentException("cannot roll back " + n + " of " + tokenCount() + " tokens");
        }
        for (int i = 0; i < n; i++) {
            states.remove(states.size() - 1);
        }
        ended = false;
    }

    /** Back to the start, then accepts {@code ids} in order; false (at the first refused one) if any is refused. */
    public boolean replay(int[] ids) {
        rollback(tokenCount());
        for (int id : ids) {
            if (!accept(id)) {
                return false;
            }
        }
        return true;
    }

    private MatchState current() {
        return states.get(states.size() - 1);
    }

    private boolean isEnd(int id) {
        return Arrays.binarySearch(endIds, id) >= 0;
    }
}
