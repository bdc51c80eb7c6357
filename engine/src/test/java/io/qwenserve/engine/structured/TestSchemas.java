package io.qwenserve.engine.structured;

import java.util.List;

/** Schemas that cover the supported JSON Schema subset (README, "Structured output"), one concern or more each. */
public final class TestSchemas {
    private TestSchemas() {}

    /** Types, required/optional properties, additionalProperties false, a list of types, boolean and null. */
    public static final String PERSON = """
            {"type": "object",
             "properties": {
               "name": {"type": "string", "maxLength": 12},
               "age": {"type": "integer", "minimum": 0, "maximum": 130},
               "married": {"type": "boolean"},
               "nickname": {"type": ["string", "null"], "maxLength": 8},
               "score": {"type": "number"}
             },
             "required": ["name", "age"],
             "additionalProperties": false}""";

    /** Arrays: items, minItems, maxItems; nested objects. */
    public static final String ORDER = """
            {"type": "object",
             "properties": {
               "id": {"type": "integer"},
               "lines": {"type": "array", "minItems": 1, "maxItems": 3,
                 "items": {"type": "object",
                   "properties": {"sku": {"type": "string", "pattern": "^[A-Z]{3}-\\\\d{3}$"},
                                  "qty": {"type": "integer", "minimum": 1, "maximum": 99}},
                   "required": ["sku", "qty"]}}
             },
             "required": ["id", "lines"]}""";

    /** prefixItems with items false (a tuple), and a tuple followed by typed items. */
    public static final String TUPLES = """
            {"type": "object",
             "properties": {
               "point": {"type": "array", "prefixItems": [{"type": "number"}, {"type": "number"}], "items": false, "minItems": 2},
               "row": {"type": "array", "prefixItems": [{"type": "string", "maxLength": 5}], "items": {"type": "boolean"}, "maxItems": 4}
             },
             "required": ["point", "row"]}""";

    /** enum and const, including non-ASCII and escaped strings, numbers, null and objects. */
    public static final String ENUMS = """
            {"type": "object",
             "properties": {
               "color": {"enum": ["red", "grün", "蓝色", "say \\"hi\\"", "tab\\there"]},
               "level": {"enum": [1, 2.5, -3, null, true]},
               "kind": {"const": "fixed"},
               "shape": {"const": {"w": 1, "h": [2, 3]}}
             },
             "required": ["color", "level", "kind", "shape"]}""";

    /** anyOf and oneOf with disjoint alternatives. */
    public static final String UNIONS = """
            {"type": "object",
             "properties": {
               "value": {"anyOf": [{"type": "integer"}, {"type": "string", "maxLength": 6}, {"type": "null"}]},
               "shape": {"oneOf": [
                 {"type": "object", "properties": {"kind": {"const": "circle"}, "r": {"type": "number", "minimum": 0}}, "required": ["kind", "r"], "additionalProperties": false},
                 {"type": "object", "properties": {"kind": {"const": "square"}, "side": {"type": "integer", "minimum": 1}}, "required": ["kind", "side"], "additionalProperties": false}]}
             },
             "required": ["value", "shape"]}""";

    /** Non-recursive $ref into $defs (and the older definitions), referenced twice. */
    public static final String REFS = """
            {"$defs": {"address": {"type": "object",
                         "properties": {"city": {"type": "string", "maxLength": 10}, "zip": {"type": "string", "pattern": "[0-9]{5}"}},
                         "required": ["city", "zip"], "additionalProperties": false}},
             "definitions": {"tag": {"type": "string", "enum": ["home", "work"]}},
             "type": "object",
             "properties": {"home": {"$ref": "#/$defs/address"}, "work": {"$ref": "#/$defs/address"},
                            "tag": {"$ref": "#/definitions/tag"}},
             "required": ["home", "tag"]}""";

