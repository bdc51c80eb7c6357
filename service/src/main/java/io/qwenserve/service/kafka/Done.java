package io.qwenserve.service.kafka;

import io.qwenserve.service.api.ResponseMapper.ApiError;
import org.apache.kafka.common.TopicPartition;

/**
 * How a request record ended, or why it must be tried again, reported to the poll thread (from producer callbacks and
 * the reply thread).
 *
 * @param generation the generation it ran as, or null when it was answered or rejected without one
 * @param failure    why its replies or its dead letter could not be sent (REPLY_FAILED, DEAD_LETTER_FAILED), else null
 * @param why        the dead letter's reason (DEAD_LETTER_FAILED), else null
 */
record Done(KafkaRequest request, Outcome outcome, InFlightRequest generation, Exception failure, ApiError why) {

    Done(KafkaRequest request, Outcome outcome, InFlightRequest generation, Exception failure) {
        this(request, outcome, generation, failure, null);
    }

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
        /** Its replies could not be sent: it is redone later (a failure that may pass) or dead-lettered. */
        REPLY_FAILED(false),
        /** Its dead letter could not be sent: sent again later; meanwhile its offset holds the partition's commit point. */
        DEAD_LETTER_FAILED(false),
        /** Given up by this replica (partition revoked, or the server shut down): the next owner redoes it. */
        HANDED_BACK(false);

        final boolean finished;

        Outcome(boolean finished) {
            this.finished = finished;
        }
    }
}
