package io.qwenserve.service.openai;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.List;

/**
 * {@code GET /v1/models}: the loaded model, then each LoRA adapter served next to it. {@code max_model_len},
 * {@code architecture} and {@code demo} are extensions; an adapter has {@code parent} (the model it applies to) and
 * {@code root} (its folder), as vLLM lists LoRA modules.
 */
public record ModelList(String object, List<Model> data) {

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
    public record Model(String id, String object, long created, String ownedBy, int maxModelLen, String architecture,
                        boolean demo, String parent, String root) {}
}
