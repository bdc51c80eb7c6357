package io.qwenserve.service.kafka;

import io.qwenserve.proto.kafka.KafkaHeaders;
import io.qwenserve.proto.v1.GenerateResponse;
import io.qwenserve.service.api.ResponseMapper.ApiError;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Owns the idempotent producer. Replies are keyed by request id, so all messages of one request land in one partition
 * in the order they were sent; they carry the request's encoding and correlation id. Dead letters are the original
 * record (key, value, headers) plus headers that say why and where it came from.
 */
final class ReplySender implements AutoCloseable {
    private final Producer<String, byte[]> producer;
    private final String deadLetterTopic;
    private final byte[] replica;

    ReplySender(Producer<String, byte[]> producer, String deadLetterTopic, String replica) {
        this.producer = producer;
        this.deadLetterTopic = deadLetterTopic;
        this.replica = utf8(replica);
    }

    void reply(KafkaRequest request, GenerateResponse response, Callback callback) {
        ProducerRecord<String, byte[]> r = new ProducerRecord<>(request.replyTopic(), request.requestId(),
                request.encoding().encode(response));
        r.headers().add(KafkaHeaders.CORRELATION_ID, utf8(request.correlationId()))
                .add(KafkaHeaders.CONTENT_TYPE, utf8(request.encoding().contentType()))
                .add(KafkaHeaders.REPLICA, replica);
        send(r, callback);
    }

    void deadLetter(ConsumerRecord<String, byte[]> original, ApiError why, Callback callback) {
        Headers h = new RecordHeaders(original.headers().toArray());
        h.add(KafkaHeaders.DLQ_REASON, utf8(why.code())).add(KafkaHeaders.DLQ_MESSAGE, utf8(why.message()))
                .add(KafkaHeaders.DLQ_SOURCE_TOPIC, utf8(original.topic()))
                .add(KafkaHeaders.DLQ_SOURCE_PARTITION, utf8(Integer.toString(original.partition())))
                .add(KafkaHeaders.DLQ_SOURCE_OFFSET, utf8(Long.toString(original.offset())));
        if (why.field() != null) {
            h.add(KafkaHeaders.DLQ_FIELD, utf8(why.field()));
        }
        send(new ProducerRecord<>(deadLetterTopic, null, original.key(), original.value(), h), callback);
    }

    private void send(ProducerRecord<String, byte[]> r, Callback callback) {
        try {
            producer.send(r, callback);
        } catch (RuntimeException e) {
            callback.onCompletion(null, e);
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Waits until everything sent so far is acknowledged (or failed) and its callback has run. */
    void flush() {
        producer.flush();
    }

    @Override
    public void close() {
        producer.close(java.time.Duration.ofSeconds(5));
    }
}
