package io.qwenserve.service.openai;

import io.qwenserve.engine.api.FinishReason;
import io.qwenserve.engine.api.GenerationEvent;
import io.qwenserve.engine.tokenizer.QwenTokenizer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Token-level output in OpenAI's spellings: logprobs entries (token text and bytes) and finish reasons. */
final class TokenText {
    private final QwenTokenizer tokenizer;

    TokenText(QwenTokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /** A token's text; a token holding part of a UTF-8 character shows replacement characters ({@code bytes} is exact). */
    String token(int id) {
        return new String(tokenizer.tokenBytes(id), StandardCharsets.UTF_8);
    }

    int[] bytes(int id) {
        byte[] b = tokenizer.tokenBytes(id);
        int[] out = new int[b.length];
        for (int i = 0; i < b.length; i++) {
            out[i] = b[i] & 0xff;
        }
        return out;
    }

    /** Chat logprobs of a chunk's tokens, with at most {@code top} alternatives each. */
    List<ChatCompletionResponse.TokenLogprob> chat(List<GenerationEvent.TokenLogprob> lps, int top) {
        List<ChatCompletionResponse.TokenLogprob> out = new ArrayList<>();
        for (GenerationEvent.TokenLogprob lp : lps) {
            List<ChatCompletionResponse.TopLogprob> alternatives = new ArrayList<>();
            for (int i = 0; i < Math.min(top, lp.topIds().length); i++) {
                alternatives.add(new ChatCompletionResponse.TopLogprob(token(lp.topIds()[i]), lp.topLogprobs()[i], bytes(lp.topIds()[i])));
            }
            out.add(new ChatCompletionResponse.TokenLogprob(token(lp.token()), lp.logprob(), bytes(lp.token()), alternatives));
        }
        return out;
    }

    /** Legacy completions logprobs of a chunk's tokens; {@code offset} is where the chunk's text starts. */
    CompletionResponse.Logprobs completion(List<GenerationEvent.TokenLogprob> lps, int top, int offset) {
        List<String> tokens = new ArrayList<>();
        List<Double> logprobs = new ArrayList<>();
        List<Map<String, Double>> tops = new ArrayList<>();
        List<Integer> offsets = new ArrayList<>();
        for (GenerationEvent.TokenLogprob lp : lps) {
            String t = token(lp.token());
            tokens.add(t);
            logprobs.add((double) lp.logprob());
            Map<String, Double> alternatives = new LinkedHashMap<>();
            for (int i = 0; i < Math.min(top, lp.topIds().length); i++) {
                alternatives.putIfAbsent(token(lp.topIds()[i]), (double) lp.topLogprobs()[i]);
            }
            tops.add(alternatives);
            offsets.add(offset);
            offset += t.length();
        }
        return new CompletionResponse.Logprobs(tokens, logprobs, tops, offsets);
    }

    /**
     * {@code stop} (an end token or a stop string), {@code length}; the engine's own endings keep their names
     * ({@code cancelled}: the server shut down; {@code deadline}).
     */
    static String finishReason(FinishReason r) {
        return switch (r) {
            case STOP, STOP_STRING -> "stop";
            default -> r.wireName();
        };
    }
}
