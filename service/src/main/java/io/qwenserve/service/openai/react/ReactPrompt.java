package io.qwenserve.service.openai.react;

import java.util.List;
import java.util.stream.Collectors;

/**
 * The ReAct instruction that Qwen's {@code openai_api.py} puts before the user's question when functions are given
 * (reference §6.4): one description line per function, joined by a blank line, inside the fixed instruction template,
 * trimmed of leading newlines and trailing whitespace.
 */
public final class ReactPrompt {
    /** The stop word that ends a turn once the model has written an action: the observation is the caller's to give. */
    public static final String OBSERVATION = "Observation:";

    private ReactPrompt() {
    }

    /** One tool line: {@code {name}: Call this tool to interact with the {human} API. ... Parameters: {json}}. */
    public static String toolLine(FunctionSpec f) {
        return f.nameForModel() + ": Call this tool to interact with the " + f.nameForHuman()
                + " API. What is the " + f.nameForHuman() + " API useful for? " + f.descriptionForModel()
                + " Parameters: " + (f.parameters() == null ? "{}" : PythonJson.dumps(f.parameters()));
    }

    /** The whole instruction for {@code functions} (non-empty). */
    public static String instruction(List<FunctionSpec> functions) {
        String toolsText = functions.stream().map(ReactPrompt::toolLine).collect(Collectors.joining("\n\n"));
        String toolsNameText = functions.stream().map(FunctionSpec::nameForModel).collect(Collectors.joining(", "));
        String text = "Answer the following questions as best you can. You have access to the following APIs:\n\n"
                + toolsText + "\n\n"
                + "Use the following format:\n\n"
                + "Question: the input question you must answer\n"
                + "Thought: you should always think about what to do\n"
                + "Action: the action to take, should be one of [" + toolsNameText + "]\n"
                + "Action Input: the input to the action\n"
                + "Observation: the result of the action\n"
                + "... (this Thought/Action/Action Input/Observation can be repeated zero or more times)\n"
                + "Thought: I now know the final answer\n"
                + "Final Answer: the final answer to the original input question\n\n"
                + "Begin!";
        return PyStr.rstrip(PyStr.lstripNewlines(text));
    }
}
