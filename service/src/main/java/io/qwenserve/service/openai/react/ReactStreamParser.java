package io.qwenserve.service.openai.react;

/**
 * {@link ReactParser} for a streamed answer (which Qwen's own server refused to do). Text is held back until it is
 * known to be an answer: from the first {@code "\nFinal Answer: "} that no action precedes, the rest is passed on as it
 * arrives. Otherwise, at the end, the whole text is parsed: an action becomes one function call, anything else is sent
 * as content then. The one difference from the non-streamed result: a second {@code Final Answer:}, or an action
 * written after a final answer, cannot take back text already sent.
 */
public final class ReactStreamParser {
    private final StringBuilder text = new StringBuilder();
    private int scanned;
    private boolean answering;
    private boolean acting;

    /** Adds streamed text; returns the content to send now (often empty). */
    public String feed(String delta) {
        if (answering) {
            return delta;
        }
        text.append(delta);
        if (acting) {
            return "";
        }
        int z = text.indexOf(ReactParser.FINAL_ANSWER, Math.max(0, scanned - ReactParser.FINAL_ANSWER.length()));
        scanned = text.length();
        if (z < 0) {
            return "";
        }
        String before = text.substring(0, z);
        int i = before.indexOf(ReactParser.ACTION);
        if (i >= 0 && before.indexOf(ReactParser.ACTION_INPUT) > i) {
            acting = true; // an action came first: this is a function call
            return "";
        }
        answering = true;
        return text.substring(z + ReactParser.FINAL_ANSWER.length());
    }

    /** The end of the stream: nothing more when an answer was streamed, else the parse of the whole text. */
    public ReactParser.Parsed finish() {
        return answering ? new ReactParser.Parsed("", null) : ReactParser.parse(text.toString());
    }
}
