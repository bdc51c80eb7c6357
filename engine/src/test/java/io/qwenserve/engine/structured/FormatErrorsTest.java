package io.qwenserve.engine.structured;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** Invalid and unsupported formats fail at compile time with a message (and keyword) that names the problem. */
class FormatErrorsTest {
    private static StructuredOutputException schemaError(String schema) {
        return assertThrows(StructuredOutputException.class, () -> Walks.OUTPUTS.compile(ResponseFormat.jsonSchema(schema)));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{\"type\": \"array\", \"uniqueItems\": true}|uniqueItems",
        "{\"type\": \"object\", \"patternProperties\": {\"^x\": {}}}|patternProperties",
        "{\"not\": {\"type\": \"string\"}}|not",
        "{\"type\": \"integer\", \"multipleOf\": 3}|multipleOf",
        "{\"type\": \"object\", \"minProperties\": 1}|minProperties",
        "{\"if\": {}, \"then\": {}}|if",
        "{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"string\", \"contentSchema\": {}}}}|contentSchema",
        "{\"allOf\": [{\"type\": \"string\"}, {\"maxLength\": 3}]}|allOf",
        "{\"type\": \"string\", \"format\": \"uri\"}|format",
        "{\"type\": \"string\", \"pattern\": \"(?=a)b\"}|lookaround",
        "{\"type\": \"string\", \"pattern\": \"(a)\\\\1\"}|backreference",
        "{\"type\": \"string\", \"pattern\": \"\\\\bword\"}|\\b",
        "{\"type\": \"string\", \"pattern\": \"\\\\p{L}+\"}|\\p",
        "{\"$ref\": \"https://example.com/schema.json\"}|$ref",
        "{\"$ref\": \"#/$defs/missing\"}|$ref",
        "{\"$ref\": \"#\"}|$ref",
        "{\"type\": \"string\", \"maxLength\": 100000}|maxLength",
        "{\"type\": \"strnig\"}|type",
        "{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"string\", \"minLength\": 2, \"pattern\": \"a+\"}}}|pattern",
        "{\"type\": \"integer\", \"minimum\": 5, \"maximum\": 4}|minimum",
    })
    void unsupportedOrInvalidSchemasNameTheKeyword(String schema, String keyword) {
        StructuredOutputException e = schemaError(schema);
        assertEquals(keyword, e.keyword(), e.getMessage());
        assertTrue(e.getMessage().contains(keyword.replace("\\", "\\\\")) || e.getMessage().contains(keyword), e.getMessage());
    }

    @Test
    void unknownKeywordsAreNamedWithTheirPath() {
        StructuredOutputException e = schemaError("{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"string\", \"requried\": true}}}");
        assertEquals("requried", e.keyword());
        assertTrue(e.getMessage().contains("#/properties/a"), e.getMessage());
    }

    @Test
    void notJson() {
        StructuredOutputException e = schemaError("{\"type\": ");
        assertTrue(e.getMessage().startsWith("the JSON schema is not valid JSON"), e.getMessage());
        assertTrue(schemaError("[1, 2]").getMessage().contains("object or a boolean"));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "a(?!b)|lookaround",
        "(?i)abc|(?",
        "\\d+\\k<x>|backreference",
        "a^b|^",
        "a$b|$",
        "a*+|possessive quantifier",
        "a{2000}|{n,m}",
    })
    void regexesOutsideTheSubset(String regex, String construct) {
        StructuredOutputException e = assertThrows(StructuredOutputException.class,
                () -> Walks.OUTPUTS.compile(ResponseFormat.regex(regex)));
        assertEquals(construct, e.keyword(), e.getMessage());
    }

    @Test
    void malformedRegexes() {
        for (String bad : List.of("(ab", "ab)", "[a-", "[z-a]", "*a", "a{3,2}", "\\")) {
            StructuredOutputException e = assertThrows(StructuredOutputException.class,
                    () -> Walks.OUTPUTS.compile(ResponseFormat.regex(bad)), bad);
            assertTrue(e.getMessage().startsWith("regex "), e.getMessage());
        }
    }

    @Test
    void emptyChoiceAndMissingValues() {
        assertThrows(StructuredOutputException.class, () -> ResponseFormat.choice(List.of()));
        assertThrows(StructuredOutputException.class, () -> ResponseFormat.regex(""));
        assertThrows(StructuredOutputException.class, () -> ResponseFormat.jsonSchema(null));
    }
}
