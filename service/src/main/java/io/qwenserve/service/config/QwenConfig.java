package io.qwenserve.service.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;

/** Everything the service reads from configuration ({@code qwen.*}); documented in the README's table. */
@ConfigMapping(prefix = "qwen")
public interface QwenConfig {

    Model model();

    Engine engine();

    Sampling sampling();

    /** API keys; when any is set, every gRPC call and HTTP API request needs {@code authorization: Bearer <key>}. */
    @WithName("api-keys")
    Optional<List<String>> apiKeys();

    /**
     * Who may choose a request's priority: {@code KEY=MIN..MAX} entries, one per API key with that right. A call with
     * another key (or with none) runs at the default priority 0 whatever it asks for; one outside its key's range is
     * refused ({@code priority}).
     */
    @WithName("api-key-priorities")
    Optional<List<String>> apiKeyPriorities();

    Shutdown shutdown();

    Kafka kafka();

    Http http();

    /** Caps of the OpenAI-compatible HTTP API. */
    interface Http {
        /** Most choices one call may ask for: n for chat, prompts x n for {@code /v1/completions}. */
        @WithDefault("128")
        int maxChoices();
    }

    Lora lora();

    /** LoRA adapters served next to the model, picked per request by name. */
    interface Lora {
        /** {@code NAME=DIR} entries (PEFT adapter folders), comma-separated; each must fit the model. */
        Optional<List<String>> adapters();

        /** Adapters held in memory at once (and so running at once); others are read again when requested. */
        @WithDefault("8")
        int maxLoaded();
    }

    interface Model {
        /** Model folder (config.json, safetensors, qwen.tiktoken). Unset: a random demo model is generated. */
        Optional<String> path();

        /** Compute dtype: bf16, fp32 or fp16. */
        @WithDefault("bf16")
        String dtype();

        /** cpu, cuda, cuda:N, or a list (cuda:0,cuda:1) over which the decoder layers are split evenly. */
        @WithDefault("cpu")
        String device();

        /** Linear kernel override (PLAIN, GEMV, ONEDNN_PREPACKED, INT8_FBGEMM, INT4_PACKED); unset picks the device default. */
        Optional<String> kernel();

        /** Per-step kernel choice by tokens in the step, e.g. {@code 1:GEMV,*:ONEDNN_PREPACKED}; unset: the default. */
        Optional<String> kernelPolicy();

        /** Weight quantization at load: none or int8 (CPU). GPTQ Int4 checkpoints are recognised without it. */
        @WithDefault("none")
        String quantize();

        Demo demo();

        interface Demo {
            /** Architecture of the generated demo model: qwen, qwen2 or qwen3. */
            @WithDefault("qwen2")
            String arch();

            /** Where the demo model is written (reused when already there). */
            @WithDefault("${java.io.tmpdir}/qwen-demo-model")
            String dir();

            /**
             * The trained demo: a tiny Qwen2 finetuned on the conversations kept with the engine, with its 'pirate' LoRA
             * adapter (trained on first start, then reused); false: random weights of {@code arch} (gibberish, instant).
             */
            @WithDefault("true")
            boolean trained();
        }
    }

    /** Engine settings; an unset key takes the engine's default ({@code EngineConfig.defaults()}, listed in the README). */
    interface Engine {
        /** KV-cache budget in bytes (0: a default from free memory, unless kv-cache-tokens is set). */
        OptionalLong kvCacheBytes();

        /** KV-cache budget in tokens (takes precedence over bytes when > 0). */
        OptionalInt kvCacheTokens();

        /** Tokens per KV block. */
        OptionalInt blockSize();

        /** Most sequences in one step. */
        OptionalInt maxBatch();

        /** Most tokens in one step (decode tokens first; the rest goes to prefill chunks). */
        OptionalInt maxBatchTokens();

        /** Bound of the waiting queue; beyond it requests get RESOURCE_EXHAUSTED. */
        OptionalInt queueSize();

        /** Longest prompt accepted (0: limited only by the model length). */
        OptionalInt maxPromptTokens();

