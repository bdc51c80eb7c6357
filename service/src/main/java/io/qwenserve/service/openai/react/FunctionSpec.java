package io.qwenserve.service.openai.react;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One callable function as the ReAct prompt describes it. {@code name_for_model} and {@code name_for_human} fall back
 * to {@code name}, {@code description_for_model} to {@code description} (openai_api.py's rules).
 *
 * @param parameters the JSON schema of the arguments, rendered with {@link PythonJson}; null renders as {@code {}}
 */
public record FunctionSpec(String nameForModel, String nameForHuman, String descriptionForModel, JsonNode parameters) {

    public static FunctionSpec of(String name, String nameForModel, String nameForHuman, String description,
                                  String descriptionForModel, JsonNode parameters) {
        String n = name == null ? "" : name;
        String d = description == null ? "" : description;
        return new FunctionSpec(nameForModel != null ? nameForModel : n, nameForHuman != null ? nameForHuman : n,
                descriptionForModel != null ? descriptionForModel : d, parameters);
    }
}
