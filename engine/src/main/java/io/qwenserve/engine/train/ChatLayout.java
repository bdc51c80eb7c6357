package io.qwenserve.engine.train;

import io.qwenserve.engine.chat.ChatMessage;
import io.qwenserve.engine.chat.ChatTemplate;
import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.tokenizer.QwenTokenizer;
import java.util.Arrays;
import java.util.List;

/**
 * Lays a conversation out as ChatML token ids with labels, as the Qwen repository's {@code finetune.py} preprocessing
 * does:
 * <pre>
 *   ids:    &lt;|im_start|&gt; system \n {system} &lt;|im_end|&gt; \n &lt;|im_start|&gt; user \n {q} &lt;|im_end|&gt; \n &lt;|im_start|&gt; assistant \n {a} &lt;|im_end|&gt; \n
 *   labels: &lt;|im_start|&gt;  -      -     -      &lt;|im_end|&gt; \n &lt;|im_start|&gt;  -    -  -  &lt;|im_end|&gt; \n &lt;|im_start|&gt;     -     -  {a} &lt;|im_end|&gt; \n
 * </pre>
 * System and user texts and every role name are ignored ({@link #IGNORE}); the loss counts the assistant's text and
 * the ChatML markers around each message. The default system message is the one the chat template uses for the
 * architecture ({@value ChatTemplate#HELPFUL_ASSISTANT} for Qwen v1 and Qwen2, none for Qwen3), contents are encoded
 * with no special token recognised and {@code {role}\n{content}} is tokenized as {@link ChatTemplate} does (piecewise
 * for Qwen v1, as one string for Qwen2/3), so the prompt of each assistant turn is exactly what the engine's chat
 * template sends at inference. The reply itself is encoded on its own after {@code assistant\n}, as the model
 * generates it (for Qwen2/3 this differs from the template's one-string encoding of a past reply only when the reply
 * starts with a newline, which would merge into {@code "\n\n"}). Sequences longer than {@code maxLen} are cut
 * (finetune.py truncates too).
 */
public final class ChatLayout {
    /** The label of a position the loss ignores (PyTorch's {@code ignore_index}). */
    public static final int IGNORE = -100;

    /** One training sequence: {@code labels[t]} is the id expected at position t, or {@link #IGNORE}. */
    public record Example(String id, int[] ids, int[] labels) {
        /** Positions whose label counts (the first position never does: nothing precedes it). */
        public int targets() {
            int n = 0;
            for (int t = 1; t < labels.length; t++) {
                n += labels[t] != IGNORE ? 1 : 0;
            }
            return n;
        }
    }

    private final QwenTokenizer tok;
    private final boolean joint;
    private final String defaultSystem;
    private final int[] newline;

    public ChatLayout(QwenTokenizer tok, Architecture arch) {
        this.tok = tok;
        this.joint = arch != Architecture.QWEN;
        this.defaultSystem = arch == Architecture.QWEN3 ? null : ChatTemplate.HELPFUL_ASSISTANT;
        this.newline = tok.encodeOrdinary("\n");
    }

    public Example layout(TrainingData.Conversation c, int maxLen) {
        List<ChatMessage> messages = c.messages();
        Builder b = new Builder();
        int first = 0;
        String system = defaultSystem;
        if (!messages.isEmpty() && messages.get(0).role() == ChatMessage.Role.SYSTEM) {
            system = messages.get(0).content();
            first = 1;
        }
        if (system != null) {
            block(b, ChatMessage.system(system));
        }
        for (ChatMessage m : messages.subList(first, messages.size())) {
            block(b, m);
        }
        int n = Math.min(maxLen, b.size);
        return new Example(c.id(), Arrays.copyOf(b.ids, n), Arrays.copyOf(b.labels, n));
    }

    /** {@code <|im_start|>{role}\n{content}<|im_end|>\n}; the content is learned for the assistant only. */
    private void block(Builder b, ChatMessage m) {
        b.add(QwenTokenizer.IM_START, true);
        String role = m.role().wireName();
        boolean learn = m.role() == ChatMessage.Role.ASSISTANT;
        if (joint && !learn) {
            b.addAll(tok.encodeOrdinary(role + "\n" + m.content()), false);
        } else if (joint) { // the reply as the model generates it: after the prompt's "assistant\n", encoded on its own
            b.addAll(tok.encodeOrdinary(role + "\n"), false);
            b.addAll(tok.encodeOrdinary(m.content()), true);
        } else {
            b.addAll(tok.encodeOrdinary(role), false);
            b.addAll(newline, false);
            b.addAll(tok.encodeOrdinary(m.content()), learn);
        }
        b.add(QwenTokenizer.IM_END, true);
        b.addAll(newline, true);
    }

    private static final class Builder {
        int[] ids = new int[64];
        int[] labels = new int[64];
        int size;

        void add(int id, boolean target) {
            if (size == ids.length) {
                ids = Arrays.copyOf(ids, size * 2);
                labels = Arrays.copyOf(labels, size * 2);
            }
            ids[size] = id;
            labels[size] = target ? id : IGNORE;
            size++;
        }

        void addAll(int[] idsToAdd, boolean target) {
            for (int id : idsToAdd) {
                add(id, target);
            }
        }
    }
}
