package io.qwenserve.service.openai;

import io.qwenserve.engine.api.GenerationRequest;
import java.util.List;

/**
 * One API call, ready for the engine: a request per choice, and how their output is presented.
 *
 * @param requests     one engine request per choice, in choice order ({@code n} per prompt)
 * @param n            choices per prompt
 * @param tools        whether and how function calls are reported
 * @param topLogprobs  alternatives per token to report; -1 when logprobs were not asked for
 * @param stream       server-sent events instead of one JSON body
 * @param includeUsage a last streamed chunk with the usage
 */
record OpenAiCall(List<GenerationRequest> requests, int n, ToolMode tools, int topLogprobs, boolean stream, boolean includeUsage) {

    /** How a function call is reported: not at all, as {@code tool_calls}, or as the legacy {@code function_call}. */
    enum ToolMode {
        NONE, TOOLS, FUNCTIONS;

        String finishReason() {
            return this == TOOLS ? "tool_calls" : "function_call";
        }
    }
}
