package io.qwenserve.engine.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.config.ModelConfig;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/** Every way a checkpoint can be broken gives a {@link CheckpointException} naming the file and the tensor. */
class CheckpointValidationTest {
    @TempDir
    Path tmp;

    /** A small Qwen2 checkpoint (vocab 32, hidden 8, 1 layer) in the real layout. */
    static ModelConfig small(Path dir, int shards) {
        return RandomCheckpoint.write(dir, new RandomCheckpoint.Spec(Architecture.QWEN2, 1, 8, 2, 1, 4, 16, 32, 64,
                DType.F32, shards, 7, false));
    }

    private static String fails(Executable e, String... mustContain) {
        CheckpointException ex = assertThrows(CheckpointException.class, e);
        for (String s : mustContain) {
            assertTrue(ex.getMessage().contains(s), "message '" + ex.getMessage() + "' should contain '" + s + "'");
        }
        return ex.getMessage();
    }

    /** Writes an 8-byte little-endian length, then {@code header}, then {@code data}. */
    private static Path rawFile(Path file, long headerLength, String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(headerLength).put(h).put(data);
        Files.write(file, b.array());
        return file;
    }

    private static Path rawFile(Path file, String header, byte[] data) throws IOException {
        return rawFile(file, header.getBytes(StandardCharsets.UTF_8).length, header, data);
    }

    // ---- lookups -----------------------------------------------------------------------------------------------------

    @Test
    void missingTensor() {
        Path dir = tmp.resolve("m");
        small(dir, 1);
        try (Checkpoint c = Checkpoint.open(dir)) {
            fails(() -> c.require("model.layers.5.mlp.up_proj.weight", 16, 8),
                    dir.resolve("model.safetensors").toString(), "'model.layers.5.mlp.up_proj.weight'", "missing tensor");
            assertTrue(c.find("model.layers.5.mlp.up_proj.weight").isEmpty());
        }
    }

    @Test
    void missingTensorInShardedCheckpointNamesTheFolder() {
        Path dir = tmp.resolve("m3");
        small(dir, 3);
        try (Checkpoint c = Checkpoint.open(dir)) {
            fails(() -> c.require("model.layers.1.input_layernorm.weight", 8), dir.toString(), "'model.layers.1.input_layernorm.weight'", "missing tensor", "3 shards");
        }
    }

    @Test
    void wrongShape() {
        Path dir = tmp.resolve("s");
        small(dir, 1);
        try (Checkpoint c = Checkpoint.open(dir)) {
            fails(() -> c.require("model.embed_tokens.weight", 33, 8), dir.resolve("model.safetensors").toString(),
                    "'model.embed_tokens.weight'", "wrong shape", "[32, 8]", "[33, 8]");
            fails(() -> c.require("model.norm.weight", 8, 1), "'model.norm.weight'", "[8]", "[8, 1]");
            assertEquals(32 * 8, c.require("model.embed_tokens.weight", 32, 8).numel());
        }
    }

    @Test
    void integerTensorIsNotAFloatWeight() throws IOException {
        Path dir = tmp.resolve("i");
        Files.createDirectories(dir);
        new SafetensorsWriter().addInts("q.qweight", new int[] {1, 2, 3, 4}, 2, 2).write(dir.resolve("model.safetensors"));
        try (Checkpoint c = Checkpoint.open(dir)) {
            fails(() -> c.requireFloat("q.qweight", 2, 2), dir.resolve("model.safetensors").toString(), "'q.qweight'", "I32");
            fails(() -> Checkpoint.readFloats(c.require("q.qweight", 2, 2)), "'q.qweight'", "I32");
            assertEquals(3, Checkpoint.readInts(c.require("q.qweight", 2, 2))[2]);
        }
    }

    // ---- broken files ---------------------------------------------------------------------------------------------

