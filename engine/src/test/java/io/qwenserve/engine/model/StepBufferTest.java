package io.qwenserve.engine.model;

import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.engine.TestDevice;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A step's host inputs in one buffer: sections of every type, each 8-byte aligned, reach the device in one counted copy
 * and read back as views; the first n values of a longer array are taken as they are at the upload; a device can take
 * the first sections only.
 */
@Tag(TestDevice.TAG)
class StepBufferTest {
    private static Device device;

    @BeforeAll
    static void init() {
        TorchRuntime.init();
        device = TestDevice.device();
    }

    @Test
    void sectionsOfEveryTypeComeBackAsViewsOfOneCopy() {
        try (PointerScope scope = new PointerScope()) {
            StepBuffer buf = new StepBuffer();
            long[] scratch = {7, 8, 9, 0, 0};
            int a = buf.put(new long[] {1, -2, Long.MAX_VALUE});
            int b = buf.put(new float[] {0.5f, Float.NEGATIVE_INFINITY, 3f}); // 12 bytes: the next section is aligned
            int c = buf.put(new double[] {Math.PI});
            int d = buf.put(scratch, 3);
            scratch[2] = 10; // read at the upload, not at put
            assertEquals(0, a);
            assertEquals(24, b);
            assertEquals(40, c);
            assertEquals(48, d);
            assertEquals(72, buf.size());

            long before = Transfers.toDevice();
            buf.upload(device);
            buf.upload(device); // already there
            assertEquals(1, Transfers.toDevice() - before, "one copy to the device");

            assertArrayEquals(new long[] {1, -2, Long.MAX_VALUE}, Torch.toLongs(buf.longs(device, a, 3)));
            assertArrayEquals(new float[] {0.5f, Float.NEGATIVE_INFINITY, 3f}, Torch.toFloats(buf.floats(device, b, 3)));
            assertEquals(Math.PI, buf.doubles(device, c, 1).item_double());
            assertArrayEquals(new long[] {7, 8, 10}, Torch.toLongs(buf.longs(device, d, 3)));
            assertEquals(device.str().getString(), buf.longs(device, a, 1).device().str().getString());
            assertThrows(IllegalStateException.class, () -> buf.put(new long[] {1}), "sections after the upload");
        }
    }

    @Test
    void anEmptyStepStillUploads() {
        try (PointerScope scope = new PointerScope()) {
            StepBuffer buf = new StepBuffer();
            buf.upload(device);
            assertEquals(0, buf.longs(device, 0, 0).numel());
        }
    }

    @Test
    void aDeviceGetsOnlyTheSectionsBeforeItsEnd() {
        try (PointerScope scope = new PointerScope()) {
            StepBuffer buf = new StepBuffer();
            int a = buf.put(new long[] {4, 5});
            int b = buf.put(new float[] {1.5f});
            buf.upload(device, b); // a stage before the last: the forward pass's sections only
            assertArrayEquals(new long[] {4, 5}, Torch.toLongs(buf.longs(device, a, 2)));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> buf.floats(device, b, 1));
            assertTrue(e.getMessage().contains("were not uploaded"), e.getMessage());
        }
    }
}
