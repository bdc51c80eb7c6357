package io.qwenserve.engine.model;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Parsing a device list and splitting the decoder layers over it. */
class DeviceMapTest {

    static DeviceMap cpus(int stages, int layers) {
        TorchRuntime.init();
        return DeviceMap.parse(String.join(",", java.util.Collections.nCopies(stages, "cpu")), layers);
    }

    @Test
    void layersAreSplitEvenlyTheFirstStagesTakingTheRemainder() {
        DeviceMap m = cpus(3, 8); // 3 + 3 + 2
        assertEquals(3, m.stages());
        assertEquals(List.of(0, 3, 6), List.of(m.firstLayer(0), m.firstLayer(1), m.firstLayer(2)));
        assertEquals(List.of(3, 6, 8), List.of(m.endLayer(0), m.endLayer(1), m.endLayer(2)));
        int[] expected = {0, 0, 0, 1, 1, 1, 2, 2};
        for (int layer = 0; layer < 8; layer++) {
            assertEquals(expected[layer], m.stageOf(layer), "layer " + layer);
        }
        assertEquals("layers 0-2 on cpu, 3-5 on cpu, 6-7 on cpu (embedding on cpu, head on cpu)", m.describe());
        DeviceMap even = cpus(2, 28); // Qwen2.5-7B over two GPUs: 14 + 14
        assertEquals(14, even.endLayer(0));
        assertEquals(28, even.numLayers());
        DeviceMap perLayer = cpus(4, 4);
        for (int layer = 0; layer < 4; layer++) {
            assertEquals(layer, perLayer.stageOf(layer));
        }
        assertThrows(IndexOutOfBoundsException.class, () -> even.stageOf(28));
    }

    @Test
    void oneDeviceHoldsEveryLayer() {
        DeviceMap m = cpus(1, 24);
        assertEquals(1, m.stages());
        assertEquals("cpu", m.spec());
        assertEquals(0, m.stageOf(23));
        assertEquals("all 24 layers on cpu", m.describe());
        assertTrue(m.isCpu());
    }

    @Test
    void aRepeatedDeviceCountsItsLayersOnce() {
        DeviceMap m = cpus(3, 7);
        assertEquals(Map.of("cpu", 7), m.layersPerDevice());
        assertEquals(1, m.distinct().size());
    }

    @Test
    void namesAreNormalisedAndBadListsRefusedWithTheReason() {
        assertEquals(List.of("cuda:0", "cuda:1", "cuda:1"), DeviceMap.names(" CUDA , cuda:1,cuda:01"));
        assertEquals(List.of("cpu"), DeviceMap.names("cpu"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> DeviceMap.names("cuda:0,,cuda:1")).getMessage()
                .contains("empty entry"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> DeviceMap.names("cuda:0,tpu")).getMessage()
                .contains("unknown device 'tpu'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> DeviceMap.names("cpu,cuda:0")).getMessage()
                .contains("mixes the CPU and CUDA devices"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> DeviceMap.names(" ")).getMessage()
                .contains("no device given"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> cpus(3, 2)).getMessage()
                .contains("3 devices for 2 decoder layers"));
    }

    @Test
    void commandsOnOneDeviceRefuseAList() {
        TorchRuntime.init();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Torch.device("cuda:0,cuda:1"));
        assertTrue(e.getMessage().contains("is a device list; one device is expected here"), e.getMessage());
    }
}
