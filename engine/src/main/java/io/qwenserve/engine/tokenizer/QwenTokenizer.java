package io.qwenserve.engine.tokenizer;

import java.io.InputStream;

/** Qwen's byte-level BPE tokenizer over {@code qwen.tiktoken}. (Being written.) */
public final class QwenTokenizer {
    public static final String VOCAB_FILE = "qwen.tiktoken";

    /** The real vocabulary unpacked at build time from {@code com.alibaba:dashscope-sdk-java:2.18.2}. */
    public static InputStream defaultVocabularyStream() {
        InputStream in = QwenTokenizer.class.getResourceAsStream(VOCAB_FILE);
        if (in == null) {
            throw new IllegalStateException("qwen.tiktoken is missing from the engine jar; rebuild with mvn package");
        }
        return in;
    }
}
