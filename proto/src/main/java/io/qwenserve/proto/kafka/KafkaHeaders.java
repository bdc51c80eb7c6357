package io.qwenserve.proto.kafka;

/**
 * Header names of the Kafka request/reply contract; every value is a UTF-8 string. The README's Kafka section
 * documents them for clients in any language.
 */
public final class KafkaHeaders {
    /** Request and reply: {@code application/json} (protobuf JSON, the default) or {@code application/x-protobuf}. */
    public static final String CONTENT_TYPE = "content-type";
    /**
     * Request: {@code chat} (a ChatRequest) or {@code generate} (a GenerateRequest). When absent, a JSON value with a
     * {@code prompt} or {@code prompt_token_ids} field is a generate request and anything else a chat request.
     */
    public static final String REQUEST_TYPE = "request-type";
    /** Request: the topic for the replies (default: the service's {@code qwen.kafka.reply-topic}). */
    public static final String REPLY_TO = "reply-to";
    /** Request: echoed on every reply (default: the request id). */
    public static final String CORRELATION_ID = "correlation-id";
    /** Request: when the request gives up (finish reason DEADLINE): epoch milliseconds or an ISO-8601 instant. */
    public static final String DEADLINE = "deadline";
    /** Request: overrides the message's priority (lower is scheduled first). */
    public static final String PRIORITY = "priority";
    /** Reply: the replica that produced it (its consumer client id). */
    public static final String REPLICA = "qwen-replica";
    /** Dead letter: the error code (INVALID_ARGUMENT, FAILED_PRECONDITION, ...). */
    public static final String DLQ_REASON = "dlq-reason";
    /** Dead letter: what was wrong. */
    public static final String DLQ_MESSAGE = "dlq-message";
    /** Dead letter: the offending field, when one is to blame. */
    public static final String DLQ_FIELD = "dlq-field";
    /** Dead letter: where the record came from. */
    public static final String DLQ_SOURCE_TOPIC = "dlq-source-topic";
    public static final String DLQ_SOURCE_PARTITION = "dlq-source-partition";
    public static final String DLQ_SOURCE_OFFSET = "dlq-source-offset";

    private KafkaHeaders() {}
}
