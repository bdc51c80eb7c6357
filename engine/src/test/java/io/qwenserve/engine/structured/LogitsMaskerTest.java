package io.qwenserve.engine.structured;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qwenserve.engine.model.Torch;
import io.qwenserve.engine.tokenizer.QwenTokenizer;
import java.util.List;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/** Masked logits: disallowed ids of constrained rows become -inf; other rows are untouched. */
class LogitsMaskerTest {
    @Test
    void masksOnlyConstrainedRows() {
        int v = 151936; // the model's rows, beyond the tokenizer's ids
        GrammarMatcher m = Walks.OUTPUTS.matcher(ResponseFormat.choice(List.of("yes", "no")), Walks.END_IDS);
        TokenMask mask = m.mask();
        int[] ends = {QwenTokenizer.IM_END};
        try (Tensor logits = torch.zeros(3, v)) {
            new LogitsMasker().apply(logits, List.of(new LogitsMasker.Row(1, mask, ends)));
            float[] all = Torch.toFloats(logits);
            for (int row = 0; row < 3; row++) {
                int finite = 0;
                for (int id = 0; id < v; id++) {
                    float x = all[row * v + id];
                    if (Float.isFinite(x)) {
                        finite++;
                        if (row == 1) {
                            assertTrue(mask.allows(id), "id " + id);
                        }
                    }
                }
                assertEquals(row == 1 ? mask.count() : v, finite, "row " + row);
            }
        }
        for (int id : Walks.TOKENIZER.encodeOrdinary("yes")) {
            assertTrue(m.accept(id));
        }
        try (Tensor logits = torch.zeros(1, v)) {
            new LogitsMasker().apply(logits, List.of(new LogitsMasker.Row(0, m.mask(), ends)));
            float[] row = Torch.toFloats(logits);
            assertTrue(Float.isFinite(row[QwenTokenizer.IM_END]), "end allowed once complete");
            assertTrue(Float.isInfinite(row[QwenTokenizer.ENDOFTEXT]), "only the given end ids");
        }
        assertTrue(new Device(torch.DeviceType.CPU).is_cpu());
    }
}
