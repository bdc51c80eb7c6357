package io.qwenserve.loadtest;

/**
 * One request of a load run: a chat message and how many tokens to ask for.
 *
 * @param id        unique per run
 * @param prompt    the user message
 * @param maxTokens max_tokens of the request
 */
public record RequestSpec(String id, String prompt, int maxTokens) {}
