package io.qwenserve.service.kafka;

import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.engine.sample.InvalidParameterException;
import io.qwenserve.proto.kafka.KafkaEncoding;
import io.qwenserve.proto.kafka.KafkaHeaders;
import io.qwenserve.proto.v1.ChatRequest;
import io.qwenserve.proto.v1.GenerateRequest;
import io.qwenserve.proto.v1.Message;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/** How a request record is read: message type, encodings, headers, and the ids a rejection still needs. */
class KafkaRequestTest {
    private static ConsumerRecord<String, byte[]> record(String key, byte[] value, String... headers) {
        ConsumerRecord<String, byte[]> r = new ConsumerRecord<>("qwen.requests", 2, 41, key, value);
        for (int i = 0; i < headers.length; i += 2) {
            r.headers().add(headers[i], headers[i + 1].getBytes(StandardCharsets.UTF_8));
        }
        return r;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void jsonIsAChatRequestUnlessItHasAPrompt() {
        KafkaRequest chat = KafkaRequest.read(record("k", utf8("{\"requestId\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")), "replies");
        assertNull(chat.error());
        assertInstanceOf(ChatRequest.class, chat.message());
        assertEquals("a", chat.requestId());
        assertEquals("a", chat.correlationId());
        assertEquals("replies", chat.replyTopic());

        KafkaRequest gen = KafkaRequest.read(record("k", utf8("{\"prompt_token_ids\":[1,2]}")), "replies");
        assertInstanceOf(GenerateRequest.class, gen.message());
        assertEquals("k", gen.requestId(), "no request_id: the record key");
        assertEquals("k", ((GenerateRequest) gen.message()).getRequestId());
    }

    @Test
    void binaryProtobufNeedsNoDetection() {
        byte[] value = ChatRequest.newBuilder().setRequestId("b").addMessages(Message.newBuilder().setRole("user").setContent("x")).build()
                .toByteArray();
        KafkaRequest r = KafkaRequest.read(record(null, value, KafkaHeaders.CONTENT_TYPE, KafkaEncoding.PROTOBUF.contentType(),
                KafkaHeaders.REQUEST_TYPE, "chat", KafkaHeaders.REPLY_TO, "mine", KafkaHeaders.CORRELATION_ID, "c-1",
                KafkaHeaders.PRIORITY, "-2", KafkaHeaders.DEADLINE, "2030-01-01T00:00:00Z"), "replies");
        assertNull(r.error());
        assertEquals("b", r.requestId());
        assertEquals("c-1", r.correlationId());
        assertEquals("mine", r.replyTopic());
        assertEquals(KafkaEncoding.PROTOBUF, r.encoding());
        assertEquals(-2, r.priority());
        assertEquals(Instant.parse("2030-01-01T00:00:00Z"), r.deadline());
        assertEquals(Instant.ofEpochMilli(1234), KafkaRequest.read(record(null, value, KafkaHeaders.DEADLINE, "1234",
                KafkaHeaders.CONTENT_TYPE, "application/x-protobuf"), "replies").deadline());
    }

    @Test
    void unreadableRecordsStillHaveWhatTheirErrorReplyNeeds() {
        KafkaRequest r = KafkaRequest.read(record(null, utf8("{oops"), KafkaHeaders.REPLY_TO, "mine"), "replies");
        InvalidParameterException e = assertInstanceOf(InvalidParameterException.class, r.error());
        assertEquals("value", e.field());
        assertEquals("qwen.requests-2@41", r.requestId());
        assertEquals("mine", r.replyTopic());
        assertEquals(KafkaEncoding.JSON, r.encoding());

        assertEquals(KafkaHeaders.PRIORITY, ((InvalidParameterException) KafkaRequest.read(record("k", utf8("{}"),
                KafkaHeaders.PRIORITY, "high"), "replies").error()).field());
        assertEquals(KafkaHeaders.DEADLINE, ((InvalidParameterException) KafkaRequest.read(record("k", utf8("{}"),
                KafkaHeaders.DEADLINE, "tomorrow"), "replies").error()).field());
        assertEquals(KafkaHeaders.REQUEST_TYPE, ((InvalidParameterException) KafkaRequest.read(record("k", utf8("{}"),
                KafkaHeaders.REQUEST_TYPE, "embed"), "replies").error()).field());
        assertEquals("value", ((InvalidParameterException) KafkaRequest.read(record("k", null), "replies").error()).field());
    }
}
