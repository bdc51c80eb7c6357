package io.qwenserve.engine.sched;

import io.qwenserve.engine.api.EngineRejectedException;
import io.qwenserve.engine.api.EngineRejectedException.Reason;
import io.qwenserve.engine.api.GenerationRequest;
import io.qwenserve.engine.api.Prompt;
import io.qwenserve.engine.api.SamplingOptions;
import io.qwenserve.engine.chat.ChatTemplate;
import io.qwenserve.engine.config.GenerationDefaults;
import io.qwenserve.engine.sample.InvalidParameterException;
import io.qwenserve.engine.sample.SamplingParams;
import io.qwenserve.engine.structured.CompiledGrammar;
import io.qwenserve.engine.structured.OutputConstraint;
import io.qwenserve.engine.structured.StructuredOutputException;
import io.qwenserve.engine.structured.StructuredOutputs;
import io.qwenserve.engine.structured.ToolCallFormat;
import io.qwenserve.engine.tokenizer.QwenTokenizer;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The engine's edge: every request is validated and tokenized here, once, whatever transport it came by. Owns the
 * request limits and the defaults of unset fields (the engine's configured ones, then the model's
 * generation_config.json), so transports only translate their messages into a {@link GenerationRequest}.
 *
 * <p>Thread-safe and stateless: it runs on the submitting thread, never on the engine loop.
 */
public final class InputProcessor {
    /**
     * A request ready for the scheduler: its prompt ids, resolved sampling, the ids that end it and, for a response
     * format, its compiled automaton (null for free text).
     */
    record Processed(GenerationRequest request, int[] prompt, SamplingParams params, Set<Integer> stopIds,
                     CompiledGrammar grammar) {}

    private final QwenTokenizer tokenizer;
    private final ChatTemplate template;
    private final GenerationDefaults modelDefaults;
    private final Set<Integer> modelStopIds;
    private final int vocabSize;
    private final EngineConfig config;
    private final int maxModelLen;
    private final long kvCapacityTokens;
    private final java.util.function.Predicate<String> adapterExists;
    private volatile StructuredOutputs structured;

    /**
     * @param modelStopIds     the chat template's and the model's end ids, added to every request's
     * @param maxModelLen      longest prompt + output
     * @param kvCapacityTokens positions the whole KV cache holds (block-rounded)
     * @param adapterExists    whether a LoRA adapter of that name is served
     */
    InputProcessor(QwenTokenizer tokenizer, ChatTemplate template, GenerationDefaults modelDefaults, Set<Integer> modelStopIds,
                   int vocabSize, EngineConfig config, int maxModelLen, long kvCapacityTokens,
                   java.util.function.Predicate<String> adapterExists) {
        this.adapterExists = adapterExists;
        this.tokenizer = tokenizer;
        this.template = template;
        this.modelDefaults = modelDefaults;
        this.modelStopIds = Set.copyOf(modelStopIds);
        this.vocabSize = vocabSize;
        this.config = config;
        this.maxModelLen = maxModelLen;
        this.kvCapacityTokens = kvCapacityTokens;
    }

    /**
     * The prompt's token ids, as generation sees them: ids as given, raw text with special-token surface forms parsed
     * (as Qwen's tokenizer does by default), chat messages through the model's chat template (message contents never
     * become control tokens).
     */
    public int[] tokenize(Prompt prompt) {
        if (prompt instanceof Prompt.Ids ids) {
            return ids.ids().clone();
        }
        if (prompt instanceof Prompt.Text text) {
            return tokenizer.encode(text.text());
        }
        return template.encode(((Prompt.Chat) prompt).messages());
    }

    /**
     * Validates and tokenizes a request.
     *
     * @throws InvalidParameterException a sampling field out of range (names the field)
     * @throws EngineRejectedException   an invalid or too long prompt
     */
    Processed process(GenerationRequest request) {
        return process(request, new IdentityHashMap<>());
    }

    /**
     * The same for several requests at once: requests that share one {@link Prompt} instance (the choices of one
     * prompt) share its tokenization, remembered in {@code tokenized}.
     */
    Processed process(GenerationRequest request, Map<Prompt, int[]> tokenized) {
        if (request.adapter() != null && !adapterExists.test(request.adapter())) {
            throw new EngineRejectedException(Reason.UNKNOWN_ADAPTER, "model", "the model '" + request.adapter()
                    + "' does not exist (no LoRA adapter of that name is served)");
        }
        SamplingParams params = resolve(request.sampling());
        int[] prompt = tokenized.get(request.prompt());
        if (prompt == null) {
            try {
                prompt = tokenize(request.prompt());
            } catch (IllegalArgumentException e) {
                throw new EngineRejectedException(Reason.INVALID, request.prompt() instanceof Prompt.Chat ? "messages" : "prompt", e.getMessage());
            }
            checkPrompt(prompt);
            tokenized.put(request.prompt(), prompt);
        }
        Set<Integer> stopIds = new HashSet<>(request.sampling().ignoreEos() ? Set.of() : modelStopIds);
        stopIds.addAll(params.stopIds());
        return new Processed(request, prompt, params, Set.copyOf(stopIds), grammar(request.sampling().responseFormat()));
    }

