package io.qwenserve.engine.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qwenserve.engine.chat.ChatMessage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Reads the training file of the Qwen README: a JSON list of samples
 * <pre>
 * [{"id": "identity_0", "conversations": [{"from": "user", "value": "你好"},
 *                                         {"from": "assistant", "value": "我是一个语言模型,我叫通义千问。"}]}]
 * </pre>
 * {@code from} is {@code user}, {@code assistant} or {@code system}; a system message may only come first. After it the
 * conversation starts with a user message and holds at least one assistant message. Every problem is a
 * {@link DataException} naming the file, the sample (index and id) and the field.
 */
public final class TrainingData {
    private TrainingData() {}

    /** One sample: its id and messages in order. */
    public record Conversation(String id, List<ChatMessage> messages) {
        public Conversation {
            messages = List.copyOf(messages);
        }
    }

    /** A bad training file or sample. */
    public static final class DataException extends IllegalArgumentException {
        public DataException(String message) {
            super(message);
        }
    }

    public static List<Conversation> load(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the training data " + file, e);
        }
        return parse(file.toString(), text);
    }

    /** Parses and checks the samples of {@code json}; {@code source} names the file in errors. */
    public static List<Conversation> parse(String source, String json) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(json);
        } catch (JsonProcessingException e) {
            throw new DataException(source + ": not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isArray()) {
            throw new DataException(source + ": expected a JSON list of samples ([{\"id\": ..., \"conversations\": [...]}])");
        }
        if (root.isEmpty()) {
            throw new DataException(source + ": the list of samples is empty");
        }
        List<Conversation> out = new ArrayList<>(root.size());
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < root.size(); i++) {
            Conversation c = sample(source, i, root.get(i));
            if (!ids.add(c.id())) {
                throw new DataException(where(source, i, c.id()) + ": \"id\": duplicate id");
            }
            out.add(c);
        }
        return out;
    }

    private static String where(String source, int index, String id) {
        return source + ": sample " + index + (id != null ? " (id \"" + id + "\")" : "");
    }

    private static Conversation sample(String source, int index, JsonNode s) {
        if (!s.isObject()) {
            throw new DataException(where(source, index, null) + ": expected an object with \"id\" and \"conversations\"");
        }
        JsonNode idNode = s.get("id");
        String id = idNode != null && (idNode.isTextual() || idNode.isNumber()) ? idNode.asText() : null;
        String at = where(source, index, id);
        if (id == null) {
            throw new DataException(at + ": \"id\": " + (idNode == null ? "missing" : "must be a string"));
        }
        JsonNode conv = s.get("conversations");
        if (conv == null || !conv.isArray()) {
            throw new DataException(at + ": \"conversations\": " + (conv == null ? "missing" : "must be a list of messages"));
        }
        if (conv.isEmpty()) {
            throw new DataException(at + ": \"conversations\": empty");
        }
        List<ChatMessage> messages = new ArrayList<>(conv.size());
        boolean assistant = false;
        for (int j = 0; j < conv.size(); j++) {
            String field = "conversations[" + j + "]";
            JsonNode m = conv.get(j);
            if (!m.isObject()) {
                throw new DataException(at + ": \"" + field + "\": expected an object with \"from\" and \"value\"");
            }
            JsonNode from = m.get("from");
            JsonNode value = m.get("value");
            if (from == null || !from.isTextual()) {
                throw new DataException(at + ": \"" + field + ".from\": " + (from == null ? "missing" : "must be a string"));
            }
            ChatMessage.Role role = switch (from.asText()) {
                case "user" -> ChatMessage.Role.USER;
                case "assistant" -> ChatMessage.Role.ASSISTANT;
                case "system" -> ChatMessage.Role.SYSTEM;
                default -> throw new DataException(at + ": \"" + field + ".from\": '" + from.asText()
                        + "' is not user, assistant or system");
            };
            if (value == null || !value.isTextual()) {
                throw new DataException(at + ": \"" + field + ".value\": " + (value == null ? "missing" : "must be a string"));
            }
            if (role == ChatMessage.Role.SYSTEM && j != 0) {
                throw new DataException(at + ": \"" + field + ".from\": a system message may only come first");
            }
            boolean first = j == 0 || (j == 1 && messages.get(0).role() == ChatMessage.Role.SYSTEM);
            if (first && role == ChatMessage.Role.ASSISTANT) {
                throw new DataException(at + ": \"" + field + ".from\": the conversation must start with a user message");
            }
            assistant |= role == ChatMessage.Role.ASSISTANT;
            messages.add(new ChatMessage(role, value.asText()));
        }
        if (!assistant) {
            throw new DataException(at + ": \"conversations\": no assistant message (nothing to learn)");
        }
        return new Conversation(id, messages);
    }
}