        /** Cap on max_tokens of any request. */
        OptionalInt maxNewTokens();

        /** Longest sequence (prompt + output); 0 uses the model's max positions. */
        OptionalInt maxModelLen();

        /** Events buffered per stream before chunks are merged for a slow reader. */
        OptionalInt streamBuffer();

        /** Most stop strings per request. */
        OptionalInt maxStopStrings();

        /** Longest stop string, in characters. */
        OptionalInt maxStopLength();

        /** Engine steps in a row that may fail (each ending only its own requests) before the engine is marked failed. */
        OptionalInt maxStepFailures();

        /** Automatic prefix caching: full KV blocks of a prompt prefix computed before are reused. */
        Optional<Boolean> prefixCaching();

        /**
         * CUDA, without a KV budget: the fraction of the device's memory the weights, a step's activations and the KV
         * cache may use together (default 0.90); the KV cache gets the rest of it.
         */
        OptionalDouble gpuMemoryUtilization();

        /** libtorch intra-op threads (unset or 0: every processor the process may run on). */
        OptionalInt threads();
    }

    /** Server-wide defaults for unset request parameters; unset here falls back to the model's generation_config.json. */
    interface Sampling {
        OptionalDouble temperature();

        OptionalDouble topP();

        OptionalInt topK();

        OptionalDouble repetitionPenalty();

        /** max_tokens when a request does not say. */
        @WithDefault("256")
        int maxTokens();

        OptionalLong seed();
    }

    interface Shutdown {
        /** How long in-flight requests may run after SIGTERM before they end with CANCELLED. */
        @WithDefault("30s")
        Duration grace();
    }

    /**
     * Kafka request/reply. The Kafka clients' own settings are {@code kafka.*} (e.g. {@code kafka.bootstrap.servers},
     * {@code kafka.session.timeout.ms}).
     */
    interface Kafka {
        /** Serve requests from Kafka. */
        @WithDefault("false")
        boolean enabled();

        /** Consumer group shared by all replicas. */
        @WithDefault("qwen-serve")
        String groupId();

        @WithDefault("qwen.requests")
        String requestTopic();

        /** Where replies go when a request has no reply-to header. */
        @WithDefault("qwen.replies")
        String replyTopic();

        /** Control topic: a record whose value is a request id cancels that request on whichever replica runs it. */
        @WithDefault("qwen.cancel")
        String cancelTopic();

        /** Records that could not be served, with headers saying why. */
        @WithDefault("qwen.requests.dlq")
        String deadLetterTopic();

        /** Requests generating at once on this replica; beyond it the request partitions are paused. */
        @WithDefault("64")
        int maxInFlight();

        /** Create missing topics at start-up (request and reply topics with the counts below; cancel and dead-letter topics with one partition). */
        @WithDefault("true")
        boolean createTopics();

        /** Partitions of a created request topic: the most replicas that share the Kafka load (deploy/k8s: KafkaTopic, KEDA max). */
        @WithDefault("6")
        int requestPartitions();

        @WithDefault("6")
        int replyPartitions();

        /** Replication factor of created topics; unset takes the broker's default. */
        Optional<Short> replicationFactor();

        /**
         * Topics a request's {@code reply-to} header may name (the reply topic is always allowed); by default the reply
         * topic alone ({@code qwen.replies}). A request naming another topic, or one that does not exist, is refused on
         * the reply topic and dead-lettered.
         */
        @WithDefault("${qwen.kafka.reply-topic}")
        List<String> replyTopics();

        /**
         * Priorities Kafka requests may ask for (message field or header), {@code MIN..MAX}; one outside is refused.
         * Unset: every Kafka request runs at the default priority 0.
         */
        Optional<String> priorityRange();

        /**
         * A request partition that cannot move this long while the broker answers (a record whose replies or dead
         * letter keep failing holds its commit point) fails liveness.
         */
        @WithDefault("5m")
        Duration stuckPartitionTimeout();
    }
}
