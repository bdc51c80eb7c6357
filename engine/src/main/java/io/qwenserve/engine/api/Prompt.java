package io.qwenserve.engine.api;

import io.qwenserve.engine.chat.ChatMessage;
import java.util.List;

/** What to generate from: token ids, raw text, or chat messages rendered through the model's chat template. */
public sealed interface Prompt {
    /** Token ids as given. */
    record Ids(int[] ids) implements Prompt {}

    /** Raw completion text; special-token surface forms in it are parsed (as Qwen's tokenizer does by default). */
    record Text(String text) implements Prompt {}

    /** A conversation; message contents never turn into control tokens. */
    record Chat(List<ChatMessage> messages) implements Prompt {
        public Chat {
            messages = List.copyOf(messages);
        }
    }
}
