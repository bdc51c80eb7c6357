package io.qwenserve.client;

import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.proto.v1.Chunk;
import io.qwenserve.proto.v1.Final;
import io.qwenserve.proto.v1.GenerateResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A request redone after a failover repeats its messages from seq 0: each comes out once, in order. */
class ReplyStreamTest {
    private static GenerateResponse chunk(long seq) {
        return GenerateResponse.newBuilder().setRequestId("r").setChunk(Chunk.newBuilder().setSeq(seq).setText("t" + seq)).build();
    }

    private static GenerateResponse last(long seq) {
        return GenerateResponse.newBuilder().setRequestId("r").setFinal(Final.newBuilder().setSeq(seq)).build();
    }

    @Test
    void duplicatesFromARedoAreDropped() throws Exception {
        ReplyStream s = new ReplyStream("r");
        for (GenerateResponse r : List.of(chunk(0), chunk(1), chunk(2), chunk(0), chunk(1), chunk(2), chunk(3))) {
            assertFalse(s.offer(r));
        }
        assertTrue(s.offer(last(4)));
        assertFalse(s.offer(last(4)), "a second terminal");
        assertFalse(s.offer(chunk(5)), "anything after the terminal");
        List<GenerateResponse> all = s.collect(Duration.ofSeconds(1));
        assertEquals(List.of(0L, 1L, 2L, 3L, 4L), all.stream().map(ReplyStream::seq).toList());
        assertEquals(5, s.duplicates());
        assertFalse(s.hasNext());
    }
}
