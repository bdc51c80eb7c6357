package io.qwenserve.engine.model;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class KernelPolicyTest {
    @Test
    void parsesRulesAndChoosesByTokens() {
        KernelPolicy p = KernelPolicy.parse("*:ONEDNN_PREPACKED, 2:gemv");
        assertEquals(LinearKernel.GEMV, p.choose(1));
        assertEquals(LinearKernel.GEMV, p.choose(2));
        assertEquals(LinearKernel.ONEDNN_PREPACKED, p.choose(3));
        assertEquals(LinearKernel.ONEDNN_PREPACKED, p.choose(10_000));
        assertEquals("2:GEMV,*:ONEDNN_PREPACKED", p.toString());
        assertEquals(p, KernelPolicy.parse(p.toString()));
    }

    @Test
    void singleKernelAndShortNames() {
        assertEquals(KernelPolicy.single(LinearKernel.INT8_FBGEMM), KernelPolicy.parse("int8"));
        assertEquals("INT4_PACKED", KernelPolicy.parse("int4").toString());
        // a last bound that is not "*" still covers every larger step
        assertEquals(LinearKernel.PLAIN, KernelPolicy.parse("4:gemv,16:plain").choose(100));
    }

    @Test
    void rejectsNonsense() {
        assertThrows(IllegalArgumentException.class, () -> KernelPolicy.parse(""));
        assertThrows(IllegalArgumentException.class, () -> KernelPolicy.parse("0:plain"));
        assertThrows(IllegalArgumentException.class, () -> KernelPolicy.parse("x:plain"));
        assertThrows(IllegalArgumentException.class, () -> KernelPolicy.parse("fast"));
        assertThrows(IllegalArgumentException.class, () -> KernelPolicy.parse("int8").checkDevice(false));
        KernelPolicy.single(LinearKernel.PLAIN).checkDevice(false);
    }

    @Test
    void defaults() {
        assertEquals(KernelPolicy.single(LinearKernel.PLAIN), KernelPolicy.defaultFor(false, Precision.BF16, Quantization.NONE, false));
        // CUDA, GPTQ: the CUDA int4 kernel (CudaInt4), which CUDA accepts
        assertEquals(KernelPolicy.single(LinearKernel.INT4_PACKED), KernelPolicy.defaultFor(false, Precision.BF16, Quantization.NONE, true));
        KernelPolicy.single(LinearKernel.INT4_PACKED).checkDevice(false);
        // int8: measured at load between fbgemm's dynamic int8 and weight-only int8
        KernelPolicy int8 = KernelPolicy.defaultFor(true, Precision.BF16, Quantization.INT8, false);
        assertTrue(int8.isMeasured());
        assertEquals(java.util.EnumSet.of(LinearKernel.INT8_FBGEMM, LinearKernel.INT8_WEIGHT_ONLY), int8.kernels());
        assertEquals(KernelPolicy.single(LinearKernel.INT4_PACKED), KernelPolicy.defaultFor(true, Precision.BF16, Quantization.NONE, true));
    }

    @Test
    void measuredPolicies() {
        assertSame(KernelPolicy.AUTO, KernelPolicy.parse("auto"));
        assertEquals("auto", KernelPolicy.AUTO.toString());
        KernelPolicy p = KernelPolicy.parse("auto:int8wo, int8");
        assertTrue(p.isMeasured());
        assertEquals("auto:INT8_FBGEMM,INT8_WEIGHT_ONLY", p.toString());
        assertEquals(p, KernelPolicy.parse(p.toString()));
        assertEquals(KernelPolicy.measured(KernelPolicy.candidatesFor(Quantization.INT8, false)),
                KernelPolicy.AUTO.resolveAuto(true, Quantization.INT8, false));
        assertEquals(java.util.EnumSet.of(LinearKernel.INT4_PACKED, LinearKernel.ONEDNN_PREPACKED),
                KernelPolicy.AUTO.resolveAuto(true, Quantization.NONE, true).kernels());
        assertEquals(KernelPolicy.single(LinearKernel.PLAIN), KernelPolicy.AUTO.resolveAuto(false, Quantization.NONE, false));
        assertFalse(KernelPolicy.parse("1:GEMV,*:ONEDNN_PREPACKED").isMeasured());
        assertThrows(IllegalArgumentException.class, () -> KernelPolicy.parse("auto:"));
    }
}
