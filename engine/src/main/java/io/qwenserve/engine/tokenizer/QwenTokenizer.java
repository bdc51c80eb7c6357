package io.qwenserve.engine.tokenizer;

import com.knuddels.jtokkit.api.IntArrayList;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;

/**
 * Qwen's byte-level BPE tokenizer (reference §5): NFC, then special tokens found literally in the text
 * (tiktoken's {@code allowed_special} / {@code disallowed_special}), then the pre-tokenisation regex and
 * rank BPE over the regular vocabulary for the text between them. Decoding concatenates token bytes.
 *
 * <p>One class serves Qwen v1 ({@code qwen.tiktoken} + 208 specials) and Qwen1.5/2/2.5/3 (same regular
 * ranks, their own added tokens); see {@link #load(Path)}. Instances are immutable and thread-safe.
 * There is no BOS/EOS: nothing is added implicitly.
 *
 * <p>NFC is applied before special tokens are searched for (Qwen v1 order). Hugging Face tokenizers
 * match added tokens before normalising; the two differ only when NFC changes the edge of a surface
 * form, e.g. {@code ">"} followed by U+0338 composes to {@code "≯"}.
 */
public final class QwenTokenizer {
    public static final String VOCAB_FILE = "qwen.tiktoken";
    public static final int ENDOFTEXT = 151643, IM_START = 151644, IM_END = 151645;

    private static final String TOKENIZER_JSON = "tokenizer.json";
    private static final String TOKENIZER_CONFIG = "tokenizer_config.json";
    private static volatile QwenTokenizer defaultQwen;

    private final RegularVocabulary regular;
    private final SpecialTokens specials;
    /** Raw bytes of every id, regular and special ({@code null} for unused ids). */
    private final byte[][] bytesById;
    private final boolean[] special;

    private QwenTokenizer(RegularVocabulary regular, SpecialTokens specials) {
        this.regular = regular;
        this.specials = specials;
        int size = regular.size();
        for (int id : specials.asMap().values()) {
            size = Math.max(size, id + 1);
        }
        bytesById = new byte[size][];
        special = new boolean[size];
        for (int id = 0; id < regular.size(); id++) {
            bytesById[id] = regular.token(id);
        }
        specials.asMap().forEach((surface, id) -> {
            if (id < 0 || bytesById[id] != null) {
                throw new IllegalArgumentException("special token " + surface + " has id " + id
                        + ", which is negative or already a regular token");
            }
            bytesById[id] = surface.getBytes(StandardCharsets.UTF_8);
            special[id] = true;
        });
    }

    /** The real vocabulary unpacked at build time from {@code com.alibaba:dashscope-sdk-java:2.18.2}. */
    public static InputStream defaultVocabularyStream() {
        InputStream in = QwenTokenizer.class.getResourceAsStream(VOCAB_FILE);
        if (in == null) {
            throw new IllegalStateException("qwen.tiktoken is missing from the engine jar; rebuild with mvn package");
        }
        return in;
    }

    /** The bundled vocabulary with Qwen v1's 208 special tokens; built on first use, then shared. */
    public static QwenTokenizer defaultQwen() {
        QwenTokenizer t = defaultQwen;
        if (t == null) {
            synchronized (QwenTokenizer.class) {
                t = defaultQwen;
                if (t == null) {
                    t = new QwenTokenizer(RegularVocabulary.defaultVocabulary(), SpecialTokens.qwenV1());
                    defaultQwen = t;
                }
            }
        }
        return t;
    }

    /**
     * The tokenizer of a model folder.
     * <ul>
     *   <li>Regular tokens: {@code qwen.tiktoken} if present; else {@code model.vocab} of
     *       {@code tokenizer.json} converted from GPT-2 byte-level strings (§5.6); else the bundled
     *       vocabulary.</li>
     *   <li>Special tokens: the {@code added_tokens_decoder} of {@code tokenizer_config.json} if present
     *       and not empty; else the {@code added_tokens} of {@code tokenizer.json} (likewise); else Qwen
     *       v1's 208.</li>
     * </ul>
     * A folder with none of these files gives {@link #defaultQwen()}.
     *
     * @throws UncheckedIOException     if a file cannot be read
     * @throws IllegalArgumentException if {@code modelDir} is not a directory or a file is malformed
     */
    public static QwenTokenizer load(Path modelDir) {
        if (!Files.isDirectory(modelDir)) {
            throw new IllegalArgumentException("not a directory: " + modelDir);
        }
        Path tiktoken = modelDir.resolve(VOCAB_FILE);
        Path json = modelDir.resolve(TOKENIZER_JSON);
        Path config = modelDir.resolve(TOKENIZER_CONFIG);
        try {
            boolean hasTiktoken = Files.isRegularFile(tiktoken);
            Map<String, Integer> added = Files.isRegularFile(config) ? HfTokenizerFiles.readAddedTokensDecoder(config) : null;
            HfTokenizerFiles.TokenizerJson hf = Files.isRegularFile(json) && (!hasTiktoken || added == null)
                    ? HfTokenizerFiles.readTokenizerJson(json, !hasTiktoken)
                    : null;
            if (added == null && hf != null) {
                added = hf.addedTokens();
            }
            RegularVocabulary regular = null;
            if (hasTiktoken) {
                try (InputStream in = Files.newInputStream(tiktoken)) {
                    regular = new RegularVocabulary(TiktokenFile.read(in));
                }
            } else if (hf != null) {
                if (hf.ranks() == null) {
                    throw new IllegalArgumentException(json + " has no model.vocab");
                }
                regular = new RegularVocabulary(hf.ranks());
            }
            if (regular == null && added == null) {
                return defaultQwen();
            }
            return new QwenTokenizer(regular != null ? regular : RegularVocabulary.defaultVocabulary(),
                    added != null ? new SpecialTokens(added) : SpecialTokens.qwenV1());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the tokenizer in " + modelDir, e);
        }
    }

