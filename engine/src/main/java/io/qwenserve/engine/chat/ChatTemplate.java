package io.qwenserve.engine.chat;

import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.tokenizer.QwenTokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.stream.IntStream;

/**
 * Builds ChatML prompt ids (reference §6.1): an optional system block, the history, the user query and
 * the generation prompt, i.e. the text
 * <pre>
 * &lt;|im_start|&gt;system\n{system}&lt;|im_end|&gt;\n&lt;|im_start|&gt;user\n{q1}&lt;|im_end|&gt;\n&lt;|im_start|&gt;assistant\n{a1}&lt;|im_end|&gt;\n
 * &lt;|im_start|&gt;user\n{query}&lt;|im_end|&gt;\n&lt;|im_start|&gt;assistant\n
 * </pre>
 * with {@code <|im_start|>} / {@code <|im_end|>} inserted as ids, never parsed from message text.
 *
 * <p>Message contents are always encoded with no special token recognised, in both styles, so a user
 * who types {@code <|im_end|>} gets plain-text tokens (injection-safe). The Hugging Face templates of
 * Qwen2/2.5/3 would parse added tokens inside contents; that is deliberately not reproduced.
 *
 * <p>History truncation follows {@code make_context}: turns are considered newest first and kept while
 * {@code len(system block) + len(turn) + len(kept turns) < maxWindowSize}; the first turn that does not
 * fit is dropped with all older ones. The query is not counted. A turn's length is counted as
 * {@code make_context} counts it, with one {@code "\n"} before each of its blocks; the system block
 * counts without its trailing {@code "\n"}.
 */
public final class ChatTemplate {
    /** How a block {@code {role}\n{content}} between the ChatML tokens is tokenized. */
    public enum Style {
        /**
         * Qwen v1 {@code make_context}: role and content encoded separately and joined by the id of
         * {@code "\n"}.
         */
        QWEN_V1_PIECEWISE,
        /**
         * Qwen2/2.5/3: {@code role + "\n" + content} encoded as one string, as the Hugging Face template
         * text is tokenized. Differs from piecewise only where the content's first characters merge with
         * the newline (content starting with {@code "\n"} gives {@code "\n\n"} = 271).
         */
        CHATML_JOINT
    }

    /** The default system message of Qwen v1 Chat (and used here for Qwen2). */
    public static final String HELPFUL_ASSISTANT = "You are a helpful assistant.";

    private final QwenTokenizer tok;
    private final Style style;
    private final String defaultSystem;
    private final int maxWindowSize;
    private final int[] newline;

    /**
     * @param defaultSystem system message used when none is given; {@code null}: no system block then
     * @param maxWindowSize history truncation limit in tokens; {@code <= 0} keeps all history
     */
    public ChatTemplate(QwenTokenizer tok, Style style, String defaultSystem, int maxWindowSize) {
        this.tok = Objects.requireNonNull(tok, "tok");
        this.style = Objects.requireNonNull(style, "style");
        this.defaultSystem = defaultSystem;
        this.maxWindowSize = maxWindowSize;
        this.newline = tok.encodeOrdinary("\n");
    }

    /**
     * QWEN: v1 piecewise with {@value #HELPFUL_ASSISTANT}; QWEN2: joint with the same system message;
     * QWEN3: joint with no default system message.
     */
    public static ChatTemplate forArchitecture(Architecture arch, QwenTokenizer tok, int maxWindowSize) {
        switch (arch) {
            case QWEN:
                return new ChatTemplate(tok, Style.QWEN_V1_PIECEWISE, HELPFUL_ASSISTANT, maxWindowSize);
            case QWEN2:
                return new ChatTemplate(tok, Style.CHATML_JOINT, HELPFUL_ASSISTANT, maxWindowSize);
            case QWEN3:
                return new ChatTemplate(tok, Style.CHATML_JOINT, null, maxWindowSize);
            default:
                throw new IllegalArgumentException("no chat template for " + arch);
        }
    }

    /**
     * Qwen v1 {@code make_context}.
     *
     * @param system  the system message, or {@code null} for the default
     * @param history (user, assistant) pairs, oldest first
     */
    public int[] encode(String system, List<String[]> history, String query) {
        List<ChatMessage> messages = new ArrayList<>(2 * history.size() + 2);
        String sys = system != null ? system : defaultSystem;
        if (sys != null) {
            messages.add(ChatMessage.system(sys));
        }
        for (String[] turn : history) {
            if (turn.length != 2) {
                throw new IllegalArgumentException("a history turn must be a (user, assistant) pair, got " + turn.length + " strings");
            }
            messages.add(ChatMessage.user(turn[0]));
            messages.add(ChatMessage.assistant(turn[1]));
        }
        messages.add(ChatMessage.user(query));
        return encode(messages);
    }

