package io.qwenserve.service.openai.react;

import io.qwenserve.engine.sample.InvalidParameterException;
import java.util.ArrayList;
import java.util.List;

/**
 * OpenAI-style messages into Qwen's {@code (query, history, system)}, as {@code parse_messages} in Qwen's
 * {@code openai_api.py} does it (reference §6.4): contents trimmed, assistant function calls written as
 * {@code Thought/Action/Action Input} text, function results appended as {@code Observation:}, consecutive assistant
 * turns merged, and, when functions are given, the ReAct instruction put before the question of the most recent turn.
 */
public final class QwenConversation {
    /** One message: role {@code system}, {@code user}, {@code assistant} or {@code function}; functionCall may be null. */
    public record Message(String role, String content, FunctionCall functionCall) {
        public Message(String role, String content) {
            this(role, content, null);
        }
    }

    /** A call the assistant made: the function's name and its arguments as text (normally JSON). */
    public record FunctionCall(String name, String arguments) {}

    /**
     * @param system  the text of a leading system message, or null when there is none (the chat template's default then)
     * @param history (user, assistant) pairs, oldest first
     * @param query   the last user message; null in text-completion mode, where the model continues the last answer
     */
    public record Result(String system, List<String[]> history, String query) {
        public boolean continuation() {
            return query == null;
        }
    }

    private static final class Entry {
        final String role;
        String text;

        Entry(String role, String text) {
            this.role = role;
            this.text = text;
        }
    }

    private QwenConversation() {
    }

    /**
     * @param instruction the ReAct instruction ({@link ReactPrompt#instruction}), or null when no functions are given
     * @throws InvalidParameterException when the messages do not form a conversation openai_api.py accepts
     */
    public static Result parse(List<Message> messages, String instruction) {
        if (messages.stream().noneMatch(m -> "user".equals(m.role()))) {
            throw invalid("messages", "expecting at least one user message");
        }
        int first = 0;
        String system = null;
        if ("system".equals(messages.get(0).role())) {
            system = PyStr.normalise(messages.get(0).content());
            first = 1;
        }
        boolean functions = instruction != null && !instruction.isEmpty();
        List<Entry> entries = new ArrayList<>();
        for (int i = first; i < messages.size(); i++) {
            Message m = messages.get(i);
            String field = "messages[" + i + "]";
            String content = PyStr.normalise(m.content());
            Entry last = entries.isEmpty() ? null : entries.get(entries.size() - 1);
            switch (m.role()) {
                case "user" -> entries.add(new Entry("user", content));
                case "function" -> {
                    if (last == null || !last.role.equals("assistant")) {
                        throw invalid(field + ".role", "expecting role assistant before role function");
                    }
                    last.text += "\nObservation: " + content;
                    if (i == messages.size() - 1) {
                        last.text += "\nThought:"; // the model continues from here
                    }
                }
                case "assistant" -> {
                    if (last == null) {
                        throw invalid(field + ".role", "expecting role user before role assistant");
                    }
                    content = assistantText(content, m.functionCall(), functions);
                    if (last.role.equals("user")) {
                        entries.add(new Entry("assistant", PyStr.normalise(content)));
                    } else {
                        last.text += "\n" + content;
                    }
                }
                default -> throw invalid(field + ".role", "incorrect role " + m.role());
            }
        }
        String query = null;
        if (entries.get(entries.size() - 1).role.equals("user")) {
            query = entries.remove(entries.size() - 1).text;
        }
        if (entries.size() % 2 != 0) {
            throw invalid("messages", "expecting exactly one user (or function) role before every assistant role");
        }
        List<String[]> history = new ArrayList<>();
        String pending = functions ? instruction : null;
        for (int i = 0; i < entries.size(); i += 2) {
            Entry user = entries.get(i);
            Entry bot = entries.get(i + 1);
            if (!user.role.equals("user") || !bot.role.equals("assistant")) {
                throw invalid("messages", "expecting exactly one user (or function) role before every assistant role");
            }
            String u = PyStr.normalise(user.text);
            if (pending != null && i == entries.size() - 2) {
                u = pending + "\n\nQuestion: " + u;
                pending = null;
            }
            history.add(new String[] {u, PyStr.normalise(bot.text)});
        }
        if (pending != null) {
            query = pending + "\n\nQuestion: " + query; // no history: the query gets the instruction
        }
        return new Result(system, history, query);
    }

    private static String assistantText(String content, FunctionCall call, boolean functions) {
        if (call == null) {
            return functions ? "Thought: I now know the final answer.\nFinal Answer: " + content : content;
        }
        String thought = content.startsWith("Thought:") ? content : "Thought: " + content;
        return thought + "\nAction: " + call.name() + "\nAction Input: " + call.arguments();
    }

    private static InvalidParameterException invalid(String field, String message) {
        return new InvalidParameterException(field, field + ": " + message);
    }
}
