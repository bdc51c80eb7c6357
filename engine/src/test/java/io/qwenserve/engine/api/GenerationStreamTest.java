package io.qwenserve.engine.api;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class GenerationStreamTest {
    static GenerationEvent.Chunk chunk(String text, int id, int index) {
        return new GenerationEvent.Chunk(text, new int[] {id}, index, List.of());
    }

    static GenerationEvent.Final fin() {
        return new GenerationEvent.Final(FinishReason.LENGTH, new GenerationEvent.Usage(1, 2), new GenerationEvent.Timings(0, 0, 0, 0), null);
    }

    @Test
    void aSlowReaderGetsMergedChunksAndLosesNothing() throws Exception {
        GenerationStream s = new GenerationStream("r", 4);
        StringBuilder expected = new StringBuilder();
        for (int i = 0; i < 100; i++) {
            s.offer(chunk("t" + i + " ", i, i)); // never blocks, however slow the reader
            expected.append("t").append(i).append(' ');
        }
        s.offer(fin());
        assertTrue(s.queued() <= 5, "bounded: " + s.queued());
        StringBuilder text = new StringBuilder();
        List<Integer> ids = new ArrayList<>();
        List<GenerationEvent> all = s.drain();
        for (GenerationEvent e : all) {
            if (e instanceof GenerationEvent.Chunk c) {
                text.append(c.text());
                for (int id : c.tokenIds()) {
                    ids.add(id);
                }
            }
        }
        assertEquals(expected.toString(), text.toString());
        assertEquals(100, ids.size());
        assertInstanceOf(GenerationEvent.Final.class, all.get(all.size() - 1));
        assertNull(s.take(), "nothing after the terminal event");
    }

    @Test
    void publisherDeliversOnDemandAndCompletes() throws Exception {
        GenerationStream s = new GenerationStream("r", 8);
        List<GenerationEvent> got = new ArrayList<>();
        CountDownLatch done = new CountDownLatch(1);
        var exec = Executors.newSingleThreadExecutor();
        s.publisher(exec).subscribe(new Flow.Subscriber<>() {
            Flow.Subscription sub;

            @Override
            public void onSubscribe(Flow.Subscription subscription) {
                sub = subscription;
                sub.request(1);
            }

            @Override
            public void onNext(GenerationEvent item) {
                got.add(item);
                sub.request(1);
            }

            @Override
            public void onError(Throwable throwable) {
                fail(throwable);
            }

            @Override
            public void onComplete() {
                done.countDown();
            }
        });
        for (int i = 0; i < 5; i++) {
            s.offer(chunk("x", i, i));
        }
        s.offer(fin());
        assertTrue(done.await(5, TimeUnit.SECONDS));
        assertEquals(6, got.size());
        exec.shutdown();
    }

    @Test
    void cancellingTheSubscriptionCancelsTheRequest() {
        GenerationStream s = new GenerationStream("r", 8);
        AtomicBoolean cancelled = new AtomicBoolean();
        s.setCanceller(() -> cancelled.set(true));
        s.publisher(Runnable::run).subscribe(new Flow.Subscriber<>() {
            @Override
            public void onSubscribe(Flow.Subscription subscription) {
                subscription.cancel();
            }

            @Override
            public void onNext(GenerationEvent item) {}

            @Override
            public void onError(Throwable throwable) {}

            @Override
            public void onComplete() {}
        });
        assertTrue(cancelled.get());
    }
}
