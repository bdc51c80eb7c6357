package io.qwenserve.service.kafka;

import org.apache.kafka.common.TopicPartition;

/**
 * How a request record ended, reported to the poll thread (from producer callbacks and the reply thread).
 *
 * @param generation the generation it ran as, or null when it was answered or rejected without one
 * @param failure    why its replies could not be sent (REPLY_FAILED), else null
 */
record Done(KafkaRequest request, Outcome outcome, InFlightRequest generation, Exception failure) {

    TopicPartition partition() {
        return new TopicPartition(request.record().topic(), request.record().partition());
    }

    long offset() {
        return request.record().offset();
    }

    enum Outcome {
        /** Its terminal reply is acknowledged by the broker: the offset may be committed. */
        ANSWERED(true),
        /** It is in the dead-letter topic (and was answered with an error where possible): the offset may be committed. */
        DEAD_LETTERED(true),
        /** Its replies could not be sent: it goes to the dead-letter topic next. */
        REPLY_FAILED(false),
        /** Given up by this replica (partition revoked, or the server shut down): the next owner redoes it. */
        HANDED_BACK(false);

        final boolean finished;

        Outcome(boolean finished) {
            this.finished = finished;
        }
    }
}
