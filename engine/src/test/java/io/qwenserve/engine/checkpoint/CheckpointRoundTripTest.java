package io.qwenserve.engine.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.config.ModelConfig;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** RandomCheckpoint / SafetensorsWriter output read back through Checkpoint: layout, index and values. */
class CheckpointRoundTripTest {
    @TempDir
    Path tmp;

    /** The tensor names the spec (§1.2, §2.1, §2.2) lists for a config. */
    static Set<String> expectedNames(ModelConfig c) {
        Set<String> names = new TreeSet<>();
        boolean v1 = c.architecture() == Architecture.QWEN;
        names.add(v1 ? "transformer.wte.weight" : "model.embed_tokens.weight");
        names.add(v1 ? "transformer.ln_f.weight" : "model.norm.weight");
        if (!c.tieWordEmbeddings()) {
            names.add("lm_head.weight");
        }
        for (int i = 0; i < c.numLayers(); i++) {
            if (v1) {
                for (String p : List.of("ln_1.weight", "ln_2.weight", "attn.c_attn.weight", "attn.c_attn.bias",
                        "attn.c_proj.weight", "mlp.w1.weight", "mlp.w2.weight", "mlp.c_proj.weight")) {
                    names.add("transformer.h." + i + "." + p);
                }
            } else {
                String l = "model.layers." + i + ".";
                for (String p : List.of("input_layernorm.weight", "post_attention_layernorm.weight",
                        "self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight",
                        "self_attn.o_proj.weight", "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight")) {
                    names.add(l + p);
                }
                if (c.qkvBias()) {
                    names.addAll(List.of(l + "self_attn.q_proj.bias", l + "self_attn.k_proj.bias", l + "self_attn.v_proj.bias"));
                }
                if (c.qkNorm()) {
                    names.addAll(List.of(l + "self_attn.q_norm.weight", l + "self_attn.k_norm.weight"));
                }
            }
        }
        return names;
    }

    private static Map<String, float[]> readAll(Checkpoint c) {
        Map<String, float[]> out = new LinkedHashMap<>();
        c.tensors().forEach((name, t) -> {
            float[] v = Checkpoint.readFloats(t);
            assertEquals(t.numel(), v.length, name);
            out.put(name, v);
        });
        return out;
    }

    /** Bytes of tensor data in one file: file size minus the 8-byte length and the header. */
    private static long dataBytes(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        return b.capacity() - 8 - b.getLong(0);
    }

