package io.qwenserve.service.api;

import io.qwenserve.engine.api.GenerationRequest;
import io.qwenserve.engine.api.Prompt;
import io.qwenserve.engine.api.SamplingOptions;
import io.qwenserve.engine.chat.ChatMessage;
import io.qwenserve.engine.sample.InvalidParameterException;
import io.qwenserve.proto.v1.ChatRequest;
import io.qwenserve.proto.v1.GenerateRequest;
import io.qwenserve.proto.v1.Message;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * Turns API messages ({@code qwen.v1}, shared by gRPC and Kafka) into engine requests: translation only. Unset
 * sampling fields stay unset; the engine's input processor applies the defaults and limits and validates every field
 * (errors name the field as the API spells it).
 */
@ApplicationScoped
public class RequestMapper {

    public GenerationRequest chat(ChatRequest r, Instant deadline) {
        if (r.getMessagesCount() == 0) {
            throw new InvalidParameterException("messages", "messages must not be empty");
        }
        List<ChatMessage> messages = new ArrayList<>();
        for (int i = 0; i < r.getMessagesCount(); i++) {
            messages.add(message(r.getMessages(i), "messages[" + i + "]"));
        }
        return new GenerationRequest(requestId(r.getRequestId()), new Prompt.Chat(messages), options(r.getSampling()),
                r.getPriority(), deadline).withAdapter(r.getAdapter());
    }

    public GenerationRequest generate(GenerateRequest r, Instant deadline) {
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
        return new GenerationRequest(requestId(r.getRequestId()), prompt, options(r.getSampling()), r.getPriority(), deadline)
                .withAdapter(r.getAdapter());
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

    /** The fields of a {@code qwen.v1.SamplingParams}; unset ones stay unset. */
    public static SamplingOptions options(io.qwenserve.proto.v1.SamplingParams p) {
        return new SamplingOptions(
                p.hasTemperature() ? p.getTemperature() : null,
                p.hasTopP() ? p.getTopP() : null,
                p.hasTopK() ? p.getTopK() : null,
                p.hasMaxTokens() ? p.getMaxTokens() : null,
                p.hasRepetitionPenalty() ? p.getRepetitionPenalty() : null,
                p.hasPresencePenalty() ? p.getPresencePenalty() : null,
                p.hasFrequencyPenalty() ? p.getFrequencyPenalty() : null,
                p.hasSeed() ? p.getSeed() : null,
                p.getStopList(), Set.copyOf(p.getStopTokenIdsList()), p.getLogprobs(), false, ResponseFormats.of(p));
    }
}
