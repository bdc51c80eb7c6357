package io.qwenserve.engine.api;

import java.nio.file.Path;

/**
 * What transports may know of the model an engine serves, without reaching the model itself.
 *
 * @param name         the model folder's name (the id the APIs list)
 * @param architecture the Hugging Face class, e.g. {@code Qwen2ForCausalLM}
 * @param dtype        compute dtype (bf16, fp32, fp16)
 * @param device       cpu, cuda:N
 * @param weightFormat how linear weights are held: none (compute dtype), int8 or gptq-int4
 * @param kernelPolicy the per-step linear kernel choice
 * @param maxModelLen  longest prompt + output the engine accepts
 * @param vocabSize    the model's vocabulary (embedding rows)
 */
public record ModelInfo(String name, Path dir, String architecture, String dtype, String device, String weightFormat,
                        String kernelPolicy, int maxModelLen, int vocabSize) {}