    @ParameterizedTest
    @EnumSource(Architecture.class)
    void singleFileAndThreeShardsHoldTheSameTensors(Architecture arch) throws IOException {
        Path one = tmp.resolve("one");
        Path three = tmp.resolve("three");
        ModelConfig cfg = RandomCheckpoint.write(one, RandomCheckpoint.Spec.tiny(arch).withDtype(DType.BF16));
        RandomCheckpoint.write(three, RandomCheckpoint.Spec.tiny(arch).withDtype(DType.BF16).withShards(3));
        assertEquals(cfg, ModelConfig.load(one));
        assertEquals(cfg, ModelConfig.load(three));

        assertTrue(Files.isRegularFile(one.resolve(Checkpoint.SINGLE)));
        assertFalse(Files.exists(one.resolve(Checkpoint.INDEX)));
        assertFalse(Files.exists(three.resolve(Checkpoint.SINGLE)));

        JsonNode index = new ObjectMapper().readTree(three.resolve(Checkpoint.INDEX).toFile());
        Map<String, String> weightMap = new LinkedHashMap<>();
        index.get("weight_map").fields().forEachRemaining(e -> weightMap.put(e.getKey(), e.getValue().asText()));
        List<String> shardFiles;
        try (Stream<Path> s = Files.list(three)) {
            shardFiles = s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".safetensors")).sorted().toList();
        }
        assertEquals(List.of("model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                "model-00003-of-00003.safetensors"), shardFiles);
        assertEquals(new TreeSet<>(shardFiles), new TreeSet<>(weightMap.values()), "every shard holds tensors and is indexed");
        long shardData = 0;
        for (String f : shardFiles) {
            shardData += dataBytes(three.resolve(f));
        }

        try (Checkpoint a = Checkpoint.open(one); Checkpoint b = Checkpoint.open(three)) {
            assertEquals(expectedNames(cfg), new TreeSet<>(a.tensors().keySet()));
            assertEquals(expectedNames(cfg), new TreeSet<>(b.tensors().keySet()));
            assertEquals(expectedNames(cfg), new TreeSet<>(weightMap.keySet()));
            for (var e : b.tensors().entrySet()) {
                assertEquals(weightMap.get(e.getKey()), e.getValue().file().path().getFileName().toString(), e.getKey());
                assertEquals(DType.BF16, e.getValue().dtype());
            }
            long total = index.get("metadata").get("total_size").asLong();
            assertEquals(b.totalBytes(), total);
            assertEquals(a.totalBytes(), total);
            assertEquals(shardData, total, "total_size is the data of all shards");
            assertEquals(dataBytes(one.resolve(Checkpoint.SINGLE)), total);

            Map<String, float[]> va = readAll(a);
            Map<String, float[]> vb = readAll(b);
            for (String name : va.keySet()) {
                assertArrayEquals(va.get(name), vb.get(name), name);
            }
            // Shapes follow the config.
            int d = cfg.hiddenSize();
            assertArrayEquals(new long[] {cfg.vocabSize(), d}, a.tensors().get(arch.embedding()).shape());
            assertArrayEquals(new long[] {cfg.intermediateSize(), d}, a.tensors().get(arch.mlpGate(0) + ".weight").shape());
            assertArrayEquals(new long[] {d, cfg.qSize()}, a.tensors().get(arch.attnOut(0) + ".weight").shape());
        }
    }

    /** The same seed in F32, BF16 and F16: the 16-bit files hold exactly the rounded F32 values. */
    @ParameterizedTest
    @EnumSource(Architecture.class)
    void halfPrecisionFilesHoldTheRoundedF32Values(Architecture arch) {
        Map<DType, Map<String, float[]>> byType = new LinkedHashMap<>();
        for (DType dt : new DType[] {DType.F32, DType.BF16, DType.F16}) {
            Path dir = tmp.resolve(dt.name());
            RandomCheckpoint.write(dir, new RandomCheckpoint.Spec(arch, 2, 16, 2, 1, 8, 24, 50, 64, dt, 2, 99, true));
            try (Checkpoint c = Checkpoint.open(dir)) {
                c.tensors().values().forEach(t -> assertEquals(dt, t.dtype(), t.where()));
                byType.put(dt, readAll(c));
            }
        }
        Map<String, float[]> f32 = byType.get(DType.F32);
        int checked = 0;
        for (String name : f32.keySet()) {
            float[] x = f32.get(name);
            float[] bf = byType.get(DType.BF16).get(name);
            float[] h = byType.get(DType.F16).get(name);
            for (int i = 0; i < x.length; i++) {
                assertEquals(DType.bf16ToFloat(DType.floatToBf16(x[i])), bf[i], name + "[" + i + "]");
                assertEquals(DType.halfToFloat(DType.floatToHalf(x[i])), h[i], name + "[" + i + "]");
                checked++;
            }
            boolean anyRounded = false;
            for (int i = 0; i < x.length; i++) {
                anyRounded |= x[i] != bf[i];
            }
            assertTrue(anyRounded || x.length < 4, name + ": BF16 should differ from F32 somewhere");
        }
        assertTrue(checked > 1000);
    }

    @Test
    void writerValuesReadBackAsTheirEncoding() throws IOException {
        float[] values = {0f, -0f, 1f, -2.5f, (float) Math.PI, 1e-3f, 65504f, 65520f, 1e5f, 0x1p-24f, 0x1p-25f,
                3 * 0x1p-25f, 1e-10f, Float.MAX_VALUE, Float.MIN_VALUE, Float.POSITIVE_INFINITY,
                Float.NEGATIVE_INFINITY, Float.NaN, 1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, 1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f};
        Path dir = Files.createDirectories(tmp.resolve("w"));
        new SafetensorsWriter()
                .addFloats("f32", DType.F32, values, values.length)
                .addFloats("bf16", DType.BF16, values, 2, values.length / 2)
                .addFloats("f16", DType.F16, values, values.length, 1)
                .write(dir.resolve(Checkpoint.SINGLE));
        byte[] file = Files.readAllBytes(dir.resolve(Checkpoint.SINGLE));
        ByteBuffer buf = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        int n = (int) buf.getLong(0);
        assertEquals(0, n % 8, "header padded to a multiple of 8");
        String header = new String(file, 8, n, StandardCharsets.UTF_8);
        assertEquals(header.strip(), header.substring(0, header.strip().length()), "padding is trailing spaces");
        assertTrue(header.contains("\"__metadata__\":{\"format\":\"pt\"}"));

        try (Checkpoint c = Checkpoint.open(dir)) {
            TensorInfo f32 = c.require("f32", values.length);
            TensorInfo bf16 = c.require("bf16", 2, values.length / 2);
            TensorInfo f16 = c.require("f16", values.length, 1);
            assertEquals(8L + n, f32.begin(), "data offsets are relative to the end of the header");
            assertEquals(4L * values.length, f32.byteLength());
            assertEquals(2L * values.length, bf16.byteLength());
            assertEquals(f32.begin() + f32.byteLength(), bf16.begin());
            float[] a = Checkpoint.readFloats(f32);
            float[] b = Checkpoint.readFloats(bf16);
            float[] h = Checkpoint.readFloats(f16);
            for (int i = 0; i < values.length; i++) {
                assertEquals(Float.floatToRawIntBits(values[i]), Float.floatToRawIntBits(a[i]), "f32 " + values[i]);
                short eb = DType.floatToBf16(values[i]);
                short eh = DType.floatToHalf(values[i]);
                assertEquals(eb, buf.getShort((int) bf16.begin() + 2 * i), "stored bf16 bits of " + values[i]);
                assertEquals(eh, buf.getShort((int) f16.begin() + 2 * i), "stored f16 bits of " + values[i]);
                assertEquals(Float.floatToRawIntBits(DType.bf16ToFloat(eb)), Float.floatToRawIntBits(b[i]), "bf16 " + values[i]);
                assertEquals(Float.floatToRawIntBits(DType.halfToFloat(eh)), Float.floatToRawIntBits(h[i]), "f16 " + values[i]);
            }
            assertEquals(Float.POSITIVE_INFINITY, h[7], "65520 overflows to +inf in F16");
            assertEquals(1.0f, b[18], "1 + 2^-8 ties to even in BF16");
            assertEquals(1.0f + 0x1p-6f, b[19]);
            assertEquals(1.0f, h[20], "1 + 2^-11 ties to even in F16");
            assertEquals(1.0f + 0x1p-9f, h[21]);
            assertTrue(Float.isNaN(b[17]) && Float.isNaN(h[17]));
        }
    }

    /** The worked example of the spec (§3): 96 bytes, one F32 tensor "attn.0" of shape [1,2,3] holding 0..5. */
    @Test
    void readsTheSpecWorkedExample() throws IOException {
        byte[] bytes = HexFormat.of().parseHex("4000000000000000"
                + "7b226174746e2e30223a7b226474797065223a22463332222c227368617065223a5b312c322c335d2c22646174615f6f666673657473223a5b302c32345d7d7d"
                + "000000000000803f0000004000004040000080400000a040");
        assertEquals(96, bytes.length);
        Path dir = Files.createDirectories(tmp.resolve("ex"));
        Files.write(dir.resolve("example.safetensors"), bytes);   // not named model.safetensors: found by extension
        try (Checkpoint c = Checkpoint.open(dir)) {
            TensorInfo t = c.require("attn.0", 1, 2, 3);
            assertEquals(DType.F32, t.dtype());
            assertEquals(72, t.begin());
            assertArrayEquals(new float[] {0, 1, 2, 3, 4, 5}, Checkpoint.readFloats(t));
        }
        // ... and the writer produces the same data section and an equivalent header.
        new SafetensorsWriter().addFloats("attn.0", DType.F32, new float[] {0, 1, 2, 3, 4, 5}, 1, 2, 3)
                .write(tmp.resolve("mine.safetensors"));
        byte[] mine = Files.readAllBytes(tmp.resolve("mine.safetensors"));
        assertArrayEquals(java.util.Arrays.copyOfRange(bytes, 72, 96), java.util.Arrays.copyOfRange(mine, mine.length - 24, mine.length));
        try (SafetensorsFile f = SafetensorsFile.open(tmp.resolve("mine.safetensors"))) {
            assertEquals("pt", f.metadata().get("format"));
            assertEquals(Set.of("attn.0"), f.tensors().keySet());
        }
    }

    @Test
    void scalarsAndEmptyTensors() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("se"));
        new SafetensorsWriter()
                .addFloats("scalar", DType.F32, new float[] {7f})
                .addFloats("empty", DType.BF16, new float[0], 0, 4)
                .addFloats("after", DType.F16, new float[] {1f, 2f}, 2)
                .write(dir.resolve(Checkpoint.SINGLE));
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertArrayEquals(new float[] {7f}, Checkpoint.readFloats(c.require("scalar")));
            assertEquals(0, Checkpoint.readFloats(c.require("empty", 0, 4)).length);
            assertArrayEquals(new float[] {1f, 2f}, Checkpoint.readFloats(c.require("after", 2)));
        }
    }

    /** The real-size tiny spec gives the documented shapes; Qwen v1 stores twice the MLP width in config.json. */
    @Test
    void tinySpecConfigs() throws IOException {
        for (Architecture a : Architecture.values()) {
            ModelConfig c = RandomCheckpoint.Spec.tiny(a).toConfig();
            assertEquals(151936, c.vocabSize());
            assertEquals(a != Architecture.QWEN, c.tieWordEmbeddings());
            JsonNode json = c.toHfJson();
            assertEquals(a == Architecture.QWEN ? 256 : 128, json.get("intermediate_size").asInt());
            assertEquals(128, c.intermediateSize());
        }
        List<String> names = new ArrayList<>(expectedNames(RandomCheckpoint.Spec.tiny(Architecture.QWEN3).toConfig()));
        assertTrue(names.contains("model.layers.1.self_attn.q_norm.weight"));
        assertFalse(names.stream().anyMatch(n -> n.endsWith(".bias")), names.stream().filter(n -> n.endsWith(".bias"))
                .collect(Collectors.joining(",")));
    }
}
