package io.qwenserve.service.openai;

import com.fasterxml.jackson.databind.JsonNode;
import io.qwenserve.engine.sample.InvalidParameterException;
import io.qwenserve.service.openai.ChatCompletionRequest.FunctionDefinition;
import io.qwenserve.service.openai.ChatCompletionRequest.Message;
import io.qwenserve.service.openai.ChatCompletionRequest.Tool;
import io.qwenserve.service.openai.ChatCompletionRequest.ToolCall;
import io.qwenserve.service.openai.react.FunctionSpec;
import io.qwenserve.service.openai.react.QwenConversation;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Reads the OpenAI spellings of a conversation into what {@link QwenConversation} takes: {@code tool} messages are
 * function results, {@code developer} is {@code system}, text parts are joined, and an assistant message with several
 * {@code tool_calls} becomes one call per result that follows it (ReAct makes one call at a time). Also collects the
 * callable functions of {@code tools} and {@code functions}, unless the choice is {@code "none"}.
 */
final class ChatMessages {
    private ChatMessages() {
    }

    static List<QwenConversation.Message> conversation(List<Message> messages) {
        if (messages == null || messages.isEmpty()) {
            throw new InvalidParameterException("messages", "messages must not be empty");
        }
        List<QwenConversation.Message> out = new ArrayList<>();
        Deque<QwenConversation.FunctionCall> pendingCalls = new ArrayDeque<>();
        for (int i = 0; i < messages.size(); i++) {
            Message m = messages.get(i);
            String field = "messages[" + i + "]";
            if (m == null || m.role() == null) {
                throw new InvalidParameterException(field + ".role", field + ".role is required");
            }
            String content = text(m.content(), field + ".content");
            switch (m.role()) {
                case "system", "developer" -> out.add(new QwenConversation.Message("system", content));
                case "user" -> out.add(new QwenConversation.Message("user", content));
                case "tool", "function" -> {
                    out.add(new QwenConversation.Message("function", content));
                    if (!pendingCalls.isEmpty()) {
                        out.add(new QwenConversation.Message("assistant", "", pendingCalls.poll()));
                    }
                }
                case "assistant" -> {
                    List<QwenConversation.FunctionCall> calls = calls(m, field);
                    pendingCalls.clear();
                    pendingCalls.addAll(calls);
                    out.add(new QwenConversation.Message("assistant", content, pendingCalls.poll()));
                }
                default -> throw new InvalidParameterException(field + ".role", field
                        + ".role must be system, user, assistant, tool or function, got '" + m.role() + "'");
            }
        }
        return out;
    }

    private static List<QwenConversation.FunctionCall> calls(Message m, String field) {
        List<QwenConversation.FunctionCall> calls = new ArrayList<>();
        if (m.toolCalls() != null) {
            for (int j = 0; j < m.toolCalls().size(); j++) {
                ToolCall c = m.toolCalls().get(j);
                if (c == null || c.function() == null || c.function().name() == null) {
                    throw new InvalidParameterException(field + ".tool_calls[" + j + "].function.name", field + ".tool_calls[" + j
                            + "].function.name is required");
                }
                calls.add(new QwenConversation.FunctionCall(c.function().name(), nullToEmpty(c.function().arguments())));
            }
        } else if (m.functionCall() != null) {
            if (m.functionCall().name() == null) {
                throw new InvalidParameterException(field + ".function_call.name", field + ".function_call.name is required");
            }
            calls.add(new QwenConversation.FunctionCall(m.functionCall().name(), nullToEmpty(m.functionCall().arguments())));
        }
        return calls;
    }

    /** A content: a string, null, or a list of text parts (joined by newlines). */
    static String text(JsonNode content, String field) {
        if (content == null || content.isNull() || content.isMissingNode()) {
            return "";
        }
        if (content.isTextual()) {
            return content.textValue();
        }
        if (content.isArray()) {
            List<String> parts = new ArrayList<>();
            for (JsonNode part : content) {
                if (!"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                    throw new InvalidParameterException(field, field + ": only text content parts are supported");
                }
                parts.add(part.get("text").textValue());
            }
            return String.join("\n", parts);
        }
        throw new InvalidParameterException(field, field + " must be a string or a list of text parts");
    }

    /** The callable functions, from {@code tools} and {@code functions}; empty when there are none or the choice is "none". */
    static List<FunctionSpec> functions(ChatCompletionRequest r) {
        if (isNone(r.toolChoice()) || isNone(r.functionCall())) {
            return List.of();
        }
        List<FunctionSpec> specs = new ArrayList<>();
        if (r.tools() != null) {
            for (int i = 0; i < r.tools().size(); i++) {
                Tool t = r.tools().get(i);
                if (t == null || !"function".equals(t.type()) || t.function() == null) {
                    throw new InvalidParameterException("tools[" + i + "]", "tools[" + i + "] must be {\"type\": \"function\", \"function\": {...}}");
                }
                specs.add(spec(t.function(), "tools[" + i + "].function"));
            }
        }
        if (r.functions() != null) {
            for (int i = 0; i < r.functions().size(); i++) {
                specs.add(spec(r.functions().get(i), "functions[" + i + "]"));
            }
        }
        return specs;
    }

    /** The {@code name} of each function of {@link #functions}, in the same order (what {@code tool_choice} names). */
    static List<String> functionNames(ChatCompletionRequest r) {
        List<String> names = new ArrayList<>();
        if (r.tools() != null) {
            r.tools().forEach(t -> names.add(t.function().name()));
        }
        if (r.functions() != null) {
            r.functions().forEach(f -> names.add(f.name()));
        }
        return names;
    }

    private static FunctionSpec spec(FunctionDefinition f, String field) {
        if (f == null || (f.name() == null || f.name().isBlank()) && (f.nameForModel() == null || f.nameForModel().isBlank())) {
            throw new InvalidParameterException(field + ".name", field + ".name is required");
        }
        return FunctionSpec.of(f.name(), f.nameForModel(), f.nameForHuman(), f.description(), f.descriptionForModel(), f.parameters());
    }

    private static boolean isNone(JsonNode choice) {
        return choice != null && choice.isTextual() && choice.textValue().equals("none");
    }

    private static String nullToEmpty(String s) {
        return s == null ? "" : s;
    }
}
