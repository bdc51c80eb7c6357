package io.qwenserve.service.security;

import io.qwenserve.engine.sample.InvalidParameterException;

/**
 * The priorities a caller may ask for, {@code MIN..MAX} (lower runs first). A caller with no range has no right to a
 * priority of its own: its requests run at {@link #DEFAULT} whatever they ask for.
 */
public record PriorityRange(int min, int max) {
    /** The priority of a request whose caller may not choose one (and the API's default). */
    public static final int DEFAULT = 0;

    public PriorityRange {
        if (min > max) {
            throw new IllegalArgumentException("priority range " + min + ".." + max + " is empty");
        }
    }

    /** Parses {@code MIN..MAX} (e.g. {@code -10..10}, {@code 0..5}). */
    public static PriorityRange parse(String s) {
        String[] parts = s.trim().split("\\.\\.", -1);
        if (parts.length != 2) {
            throw new IllegalArgumentException("priority range must be MIN..MAX, got '" + s + "'");
        }
        try {
            return new PriorityRange(Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim()));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("priority range must be MIN..MAX (integers), got '" + s + "'");
        }
    }

    /**
     * The priority a request runs at: what it asked for when {@code range} allows it; the default when the caller has no
     * range.
     *
     * @throws InvalidParameterException ({@code priority}) when the caller has a range and the request is outside it
     */
    public static int apply(PriorityRange range, int asked) {
        if (range == null) {
            return DEFAULT;
        }
        if (asked < range.min || asked > range.max) {
            throw new InvalidParameterException("priority", "priority must be in [" + range.min + ", " + range.max + "] for this caller, got "
                    + asked);
        }
        return asked;
    }
}
