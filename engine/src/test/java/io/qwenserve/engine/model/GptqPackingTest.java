package io.qwenserve.engine.model;

import static org.junit.jupiter.api.Assertions.*;

import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

/**
 * AutoGPTQ v1 unpacking against the worked example of qwen-reference section 4.4 (written independently of
 * {@link GptqPacker}): {@code qweight[0][5] = 0x76543210}, {@code qzeros = 0x77777777}, scale 0.01 give
 * W = -0.08, -0.07, ..., -0.01 for input rows 0..7 of output column 5. The int4 kernel must reproduce it.
 */
class GptqPackingTest {
    static final int IN = 32;   // one group of 32 (the smallest the int4 kernel takes)
    static final int OUT = 16;  // the kernel needs out % 16 == 0

    static GptqWeight example() {
        int[] qweight = new int[IN / 8 * OUT];
        java.util.Arrays.fill(qweight, 0x88888888); // q = 8 = zero: W = 0
        qweight[5] = 0x76543210;                    // qweight[0][5]: rows 0..7 of column 5
        int[] qzeros = new int[OUT / 8];
        java.util.Arrays.fill(qzeros, 0x77777777);
        float[] scales = new float[OUT];
        java.util.Arrays.fill(scales, 0.01f);
        Device cpu = new Device(torch.DeviceType.CPU);
        try (Tensor qw = Torch.longs(toLong(qweight), cpu).to(ScalarType.Int).view(IN / 8, OUT);
             Tensor qz = Torch.longs(toLong(qzeros), cpu).to(ScalarType.Int).view(1, OUT / 8);
             Tensor sc = Torch.floats(scales, cpu, 1, OUT)) {
            return GptqWeight.unpack("example", qw, qz, sc, null, IN, OUT, 32);
        }
    }

    static long[] toLong(int[] v) {
        long[] l = new long[v.length];
        for (int i = 0; i < v.length; i++) {
            l[i] = v[i];
        }
        return l;
    }

    static float expected(int out, int in) {
        return out == 5 && in < 8 ? (in - 8) * 0.01f : 0f;
    }

    @Test
    void dequantizesTheWorkedExample() {
        try (InferenceMode ignored = new InferenceMode(); GptqWeight w = example(); Tensor deq = w.dequantize(ScalarType.Float)) {
            assertTrue(w.sequentialGroups());
            assertNull(w.int4KernelUnfit());
            float[] v = Torch.toFloats(deq); // [OUT, IN]
            for (int o = 0; o < OUT; o++) {
                for (int k = 0; k < IN; k++) {
                    assertEquals(expected(o, k), v[o * IN + k], 1e-6, "W[" + o + "][" + k + "]");
                }
            }
        }
    }

    @Test
    void int4KernelReproducesTheWorkedExample() {
        try (InferenceMode ignored = new InferenceMode();
             Linear lin = Linear.ofGptq("example", example(), null, KernelPolicy.single(LinearKernel.INT4_PACKED),
                     LinearKernel.PLAIN, ScalarType.Float);
             Tensor x = torch.eye(IN).to(ScalarType.Float);
             Tensor y = lin.apply(x)) {                 // y[k][o] = W[o][k]
            assertEquals(LinearKernel.INT4_PACKED, lin.kernelFor(IN));
            float[] v = Torch.toFloats(y);
            for (int k = 0; k < IN; k++) {
                for (int o = 0; o < OUT; o++) {
                    // bf16 activations and scales: 0.01 is not exact in bf16 (relative error < 2^-8)
                    assertEquals(expected(o, k), v[k * OUT + o], 4e-4, "y[" + k + "][" + o + "]");
                }
            }
        }
    }

    @Test
    void packThenUnpackGivesTheWeightBackWithinHalfAStep() {
        for (boolean descAct : new boolean[] {false, true}) {
            int out = 24;
            int in = 64;
            float[] w = new float[out * in];
            java.util.SplittableRandom r = new java.util.SplittableRandom(3);
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) (r.nextDouble() * 2 - 1);
            }
            GptqPacker.Packed p = GptqPacker.pack(w, out, in, 32, descAct);
            int[] zeros = new int[2 * out / 8];
            java.util.Arrays.fill(zeros, GptqPacker.PACKED_ZEROS);
            Device cpu = new Device(torch.DeviceType.CPU);
            try (InferenceMode ignored = new InferenceMode();
                 Tensor qw = Torch.longs(toLong(p.qweight()), cpu).to(ScalarType.Int).view(in / 8, out);
                 Tensor qz = Torch.longs(toLong(zeros), cpu).to(ScalarType.Int).view(2, out / 8);
                 Tensor sc = Torch.floats(p.scales(), cpu, 2, out);
                 Tensor gi = Torch.longs(toLong(p.gIdx()), cpu).to(ScalarType.Int);
                 GptqWeight unpacked = GptqWeight.unpack("round-trip", qw, qz, sc, gi, in, out, 32);
                 Tensor deq = unpacked.dequantize(ScalarType.Float)) {
                assertEquals(!descAct, unpacked.sequentialGroups());
                float[] v = Torch.toFloats(deq);
                for (int o = 0; o < out; o++) {
                    for (int k = 0; k < in; k++) {
                        float step = p.scales()[p.gIdx()[k] * out + o];
                        assertEquals(w[o * in + k], v[o * in + k], step / 2 + 1e-6, "W[" + o + "][" + k + "], act order " + descAct);
                    }
                }
            }
        }
    }
}
