package io.qwenserve.engine.structured;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * JSON Schema (2020-12 vocabulary, the subset in the README) to a {@link Grammar}. Every output the grammar allows
 * validates against the schema; where the schema allows more than is practical to generate, the grammar allows a
 * documented subset: properties in declaration order, no additional properties unless {@code additionalProperties}
 * says so, patterns matched whole, bounded numbers and whitespace, {@code oneOf} as {@code anyOf}.
 *
 * <p>{@code $ref} is inlined; a reference to a schema that is already being inlined (recursion) becomes a call of a
 * rule for that schema, so recursive schemas need a stack at run time, not bounded expansion.
 */
final class JsonSchemaCompiler {
    /** Keywords that only annotate; accepted and ignored. */
    private static final Set<String> ANNOTATIONS = Set.of("$schema", "$id", "$comment", "$anchor", "title",
            "description", "default", "examples", "deprecated", "readOnly", "writeOnly", "$defs", "definitions");
    private static final Set<String> OBJECT_KEYS = Set.of("properties", "required", "additionalProperties");
    private static final Set<String> ARRAY_KEYS = Set.of("items", "prefixItems", "minItems", "maxItems");
    private static final Set<String> STRING_KEYS = Set.of("minLength", "maxLength", "pattern", "format");
    private static final Set<String> NUMBER_KEYS = Set.of("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum");
    private static final Set<String> OTHER_KEYS = Set.of("type", "enum", "const", "anyOf", "oneOf", "allOf", "$ref");
    private static final List<String> TYPES = List.of("object", "array", "string", "number", "integer", "boolean", "null");
    static final ObjectMapper JSON = new ObjectMapper();

    private final JsonNode root;
    private final Nfa nfa;
    private final JsonTerminals t;
    private final JsonArrays arrays;
    private final Map<String, Integer> ruleByRef = new HashMap<>();
    private final Deque<String> pendingRules = new ArrayDeque<>();
    private Deque<String> inlining = new ArrayDeque<>();
    private int anyValueRule = -1;

    private JsonSchemaCompiler(Nfa nfa, JsonNode root, int maxWhitespace) {
        this.nfa = nfa;
        this.root = root;
        this.t = new JsonTerminals(nfa, maxWhitespace);
        this.arrays = new JsonArrays(nfa, t, this);
    }

    /** @throws StructuredOutputException for invalid JSON, invalid or unsupported schemas */
    static Grammar compile(String schemaJson, int maxWhitespace) {
        Nfa nfa = new Nfa(Grammar.MAX_NFA_STATES);
        int main = nfa.newRule();
        nfa.define(main, fragment(nfa, parse(schemaJson), maxWhitespace));
        return Grammar.of(nfa);
    }

    /** JSON mode: any JSON object. */
    static Grammar jsonObject(int maxWhitespace) {
        Nfa nfa = new Nfa(Grammar.MAX_NFA_STATES);
        int main = nfa.newRule();
        JsonSchemaCompiler c = new JsonSchemaCompiler(nfa, JSON.createObjectNode(), maxWhitespace);
        nfa.define(main, c.anyObject());
        return Grammar.of(nfa);
    }

    static JsonNode parse(String schemaJson) {
        JsonNode node;
        try {
            node = JSON.readTree(schemaJson);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new StructuredOutputException("the JSON schema is not valid JSON: " + e.getOriginalMessage());
        }
        if (node == null || !(node.isObject() || node.isBoolean())) {
            throw new StructuredOutputException("a JSON schema must be an object or a boolean");
        }
        return node;
    }

    /**
     * The values of {@code schema} as a fragment of {@code nfa}, in the rule being built; the rules its recursion
     * needs are added to {@code nfa} (so several schemas can share one automaton).
     */
    static Nfa.Frag fragment(Nfa nfa, JsonNode schema, int maxWhitespace) {
        JsonSchemaCompiler c = new JsonSchemaCompiler(nfa, schema, maxWhitespace);
        Nfa.Frag body = c.schema(schema, "#");
        while (!c.pendingRules.isEmpty()) {
            String ref = c.pendingRules.pop();
            c.inlining = new ArrayDeque<>(List.of(ref));
            nfa.define(c.ruleByRef.get(ref), c.schema(c.resolve(ref), ref));
        }
        return body;
    }

    // ---- dispatch ----

    Nfa.Frag schema(JsonNode s, String path) {
        if (s.isBoolean()) {
            if (!s.booleanValue()) {
                throw new StructuredOutputException("the schema at " + path + " is false: no value is valid", "false");
            }
            return anyValue();
        }
        if (!s.isObject()) {
            throw new StructuredOutputException("the schema at " + path + " must be an object or a boolean");
        }
        checkKeywords(s, path);
        if (s.has("$ref")) {
            onlyWith(s, path, "$ref");
            return ref(s.get("$ref").asText(), path);
        }
        for (String combinator : List.of("anyOf", "oneOf", "allOf")) {
            if (s.has(combinator)) {
                onlyWith(s, path, combinator);
                return combinator(s.get(combinator), combinator, path);
            }
        }
        Set<String> types = types(s, path);
        if (s.has("const") || s.has("enum")) {
            return JsonValues.literals(nfa, s, types, path);
        }
        if (types.isEmpty()) {
            return anyValue();
        }
        List<Nfa.Frag> options = new ArrayList<>();
        for (String type : types) {
            options.add(typed(s, type, path));
        }
        return nfa.alt(options);
    }

