package io.qwenserve.engine.structured;

import java.util.List;
import java.util.Objects;

/**
 * Function calling in Qwen's ReAct format ({@code Thought: ...\nAction: NAME\nAction Input: JSON\nObservation:}):
 * the action's name is one of the tools and its input matches that tool's parameters schema.
 *
 * @param tools  the callable tools (at least one)
 * @param mode   {@link Mode#AUTO}: free text, but once {@code "\nAction:"} is written it is a valid call;
 *               {@link Mode#REQUIRED}: one thought line (at most 256 characters), then a call of any tool; {@link Mode#NAMED}: one thought
 *               line, then a call of {@code forced}; {@link Mode#NONE}: free text that never writes {@code "\nAction:"}
 * @param forced the tool that {@link Mode#NAMED} calls; null otherwise
 */
public record ToolCallFormat(List<Tool> tools, Mode mode, String forced) implements OutputConstraint {
    public enum Mode { AUTO, REQUIRED, NAMED, NONE }

    /**
     * @param name           the name the model writes after {@code Action:}
     * @param parametersJson the JSON Schema of the arguments; null means any JSON object
     */
    public record Tool(String name, String parametersJson) {
        public Tool {
            Objects.requireNonNull(name, "name");
        }
    }

    public ToolCallFormat {
        tools = List.copyOf(tools);
        Objects.requireNonNull(mode, "mode");
        if (tools.isEmpty()) {
            throw new StructuredOutputException("tool calls need at least one tool");
        }
        if (mode == Mode.NAMED && tools.stream().noneMatch(t -> t.name().equals(forced))) {
            throw new StructuredOutputException("tool_choice names " + forced + ", which is not among the tools", "tool_choice");
        }
    }
}
