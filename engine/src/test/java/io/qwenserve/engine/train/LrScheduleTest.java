package io.qwenserve.engine.train;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** Warmup then cosine, as the Trainer's schedule: ceil(ratio * total) warmup steps, zero at the end. */
class LrScheduleTest {
    @Test
    void warmsUpLinearlyThenDecaysAlongACosine() {
        LrSchedule s = LrSchedule.of(1e-3, 100, 0.05);
        assertEquals(5, s.warmupSteps());
        assertEquals(0.0, s.at(0));
        assertEquals(0.4e-3, s.at(2), 1e-12);
        assertEquals(1e-3, s.at(5), 1e-12);
        assertEquals(0.5e-3, s.at(52), 2e-5); // halfway through the decay (47.5 of 95 steps)
        assertTrue(s.at(99) < 1e-6 && s.at(99) > 0);
        for (int i = 6; i < 100; i++) {
            assertTrue(s.at(i) < s.at(i - 1), "decreasing after warmup at " + i);
        }
        assertEquals(1, LrSchedule.of(3e-4, 10, 0.01).warmupSteps(), "the scripts' 0.01 gives one warmup step here");
        assertEquals(3e-4, LrSchedule.of(3e-4, 10, 0.0).at(0), 1e-15);
    }
}
