package io.qwenserve.engine.structured;

import java.util.List;
import java.util.Objects;

/**
 * What a constrained request's output must be. The same value on every transport: OpenAI {@code response_format}
 * ({@code json_object}, {@code json_schema}) and {@code structured_outputs} ({@code regex}, {@code choice}), the gRPC
 * and Kafka {@code ResponseFormat} message.
 *
 * @param type    the kind of constraint
 * @param value   the JSON Schema text ({@link Type#JSON_SCHEMA}) or the regex ({@link Type#REGEX}); null otherwise
 * @param choices the allowed outputs ({@link Type#CHOICE}); empty otherwise
 */
public record ResponseFormat(Type type, String value, List<String> choices) implements OutputConstraint {
    public enum Type { JSON_OBJECT, JSON_SCHEMA, REGEX, CHOICE }

    public ResponseFormat {
        Objects.requireNonNull(type, "type");
        choices = choices == null ? List.of() : List.copyOf(choices);
        switch (type) {
            case JSON_SCHEMA, REGEX -> {
                if (value == null || value.isEmpty()) {
                    throw new StructuredOutputException((type == Type.REGEX ? "regex" : "json_schema.schema") + " is required");
                }
            }
            case CHOICE -> {
                if (choices.isEmpty()) {
                    throw new StructuredOutputException("choice needs at least one option");
                }
            }
            default -> { }
        }
    }

    public static ResponseFormat jsonObject() {
        return new ResponseFormat(Type.JSON_OBJECT, null, List.of());
    }

    public static ResponseFormat jsonSchema(String schemaJson) {
        return new ResponseFormat(Type.JSON_SCHEMA, schemaJson, List.of());
    }

    public static ResponseFormat regex(String regex) {
        return new ResponseFormat(Type.REGEX, regex, List.of());
    }

    public static ResponseFormat choice(List<String> choices) {
        return new ResponseFormat(Type.CHOICE, null, choices);
    }
}