    @Test
    void truncatedData() throws IOException {
        Path dir = tmp.resolve("t");
        small(dir, 1);
        Path f = dir.resolve("model.safetensors");
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(raf.length() - 10);
        }
        fails(() -> Checkpoint.open(dir), f.toString(), "truncated file");
    }

    @Test
    void truncatedHeader() throws IOException {
        Path f = rawFile(tmp.resolve("h.safetensors"), 100, "{\"a\":", new byte[0]);
        fails(() -> SafetensorsFile.open(f), f.toString(), "truncated file", "header length 100");
    }

    @Test
    void fileShorterThanTheLengthField() throws IOException {
        Path f = tmp.resolve("tiny.safetensors");
        Files.write(f, new byte[] {1, 2, 3});
        fails(() -> SafetensorsFile.open(f), f.toString(), "bad header");
    }

    @Test
    void headerIsNotJson() throws IOException {
        Path f = rawFile(tmp.resolve("j.safetensors"), "{\"w\": {\"dtype\": \"F32\", oops", new byte[0]);
        fails(() -> SafetensorsFile.open(f), f.toString(), "bad header", "not valid JSON");
        Path g = rawFile(tmp.resolve("k.safetensors"), "[1, 2, 3]", new byte[0]);
        fails(() -> SafetensorsFile.open(g), g.toString(), "bad header", "not a JSON object");
    }

    @Test
    void headerLengthOutOfRange() throws IOException {
        for (long n : new long[] {0, 100_000_001L, 1L << 40, -1L}) {
            Path f = rawFile(tmp.resolve("n" + Long.toUnsignedString(n) + ".safetensors"), n, "{}      ", new byte[0]);
            fails(() -> SafetensorsFile.open(f), f.toString(), "bad header", "out of range", Long.toUnsignedString(n));
        }
    }

    @Test
    void unknownDtype() throws IOException {
        Path f = rawFile(tmp.resolve("d.safetensors"),
                "{\"w\":{\"dtype\":\"Q4_X\",\"shape\":[2],\"data_offsets\":[0,2]}}", new byte[2]);
        fails(() -> SafetensorsFile.open(f), f.toString(), "'w'", "unknown dtype 'Q4_X'");
    }

    @Test
    void offsetsThatDoNotMatchTheShape() throws IOException {
        Path f = rawFile(tmp.resolve("o.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", new byte[20]);
        fails(() -> SafetensorsFile.open(f), f.toString(), "'w'", "bad header", "24");
        Path g = rawFile(tmp.resolve("p.safetensors"), "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", new byte[4]);
        fails(() -> SafetensorsFile.open(g), g.toString(), "'w'", "bad header", "data_offsets");
    }

    @Test
    void duplicateTensorName() throws IOException {
        String entry = "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}";
        Path f = rawFile(tmp.resolve("dup.safetensors"), "{" + entry + "," + entry.replace("[0,4]", "[4,8]") + "}", new byte[8]);
        fails(() -> SafetensorsFile.open(f), f.toString(), "bad header", "'w'");
    }

    @Test
    void noSafetensorsAtAll() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("empty"));
        fails(() -> Checkpoint.open(dir), dir.toString(), "model.safetensors");
    }

    // ---- config.json ------------------------------------------------------------------------------------------------

    @Test
    void unsupportedArchitecture() throws IOException {
        Path dir = tmp.resolve("a");
        small(dir, 1);
        Path cfg = dir.resolve("config.json");
        ObjectMapper om = new ObjectMapper();
        ObjectNode c = (ObjectNode) om.readTree(cfg.toFile());
        c.putArray("architectures").add("LlamaForCausalLM");
        c.put("model_type", "llama");
        om.writeValue(cfg.toFile(), c);
        fails(() -> ModelConfig.load(dir), cfg.toString(), "unsupported architecture", "'LlamaForCausalLM'");
    }

    @Test
    void missingConfigJson() throws IOException {
        Path dir = tmp.resolve("c");
        small(dir, 1);
        Files.delete(dir.resolve("config.json"));
        fails(() -> ModelConfig.load(dir), dir.resolve("config.json").toString(), "missing");
    }

    @Test
    void configJsonNotJson() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("cj"));
        Files.writeString(dir.resolve("config.json"), "{\"architectures\": [");
        fails(() -> ModelConfig.load(dir), dir.resolve("config.json").toString(), "not valid JSON");
    }

    // ---- sharded checkpoints -------------------------------------------------------------------------------------

    private static ObjectNode readIndex(Path dir) throws IOException {
        return (ObjectNode) new ObjectMapper().readTree(dir.resolve(Checkpoint.INDEX).toFile());
    }

    @Test
    void indexNamesAMissingShard() throws IOException {
        Path dir = tmp.resolve("ms");
        small(dir, 3);
        String shard = "model-00002-of-00003.safetensors";
        String tensor = null;
        for (var it = readIndex(dir).get("weight_map").fields(); it.hasNext(); ) {
            var e = it.next();
            if (e.getValue().asText().equals(shard)) {
                tensor = e.getKey();
                break;
            }
        }
        assertTrue(tensor != null, "shard 2 should hold a tensor");
        Files.delete(dir.resolve(shard));
        fails(() -> Checkpoint.open(dir), dir.resolve(Checkpoint.INDEX).toString(), "'" + shard + "'", "does not exist",
                "'" + tensor + "'");
    }

    @Test
    void indexListsATensorNotInItsShard() throws IOException {
        Path dir = tmp.resolve("nt");
        small(dir, 3);
        ObjectNode index = readIndex(dir);
        String shard = "model-00001-of-00003.safetensors";
        ((ObjectNode) index.get("weight_map")).put("model.layers.0.self_attn.extra.weight", shard);
        new ObjectMapper().writeValue(dir.resolve(Checkpoint.INDEX).toFile(), index);
        fails(() -> Checkpoint.open(dir), dir.resolve(shard).toString(), "'model.layers.0.self_attn.extra.weight'",
                "missing tensor", Checkpoint.INDEX);
    }

    @Test
    void indexWithoutWeightMap() throws IOException {
        Path dir = tmp.resolve("nw");
        small(dir, 3);
        Files.writeString(dir.resolve(Checkpoint.INDEX), "{\"metadata\": {\"total_size\": 0}}");
        fails(() -> Checkpoint.open(dir), dir.resolve(Checkpoint.INDEX).toString(), "weight_map");
        Files.writeString(dir.resolve(Checkpoint.INDEX), "{\"weight_map\": ");
        fails(() -> Checkpoint.open(dir), dir.resolve(Checkpoint.INDEX).toString(), "not valid JSON");
    }

    @Test
    void brokenShardNamesTheShard() throws IOException {
        Path dir = tmp.resolve("bs");
        small(dir, 3);
        Path shard = dir.resolve("model-00003-of-00003.safetensors");
        try (RandomAccessFile raf = new RandomAccessFile(shard.toFile(), "rw")) {
            raf.setLength(raf.length() - 1);
        }
        fails(() -> Checkpoint.open(dir), shard.toString(), "truncated file");
    }
}
