package io.qwenserve.service.api;

import io.qwenserve.engine.api.EngineRejectedException;
import io.qwenserve.engine.api.GenerationRequest;
import io.qwenserve.engine.api.Prompt;
import io.qwenserve.engine.chat.ChatMessage;
import io.qwenserve.engine.config.GenerationDefaults;
import io.qwenserve.engine.sample.InvalidParameterException;
import io.qwenserve.engine.sample.SamplingParams;
import io.qwenserve.proto.v1.ChatRequest;
import io.qwenserve.proto.v1.GenerateRequest;
import io.qwenserve.proto.v1.Message;
import io.qwenserve.service.config.QwenConfig;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Turns API messages ({@code qwen.v1}, shared by gRPC and Kafka) into engine requests, validating every field on the
 * way; errors name the field as the API spells it. Unset sampling fields take the server's configured defaults, then
 * the model's generation_config.json.
 */
@ApplicationScoped
public class RequestMapper {
    @Inject
    QwenConfig config;

    public GenerationRequest chat(ChatRequest r, GenerationDefaults defaults, Instant deadline) {
        if (r.getMessagesCount() == 0) {
            throw new InvalidParameterException("messages", "messages must not be empty");
        }
        List<ChatMessage> messages = new ArrayList<>();
        for (int i = 0; i < r.getMessagesCount(); i++) {
            messages.add(message(r.getMessages(i), "messages[" + i + "]"));
        }
        return new GenerationRequest(requestId(r.getRequestId()), new Prompt.Chat(messages), sampling(r.hasSampling()
                ? r.getSampling() : io.qwenserve.proto.v1.SamplingParams.getDefaultInstance(), defaults), r.getPriority(), deadline);
    }

    public GenerationRequest generate(GenerateRequest r, GenerationDefaults defaults, Instant deadline) {
        Prompt prompt;
        if (!r.getPrompt().isEmpty()) {
            if (r.getPromptTokenIdsCount() > 0) {
                throw new InvalidParameterException("prompt", "give either prompt or prompt_token_ids, not both");
            }
            prompt = new Prompt.Text(r.getPrompt());
        } else if (r.getPromptTokenIdsCount() > 0) {
            prompt = new Prompt.Ids(r.getPromptTokenIdsList().stream().mapToInt(Integer::intValue).toArray());
        } else {
            throw new InvalidParameterException("prompt", "prompt or prompt_token_ids is required");
        }
        return new GenerationRequest(requestId(r.getRequestId()), prompt, sampling(r.hasSampling()
                ? r.getSampling() : io.qwenserve.proto.v1.SamplingParams.getDefaultInstance(), defaults), r.getPriority(), deadline);
    }

    public static ChatMessage message(Message m, String field) {
        ChatMessage.Role role;
        try {
            role = ChatMessage.Role.parse(m.getRole());
        } catch (IllegalArgumentException e) {
            throw new InvalidParameterException(field + ".role", field + ".role must be system, user, assistant or function, got '"
                    + m.getRole() + "'");
        }
        return new ChatMessage(role, m.getContent());
    }

    private static String requestId(String id) {
        return id.isEmpty() ? UUID.randomUUID().toString() : id;
    }

    /** Request parameters over server defaults over model defaults; validated by {@link SamplingParams}. */
    public SamplingParams sampling(io.qwenserve.proto.v1.SamplingParams p, GenerationDefaults d) {
        return sampling(SamplingOptions.of(p), d);
    }

    /** The same for any transport's parameters (unset fields are null). */
    public SamplingParams sampling(SamplingOptions o, GenerationDefaults d) {
        QwenConfig.Sampling s = config.sampling();
        int maxTokens = o.maxTokens() != null ? o.maxTokens() : s.maxTokens();
        int cap = config.engine().maxNewTokens();
        if (maxTokens > cap) {
            throw new InvalidParameterException("max_tokens", "max_tokens must be <= " + cap + ", got " + maxTokens);
        }
        return new SamplingParams(
                o.temperature() != null ? o.temperature() : s.temperature().orElse(d.temperature()),
                o.topP() != null ? o.topP() : s.topP().orElse(d.topP()),
                o.topK() != null ? o.topK() : s.topK().orElse(d.topK()),
                o.repetitionPenalty() != null ? o.repetitionPenalty() : s.repetitionPenalty().orElse(d.repetitionPenalty()),
                o.presencePenalty() != null ? o.presencePenalty() : 0,
                o.frequencyPenalty() != null ? o.frequencyPenalty() : 0,
                o.seed() != null ? o.seed() : (s.seed().isPresent() ? Long.valueOf(s.seed().getAsLong()) : null),
                maxTokens, o.stop(), o.stopTokenIds(), o.logprobs());
    }

    /** The configured prompt cap, checked after tokenization. */
    public void checkPromptLength(int tokens) {
        int max = config.engine().maxPromptTokens();
        if (max > 0 && tokens > max) {
            throw new EngineRejectedException(EngineRejectedException.Reason.PROMPT_TOO_LONG,
                    "prompt of " + tokens + " tokens exceeds the limit of " + max);
        }
    }
}
