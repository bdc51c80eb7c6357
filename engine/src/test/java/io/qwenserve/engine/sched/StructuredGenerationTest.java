package io.qwenserve.engine.sched;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import io.qwenserve.engine.LoadedModel;
import io.qwenserve.engine.TestModels;
import io.qwenserve.engine.api.Completion;
import io.qwenserve.engine.api.FinishReason;
import io.qwenserve.engine.api.GenerationRequest;
import io.qwenserve.engine.api.GenerationStream;
import io.qwenserve.engine.api.Prompt;
import io.qwenserve.engine.api.SamplingOptions;
import io.qwenserve.engine.chat.ChatMessage;
import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.model.ModelOptions;
import io.qwenserve.engine.model.Precision;
import io.qwenserve.engine.sample.InvalidParameterException;
import io.qwenserve.engine.structured.OutputConstraint;
import io.qwenserve.engine.structured.ResponseFormat;
import io.qwenserve.engine.structured.TestSchemas;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Constrained generation through the engine on a random-weight model, whose free output is noise: every sampled
 * output (temperature 1) parses and validates with an independent validator, and finish reasons stay honest.
 */
class StructuredGenerationTest {
    static final int OUTPUTS = 20;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonSchemaFactory FACTORY = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);
    private static LoadedModel model;
    private static Engine engine;

    @BeforeAll
    static void start() {
        model = LoadedModel.load(TestModels.tiny(Architecture.QWEN2), ModelOptions.of(Precision.F32));
        engine = new Engine(model, EngineConfig.defaults().withMaxBatch(OUTPUTS).withKvCacheTokens(48_000).withMaxModelLen(2400),
                EngineListener.NONE);
    }

    @AfterAll
    static void stop() {
        engine.close();
        model.close();
    }

    /** Schemas covering the supported subset whose strings are all bounded (a noise model rarely closes a free string). */
    static Stream<String> schemas() {
        return Stream.of(TestSchemas.PERSON, TestSchemas.ORDER, TestSchemas.TUPLES, TestSchemas.ENUMS, TestSchemas.UNIONS,
                TestSchemas.REFS, TestSchemas.TREE, TestSchemas.ROOT_RECURSION, TestSchemas.FORMATS, TestSchemas.NUMBERS,
                TestSchemas.TOP_ARRAY, TestSchemas.TWENTY);
    }

    private static List<Completion> generate(OutputConstraint format, int n, int maxTokens, SamplingOptions.Builder base)
            throws InterruptedException {
        Prompt prompt = new Prompt.Chat(List.of(ChatMessage.user("Give me the JSON.")));
        List<GenerationRequest> requests = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            requests.add(GenerationRequest.of("s" + System.nanoTime() + "-" + i, prompt,
                    base.temperature(1.0).topP(1.0).topK(0).repetitionPenalty(1.0).seed((long) i).maxTokens(maxTokens)
                            .responseFormat(format).build()));
        }
        List<Completion> out = new ArrayList<>();
        for (GenerationStream s : engine.submitAll(requests)) {
            out.add(Completion.read(s));
        }
        return out;
    }

    @ParameterizedTest
    @MethodSource("schemas")
    void sampledOutputsParseAndValidate(String schema) throws Exception {
        JsonSchema validator = FACTORY.getSchema(schema, SchemaValidatorsConfig.builder().formatAssertionsEnabled(true).build());
        for (Completion c : generate(ResponseFormat.jsonSchema(schema), OUTPUTS, 2000, SamplingOptions.builder())) {
            assertEquals(FinishReason.STOP, c.finishReason(), c.text());
            JsonNode value = JSON.readTree(c.text());
            assertEquals(Set.of(), validator.validate(value), c.text());
        }
    }

    @Test
    void regexChoiceAndJsonObject() throws Exception {
        String regex = "(?:[A-Z][a-z]{1,6} ){1,3}\\d{2,4}";
        for (Completion c : generate(ResponseFormat.regex(regex), 8, 200, SamplingOptions.builder())) {
            assertEquals(FinishReason.STOP, c.finishReason());
            assertTrue(Pattern.matches(regex, c.text()), c.text());
        }
        List<String> choices = List.of("positive", "negative", "neutral");
        for (Completion c : generate(ResponseFormat.choice(choices), 8, 20, SamplingOptions.builder())) {
            assertTrue(choices.contains(c.text()), c.text());
        }
        for (Completion c : generate(ResponseFormat.jsonObject(), 4, 300, SamplingOptions.builder())) {
            if (c.finishReason() == FinishReason.STOP) {
                assertTrue(JSON.readTree(c.text()).isObject(), c.text());
            }
        }
    }

    @Test
    void maxTokensCutsWithLength() throws Exception {
        for (Completion c : generate(ResponseFormat.jsonSchema(TestSchemas.TWENTY), 4, 12, SamplingOptions.builder())) {
            assertEquals(FinishReason.LENGTH, c.finishReason(), "an output cut by max_tokens is 'length', even if it is not JSON yet");
            assertEquals(12, c.ids().length);
        }
    }

    @Test
    void stopStringsAndLogprobsStillWork() throws Exception {
        // the choice is cut by its stop string; logprobs come with each token
        for (Completion c : generate(ResponseFormat.choice(List.of("alpha-omega")), 2, 20,
                SamplingOptions.builder().stop(List.of("-")).logprobs(3))) {
            assertEquals(FinishReason.STOP_STRING, c.finishReason());
            assertEquals("alpha", c.text());
        }
        for (Completion c : generate(ResponseFormat.choice(List.of("yes", "no")), 2, 20, SamplingOptions.builder().logprobs(2))) {
            assertTrue(c.text().equals("yes") || c.text().equals("no"), c.text());
        }
    }

    @Test
    void preemptedSequencesKeepTheirFormat() throws Exception {
        EngineConfig tight = EngineConfig.defaults().withMaxBatch(8).withMaxBatchTokens(64).withKvCacheTokens(192).withMaxModelLen(190);
        JsonSchema validator = FACTORY.getSchema(TestSchemas.PERSON, SchemaValidatorsConfig.builder().build());
        try (Engine e = new Engine(model, tight, EngineListener.NONE)) {
            List<GenerationStream> streams = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                streams.add(e.submit(GenerationRequest.of("p" + i, new Prompt.Ids(new int[] {1, 2, 3, 4 + i}),
                        SamplingOptions.builder().temperature(1.0).topP(1.0).topK(0).repetitionPenalty(1.0).seed((long) i)
                                .maxTokens(180).responseFormat(ResponseFormat.jsonSchema(TestSchemas.PERSON)).build())));
            }
            for (GenerationStream s : streams) {
                Completion c = Completion.read(s);
                if (c.finishReason() == FinishReason.STOP) {
                    assertEquals(Set.of(), validator.validate(JSON.readTree(c.text())), c.text());
                } else {
                    assertEquals(FinishReason.LENGTH, c.finishReason(), c.end().message());
                }
            }
            assertTrue(e.stats().preemptions() > 0, "expected preemptions with a 192-token cache");
        }
    }

    @Test
    void unsupportedSchemasAreRefusedAtSubmit() {
        InvalidParameterException e = assertThrows(InvalidParameterException.class, () -> engine.submit(GenerationRequest.of("bad",
                new Prompt.Text("x"), SamplingOptions.builder().responseFormat(
                        ResponseFormat.jsonSchema("{\"type\": \"array\", \"uniqueItems\": true}")).build())));
        assertEquals("response_format", e.field());
        assertTrue(e.getMessage().contains("uniqueItems"), e.getMessage());
    }
}