    /**
     * The automaton of a response format, compiled here on the submitting thread (cached per format).
     *
     * @throws InvalidParameterException naming {@code response_format} (or {@code tools}) and what is unsupported
     */
    private CompiledGrammar grammar(OutputConstraint format) {
        if (format == null) {
            return null;
        }
        try {
            return structuredOutputs().compile(format);
        } catch (StructuredOutputException e) {
            throw new InvalidParameterException(format instanceof ToolCallFormat ? "tools" : "response_format", e.getMessage());
        }
    }

    /** Constrained decoding for this engine's tokenizer, made on first use (the vocabulary trie costs a moment). */
    StructuredOutputs structuredOutputs() {
        StructuredOutputs s = structured;
        if (s == null) {
            synchronized (this) {
                s = structured;
                if (s == null) {
                    s = new StructuredOutputs(tokenizer, StructuredOutputs.Options.DEFAULT);
                    structured = s;
                }
            }
        }
        return s;
    }

    /** Request fields over the engine's defaults over the model's; validated by {@link SamplingParams}. */
    SamplingParams resolve(SamplingOptions o) {
        EngineConfig.SamplingDefaults s = config.sampling();
        GenerationDefaults d = modelDefaults;
        int maxTokens = first(o.maxTokens(), s.maxTokens(), d.maxNewTokens());
        if (maxTokens > config.maxNewTokens()) {
            throw new InvalidParameterException("max_tokens", "max_tokens must be <= " + config.maxNewTokens() + ", got " + maxTokens);
        }
        if (o.stop().size() > config.maxStopStrings()) {
            throw new InvalidParameterException("stop", "at most " + config.maxStopStrings() + " stop strings, got " + o.stop().size());
        }
        for (String stop : o.stop()) {
            if (stop != null && stop.length() > config.maxStopLength()) {
                throw new InvalidParameterException("stop", "stop strings must be at most " + config.maxStopLength()
                        + " characters, got one of " + stop.length());
            }
        }
        return new SamplingParams(
                first(o.temperature(), s.temperature(), d.temperature()),
                first(o.topP(), s.topP(), d.topP()),
                first(o.topK(), s.topK(), d.topK()),
                first(o.repetitionPenalty(), s.repetitionPenalty(), d.repetitionPenalty()),
                o.presencePenalty() != null ? o.presencePenalty() : 0,
                o.frequencyPenalty() != null ? o.frequencyPenalty() : 0,
                o.seed() != null ? o.seed() : s.seed(),
                maxTokens, o.stop(), o.stopTokenIds(), o.logprobs());
    }

    private static <T> T first(T request, T server, T model) {
        return request != null ? request : server != null ? server : model;
    }

    private void checkPrompt(int[] prompt) {
        if (prompt.length == 0) {
            throw new EngineRejectedException(Reason.INVALID, "prompt", "the prompt is empty");
        }
        for (int id : prompt) {
            if (id < 0 || id >= vocabSize) {
                throw new EngineRejectedException(Reason.INVALID, "prompt_token_ids", "token id " + id + " is outside the vocabulary [0, " + vocabSize + ")");
            }
        }
        if (config.maxPromptTokens() > 0 && prompt.length > config.maxPromptTokens()) {
            throw new EngineRejectedException(Reason.PROMPT_TOO_LONG, "prompt of " + prompt.length
                    + " tokens exceeds the limit of " + config.maxPromptTokens());
        }
        if (prompt.length + 1 > maxModelLen) {
            throw new EngineRejectedException(Reason.PROMPT_TOO_LONG, "prompt of " + prompt.length
                    + " tokens leaves no room to generate within the context of " + maxModelLen + " tokens");
        }
        if (prompt.length + 1 > kvCapacityTokens) {
            throw new EngineRejectedException(Reason.PROMPT_TOO_LONG, "prompt of " + prompt.length
                    + " tokens does not fit the KV cache of " + kvCapacityTokens + " tokens");
        }
    }
}
