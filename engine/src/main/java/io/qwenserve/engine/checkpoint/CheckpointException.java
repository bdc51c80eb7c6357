package io.qwenserve.engine.checkpoint;

/**
 * A checkpoint that cannot be used, with a message that names the file and, where there is one, the tensor.
 */
public class CheckpointException extends RuntimeException {
    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
