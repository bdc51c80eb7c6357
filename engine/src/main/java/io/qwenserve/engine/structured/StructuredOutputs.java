package io.qwenserve.engine.structured;

import io.qwenserve.engine.tokenizer.QwenTokenizer;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Constrained decoding for one tokenizer: compiles {@link ResponseFormat}s (cached, so requests with the same
 * format share one automaton and its masks) and makes per-sequence {@link GrammarMatcher}s. Thread-safe.
 */
public final class StructuredOutputs {
    /**
     * @param maxWhitespace  longest run of whitespace between JSON tokens
     * @param maxDepth       deepest nesting of recursive rules (any-JSON values, recursive {@code $ref})
     * @param maskCacheBytes heap budget of the shared mask cache
     * @param maxFormats     compiled formats kept (least recently used out first)
     */
    public record Options(int maxWhitespace, int maxDepth, long maskCacheBytes, int maxFormats) {
        public static final Options DEFAULT = new Options(16, 32, 256L << 20, 128);

        public Options {
            if (maxWhitespace < 0 || maxDepth < 1 || maskCacheBytes <= 0 || maxFormats < 1) {
                throw new IllegalArgumentException("structured output options out of range: " + this);
            }
        }
    }

    private final QwenTokenizer tokenizer;
    private final Options options;
    private final TokenTrie trie;
    private final MaskCache masks;
    private final GrammarMatcher.TokenBytes tokenBytes;
    private final LinkedHashMap<OutputConstraint, CompiledGrammar> compiled;

    public StructuredOutputs(QwenTokenizer tokenizer, Options options) {
        this.tokenizer = tokenizer;
        this.options = options;
        this.trie = TokenTrie.of(tokenizer);
        this.masks = new MaskCache(options.maskCacheBytes());
        int size = tokenizer.vocabSize();
        byte[][] bytes = new byte[size][];
        for (int id = 0; id < size; id++) {
            if (!tokenizer.isSpecial(id)) {
                try {
                    bytes[id] = tokenizer.tokenBytes(id);
                } catch (IllegalArgumentException unused) {
                    bytes[id] = null;
                }
            }
        }
        this.tokenBytes = id -> id >= 0 && id < bytes.length ? bytes[id] : null;
        this.compiled = new LinkedHashMap<>(16, 0.75f, true);
    }

    public StructuredOutputs(QwenTokenizer tokenizer) {
        this(tokenizer, Options.DEFAULT);
    }

    /**
     * The compiled automaton of a format (cached).
     *
     * @throws StructuredOutputException if the format is invalid or unsupported; the message names the problem
     */
    public CompiledGrammar compile(OutputConstraint format) {
        OutputConstraint key = canonical(format);
        synchronized (compiled) {
            CompiledGrammar g = compiled.get(key);
            if (g != null) {
                return g;
            }
        }
        long t0 = System.nanoTime();
        Grammar grammar = grammar(key);
        CompiledGrammar g = new CompiledGrammar(grammar, trie, masks, options.maxDepth(), describe(key), System.nanoTime() - t0);
        synchronized (compiled) {
            CompiledGrammar prior = compiled.putIfAbsent(key, g);
            if (prior != null) {
                return prior;
            }
            if (compiled.size() > options.maxFormats()) {
                Map.Entry<OutputConstraint, CompiledGrammar> eldest = compiled.entrySet().iterator().next();
                compiled.remove(eldest.getKey());
                masks.evict(eldest.getValue());
            }
        }
        return g;
    }

    /** A matcher at the start of {@code format}; {@code endIds} are the ids that end the sequence (EOS, stop ids). */
    public GrammarMatcher matcher(CompiledGrammar grammar, Collection<Integer> endIds) {
        return new GrammarMatcher(grammar, tokenBytes, endIds.stream().mapToInt(Integer::intValue).toArray());
    }

    public GrammarMatcher matcher(OutputConstraint format, Collection<Integer> endIds) {
        return matcher(compile(format), endIds);
    }

    public MaskCache.Stats maskCacheStats() {
        return masks.stats();
    }

    public QwenTokenizer tokenizer() {
        return tokenizer;
    }

    /** Nodes of the vocabulary trie the masks are computed over. */
    public int trieNodes() {
        return trie.nodes;
    }

    private Grammar grammar(OutputConstraint c) {
        if (c instanceof ToolCallFormat t) {
            return ReactGrammar.compile(t, options.maxWhitespace());
        }
        ResponseFormat f = (ResponseFormat) c;
        return switch (f.type()) {
            case JSON_OBJECT -> JsonSchemaCompiler.jsonObject(options.maxWhitespace());
            case JSON_SCHEMA -> JsonSchemaCompiler.compile(f.value(), options.maxWhitespace());
            case REGEX -> {
                Nfa nfa = new Nfa(Grammar.MAX_NFA_STATES);
                int rule = nfa.newRule();
                nfa.define(rule, new RegexEmitter(nfa, RegexEmitter.Encoding.RAW).emit(RegexParser.parse(f.value())));
                yield Grammar.of(nfa);
            }
            case CHOICE -> {
                Nfa nfa = new Nfa(Grammar.MAX_NFA_STATES);
                int rule = nfa.newRule();
                nfa.define(rule, nfa.alt(f.choices().stream().map(nfa::literal).toList()));
                yield Grammar.of(nfa);
            }
        };
    }

    /** JSON schemas keyed by their parsed form, so formatting differences share one entry. */
    private static OutputConstraint canonical(OutputConstraint c) {
        if (c instanceof ToolCallFormat t) {
            return new ToolCallFormat(t.tools().stream()
                    .map(tool -> new ToolCallFormat.Tool(tool.name(), canonicalJson(tool.parametersJson()))).toList(),
                    t.mode(), t.forced());
        }
        ResponseFormat f = (ResponseFormat) c;
        return f.type() == ResponseFormat.Type.JSON_SCHEMA ? ResponseFormat.jsonSchema(canonicalJson(f.value())) : f;
    }

    private static String canonicalJson(String json) {
        if (json == null) {
            return null;
        }
        try {
            return JsonSchemaCompiler.JSON.writeValueAsString(JsonSchemaCompiler.JSON.readTree(json));
        } catch (Exception e) {
            return json; // compile reports the parse error
        }
    }

    private static String describe(OutputConstraint c) {
        if (c instanceof ToolCallFormat t) {
            return "tool calls (" + t.mode().name().toLowerCase() + "): "
                    + String.join(", ", t.tools().stream().map(ToolCallFormat.Tool::name).toList());
        }
        ResponseFormat f = (ResponseFormat) c;
        String v = switch (f.type()) {
            case JSON_OBJECT -> "";
            case JSON_SCHEMA, REGEX -> f.value();
            case CHOICE -> String.join("|", f.choices());
        };
        return f.type().name().toLowerCase() + (v.isEmpty() ? "" : ": " + (v.length() > 80 ? v.substring(0, 80) + "..." : v));
    }
}