    /** A recursive $ref (a tree). */
    public static final String TREE = """
            {"$defs": {"node": {"type": "object",
                         "properties": {"v": {"type": "integer", "minimum": 0, "maximum": 9},
                                        "kids": {"type": "array", "maxItems": 2, "items": {"$ref": "#/$defs/node"}}},
                         "required": ["v"], "additionalProperties": false}},
             "$ref": "#/$defs/node"}""";

    /** Recursion through the root itself. */
    public static final String ROOT_RECURSION = """
            {"type": "object",
             "properties": {"name": {"type": "string", "maxLength": 4}, "next": {"anyOf": [{"$ref": "#"}, {"type": "null"}]}},
             "required": ["name", "next"], "additionalProperties": false}""";

    /** String minLength/maxLength and a pattern with classes, groups, alternation and counts. */
    public static final String STRINGS = """
            {"type": "object",
             "properties": {
               "code": {"type": "string", "minLength": 2, "maxLength": 4},
               "word": {"type": "string", "minLength": 3},
               "phone": {"type": "string", "pattern": "^\\\\+?(\\\\d{2}|\\\\(\\\\d{3}\\\\)) [0-9]{3}-[0-9]{4}$"},
               "quoted": {"type": "string", "pattern": "^[\\"\\\\\\\\a-c\\\\n]{1,4}$"}
             },
             "required": ["code", "word", "phone", "quoted"]}""";

    /** format date, time, date-time, uuid, email, ipv4. */
    public static final String FORMATS = """
            {"type": "object",
             "properties": {
               "day": {"type": "string", "format": "date"},
               "at": {"type": "string", "format": "time"},
               "when": {"type": "string", "format": "date-time"},
               "id": {"type": "string", "format": "uuid"},
               "mail": {"type": "string", "format": "email"},
               "ip": {"type": "string", "format": "ipv4"}
             },
             "required": ["day", "at", "when", "id", "mail", "ip"]}""";

    /** Numeric bounds: inclusive, exclusive, negative ranges, non-integer bounds. */
    public static final String NUMBERS = """
            {"type": "object",
             "properties": {
               "i": {"type": "integer", "minimum": -250, "maximum": 1234},
               "j": {"type": "integer", "exclusiveMinimum": 5, "exclusiveMaximum": 10},
               "x": {"type": "number", "minimum": -2.5, "maximum": 3},
               "y": {"type": "number", "exclusiveMinimum": 0},
               "z": {"type": "number", "maximum": -100}
             },
             "required": ["i", "j", "x", "y", "z"]}""";

    /** additionalProperties as a schema, beside declared properties (extra keys never repeat declared ones). */
    public static final String EXTRA = """
            {"type": "object",
             "properties": {"id": {"type": "integer", "maximum": 9}, "ok": {"type": "boolean"}},
             "required": ["id"],
             "additionalProperties": {"type": "integer", "minimum": 100, "maximum": 999}}""";

    /** Free values: an empty schema, a boolean schema, type inferred from keywords, allOf of one. */
    public static final String FREE = """
            {"type": "object",
             "properties": {"any": {}, "yes": true, "inferred": {"maxLength": 3}, "wrapped": {"allOf": [{"type": "integer", "maximum": 5}]}},
             "required": ["any", "yes", "inferred", "wrapped"],
             "additionalProperties": false}""";

    /** Top-level array and a top-level scalar. */
    public static final String TOP_ARRAY = """
            {"type": "array", "items": {"type": "string", "format": "date"}, "minItems": 2, "maxItems": 2}""";

    /** The 20-property schema of the bench. */
    public static final String TWENTY = FormatBenchmark.propertiesSchema(20);

    public static final List<String> ALL = List.of(PERSON, ORDER, TUPLES, ENUMS, UNIONS, REFS, TREE, ROOT_RECURSION, STRINGS,
            FORMATS, NUMBERS, EXTRA, FREE, TOP_ARRAY, TWENTY);
}
