package io.qwenserve.engine.tokenizer;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.GptBytePairEncodingParams;
import com.knuddels.jtokkit.api.IntArrayList;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The regular (BPE) tokens of a vocabulary and the encoding of ordinary text into them: the Qwen
 * pre-tokenisation regex (reference §5.2) followed by rank-based byte BPE (§5.3), both run by jtokkit.
 * Special tokens are not known here; {@link QwenTokenizer} handles them around this class. The caller
 * applies NFC.
 *
 * <p>jtokkit is given no special tokens on purpose: its {@code encode} refuses text containing them and
 * its special table insists on {@code <|...|>} forms (Qwen3 has {@code <think>}); only its
 * {@code encodeOrdinary} is used.
 */
final class RegularVocabulary {
    /** Reference §5.2, verbatim. {@code UNICODE_CHARACTER_CLASS} makes {@code \s} Unicode White_Space. */
    private static final Pattern PRETOKENIZE = Pattern.compile(
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                    + "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);

    private static volatile RegularVocabulary defaultVocabulary;

    /** Raw bytes by rank (= token id); {@code null} for unused ranks. */
    private final byte[][] tokens;
    private final Encoding encoding;

    RegularVocabulary(byte[][] tokens) {
        this.tokens = tokens;
        Map<byte[], Integer> ranks = new HashMap<>(tokens.length * 2);
        boolean[] singleBytes = new boolean[256];
        for (int rank = 0; rank < tokens.length; rank++) {
            byte[] t = tokens[rank];
            if (t != null) {
                ranks.put(t, rank);
                if (t.length == 1) {
                    singleBytes[t[0] & 0xFF] = true;
                }
            }
        }
        for (int b = 0; b < 256; b++) {
            if (!singleBytes[b]) {
                throw new IllegalArgumentException(String.format("vocabulary lacks the single byte 0x%02X", b));
            }
        }
        String name = "qwen-" + System.identityHashCode(this);
        this.encoding = Encodings.newLazyEncodingRegistry()
                .registerGptBytePairEncoding(new GptBytePairEncodingParams(name, PRETOKENIZE, ranks, Collections.emptyMap()))
                .getEncoding(name)
                .orElseThrow();
    }

    /** The vocabulary bundled with the engine ({@link QwenTokenizer#defaultVocabularyStream()}), built once. */
    static RegularVocabulary defaultVocabulary() {
        RegularVocabulary v = defaultVocabulary;
        if (v == null) {
            synchronized (RegularVocabulary.class) {
                v = defaultVocabulary;
                if (v == null) {
                    try (InputStream in = QwenTokenizer.defaultVocabularyStream()) {
                        v = new RegularVocabulary(TiktokenFile.read(in));
                    } catch (IOException e) {
                        throw new UncheckedIOException("cannot read the bundled qwen.tiktoken", e);
                    }
                    defaultVocabulary = v;
                }
            }
        }
        return v;
    }

    /** One past the largest rank. */
    int size() {
        return tokens.length;
    }

    /** The bytes of a rank (shared, do not modify), or {@code null} if unused or out of range. */
    byte[] token(int rank) {
        return rank >= 0 && rank < tokens.length ? tokens[rank] : null;
    }

    /** The ids of NFC-normalised text in which no special token is to be recognised. */
    IntArrayList encode(String text) {
        return encoding.encodeOrdinary(text);
    }
}
