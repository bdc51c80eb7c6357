package io.qwenserve.engine.tokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

/**
 * Reader for {@code qwen.tiktoken} (reference §5.1): one {@code <base64 of the token bytes> <rank>} line
 * per regular token. The result is an array indexed by rank (= token id) holding each token's raw bytes,
 * {@code null} where a rank is unused.
 */
final class TiktokenFile {
    private TiktokenFile() {
    }

    /** Parses {@code <base64 bytes> <rank>} lines; blank lines are skipped. */
    static byte[][] read(InputStream in) throws IOException {
        byte[] buf = in.readAllBytes();
        Base64.Decoder base64 = Base64.getDecoder();
        List<byte[]> byRank = new ArrayList<>(160_000);
        int line = 0;
        for (int pos = 0; pos < buf.length; ) {
            int eol = pos;
            while (eol < buf.length && buf[eol] != '\n') {
                eol++;
            }
            line++;
            int end = eol > pos && buf[eol - 1] == '\r' ? eol - 1 : eol;
            if (end > pos) {
                int space = pos;
                while (space < end && buf[space] != ' ') {
                    space++;
                }
                int rank = parseRank(buf, space + 1, end, line);
                byte[] token = base64.decode(Arrays.copyOfRange(buf, pos, space));
                while (byRank.size() <= rank) {
                    byRank.add(null);
                }
                if (byRank.set(rank, token) != null) {
                    throw new IllegalArgumentException("qwen.tiktoken line " + line + ": duplicate rank " + rank);
                }
            }
            pos = eol + 1;
        }
        return byRank.toArray(new byte[0][]);
    }

    private static int parseRank(byte[] buf, int from, int to, int line) {
        if (from >= to || to - from > 9) {
            throw new IllegalArgumentException("qwen.tiktoken line " + line + ": expected '<base64> <rank>'");
        }
        int rank = 0;
        for (int i = from; i < to; i++) {
            int d = buf[i] - '0';
            if (d < 0 || d > 9) {
                throw new IllegalArgumentException("qwen.tiktoken line " + line + ": bad rank '"
                        + new String(buf, from, to - from, StandardCharsets.UTF_8) + "'");
            }
            rank = rank * 10 + d;
        }
        return rank;
    }
}
