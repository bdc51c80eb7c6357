package io.qwenserve.engine.tokenizer;

import java.util.Arrays;

/**
 * GPT-2 "bytes-to-unicode": the printable stand-in characters that byte-level BPE files
 * ({@code tokenizer.json}, {@code vocab.json}) use for raw bytes (reference §5.6). Only the
 * character-to-byte direction is needed here, to turn such token strings back into token bytes.
 */
final class ByteLevel {
    /** Code point (all are below U+0144) to byte, or -1 for characters that are not stand-ins. */
    private static final int[] CHAR_TO_BYTE = new int[0x144];

    static {
        Arrays.fill(CHAR_TO_BYTE, -1);
        int next = 0x100;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
            CHAR_TO_BYTE[printable ? b : next++] = b;
        }
    }

    private ByteLevel() {
    }

    /** The raw bytes of a byte-level token string such as {@code "Ġhello"} (= {@code " hello"}). */
    static byte[] toBytes(String token) {
        byte[] out = new byte[token.length()];
        for (int i = 0; i < out.length; i++) {
            char c = token.charAt(i);
            int b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
            if (b < 0) {
                throw new IllegalArgumentException(String.format(
                        "token '%s' is not byte-level encoded (character U+%04X)", token, (int) c));
            }
            out[i] = (byte) b;
        }
        return out;
    }
}
