package io.qwenserve.service.openai;

/** The engine failed a request after accepting it (finish reason ERROR); answered with HTTP 500. */
final class GenerationFailedException extends RuntimeException {
    GenerationFailedException(String message) {
        super(message != null ? message : "engine failure");
    }
}
