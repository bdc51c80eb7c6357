package io.qwenserve.engine.tokenizer;

import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Which special-token surface forms are recognised when they occur literally in text being encoded
 * (tiktoken's {@code allowed_special}). A recognised surface form becomes its special id; any other
 * occurrence is tokenized as ordinary text.
 *
 * <p>{@link #ALL} is Qwen's default for plain {@code encode}; {@link #NONE} is the injection-safe mode
 * that the chat template uses for message contents.
 */
public final class AllowedSpecial {
    /** Every special token of the tokenizer is recognised. */
    public static final AllowedSpecial ALL = new AllowedSpecial(null);
    /** No special token is recognised: surface forms are plain text. */
    public static final AllowedSpecial NONE = new AllowedSpecial(Set.of());

    /** The recognised surface forms, or {@code null} for all of them. */
    private final Set<String> surfaces;

    private AllowedSpecial(Set<String> surfaces) {
        this.surfaces = surfaces;
    }

    /** Exactly these surface forms (forms the tokenizer does not know are ignored, as in tiktoken). */
    public static AllowedSpecial of(Set<String> surfaces) {
        return surfaces.isEmpty() ? NONE : new AllowedSpecial(Set.copyOf(surfaces));
    }

    /**
     * Parses {@code "all"} or {@code "none"} (any case), or else a comma-separated list of surface forms
     * such as {@code "<|endoftext|>,<|im_end|>"}.
     */
    public static AllowedSpecial parse(String s) {
        String t = s.trim();
        switch (t.toLowerCase(Locale.ROOT)) {
            case "all":
                return ALL;
            case "none":
            case "":
                return NONE;
            default:
                return of(Arrays.stream(t.split(",")).map(String::trim).filter(x -> !x.isEmpty())
                        .collect(Collectors.toSet()));
        }
    }

    /** Whether the given surface form is recognised. */
    public boolean allows(String surface) {
        return surfaces == null || surfaces.contains(surface);
    }

    /** True for {@link #NONE} (and any empty set): special-token search can be skipped entirely. */
    public boolean isNone() {
        return surfaces != null && surfaces.isEmpty();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AllowedSpecial && Objects.equals(surfaces, ((AllowedSpecial) o).surfaces);
    }

    @Override
    public int hashCode() {
        return Objects.hashCode(surfaces);
    }

    @Override
    public String toString() {
        return surfaces == null ? "all" : surfaces.isEmpty() ? "none" : String.join(",", surfaces);
    }
}
