package io.qwenserve.engine.api;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * A whole generation, collected from its stream: the generated ids, the text and the final event.
 *
 * @param ids  every generated token id (stop tokens are never part of the output)
 * @param text the streamed text, concatenated
 */
public record Completion(int[] ids, String text, GenerationEvent.Final end) {

    public FinishReason finishReason() {
        return end.reason();
    }

    /** Reads {@code stream} to its end, handing each chunk to {@code onChunk} as it arrives. */
    public static Completion read(GenerationStream stream, Consumer<GenerationEvent.Chunk> onChunk) throws InterruptedException {
        List<Integer> ids = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        while (true) {
            GenerationEvent e = stream.take();
            if (e instanceof GenerationEvent.Chunk c) {
                onChunk.accept(c);
                text.append(c.text());
                for (int id : c.tokenIds()) {
                    ids.add(id);
                }
            } else {
                return new Completion(ids.stream().mapToInt(Integer::intValue).toArray(), text.toString(), (GenerationEvent.Final) e);
            }
        }
    }

    /** Reads {@code stream} to its end. */
    public static Completion read(GenerationStream stream) throws InterruptedException {
        return read(stream, c -> { });
    }
}
