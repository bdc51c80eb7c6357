package io.qwenserve.engine.structured;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Random walks through the masks of schemas covering the supported JSON Schema subset: every output is valid UTF-8,
 * parses, and validates with an independent validator (networknt, format assertions on).
 */
class SchemaWalkTest {
    static final int WALKS = Integer.getInteger("structured.walks", 20);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonSchemaFactory FACTORY = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);
    private static final SchemaValidatorsConfig CONFIG = SchemaValidatorsConfig.builder().formatAssertionsEnabled(true).build();

    static Stream<String> schemas() {
        return TestSchemas.ALL.stream();
    }

    @ParameterizedTest
    @MethodSource("schemas")
    void randomWalksParseAndValidate(String schema) throws Exception {
        JsonSchema validator = FACTORY.getSchema(schema, CONFIG);
        Random rnd = new Random(schema.hashCode());
        for (int i = 0; i < WALKS; i++) {
            Walks.Walk w = Walks.walk(ResponseFormat.jsonSchema(schema), rnd, 3000);
            assertTrue(w.complete(), "walk " + i + " did not finish: " + w.text());
            assertValidUtf8(w.bytes());
            JsonNode value = parse(w.text());
            Set<ValidationMessage> errors = validator.validate(value);
            assertEquals(Set.of(), errors, "walk " + i + " output " + w.text());
        }
    }

    @ParameterizedTest
    @MethodSource("schemas")
    void canonicalTokenizationOfAWalkIsAccepted(String schema) {
        // the mask must not be narrower than the grammar: the tokenizer's own tokens of a valid output pass
        Walks.Walk w = Walks.walk(ResponseFormat.jsonSchema(schema), new Random(7), 3000);
        // the tokenizer applies NFC; compare like with like
        org.junit.jupiter.api.Assumptions.assumeTrue(java.text.Normalizer.isNormalized(w.text(), java.text.Normalizer.Form.NFC));
        GrammarMatcher m = Walks.OUTPUTS.matcher(ResponseFormat.jsonSchema(schema), Walks.END_IDS);
        for (int id : Walks.TOKENIZER.encodeOrdinary(w.text())) {
            assertTrue(m.accept(id), "token " + id + " of " + w.text());
        }
        assertTrue(m.isComplete());
    }

    static JsonNode parse(String text) {
        try {
            return JSON.readTree(text);
        } catch (Exception e) {
            fail("not JSON: " + text, e);
            return null;
        }
    }

    static void assertValidUtf8(byte[] bytes) {
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes));
        } catch (CharacterCodingException e) {
            fail("invalid UTF-8 output", e);
        }
    }
}
