package io.qwenserve.engine.text;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.IntFunction;
import java.util.function.IntPredicate;

/**
 * Turns one request's token stream into text that is safe to send: only complete UTF-8 characters, and never any text
 * that might still turn out to be (the start of) a stop string.
 *
 * <p>Tokens are bytes: a Chinese character or an emoji often spans two or three tokens, so a trailing incomplete
 * character is held until its last byte arrives. Bytes that can never form a character are dropped, as Qwen's own
 * streaming decoder does ({@code errors="ignore"}), so no U+FFFD is ever produced. Special tokens produce no text.
 * A stop string ends the text just before it; everything from the stop string on is discarded.
 */
public final class IncrementalDetokenizer {
    private final IntFunction<byte[]> tokenBytes;
    private final IntPredicate isSpecial;
    private final List<String> stops;
    private final int longestStop;
    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.IGNORE)
            .onUnmappableCharacter(CodingErrorAction.IGNORE);
    private ByteBuffer pending = ByteBuffer.allocate(16);
    private final StringBuilder held = new StringBuilder();
    private final StringBuilder emitted = new StringBuilder();
    private String stopHit;

    /**
     * @param tokenBytes raw bytes of a token id
     * @param isSpecial  special (control) tokens produce no text
     * @param stops      stop strings (may be empty)
     */
    public IncrementalDetokenizer(IntFunction<byte[]> tokenBytes, IntPredicate isSpecial, List<String> stops) {
        this.tokenBytes = tokenBytes;
        this.isSpecial = isSpecial;
        this.stops = List.copyOf(stops);
        this.longestStop = stops.stream().mapToInt(String::length).max().orElse(0);
    }

    /** Adds one token; returns the text that became safe to emit (often empty). Nothing is returned after a stop. */
    public String push(int token) {
        if (stopHit != null || isSpecial.test(token)) {
            return "";
        }
        byte[] bytes = tokenBytes.apply(token);
        if (pending.remaining() < bytes.length) {
            ByteBuffer bigger = ByteBuffer.allocate(pending.position() + bytes.length + 16);
            pending.flip();
            bigger.put(pending);
            pending = bigger;
        }
        pending.put(bytes);
        pending.flip();
        CharBuffer chars = CharBuffer.allocate(pending.remaining() + 1);
        decoder.decode(pending, chars, false); // leaves an incomplete trailing character in `pending`
        pending.compact();
        chars.flip();
        held.append(chars);
        return release(false);
    }

    /** Ends the stream: releases held text (an incomplete final character is dropped). */
    public String finish() {
        if (stopHit != null) {
            return "";
        }
        pending.clear();
        return release(true);
    }

    /** The stop string that ended the text, or null. */
    public String stopHit() {
        return stopHit;
    }

    /** All text emitted so far. */
    public String text() {
        return emitted.toString();
    }

    private String release(boolean all) {
        int cut = held.length();
        for (String s : stops) {
            int at = held.indexOf(s);
            if (at >= 0 && at < cut) {
                cut = at;
                stopHit = s;
            }
        }
        if (stopHit != null) {
            String out = held.substring(0, cut);
            held.setLength(0);
            emitted.append(out);
            return out;
        }
        int keep = all ? 0 : heldBackLength();
        String out = held.substring(0, held.length() - keep);
        held.delete(0, held.length() - keep);
        // never split a surrogate pair
        if (!out.isEmpty() && Character.isHighSurrogate(out.charAt(out.length() - 1))) {
            held.insert(0, out.charAt(out.length() - 1));
            out = out.substring(0, out.length() - 1);
        }
        emitted.append(out);
        return out;
    }

    /** Length of the longest suffix of the held text that is a proper prefix of some stop string. */
    private int heldBackLength() {
        int max = Math.min(held.length(), longestStop - 1);
        if (max <= 0) {
            return 0;
        }
        String tail = held.substring(held.length() - max);
        for (int len = max; len > 0; len--) {
            for (String s : stops) {
                if (s.length() > len && tail.regionMatches(max - len, s, 0, len)) {
                    return len;
                }
            }
        }
        return 0;
    }
}