    private void checkKeywords(JsonNode s, String path) {
        for (Iterator<String> it = s.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!(ANNOTATIONS.contains(k) || OBJECT_KEYS.contains(k) || ARRAY_KEYS.contains(k) || STRING_KEYS.contains(k)
                    || NUMBER_KEYS.contains(k) || OTHER_KEYS.contains(k))) {
                throw new StructuredOutputException("unsupported JSON Schema keyword \"" + k + "\" at " + path, k);
            }
        }
    }

    /** A {@code $ref} or combinator with other constraining keywords would need an intersection: refused. */
    private void onlyWith(JsonNode s, String path, String keyword) {
        for (Iterator<String> it = s.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!k.equals(keyword) && !ANNOTATIONS.contains(k)) {
                throw new StructuredOutputException("\"" + k + "\" beside \"" + keyword + "\" at " + path
                        + " is not supported (move it into the referenced or combined schemas)", k);
            }
        }
    }

    private Nfa.Frag combinator(JsonNode list, String keyword, String path) {
        if (!list.isArray() || list.isEmpty()) {
            throw new StructuredOutputException(keyword + " at " + path + " must be a non-empty array", keyword);
        }
        if (keyword.equals("allOf") && list.size() > 1) {
            throw new StructuredOutputException("allOf with more than one schema at " + path + " is not supported", "allOf");
        }
        List<Nfa.Frag> options = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            options.add(schema(list.get(i), path + "/" + keyword + "/" + i));
        }
        return nfa.alt(options);
    }

    private Set<String> types(JsonNode s, String path) {
        Set<String> types = new LinkedHashSet<>();
        JsonNode type = s.get("type");
        if (type != null) {
            for (JsonNode n : type.isArray() ? type : List.of(type)) {
                if (!n.isTextual() || !TYPES.contains(n.asText())) {
                    throw new StructuredOutputException("unknown type " + n + " at " + path, "type");
                }
                types.add(n.asText());
            }
            if (types.isEmpty()) {
                throw new StructuredOutputException("empty type list at " + path, "type");
            }
            return types;
        }
        // no type: the types whose keywords appear (a sound restriction), or any value
        s.fieldNames().forEachRemaining(k -> {
            if (OBJECT_KEYS.contains(k)) {
                types.add("object");
            } else if (ARRAY_KEYS.contains(k)) {
                types.add("array");
            } else if (STRING_KEYS.contains(k)) {
                types.add("string");
            } else if (NUMBER_KEYS.contains(k)) {
                types.add("number");
            }
        });
        return types;
    }

    private Nfa.Frag typed(JsonNode s, String type, String path) {
        return switch (type) {
            case "object" -> JsonObjects.object(nfa, t, this, s, path);
            case "array" -> arrays.array(s, path);
            case "string" -> string(s, path);
            case "integer" -> t.integer(JsonValues.intBound(s, "minimum", "exclusiveMinimum", true, path),
                    JsonValues.intBound(s, "maximum", "exclusiveMaximum", false, path));
            case "number" -> JsonValues.number(t, s, path);
            case "boolean" -> nfa.alt(List.of(nfa.literal("true"), nfa.literal("false")));
            default -> nfa.literal("null");
        };
    }

    private Nfa.Frag string(JsonNode s, String path) {
        int min = JsonValues.count(s, "minLength", 0, path);
        int max = JsonValues.count(s, "maxLength", -1, path);
        boolean lengths = s.has("minLength") || s.has("maxLength");
        if (s.has("pattern")) {
            if (lengths || s.has("format")) {
                throw new StructuredOutputException("pattern together with " + (lengths ? "minLength/maxLength" : "format")
                        + " at " + path + " is not supported (fold the bounds into the pattern)", "pattern");
            }
            return t.pattern(s.get("pattern").asText());
        }
        if (s.has("format")) {
            if (lengths) {
                throw new StructuredOutputException("format together with minLength/maxLength at " + path
                        + " is not supported", "format");
            }
            return t.format(s.get("format").asText());
        }
        if (max >= 0 && max > RegexParser.MAX_REPEAT * 4) {
            throw new StructuredOutputException("maxLength above " + RegexParser.MAX_REPEAT * 4 + " at " + path
                    + " is not supported", "maxLength");
        }
        return t.string(min, max);
    }

    // ---- references and recursion ----

    private Nfa.Frag ref(String ref, String path) {
        if (!ref.startsWith("#")) {
            throw new StructuredOutputException("$ref " + ref + " at " + path + " is not supported: only local references (#...)", "$ref");
        }
        if (inlining.contains(ref)) {
            Integer rule = ruleByRef.get(ref);
            if (rule == null) {
                rule = nfa.newRule();
                ruleByRef.put(ref, rule);
                pendingRules.push(ref);
            }
            return nfa.call(rule);
        }
        if (inlining.size() > 64) {
            throw new StructuredOutputException("$ref nesting deeper than 64 at " + path, "$ref");
        }
        inlining.push(ref);
        try {
            return schema(resolve(ref), ref);
        } finally {
            inlining.pop();
        }
    }

    private JsonNode resolve(String ref) {
        JsonNode n = ref.equals("#") ? root : root.at(ref.substring(1));
        if (n == null || n.isMissingNode()) {
            throw new StructuredOutputException("$ref " + ref + " points to nothing", "$ref");
        }
        return n;
    }

    // ---- any JSON ----

    /** Any JSON value: a call of the recursive value rule. */
    Nfa.Frag anyValue() {
        if (anyValueRule < 0) {
            anyValueRule = nfa.newRule();
            nfa.define(anyValueRule, nfa.alt(List.of(anyObject(), arrays.anyArray(), t.string(0, -1),
                    t.number(null, false, null, false), nfa.literal("true"), nfa.literal("false"), nfa.literal("null"))));
        }
        return nfa.call(anyValueRule);
    }

    Nfa.Frag anyObject() {
        return JsonObjects.anyObject(nfa, t, this);
    }
}
