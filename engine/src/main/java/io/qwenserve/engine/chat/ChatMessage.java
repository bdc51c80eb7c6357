package io.qwenserve.engine.chat;

import java.util.Locale;
import java.util.Objects;

/**
 * One message of an OpenAI-style conversation, as {@link ChatTemplate} renders it into a ChatML block
 * {@code <|im_start|>{role}\n{content}<|im_end|>}. A {@code null} content (an assistant message that only
 * carried a function call) is stored as the empty string.
 */
public record ChatMessage(Role role, String content) {
    /** The ChatML roles; {@link #wireName()} is the text written after {@code <|im_start|>}. */
    public enum Role {
        SYSTEM, USER, ASSISTANT, FUNCTION;

        /** {@code "system"}, {@code "user"}, {@code "assistant"} or {@code "function"}. */
        public String wireName() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** Parses a wire name, ignoring case. */
        public static Role parse(String s) {
            for (Role r : values()) {
                if (r.wireName().equalsIgnoreCase(s.trim())) {
                    return r;
                }
            }
            throw new IllegalArgumentException("unknown chat role '" + s + "' (expected system, user, assistant or function)");
        }
    }

    public ChatMessage {
        Objects.requireNonNull(role, "role");
        content = content == null ? "" : content;
    }

    public static ChatMessage system(String content) {
        return new ChatMessage(Role.SYSTEM, content);
    }

    public static ChatMessage user(String content) {
        return new ChatMessage(Role.USER, content);
    }

    public static ChatMessage assistant(String content) {
        return new ChatMessage(Role.ASSISTANT, content);
    }

    public static ChatMessage function(String content) {
        return new ChatMessage(Role.FUNCTION, content);
    }
}
