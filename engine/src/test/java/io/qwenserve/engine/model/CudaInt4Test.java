package io.qwenserve.engine.model;

import static org.junit.jupiter.api.Assertions.*;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What of the CUDA int4 path runs without a GPU: the two-values-a-byte form the CUDA kernel's packing takes, the shapes
 * and dtypes it refuses, and the fallback: where the kernel cannot run (here, the CPU, which has no such kernel) the
 * probe says why and GPTQ layers are dequantized. The kernel itself has not run on a GPU.
 */
class CudaInt4Test {
    @BeforeAll
    static void init() {
        TorchRuntime.init();
    }

    @Test
    void twoValuesAByteTheEvenColumnHigh() {
        try (PointerScope scope = new PointerScope()) {
            Tensor q = Torch.longs(new long[] {1, 2, 15, 0, 7, 8, 0, 15}, Torch.device("cpu")).to(ScalarType.Int).view(2, 4);
            Tensor b = CudaInt4.nibbles(q);
            assertEquals(ScalarType.Byte, b.scalar_type().intern());
            assertArrayEquals(new long[] {2, 2}, Torch.shape(b));
            assertArrayEquals(new int[] {0x12, 0xF0, 0x78, 0x0F}, Torch.toInts(b));
        }
    }

    @Test
    void refusesWhatTheKernelDoesNotTakeAndFallsBackWhereItCannotRun() {
        try (PointerScope scope = new PointerScope(); Device cpu = Torch.device("cpu")) {
            long n = 32;
            long k = 256;
            Tensor q = torch.zeros(new long[] {n, k}, Torch.options(ScalarType.Int, cpu));
            Tensor scales = torch.ones(new long[] {k / 64, n}, Torch.options(ScalarType.Float, cpu));
            Tensor zeros = torch.zeros(new long[] {k / 64, n}, Torch.options(ScalarType.Int, cpu));
            Tensor gIdx = torch.arange(new Scalar(0), new Scalar(k), new Scalar(1), Torch.options(ScalarType.Long, cpu))
                    .floor_divide(new Scalar(64));
            GptqWeight w = new GptqWeight(q, scales, zeros, gIdx, 64, true);
            GptqWeight act = new GptqWeight(q, scales, zeros, gIdx, 64, false);
            assertTrue(CudaInt4.unfit(act, cpu).contains("desc_act"));
            Tensor q100 = torch.zeros(new long[] {n, 192}, Torch.options(ScalarType.Int, cpu));
            Tensor g100 = torch.arange(new Scalar(0), new Scalar(192), new Scalar(1), Torch.options(ScalarType.Long, cpu))
                    .floor_divide(new Scalar(64));
            GptqWeight narrow = new GptqWeight(q100, torch.ones(new long[] {3, n}, Torch.options(ScalarType.Float, cpu)),
                    torch.zeros(new long[] {3, n}, Torch.options(ScalarType.Int, cpu)), g100, 64, true);
            assertTrue(CudaInt4.unfit(narrow, cpu).contains("not a multiple of 128"), "192 in features");
            String why = CudaInt4.probe(cpu);
            assertNotNull(why, "the CPU has no aten::_weight_int4pack_mm: the probe must fail");
            assertTrue(why.startsWith("the kernel failed"), why);
            assertEquals(why, CudaInt4.unfit(w, cpu), "a failed probe dequantizes the layer");
        }
    }

    /** The CPU int4 kernel, which takes the same scales and zeros; {@code swapPairs}: columns 2i and 2i+1 exchanged. */
    private static CudaInt4.Kernel cpuKernel(boolean swapPairs) {
        return new CudaInt4.Kernel() {
            @Override
            public Tensor pack(Tensor q) {
                Tensor in = q;
                if (swapPairs) {
                    Tensor pairs = q.view(q.size(0), q.size(1) / 2, 2);
                    in = torch.stack(new org.bytedeco.pytorch.TensorArrayRef(new org.bytedeco.pytorch.TensorVector(
                            pairs.select(2, 1), pairs.select(2, 0))), 2).view(q.size(0), q.size(1)).contiguous();
                }
                return QuantOps.get().int4Pack(in);
            }

            @Override
            public Tensor linear(Tensor x, Tensor packed, long groupSize, Tensor scalesAndZeros) {
                return QuantOps.get().int4Linear(x, packed, groupSize, scalesAndZeros);
            }
        };
    }

    @Test
    void theProbeAcceptsAKernelThatComputesTheProductAndCatchesAPackingMistake() {
        try (PointerScope scope = new PointerScope(); Device cpu = Torch.device("cpu")) {
            assertNull(CudaInt4.probe(cpu, cpuKernel(false)), "libtorch's CPU int4 kernel, packed right");
            String wrong = CudaInt4.probe(cpu, cpuKernel(true));
            assertNotNull(wrong, "nibbles in the wrong order");
            assertTrue(wrong.contains("differs from the dequantized one"), wrong);
        }
    }
}
