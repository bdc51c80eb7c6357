package io.qwenserve.engine.sample;

/** A request parameter out of range; {@link #field()} names it the way the APIs spell it. */
public final class InvalidParameterException extends IllegalArgumentException {
    private final String field;

    public InvalidParameterException(String field, String message) {
        super(message);
        this.field = field;
    }

    public String field() {
        return field;
    }
}
