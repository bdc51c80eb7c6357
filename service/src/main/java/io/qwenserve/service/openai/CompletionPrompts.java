package io.qwenserve.service.openai;

import com.fasterxml.jackson.databind.JsonNode;
import io.qwenserve.engine.api.Prompt;
import io.qwenserve.engine.sample.InvalidParameterException;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code prompt} of {@code /v1/completions}: a string, a list of strings, a list of token ids or a list of such
 * lists. Text prompts are tokenized as Qwen's tokenizer does by default (special-token surface forms are parsed).
 */
final class CompletionPrompts {
    private CompletionPrompts() {
    }

    static List<Prompt> of(JsonNode prompt) {
        if (prompt == null || prompt.isNull() || prompt.isMissingNode()) {
            throw new InvalidParameterException("prompt", "prompt is required");
        }
        if (prompt.isTextual()) {
            return List.of(new Prompt.Text(prompt.textValue()));
        }
        if (!prompt.isArray() || prompt.isEmpty()) {
            throw new InvalidParameterException("prompt", "prompt must be a string, a list of strings, a list of token ids or a list of such lists");
        }
        if (prompt.get(0).isIntegralNumber()) {
            return List.of(ids(prompt, "prompt"));
        }
        List<Prompt> prompts = new ArrayList<>();
        for (int i = 0; i < prompt.size(); i++) {
            JsonNode p = prompt.get(i);
            if (p.isTextual()) {
                prompts.add(new Prompt.Text(p.textValue()));
            } else if (p.isArray() && !p.isEmpty()) {
                prompts.add(ids(p, "prompt[" + i + "]"));
            } else {
                throw new InvalidParameterException("prompt", "prompt[" + i + "] must be a string or a non-empty list of token ids");
            }
        }
        return prompts;
    }

    private static Prompt ids(JsonNode array, String field) {
        int[] ids = new int[array.size()];
        for (int i = 0; i < ids.length; i++) {
            if (!array.get(i).canConvertToInt() || !array.get(i).isIntegralNumber()) {
                throw new InvalidParameterException("prompt", field + " must hold only token ids (integers)");
            }
            ids[i] = array.get(i).intValue();
        }
        return new Prompt.Ids(ids);
    }
}