    /**
     * An OpenAI-style message list: an optional leading system message (else the default), the history
     * and a final user message, which is the query. A history turn starts at each user message and takes
     * the messages after it (assistant, function, ...) up to the next user message; messages before the
     * first user message form a turn of their own.
     *
     * @throws IllegalArgumentException if the list is empty, has no user message or does not end with one
     */
    public int[] encode(List<ChatMessage> messages) {
        validate(messages);
        int first = 0;
        String system = defaultSystem;
        if (messages.get(0).role() == ChatMessage.Role.SYSTEM) {
            system = messages.get(0).content();
            first = 1;
        }
        int[] systemBlock = system == null ? null : block(ChatMessage.Role.SYSTEM, system);
        List<List<int[]>> turns = turns(messages.subList(first, messages.size() - 1));

        int keptFrom = firstKeptTurn(systemBlock == null ? 0 : systemBlock.length, turns);

        List<int[]> blocks = new ArrayList<>();
        if (systemBlock != null) {
            blocks.add(systemBlock);
        }
        turns.subList(keptFrom, turns.size()).forEach(blocks::addAll);
        blocks.add(block(ChatMessage.Role.USER, messages.get(messages.size() - 1).content()));
        blocks.add(generationPrompt());
        return joinLines(blocks);
    }

    /** Ids at which generation stops: {@code <|im_end|>}, {@code <|im_start|>}, {@code <|endoftext|>}. */
    public int[] stopIds() {
        return new int[] {QwenTokenizer.IM_END, QwenTokenizer.IM_START, QwenTokenizer.ENDOFTEXT};
    }

    /** The prompt text that {@link #encode(List)} tokenizes (after truncation), for logs and debugging. */
    public String render(List<ChatMessage> messages) {
        return tok.decode(encode(messages));
    }

    private static void validate(List<ChatMessage> messages) {
        if (messages.isEmpty()) {
            throw new IllegalArgumentException("the chat has no messages");
        }
        if (messages.stream().noneMatch(m -> m.role() == ChatMessage.Role.USER)) {
            throw new IllegalArgumentException("the chat has no user message");
        }
        ChatMessage last = messages.get(messages.size() - 1);
        if (last.role() != ChatMessage.Role.USER) {
            throw new IllegalArgumentException("the last message must be a user message, not " + last.role().wireName());
        }
    }

    /** make_context truncation: the index of the oldest turn kept (turns.size() when none is kept). */
    private int firstKeptTurn(int systemLength, List<List<int[]>> turns) {
        int keptFrom = turns.size();
        int keptLength = 0;
        while (keptFrom > 0) {
            int length = 0;
            for (int[] block : turns.get(keptFrom - 1)) {
                length += newline.length + block.length;
            }
            if (maxWindowSize > 0 && systemLength + length + keptLength >= maxWindowSize) {
                break;
            }
            keptLength += length;
            keptFrom--;
        }
        return keptFrom;
    }

    /** The history split into turns, each turn as the blocks of its messages. */
    private List<List<int[]>> turns(List<ChatMessage> history) {
        List<List<int[]>> turns = new ArrayList<>();
        for (ChatMessage m : history) {
            if (turns.isEmpty() || m.role() == ChatMessage.Role.USER) {
                turns.add(new ArrayList<>());
            }
            turns.get(turns.size() - 1).add(block(m.role(), m.content()));
        }
        return turns;
    }

    /** The blocks separated by the id(s) of {@code "\n"}. */
    private int[] joinLines(List<int[]> blocks) {
        IntStream.Builder out = IntStream.builder();
        for (int i = 0; i < blocks.size(); i++) {
            if (i > 0) {
                add(out, newline);
            }
            add(out, blocks.get(i));
        }
        return out.build().toArray();
    }

    /** {@code <|im_start|>assistant\n}: the model writes the reply after it. */
    private int[] generationPrompt() {
        IntStream.Builder b = IntStream.builder().add(QwenTokenizer.IM_START);
        add(b, roleAndContent(ChatMessage.Role.ASSISTANT, ""));
        return b.build().toArray();
    }

    /** {@code <|im_start|>{role}\n{content}<|im_end|>}. */
    private int[] block(ChatMessage.Role role, String content) {
        IntStream.Builder b = IntStream.builder().add(QwenTokenizer.IM_START);
        add(b, roleAndContent(role, content));
        return b.add(QwenTokenizer.IM_END).build().toArray();
    }

    private int[] roleAndContent(ChatMessage.Role role, String content) {
        if (style == Style.CHATML_JOINT) {
            return tok.encodeOrdinary(role.wireName() + "\n" + content);
        }
        IntStream.Builder b = IntStream.builder();
        add(b, tok.encodeOrdinary(role.wireName()));
        add(b, newline);
        add(b, tok.encodeOrdinary(content));
        return b.build().toArray();
    }

    private static void add(IntStream.Builder b, int[] ids) {
        for (int id : ids) {
            b.add(id);
        }
    }
}