    /** Encodes with every special token recognised (Qwen's default {@code allowed_special="all"}). */
    public int[] encode(String text) {
        return encode(text, AllowedSpecial.ALL, Set.of());
    }

    public int[] encode(String text, AllowedSpecial allowed) {
        return encode(text, allowed, Set.of());
    }

    /**
     * Encodes NFC({@code text}). Occurrences of {@code allowed} surface forms become special ids (leftmost
     * first); the text between them is tokenized as ordinary text, each part on its own.
     *
     * @param disallowed surface forms that must not occur in the text at all (checked whether or not they
     *                   are also allowed, as tiktoken does)
     * @throws IllegalArgumentException naming the first disallowed surface form found
     */
    public int[] encode(String text, AllowedSpecial allowed, Set<String> disallowed) {
        String s = nfc(text);
        for (String d : disallowed) {
            if (!d.isEmpty() && s.contains(d)) {
                throw new IllegalArgumentException("the text contains the disallowed special token " + d);
            }
        }
        SpecialTokens.Match m = allowed.isNone() ? null : specials.find(s, 0, allowed);
        if (m == null) {
            return regular.encode(s).toArray();
        }
        IntArrayList out = new IntArrayList(Math.max(16, s.length() / 2));
        int start = 0;
        for (; m != null; m = specials.find(s, start, allowed)) {
            if (m.start() > start) {
                append(regular.encode(s.substring(start, m.start())), out);
            }
            out.add(m.id());
            start = m.end();
        }
        if (start < s.length()) {
            append(regular.encode(s.substring(start)), out);
        }
        return out.toArray();
    }

    private static void append(IntArrayList ids, IntArrayList out) {
        for (int i = 0, n = ids.size(); i < n; i++) {
            out.add(ids.get(i));
        }
    }

    /** Encodes with no special token recognised: surface forms are plain text (injection-safe). */
    public int[] encodeOrdinary(String text) {
        return encode(text, AllowedSpecial.NONE, Set.of());
    }

    /** Number of ids {@link #encode(String)} gives. */
    public int countTokens(String text) {
        return encode(text).length;
    }

    /**
     * The concatenated bytes of the tokens; a special token contributes its surface form in UTF-8.
     *
     * @throws IllegalArgumentException naming the first id that is not in the vocabulary
     */
    public byte[] decodeBytes(int[] ids) {
        int length = 0;
        for (int id : ids) {
            length += bytes(id).length;
        }
        byte[] out = new byte[length];
        int pos = 0;
        for (int id : ids) {
            byte[] b = bytesById[id];
            System.arraycopy(b, 0, out, pos, b.length);
            pos += b.length;
        }
        return out;
    }

    /** {@link #decodeBytes} as UTF-8, with U+FFFD for invalid or incomplete sequences. */
    public String decode(int[] ids) {
        return new String(decodeBytes(ids), StandardCharsets.UTF_8);
    }

    /**
     * The raw bytes of one token (a copy), for incremental detokenization; a token may end in the middle
     * of a UTF-8 character.
     *
     * @throws IllegalArgumentException if the id is not in the vocabulary
     */
    public byte[] tokenBytes(int id) {
        return bytes(id).clone();
    }

    /**
     * Whether the id is a special (added) token rather than a BPE token. True for every added token,
     * including those Qwen3 marks {@code "special": false} ({@code <think>}, {@code <tool_call>}, ...).
     */
    public boolean isSpecial(int id) {
        return id >= 0 && id < special.length && special[id];
    }

    public OptionalInt specialId(String surface) {
        Integer id = specials.id(surface);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /** Surface form to id of every special token, in id order (unmodifiable). */
    public Map<String, Integer> specialTokens() {
        return specials.asMap();
    }

    /** One past the largest id, regular or special (151,851 for Qwen v1, 151,669 for Qwen3). */
    public int vocabSize() {
        return bytesById.length;
    }

    private byte[] bytes(int id) {
        byte[] b = id >= 0 && id < bytesById.length ? bytesById[id] : null;
        if (b == null) {
            throw new IllegalArgumentException("token id " + id + " is not in the vocabulary (size " + bytesById.length + ")");
        }
        return b;
    }

    private static String nfc(String text) {
        return Normalizer.isNormalized(text, Normalizer.Form.NFC) ? text : Normalizer.normalize(text, Normalizer.Form.NFC);
    }
}
