package io.qwenserve.service.openai.react;

/**
 * Reads a ReAct answer the way {@code parse_response} in Qwen's {@code openai_api.py} does (reference §6.4): an
 * {@code Action:} followed by an {@code Action Input:} is a function call, whose thought becomes the message content;
 * otherwise the content is what follows the last {@code Final Answer:}, or the whole text.
 */
public final class ReactParser {
    static final String ACTION = "\nAction:";
    static final String ACTION_INPUT = "\nAction Input:";
    static final String OBSERVATION = "\nObservation:";
    static final String FINAL_ANSWER = "\nFinal Answer: ";

    /** The parsed answer: {@code call} is null when the model answered instead of calling a function. */
    public record Parsed(String content, QwenConversation.FunctionCall call) {
        public boolean isCall() {
            return call != null;
        }
    }

    private ReactParser() {
    }

    public static Parsed parse(String response) {
        String name = "";
        String arguments = "";
        int i = response.indexOf(ACTION);
        int j = response.indexOf(ACTION_INPUT);
        int k = response.indexOf(OBSERVATION);
        if (0 <= i && i < j) {
            if (k < j) { // "Observation:" was cut off as a stop word: put it back
                response = PyStr.rstrip(response) + OBSERVATION;
            }
            k = response.indexOf(OBSERVATION);
            name = PyStr.strip(response.substring(i + ACTION.length(), j));
            arguments = PyStr.strip(response.substring(j + ACTION_INPUT.length(), k));
        }
        if (!name.isEmpty()) {
            String thought = response.substring(0, i);
            int t = thought.indexOf("Thought: ");
            if (t >= 0) {
                thought = thought.substring(t + "Thought: ".length());
            }
            return new Parsed(PyStr.strip(thought), new QwenConversation.FunctionCall(name, arguments));
        }
        int z = response.lastIndexOf(FINAL_ANSWER);
        return new Parsed(z >= 0 ? response.substring(z + FINAL_ANSWER.length()) : response, null);
    }
}
