package io.qwenserve.engine.structured;

import io.qwenserve.engine.tokenizer.QwenTokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * The constraint engine's own costs, without a model: automaton build time of a format, cost of a mask computed by
 * walking the vocabulary trie (cold) and of a constrained step once masks are cached (warm: mask lookup, a token
 * pick and the matcher's advance), and the heap of the mask cache after a number of random walks.
 */
public final class FormatBenchmark {
    private final QwenTokenizer tokenizer;

    public FormatBenchmark(QwenTokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /** An object of {@code n} required properties cycling through ten kinds (strings, numbers, enums, dates, arrays, objects). */
    public static String propertiesSchema(int n) {
        String[] kinds = {
            "{\"type\": \"string\", \"maxLength\": 16}", "{\"type\": \"integer\", \"minimum\": 0, \"maximum\": 100000}",
            "{\"type\": \"number\"}", "{\"type\": \"boolean\"}", "{\"enum\": [\"low\", \"medium\", \"high\"]}",
            "{\"type\": \"string\", \"format\": \"date\"}", "{\"type\": \"array\", \"items\": {\"type\": \"integer\"}, \"maxItems\": 4}",
            "{\"type\": [\"string\", \"null\"], \"maxLength\": 8}", "{\"type\": \"string\", \"format\": \"email\"}",
            "{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"integer\"}, \"b\": {\"type\": \"string\", \"maxLength\": 6}}, \"required\": [\"a\"]}"};
        StringBuilder props = new StringBuilder(), req = new StringBuilder();
        for (int i = 0; i < n; i++) {
            String sep = i > 0 ? ", " : "";
            props.append(sep).append("\"field_").append(i).append("\": ").append(kinds[i % kinds.length]);
            req.append(sep).append("\"field_").append(i).append('"');
        }
        return "{\"type\": \"object\", \"properties\": {" + props + "}, \"required\": [" + req + "], \"additionalProperties\": false}";
    }

    /**
     * Measures one format.
     *
     * @param compileRounds fresh compilations timed (median and min reported)
     * @param walks         random walks (seeded) through the masks: the first fills the cache
     */
    public Map<String, Object> run(ResponseFormat format, int compileRounds, int walks, long seed) {
        Map<String, Object> out = new LinkedHashMap<>();
        long t0 = System.nanoTime();
        StructuredOutputs warmup = new StructuredOutputs(tokenizer);
        out.put("trie_nodes", warmup.trieNodes());
        out.put("first_use_ms", ms(System.nanoTime() - t0)); // trie (once per tokenizer) and first compile
        warmup.compile(format);
        double[] compile = new double[compileRounds];
        CompiledGrammar g = null;
        for (int i = 0; i < compileRounds; i++) {
            StructuredOutputs fresh = new StructuredOutputs(tokenizer);
            long c0 = System.nanoTime();
            g = fresh.compile(format);
            compile[i] = ms(System.nanoTime() - c0);
        }
        Arrays.sort(compile);
        out.put("automaton_states", g.automatonStates());
        out.put("automaton_rules", g.rules());
        out.put("compile_ms_median", compile[compile.length / 2]);
        out.put("compile_ms_min", compile[0]);

        StructuredOutputs so = new StructuredOutputs(tokenizer);
        CompiledGrammar grammar = so.compile(format);
        Random rnd = new Random(seed);
        Set<Integer> ends = Set.of(QwenTokenizer.IM_END);
        long coldNanos = 0, warmNanos = 0;
        int coldTokens = 0, warmTokens = 0, complete = 0;
        List<Integer> lengths = new ArrayList<>();
        List<int[]> walked = new ArrayList<>();
        for (int w = 0; w < walks; w++) {
            GrammarMatcher m = so.matcher(grammar, ends);
            long[] timed = new long[1];
            List<Integer> ids = new ArrayList<>();
            int n = walk(m, rnd, timed, ids);
            walked.add(ids.stream().mapToInt(Integer::intValue).toArray());
            complete += m.ended() ? 1 : 0;
            lengths.add(n);
            if (w == 0) {
                coldNanos += timed[0];
                coldTokens += n;
            } else {
                warmNanos += timed[0];
                warmTokens += n;
            }
        }
        MaskCache.Stats st = so.maskCacheStats();
        // the same walks again: every mask is cached now
        long replayNanos = 0;
        int replayTokens = 0;
        for (int[] ids : walked) {
            GrammarMatcher m = so.matcher(grammar, ends);
            long r0 = System.nanoTime();
            for (int id : ids) {
                m.mask();
                m.accept(id);
            }
            m.mask();
            replayNanos += System.nanoTime() - r0;
            replayTokens += ids.length;
        }
        out.put("walks", walks);
        out.put("walks_complete", complete);
        out.put("tokens_per_walk_mean", lengths.stream().mapToInt(Integer::intValue).average().orElse(0));
        out.put("masks_computed", st.misses());
        out.put("mask_compute_us_mean", st.misses() == 0 ? 0 : round(st.computeNanos() / 1e3 / st.misses()));
        // matcher time per token (mask + advance), the token pick excluded
        out.put("first_walk_us_per_token", coldTokens == 0 ? 0 : round(coldNanos / 1e3 / coldTokens));
        out.put("later_walks_us_per_token", warmTokens == 0 ? 0 : round(warmNanos / 1e3 / warmTokens));
        out.put("cached_us_per_token", replayTokens == 0 ? 0 : round(replayNanos / 1e3 / replayTokens));
        out.put("mask_cache_entries", st.entries());
        out.put("mask_cache_bytes", st.bytes());
        out.put("automaton_bytes", grammar.automatonBytes());
        out.put("interned_states", grammar.internedStates());
        return out;
    }

    /**
     * Uniform over allowed tokens; ends with probability 1/2 where complete; after 400 tokens prefers closers. Adds
     * the time of the matcher's work alone (mask lookup or computation, and the advance) to {@code timed[0]}.
     */
    private int walk(GrammarMatcher m, Random rnd, long[] timed, List<Integer> ids) {
        int n = 0;
        while (n < 2000) {
            long t0 = System.nanoTime();
            TokenMask mask = m.mask();
            timed[0] += System.nanoTime() - t0;
            if (mask.endAllowed() && (mask.count() == 0 || rnd.nextBoolean())) {
                m.accept(QwenTokenizer.IM_END);
                return n;
            }
            if (mask.count() == 0) {
                return n;
            }
            int id = -1;
            if (n >= 400) {
                for (char c : "\"}]0".toCharArray()) {
                    int cand = tokenizer.encodeOrdinary(String.valueOf(c))[0];
                    if (mask.allows(cand)) {
                        id = cand;
                        break;
                    }
                }
            }
            if (id < 0) {
                id = mask.allowed(rnd.nextInt(mask.count()));
            }
            long t1 = System.nanoTime();
            m.accept(id);
            timed[0] += System.nanoTime() - t1;
            ids.add(id);
            n++;
        }
        return n;
    }

    private static double ms(long nanos) {
        return round(nanos / 1e6);
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
