package io.qwenserve.loadtest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The request mix of a run: lines of a JSONL file ({@code {"prompt": "...", "max_tokens": N}}), or a built-in synthetic
 * mix of short and long chats (80% short questions with short answers, 20% long prompts with long answers).
 */
public final class Dataset {
    /** One entry: a chat prompt or raw prompt ids, and its target output length. */
    public record Entry(String prompt, int[] promptIds, int maxTokens) {
        Entry(String prompt, int maxTokens) {
            this(prompt, null, maxTokens);
        }
    }

    private final List<Entry> entries;

    private Dataset(List<Entry> entries) {
        if (entries.isEmpty()) {
            throw new IllegalArgumentException("the dataset is empty");
        }
        this.entries = List.copyOf(entries);
    }

    public static Dataset load(Path file) throws IOException {
        ObjectMapper om = new ObjectMapper();
        List<Entry> out = new ArrayList<>();
        int n = 0;
        for (String line : Files.readAllLines(file)) {
            n++;
            if (line.isBlank()) {
                continue;
            }
            JsonNode j = om.readTree(line);
            if (!j.hasNonNull("prompt")) {
                throw new IllegalArgumentException(file + " line " + n + ": needs \"prompt\"");
            }
            out.add(new Entry(j.get("prompt").asText(), j.path("max_tokens").asInt(128)));
        }
        return new Dataset(out);
    }

    public static Dataset synthetic(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        String[] topics = {"the JVM", "Kafka", "paged attention", "a lighthouse", "tea", "rivers", "compilers", "chess"};
        List<Entry> out = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            String topic = topics[r.nextInt(topics.length)];
            if (r.nextInt(10) < 8) {
                out.add(new Entry("Tell me one short fact about " + topic + ".", 16 + r.nextInt(48)));
            } else {
                StringBuilder context = new StringBuilder("Here are my notes about ").append(topic).append(":\n");
                int sentences = 20 + r.nextInt(40);
                for (int s = 0; s < sentences; s++) {
                    context.append("Note ").append(s + 1).append(": ").append(topic).append(" matters because of reason ")
                            .append(r.nextInt(1000)).append(".\n");
                }
                out.add(new Entry(context.append("Summarise them in detail.").toString(), 96 + r.nextInt(96)));
            }
        }
        return new Dataset(out);
    }

    /** Raw completions of {@code promptTokens} random ids each, asking for {@code maxTokens}: one fixed workload. */
    public static Dataset randomIds(int promptTokens, int maxTokens, long seed) {
        return randomIds(0, promptTokens, maxTokens, seed);
    }

    /**
     * The same, every prompt starting with one fixed run of {@code sharedPrefix} random ids (a shared system prompt):
     * prompts are {@code sharedPrefix + promptTokens} ids long.
     */
    public static Dataset randomIds(int sharedPrefix, int promptTokens, int maxTokens, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] prefix = r.ints(sharedPrefix, 0, 150000).toArray();
        List<Entry> out = new ArrayList<>();
        for (int i = 0; i < 256; i++) {
            int[] ids = java.util.Arrays.copyOf(prefix, sharedPrefix + promptTokens);
            System.arraycopy(r.ints(promptTokens, 0, 150000).toArray(), 0, ids, sharedPrefix, promptTokens);
            out.add(new Entry(null, ids, maxTokens));
        }
        return new Dataset(out);
    }

    public Entry get(long i) {
        return entries.get((int) (i % entries.size()));
    }

    public int size() {
        return entries.size();
    }
}
