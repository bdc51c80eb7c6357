package io.qwenserve.client;

import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.proto.v1.Chunk;
import io.qwenserve.proto.v1.Final;
import io.qwenserve.proto.v1.GenerateResponse;
import io.qwenserve.proto.v1.TokenLogprob;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * A request redone after a failover repeats its output from the first token, possibly cut into other chunks: each token
 * and each character comes out once, in order, renumbered.
 */
class ReplyStreamTest {
    /** A chunk of the output "t0 t1 t2 ..." (token i's text is "t" + i + " ") covering tokens [from, to). */
    private static GenerateResponse chunk(long seq, int from, int to) {
        Chunk.Builder c = Chunk.newBuilder().setSeq(seq).setFirstTokenIndex(from).setTextOffset(textBefore(from).length());
        StringBuilder text = new StringBuilder();
        for (int i = from; i < to; i++) {
            c.addTokenIds(1000 + i).addLogprobs(TokenLogprob.newBuilder().setTokenId(1000 + i).setLogprob(-i));
            text.append("t").append(i).append(' ');
        }
        return GenerateResponse.newBuilder().setRequestId("r").setChunk(c.setText(text.toString())).build();
    }

    private static String textBefore(int token) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < token; i++) {
            s.append("t").append(i).append(' ');
        }
        return s.toString();
    }

    private static GenerateResponse last(long seq) {
        return GenerateResponse.newBuilder().setRequestId("r").setFinal(Final.newBuilder().setSeq(seq)).build();
    }

    private static void assertWhole(List<GenerateResponse> all, int tokens) {
        List<Integer> ids = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < all.size(); i++) {
            assertEquals(i, ReplyStream.seq(all.get(i)), "renumbered");
            assertEquals(i == all.size() - 1, !all.get(i).hasChunk(), "one terminal message, last");
            if (all.get(i).hasChunk()) {
                Chunk c = all.get(i).getChunk();
                assertEquals(ids.size(), c.getFirstTokenIndex());
                assertEquals(c.getTokenIdsCount(), c.getLogprobsCount());
                ids.addAll(c.getTokenIdsList());
                text.append(c.getText());
            }
        }
        assertEquals(java.util.stream.IntStream.range(0, tokens).map(i -> 1000 + i).boxed().collect(Collectors.toList()), ids);
        assertEquals(textBefore(tokens), text.toString());
    }

    @Test
    void aRedoCutTheSameWayIsDropped() throws Exception {
        ReplyStream s = new ReplyStream("r");
        for (GenerateResponse r : List.of(chunk(0, 0, 1), chunk(1, 1, 2), chunk(2, 2, 3), chunk(0, 0, 1), chunk(1, 1, 2),
                chunk(2, 2, 3), chunk(3, 3, 4))) {
            assertFalse(s.offer(r));
        }
        assertTrue(s.offer(last(4)));
        assertFalse(s.offer(last(4)), "a second terminal");
        assertFalse(s.offer(chunk(5, 4, 5)), "anything after the terminal");
        assertWhole(s.collect(Duration.ofSeconds(1)), 4);
        assertEquals(5, s.duplicates());
        assertFalse(s.hasNext());
    }

    /** The first attempt's reader lagged (tokens 0-4 merged into one chunk); the redo's did not, and vice versa. */
    @Test
    void aRedoCutDifferentlyJoinsWithoutRepeatsOrGaps() throws Exception {
        ReplyStream s = new ReplyStream("r");
        // attempt 1: [0,5) merged, [5,7); the replica dies. attempt 2: [0,1) [1,2) ... then [6,9) merged, then [9,10)
        List<GenerateResponse> in = new ArrayList<>(List.of(chunk(0, 0, 5), chunk(1, 5, 7)));
        for (int i = 0; i < 6; i++) {
            in.add(chunk(i, i, i + 1));
        }
        in.add(chunk(6, 6, 9)); // tokens 6 was seen: only 7 and 8 are new
        in.add(chunk(7, 9, 10));
        for (GenerateResponse r : in) {
            s.offer(r);
        }
        assertTrue(s.offer(last(8)));
        List<GenerateResponse> all = s.collect(Duration.ofSeconds(1));
        assertWhole(all, 10);
        assertEquals(7, s.duplicates(), "six single-token repeats dropped, one merged chunk cut");
        Chunk cut = all.get(2).getChunk();
        assertEquals(7, cut.getFirstTokenIndex());
        assertEquals("t7 t8 ", cut.getText());
    }

    /** Text held back for a split character arrives with a later token: ids and text are cut independently. */
    @Test
    void textAndIdsAreCutByTheirOwnPositions() throws Exception {
        ReplyStream s = new ReplyStream("r");
        GenerateResponse a = GenerateResponse.newBuilder().setRequestId("r").setChunk(Chunk.newBuilder().setSeq(0)
                .setFirstTokenIndex(0).addTokenIds(7).setTextOffset(0).setText("")).build(); // the first byte of "😀"
        GenerateResponse b = GenerateResponse.newBuilder().setRequestId("r").setChunk(Chunk.newBuilder().setSeq(1)
                .setFirstTokenIndex(1).addTokenIds(8).setTextOffset(0).setText("😀")).build();
        GenerateResponse redo = GenerateResponse.newBuilder().setRequestId("r").setChunk(Chunk.newBuilder().setSeq(0)
                .setFirstTokenIndex(0).addTokenIds(7).addTokenIds(8).addTokenIds(9).setTextOffset(0).setText("😀é")).build();
        s.offer(a);
        s.offer(b);
        s.offer(redo);
        s.offer(last(1));
        List<GenerateResponse> all = s.collect(Duration.ofSeconds(1));
        assertEquals(4, all.size());
        assertEquals(List.of(9), all.get(2).getChunk().getTokenIdsList());
        assertEquals("é", all.get(2).getChunk().getText());
        assertEquals(1, all.get(2).getChunk().getTextOffset(), "offsets count code points: the emoji is one");
    }
}
