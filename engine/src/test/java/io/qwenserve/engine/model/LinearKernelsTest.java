package io.qwenserve.engine.model;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every linear kernel against {@code PLAIN} ({@code torch.linear}) on awkward shapes: in- and out-features that are not
 * multiples of 8, 16, 32 or 64, fp32 and bf16, one row and several, with and without a bias. Float kernels must agree
 * to rounding; weight-quantized kernels must agree with {@code PLAIN} on their own dequantized weight; fbgemm's
 * dynamic int8 (activations quantized too) within its quantization error.
 */
class LinearKernelsTest {
    static final long[] IN = {7, 40, 48, 100, 176};
    static final long[] OUT = {5, 37, 100, 352, 400};
    static final long[] ROWS = {1, 3, 33};

    @BeforeAll
    static void runtime() {
        TorchRuntime.init();
    }

    static Stream<Arguments> floatCases() {
        List<Arguments> out = new ArrayList<>();
        for (Precision p : new Precision[] {Precision.F32, Precision.BF16}) {
            for (LinearKernel k : new LinearKernel[] {LinearKernel.GEMV, LinearKernel.ONEDNN_PREPACKED, LinearKernel.INT8_FBGEMM,
                    LinearKernel.INT8_WEIGHT_ONLY}) {
                out.add(Arguments.of(k, p));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("floatCases")
    void floatWeightKernelsAgreeWithPlainOnAwkwardShapes(LinearKernel kernel, Precision p) {
        int n = 0;
        for (long in : IN) {
            for (long out : OUT) {
                for (boolean withBias : new boolean[] {false, true}) {
                    try (InferenceMode ignored = new InferenceMode(); PointerScope scope = new PointerScope()) {
                        Tensor w = random(out, in, 11 * in + out).to(p.scalarType());
                        Tensor b = withBias ? random(1, out, in).view(out).to(p.scalarType()) : null;
                        try (Linear plain = new Linear(new Tensor(w), b == null ? null : new Tensor(b), LinearKernel.PLAIN);
                             Linear tested = new Linear(new Tensor(w), b == null ? null : new Tensor(b), kernel)) {
                            // weight-only int8 takes 16-bit activations in groups of 16 inputs only; such layers run fbgemm
                            LinearKernel expected = kernel == LinearKernel.INT8_WEIGHT_ONLY
                                    && !QuantOps.int8WeightOnlyFits(in, p.scalarType()) ? LinearKernel.INT8_FBGEMM : kernel;
                            assertEquals(expected, tested.kernelFor(1), "the layer holds " + expected + " for [" + out + " x " + in + "]");
                            for (long rows : ROWS) {
                                Tensor x = random(rows, in, rows + 3 * in);
                                if (kernel.int8()) {
                                    assertRelativeError(plain.apply(x.to(p.scalarType())), tested.apply(x.to(p.scalarType())),
                                            0.015, kernel, p, in, out, rows);
                                } else {
                                    assertMaxError(plain.apply(x.to(p.scalarType())), tested.apply(x.to(p.scalarType())),
                                            tolerance(p), kernel, p, in, out, rows);
                                }
                                n++;
                            }
                        }
                    }
                }
            }
        }
        assertEquals(IN.length * OUT.length * 2 * ROWS.length, n);
    }

    /** Weight-only int8 against PLAIN on its own dequantized weight (q * scale): rounding of the compute dtype only. */
    @Test
    void int8WeightOnlyAgreesWithPlainOnItsDequantizedWeight() {
        for (Precision p : new Precision[] {Precision.F32, Precision.BF16}) {
            for (long in : IN) {
                if (!QuantOps.int8WeightOnlyFits(in, p.scalarType())) {
                    continue;
                }
                for (long out : OUT) {
                    try (InferenceMode ignored = new InferenceMode(); PointerScope scope = new PointerScope()) {
                        Tensor w = random(out, in, 5 * in + out).to(p.scalarType());
                        QuantOps.Int8WeightOnly q = QuantOps.get().int8WeightOnlyPack(w, p.scalarType());
                        assertEquals(ScalarType.Char, q.q().scalar_type().intern());
                        assertTrue(q.q().abs().max().item_int() <= 127);
                        Tensor deq = q.q().to(ScalarType.Float).mul(q.scales().to(ScalarType.Float).unsqueeze(1)).to(p.scalarType());
                        try (Linear plain = new Linear(new Tensor(deq), null, LinearKernel.PLAIN);
                             Linear wo = new Linear(new Tensor(w), null, LinearKernel.INT8_WEIGHT_ONLY)) {
                            for (long rows : ROWS) {
                                Tensor x = random(rows, in, rows + 7 * in).to(p.scalarType());
                                assertMaxError(plain.apply(x), wo.apply(x), tolerance(p), LinearKernel.INT8_WEIGHT_ONLY, p, in, out, rows);
                            }
                        }
                        q.close();
                    }
                }
            }
        }
    }

    /**
     * The int4 kernel on shapes it takes (out a multiple of 16 but not of 32/64, in a multiple of the group) against
     * PLAIN on the dequantized weight; shapes it does not take fall back to the dequantized weight.
     */
    @Test
    void int4KernelAgreesWithPlainOnItsDequantizedWeight() {
        long[][] shapes = {{96, 48, 32}, {160, 80, 32}, {192, 176, 64}, {256, 400, 128}, {100, 40, 32}};
        for (long[] s : shapes) {
            long in = s[0];
            long out = s[1];
            int g = (int) s[2];
            for (Precision p : new Precision[] {Precision.F32, Precision.BF16}) {
                try (InferenceMode ignored = new InferenceMode(); PointerScope scope = new PointerScope()) {
                    GptqWeight gw = randomGptq(in, out, g, in * 31 + out);
                    boolean fits = gw.int4KernelUnfit() == null;
                    Tensor deq = gw.dequantize(p.scalarType());
                    try (Linear plain = new Linear(new Tensor(deq), null, LinearKernel.PLAIN);
                         Linear int4 = Linear.ofGptq("test", gw, null, KernelPolicy.single(LinearKernel.INT4_PACKED),
                                 LinearKernel.PLAIN, p.scalarType())) {
                        assertEquals(fits ? LinearKernel.INT4_PACKED : LinearKernel.PLAIN, int4.kernelFor(1), "[" + out + " x " + in + "]");
                        for (long rows : ROWS) {
                            Tensor x = random(rows, in, rows + in).to(p.scalarType());
                            // the kernel runs bf16 activations and bf16 scales
                            assertMaxError(plain.apply(x), int4.apply(x), 2e-2, LinearKernel.INT4_PACKED, p, in, out, rows);
                        }
                    }
                }
            }
        }
    }

    /** fp32 oneDNN with out-features whose padded layout used to be wrong (the 176/200 intermediate sizes). */
    @Test
    void oneDnnFp32IsExactForEveryOutFeatureCount() {
        try (InferenceMode ignored = new InferenceMode(); PointerScope scope = new PointerScope()) {
            for (long out = 1; out <= 130; out++) {
                Tensor w = random(out, 64, out);
                try (Linear plain = new Linear(new Tensor(w), null, LinearKernel.PLAIN);
                     Linear packed = new Linear(new Tensor(w), null, LinearKernel.ONEDNN_PREPACKED)) {
                    assertEquals(LinearKernel.ONEDNN_PREPACKED, packed.kernelFor(1));
                    Tensor x = random(2, 64, 7);
                    assertMaxError(plain.apply(x), packed.apply(x), 1e-5, LinearKernel.ONEDNN_PREPACKED, Precision.F32, 64, out, 2);
                }
            }
        }
    }

    static double tolerance(Precision p) {
        return p == Precision.F32 ? 1e-5 : 2e-2; // of the largest |y|: fp32 summation order, bf16 rounding of y
    }

    /** Uniform values in [-1, 1) from a seeded Java generator (libtorch's global generator is left alone). */
    static Tensor random(long rows, long cols, long seed) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        float[] v = new float[(int) (rows * cols)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (2 * r.nextDouble() - 1);
        }
        return Torch.floats(v, new Device(torch.DeviceType.CPU), rows, cols);
    }

    /** A GPTQ weight with sequential groups: q and zeros in 0..15 / 1..15, small positive scales. */
    static GptqWeight randomGptq(long in, long out, int g, long seed) {
        Device cpu = new Device(torch.DeviceType.CPU);
        long groups = (in + g - 1) / g;
        Tensor q = random(out, in, seed).add(new Scalar(1)).mul(new Scalar(7.99)).floor().to(ScalarType.Int);
        Tensor z = random(groups, out, seed + 1).add(new Scalar(1)).mul(new Scalar(7)).floor().add(new Scalar(1)).to(ScalarType.Int);
        Tensor s = random(groups, out, seed + 2).abs().mul(new Scalar(0.02)).add(new Scalar(0.005));
        Tensor idx = torch.arange(new Scalar(0), new Scalar(in), new Scalar(1), Torch.options(ScalarType.Long, cpu))
                .floor_divide(new Scalar(g));
        for (Tensor t : new Tensor[] {q, z, s, idx}) {
            t.retainReference(); // the weight owns them (closed by the Linear)
        }
        return new GptqWeight(q, s, z, idx, g, true);
    }

    static void assertMaxError(Tensor expected, Tensor actual, double tol, LinearKernel k, Precision p, long in, long out, long rows) {
        assertArrayEquals(Torch.shape(expected), Torch.shape(actual));
        Tensor e = expected.to(ScalarType.Double);
        double err = actual.to(ScalarType.Double).sub(e).abs().max().item_double();
        double scale = e.abs().max().item_double();
        assertTrue(err <= tol * scale + 1e-6, k + " " + p + " [" + rows + " x " + in + "] x [" + out + " x " + in + "]^T: max |Δ| "
                + err + " against max |y| " + scale);
    }

    static void assertRelativeError(Tensor expected, Tensor actual, double tol, LinearKernel k, Precision p, long in, long out, long rows) {
        assertArrayEquals(Torch.shape(expected), Torch.shape(actual));
        Tensor e = expected.to(ScalarType.Double);
        double err = actual.to(ScalarType.Double).sub(e).norm().item_double();
        double scale = e.norm().item_double();
        assertTrue(err <= tol * scale + 1e-6, k + " " + p + " [" + rows + " x " + in + "] x [" + out + " x " + in + "]^T: ‖Δ‖ "
                + err + " against ‖y‖ " + scale);
    }
}
