package io.qwenserve.loadtest;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class DatasetTest {
    @Test
    void aSharedPrefixStartsEveryPromptAndTheRestDiffers() {
        Dataset d = Dataset.randomIds(32, 8, 16, 7);
        int[] first = d.get(0).promptIds();
        int[] second = d.get(1).promptIds();
        assertEquals(40, first.length);
        assertArrayEquals(Arrays.copyOf(first, 32), Arrays.copyOf(second, 32), "the same 32-id prefix");
        assertFalse(Arrays.equals(Arrays.copyOfRange(first, 32, 40), Arrays.copyOfRange(second, 32, 40)), "different questions");
        assertEquals(16, d.get(0).maxTokens());
        assertEquals(8, Dataset.randomIds(8, 16, 7).get(0).promptIds().length, "no prefix: the plain workload");
    }
}
