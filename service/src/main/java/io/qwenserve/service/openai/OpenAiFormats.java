package io.qwenserve.service.openai;

import com.fasterxml.jackson.databind.JsonNode;
import io.qwenserve.engine.sample.InvalidParameterException;
import io.qwenserve.engine.structured.OutputConstraint;
import io.qwenserve.engine.structured.ResponseFormat;
import io.qwenserve.engine.structured.StructuredOutputException;
import io.qwenserve.engine.structured.ToolCallFormat;
import io.qwenserve.service.openai.react.FunctionSpec;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * The OpenAI spellings of constrained decoding: {@code response_format} ({@code text}, {@code json_object},
 * {@code json_schema}), vLLM's {@code structured_outputs} ({@code regex}, {@code choice}, {@code json},
 * {@code json_object}), and for function calling the {@code tool_choice} that decides how the ReAct answer is
 * constrained.
 */
final class OpenAiFormats {
    private OpenAiFormats() {}

    /** The format a body asks for, or null for free text. */
    static ResponseFormat responseFormat(JsonNode responseFormat, JsonNode structuredOutputs) {
        ResponseFormat a = fromResponseFormat(responseFormat);
        ResponseFormat b = fromStructuredOutputs(structuredOutputs);
        if (a != null && b != null) {
            throw new InvalidParameterException("response_format", "give either response_format or structured_outputs, not both");
        }
        return a != null ? a : b;
    }

    private static ResponseFormat fromResponseFormat(JsonNode f) {
        if (f == null || f.isNull()) {
            return null;
        }
        String type = f.path("type").asText("");
        try {
            return switch (type) {
                case "text" -> null;
                case "json_object" -> ResponseFormat.jsonObject();
                case "json_schema" -> {
                    JsonNode schema = f.path("json_schema").path("schema");
                    if (schema.isMissingNode() || schema.isNull()) {
                        throw new InvalidParameterException("response_format.json_schema.schema",
                                "response_format.json_schema.schema is required");
                    }
                    yield ResponseFormat.jsonSchema(schema.toString());
                }
                default -> throw new InvalidParameterException("response_format.type",
                        "response_format.type must be text, json_object or json_schema, got '" + type + "'");
            };
        } catch (StructuredOutputException e) {
            throw new InvalidParameterException("response_format", e.getMessage());
        }
    }

    private static ResponseFormat fromStructuredOutputs(JsonNode s) {
        if (s == null || s.isNull()) {
            return null;
        }
        if (!s.isObject() || s.size() != 1) {
            throw new InvalidParameterException("structured_outputs", "structured_outputs must be an object with one of"
                    + " regex, choice, json, json_object");
        }
        Iterator<String> names = s.fieldNames();
        String key = names.next();
        JsonNode v = s.get(key);
        try {
            return switch (key) {
                case "regex" -> {
                    if (!v.isTextual()) {
                        throw new InvalidParameterException("structured_outputs.regex", "structured_outputs.regex must be a string");
                    }
                    yield ResponseFormat.regex(v.textValue());
                }
                case "choice" -> {
                    if (!v.isArray() || v.isEmpty()) {
                        throw new InvalidParameterException("structured_outputs.choice",
                                "structured_outputs.choice must be a non-empty list of strings");
                    }
                    List<String> choices = new ArrayList<>();
                    v.forEach(c -> choices.add(c.asText()));
                    yield ResponseFormat.choice(choices);
                }
                case "json" -> ResponseFormat.jsonSchema(v.isTextual() ? v.textValue() : v.toString());
                case "json_object" -> v.asBoolean() ? ResponseFormat.jsonObject() : null;
                default -> throw new InvalidParameterException("structured_outputs." + key,
                        "structured_outputs." + key + " is not supported (regex, choice, json, json_object are)");
            };
        } catch (StructuredOutputException e) {
            throw new InvalidParameterException("structured_outputs", e.getMessage());
        }
    }

    /**
     * The constraint of a function-calling answer: the action names a listed function, its input matches that
     * function's {@code parameters}. {@code tool_choice}: absent or {@code "auto"} leaves the text free until an
     * action starts; {@code "required"} and a named function force a call. ({@code "none"} never gets here: no
     * functions are offered then.)
     */
    static ToolCallFormat tools(List<FunctionSpec> functions, JsonNode toolChoice, JsonNode functionCall, List<String> names) {
        List<ToolCallFormat.Tool> tools = new ArrayList<>();
        for (FunctionSpec f : functions) {
            tools.add(new ToolCallFormat.Tool(f.nameForModel(), f.parameters() == null || f.parameters().isNull() ? null
                    : f.parameters().toString()));
        }
        JsonNode choice = toolChoice != null && !toolChoice.isNull() ? toolChoice : functionCall;
        String field = toolChoice != null && !toolChoice.isNull() ? "tool_choice" : "function_call";
        if (choice == null || choice.isNull() || choice.isTextual() && choice.textValue().equals("auto")) {
            return new ToolCallFormat(tools, ToolCallFormat.Mode.AUTO, null);
        }
        if (choice.isTextual() && choice.textValue().equals("required")) {
            return new ToolCallFormat(tools, ToolCallFormat.Mode.REQUIRED, null);
        }
        String name = choice.has("function") ? choice.path("function").path("name").asText(null) : choice.path("name").asText(null);
        if (name == null) {
            throw new InvalidParameterException(field, field + " must be \"auto\", \"required\", \"none\" or name a function");
        }
        for (int i = 0; i < functions.size(); i++) {
            if (name.equals(names.get(i)) || name.equals(functions.get(i).nameForModel())) {
                return new ToolCallFormat(tools, ToolCallFormat.Mode.NAMED, functions.get(i).nameForModel());
            }
        }
        throw new InvalidParameterException(field, field + " names '" + name + "', which is not among the functions");
    }
}
