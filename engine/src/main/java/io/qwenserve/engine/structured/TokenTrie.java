package io.qwenserve.engine.structured;

import io.qwenserve.engine.tokenizer.QwenTokenizer;
import java.util.Arrays;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * The regular tokens of a vocabulary as a byte trie in preorder: node i's subtree is [i, end[i]), so a walk that
 * finds a prefix impossible skips the whole subtree with one assignment. Special tokens are not in it: a constrained
 * output never contains them, except the end-of-sequence ids the matcher allows where the output is complete.
 */
final class TokenTrie {
    private static final Map<QwenTokenizer, TokenTrie> BY_TOKENIZER = new WeakHashMap<>();

    final int vocabSize;
    final int nodes;
    /** Per node: the byte leading to it, its depth, the end of its subtree, and the token ending there (-1: none). */
    final byte[] nodeByte;
    final short[] depth;
    final int[] end;
    final int[] token;
    final int maxDepth;

    private TokenTrie(int vocabSize, byte[][] tokenBytes) {
        this.vocabSize = vocabSize;
        Integer[] order = new Integer[tokenBytes.length];
        int n = 0;
        long totalBytes = 0;
        for (int id = 0; id < tokenBytes.length; id++) {
            if (tokenBytes[id] != null && tokenBytes[id].length > 0) {
                order[n++] = id;
                totalBytes += tokenBytes[id].length;
            }
        }
        Integer[] ids = Arrays.copyOf(order, n);
        Arrays.sort(ids, (a, b) -> Arrays.compareUnsigned(tokenBytes[a], tokenBytes[b]));
        int cap = (int) Math.min(totalBytes + 1, Integer.MAX_VALUE);
        byte[] nb = new byte[cap];
        short[] dep = new short[cap];
        int[] en = new int[cap];
        int[] tok = new int[cap];
        int[] path = new int[1024]; // node index at each depth of the current path
        int count = 1, pathLen = 0, maxD = 0;
        tok[0] = -1;
        byte[] prev = new byte[0];
        for (int id : ids) {
            byte[] t = tokenBytes[id];
            int lcp = 0;
            while (lcp < prev.length && lcp < t.length && prev[lcp] == t[lcp]) {
                lcp++;
            }
            while (pathLen > lcp) {
                en[path[--pathLen]] = count;
            }
            for (int d = lcp; d < t.length; d++) {
                nb[count] = t[d];
                dep[count] = (short) (d + 1);
                tok[count] = -1;
                path[pathLen++] = count++;
            }
            tok[path[t.length - 1]] = id;
            maxD = Math.max(maxD, t.length);
            prev = t;
        }
        while (pathLen > 0) {
            en[path[--pathLen]] = count;
        }
        en[0] = count;
        this.nodes = count;
        this.nodeByte = Arrays.copyOf(nb, count);
        this.depth = Arrays.copyOf(dep, count);
        this.end = Arrays.copyOf(en, count);
        this.token = Arrays.copyOf(tok, count);
        this.maxDepth = maxD;
    }

    /** The trie of a tokenizer's regular tokens, built once per tokenizer. */
    static TokenTrie of(QwenTokenizer tokenizer) {
        synchronized (BY_TOKENIZER) {
            return BY_TOKENIZER.computeIfAbsent(tokenizer, TokenTrie::build);
        }
    }

    private static TokenTrie build(QwenTokenizer tokenizer) {
        int v = tokenizer.vocabSize();
        byte[][] bytes = new byte[v][];
        for (int id = 0; id < v; id++) {
            if (!tokenizer.isSpecial(id)) {
                try {
                    bytes[id] = tokenizer.tokenBytes(id);
                } catch (IllegalArgumentException unused) {
                    bytes[id] = null; // an unused id
                }
            }
        }
        return new TokenTrie(v, bytes);
    }

    /** For tests: a trie over the given token byte strings (null entries are unused ids). */
    static TokenTrie ofTokens(byte[][] tokenBytes) {
        return new TokenTrie(tokenBytes.length, tokenBytes);
    }

    long bytes() {
        return (long) nodes * (1 + 2 + 4 + 4);
    }
}
