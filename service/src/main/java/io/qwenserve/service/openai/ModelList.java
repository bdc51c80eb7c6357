package io.qwenserve.service.openai;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.List;

/** {@code GET /v1/models}: the one loaded model. {@code max_model_len}, {@code architecture} and {@code demo} are extensions. */
public record ModelList(String object, List<Model> data) {

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Model(String id, String object, long created, String ownedBy, int maxModelLen, String architecture,
                        boolean demo) {}
}
