package io.qwenserve.engine.tokenizer;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The special (added / control) tokens of a tokenizer: the surface-form to id table and the literal
 * leftmost-first search for surface forms in text (tiktoken semantics, reference §5.4). At one text
 * position the longest recognised surface form wins.
 */
final class SpecialTokens {
    /** Qwen v1: {@code <|extra_0|>} .. {@code <|extra_204|>} after the three ChatML tokens. */
    private static final int V1_EXTRA_COUNT = 205;

    /** A surface form found in text. */
    record Match(int start, String surface, int id) {
        int end() {
            return start + surface.length();
        }
    }

    private final Map<String, Integer> ids;
    /** First characters of all surface forms, for a cheap scan. */
    private final BitSet firstChars = new BitSet();
    /** Surface forms by first character, longest first. */
    private final Map<Character, List<String>> byFirstChar = new HashMap<>();

    /** @param ids surface form to id, in the order {@link #asMap()} should report them */
    SpecialTokens(Map<String, Integer> ids) {
        this.ids = Collections.unmodifiableMap(new LinkedHashMap<>(ids));
        for (String s : ids.keySet()) {
            if (s.isEmpty()) {
                throw new IllegalArgumentException("empty special-token surface form");
            }
            firstChars.set(s.charAt(0));
            byFirstChar.computeIfAbsent(s.charAt(0), c -> new ArrayList<>()).add(s);
        }
        byFirstChar.values().forEach(l -> l.sort(Comparator.comparingInt(String::length).reversed()));
    }

    /** Qwen v1's 208 special tokens: endoftext, im_start, im_end, extra_0..204 = 151643..151850. */
    static SpecialTokens qwenV1() {
        Map<String, Integer> m = new LinkedHashMap<>();
        m.put("<|endoftext|>", QwenTokenizer.ENDOFTEXT);
        m.put("<|im_start|>", QwenTokenizer.IM_START);
        m.put("<|im_end|>", QwenTokenizer.IM_END);
        for (int i = 0; i < V1_EXTRA_COUNT; i++) {
            m.put("<|extra_" + i + "|>", QwenTokenizer.IM_END + 1 + i);
        }
        return new SpecialTokens(m);
    }

    Map<String, Integer> asMap() {
        return ids;
    }

    Integer id(String surface) {
        return ids.get(surface);
    }

    /**
     * The leftmost occurrence at or after {@code from} of a surface form that {@code allowed} recognises,
     * or {@code null}.
     */
    Match find(String text, int from, AllowedSpecial allowed) {
        for (int i = from, n = text.length(); i < n; i++) {
            char c = text.charAt(i);
            if (!firstChars.get(c)) {
                continue;
            }
            for (String s : byFirstChar.get(c)) {
                if (text.startsWith(s, i) && allowed.allows(s)) {
                    return new Match(i, s, ids.get(s));
                }
            }
        }
        return null;
    }
}
