package io.qwenserve.loadtest;

/**
 * One request of a load run: a chat message, or raw prompt token ids, and how many tokens to ask for.
 *
 * @param id        unique per run
 * @param prompt    the user message (chat), used when {@code promptIds} is null
 * @param promptIds raw prompt ids for a plain completion (same workload on every transport), or null
 * @param maxTokens max_tokens of the request
 */
public record RequestSpec(String id, String prompt, int[] promptIds, int maxTokens) {}
