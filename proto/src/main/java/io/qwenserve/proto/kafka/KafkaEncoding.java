package io.qwenserve.proto.kafka;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * How a Kafka value holds a {@code qwen.v1} message: protobuf JSON (the default, so that kcat and any language can
 * send one) or binary protobuf, as the {@code content-type} header says. Replies use the request's encoding.
 */
public enum KafkaEncoding {
    JSON("application/json"),
    PROTOBUF("application/x-protobuf");

    private static final JsonFormat.Printer PRINTER = JsonFormat.printer().omittingInsignificantWhitespace()
            .alwaysPrintFieldsWithNoPresence();
    private static final JsonFormat.Parser PARSER = JsonFormat.parser();

    private final String contentType;

    KafkaEncoding(String contentType) {
        this.contentType = contentType;
    }

    public String contentType() {
        return contentType;
    }

    /**
     * The encoding a content-type header names: absent or {@code application/json} (parameters such as
     * {@code ; charset=utf-8} are ignored) is JSON; {@code application/x-protobuf} or {@code application/protobuf} is
     * binary.
     *
     * @throws IllegalArgumentException for any other content type
     */
    public static KafkaEncoding forContentType(String header) {
        if (header == null || header.isBlank()) {
            return JSON;
        }
        String type = header.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
        return switch (type) {
            case "application/json" -> JSON;
            case "application/x-protobuf", "application/protobuf" -> PROTOBUF;
            default -> throw new IllegalArgumentException("content-type must be application/json or application/x-protobuf, got '"
                    + header + "'");
        };
    }

    public byte[] encode(MessageOrBuilder message) {
        if (this == PROTOBUF) {
            return ((Message) message).toByteArray();
        }
        try {
            return PRINTER.print(message).getBytes(StandardCharsets.UTF_8);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException(e); // only for Any fields with unknown types; qwen.v1 has none
        }
    }

    /** Merges {@code value} into {@code builder}; JSON is strict (unknown fields are errors). */
    public <B extends Message.Builder> B decode(byte[] value, B builder) throws InvalidProtocolBufferException {
        if (this == PROTOBUF) {
            builder.mergeFrom(value);
        } else {
            PARSER.merge(new String(value, StandardCharsets.UTF_8), builder);
        }
        return builder;
    }
}
