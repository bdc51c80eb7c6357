package io.qwenserve.engine.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/** How the bench reports numbers: rounded, null when not measured, and the per-step figures of decode steps. */
public final class BenchFigures {
    private BenchFigures() {}

    /**
     * Per-step figures of the pure decode steps of one batch size (medians): the engine step, the model runner (forward
     * pass and sampling), the linear layers within the step, and what the step spends outside them (attention, norms,
     * RoPE, the KV cache, sampling, scheduling, detokenizing), each step less its own linear time. {@code boundMs} is
     * the matmul bound's step at that batch (the linear stack alone, timed outside the engine).
     */
    public static void putStepFigures(ObjectNode o, List<StepRecorder.Step> decode, double boundMs) {
        o.put("decode_steps", decode.size());
        putNumber(o, "step_ms_p50", StepRecorder.medianStepMs(decode));
        putNumber(o, "forward_ms_p50", StepRecorder.medianForwardMs(decode));
        putNumber(o, "linear_ms_p50", StepRecorder.medianLinearMs(decode));
        putNumber(o, "linear_ms_bound", boundMs);
        putNumber(o, "step_ms_outside_linears", StepRecorder.medianStepMsOutsideLinears(decode));
        putNumber(o, "forward_ms_outside_linears", StepRecorder.medianForwardMsOutsideLinears(decode));
    }

    /** A rounded number, or null when it could not be measured (no step of that kind ran). */
    public static void putNumber(ObjectNode o, String name, double v) {
        if (Double.isNaN(v)) {
            o.putNull(name);
        } else {
            o.put(name, round(v));
        }
    }

    public static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
