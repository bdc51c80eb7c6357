package io.qwenserve.service.api;

import io.qwenserve.engine.sample.InvalidParameterException;
import io.qwenserve.engine.structured.ResponseFormat;
import io.qwenserve.engine.structured.StructuredOutputException;

/** The {@code qwen.v1.ResponseFormat} message (gRPC and Kafka) as the engine's {@link ResponseFormat}. */
public final class ResponseFormats {
    private ResponseFormats() {}

    /** The format, or null when the message sets nothing. */
    public static ResponseFormat of(io.qwenserve.proto.v1.SamplingParams p) {
        if (!p.hasResponseFormat()) {
            return null;
        }
        io.qwenserve.proto.v1.ResponseFormat f = p.getResponseFormat();
        int set = (f.getJsonObject() ? 1 : 0) + (f.getJsonSchema().isEmpty() ? 0 : 1) + (f.getRegex().isEmpty() ? 0 : 1)
                + (f.getChoiceCount() > 0 ? 1 : 0);
        if (set == 0) {
            return null;
        }
        if (set > 1) {
            throw new InvalidParameterException("response_format", "response_format: set exactly one of json_object, json_schema, regex, choice");
        }
        try {
            if (f.getJsonObject()) {
                return ResponseFormat.jsonObject();
            }
            if (!f.getJsonSchema().isEmpty()) {
                return ResponseFormat.jsonSchema(f.getJsonSchema());
            }
            if (!f.getRegex().isEmpty()) {
                return ResponseFormat.regex(f.getRegex());
            }
            return ResponseFormat.choice(f.getChoiceList());
        } catch (StructuredOutputException e) {
            throw new InvalidParameterException("response_format", "response_format: " + e.getMessage());
        }
    }
}
