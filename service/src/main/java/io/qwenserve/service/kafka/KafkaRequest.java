package io.qwenserve.service.kafka;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.qwenserve.engine.sample.InvalidParameterException;
import io.qwenserve.proto.kafka.KafkaEncoding;
import io.qwenserve.proto.kafka.KafkaHeaders;
import io.qwenserve.proto.v1.ChatRequest;
import io.qwenserve.proto.v1.GenerateRequest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;

/**
 * One request record as the service reads it: the {@code qwen.v1} message in its value and the headers that steer
 * it. Reading never throws: what cannot be read becomes {@link #error()}, and the fields that a rejection needs
 * (request id, correlation id, reply topic, encoding) always have a value.
 *
 * @param requestId     the message's request_id; else the correlation id, the record key, or {@code topic-partition@offset}
 *                      (so a redelivered record keeps its id)
 * @param message       a {@link ChatRequest} or {@link GenerateRequest} carrying {@code requestId}; null when unreadable
 * @param priority      the priority header, or null
 * @param deadline      the deadline header, or null
 * @param error         why the record cannot be served, or null
 */
record KafkaRequest(ConsumerRecord<String, byte[]> record, String requestId, String correlationId, String replyTopic,
                    KafkaEncoding encoding, Message message, Integer priority, Instant deadline, RuntimeException error) {

    private static final ObjectMapper JSON = new ObjectMapper();

    static KafkaRequest read(ConsumerRecord<String, byte[]> r, String defaultReplyTopic) {
        String replyTopic = header(r, KafkaHeaders.REPLY_TO);
        String correlationId = header(r, KafkaHeaders.CORRELATION_ID);
        KafkaEncoding encoding = KafkaEncoding.JSON;
        Message message = null;
        Integer priority = null;
        Instant deadline = null;
        RuntimeException error = null;
        try {
            encoding = encoding(r);
            priority = priority(r);
            deadline = deadline(r);
            message = message(r.value(), encoding, header(r, KafkaHeaders.REQUEST_TYPE));
        } catch (RuntimeException e) {
            error = e;
        }
        String id = message == null ? "" : message instanceof ChatRequest c ? c.getRequestId() : ((GenerateRequest) message).getRequestId();
        if (id.isEmpty()) {
            id = correlationId != null ? correlationId
                    : r.key() != null && !r.key().isEmpty() ? r.key() : r.topic() + "-" + r.partition() + "@" + r.offset();
            if (message instanceof ChatRequest c) {
                message = c.toBuilder().setRequestId(id).build();
            } else if (message instanceof GenerateRequest g) {
                message = g.toBuilder().setRequestId(id).build();
            }
        }
        return new KafkaRequest(r, id, correlationId != null ? correlationId : id, replyTopic != null ? replyTopic : defaultReplyTopic,
                encoding, message, priority, deadline, error);
    }

    private static KafkaEncoding encoding(ConsumerRecord<String, byte[]> r) {
        try {
            return KafkaEncoding.forContentType(header(r, KafkaHeaders.CONTENT_TYPE));
        } catch (IllegalArgumentException e) {
            throw new InvalidParameterException(KafkaHeaders.CONTENT_TYPE, e.getMessage());
        }
    }

    private static Integer priority(ConsumerRecord<String, byte[]> r) {
        String v = header(r, KafkaHeaders.PRIORITY);
        try {
            return v == null ? null : Integer.valueOf(v.trim());
        } catch (NumberFormatException e) {
            throw new InvalidParameterException(KafkaHeaders.PRIORITY, "priority header must be an integer, got '" + v + "'");
        }
    }

    private static Instant deadline(ConsumerRecord<String, byte[]> r) {
        String v = header(r, KafkaHeaders.DEADLINE);
        try {
            if (v == null) {
                return null;
            }
            v = v.trim();
            return v.chars().allMatch(Character::isDigit) ? Instant.ofEpochMilli(Long.parseLong(v)) : Instant.parse(v);
        } catch (NumberFormatException | DateTimeParseException e) {
            throw new InvalidParameterException(KafkaHeaders.DEADLINE,
                    "deadline header must be epoch milliseconds or an ISO-8601 instant, got '" + v + "'");
        }
    }

    private static Message message(byte[] value, KafkaEncoding encoding, String type) {
        if (value == null || value.length == 0) {
            throw new InvalidParameterException("value", "the record has no value");
        }
        boolean generate = type != null ? requestType(type) : encoding == KafkaEncoding.JSON && looksLikeGenerate(value);
        try {
            return generate ? encoding.decode(value, GenerateRequest.newBuilder()).build()
                    : encoding.decode(value, ChatRequest.newBuilder()).build();
        } catch (InvalidProtocolBufferException e) {
            throw new InvalidParameterException("value", "not a " + (generate ? "GenerateRequest" : "ChatRequest") + " in "
                    + (encoding == KafkaEncoding.JSON ? "protobuf JSON" : "binary protobuf") + ": " + e.getMessage());
        }
    }

    private static boolean requestType(String type) {
        return switch (type.trim()) {
            case "chat" -> false;
            case "generate" -> true;
            default -> throw new InvalidParameterException(KafkaHeaders.REQUEST_TYPE, "request-type header must be chat or generate, got '"
                    + type + "'");
        };
    }

    private static boolean looksLikeGenerate(byte[] value) {
        try {
            JsonNode n = JSON.readTree(value);
            return n != null && (n.has("prompt") || n.has("prompt_token_ids") || n.has("promptTokenIds"));
        } catch (IOException e) {
            throw new InvalidParameterException("value", "not JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
    }

    /** The same request, answered on another topic (a refused {@code reply-to} is answered on the default one). */
    KafkaRequest replyingTo(String topic) {
        return new KafkaRequest(record, requestId, correlationId, topic, encoding, message, priority, deadline, error);
    }

    static String header(ConsumerRecord<String, byte[]> r, String name) {
        Header h = r.headers().lastHeader(name);
        return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }
}
