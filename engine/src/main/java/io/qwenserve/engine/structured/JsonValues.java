package io.qwenserve.engine.structured;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Schema keywords that read values: {@code enum}/{@code const} literals, counts and numeric bounds. */
final class JsonValues {
    private JsonValues() {}

    /** The {@code const} or {@code enum} values (of the listed types, if any) as literal JSON text. */
    static Nfa.Frag literals(Nfa nfa, JsonNode s, Set<String> types, String path) {
        List<JsonNode> values = new ArrayList<>();
        if (s.has("const")) {
            values.add(s.get("const"));
        }
        if (s.has("enum")) {
            JsonNode e = s.get("enum");
            if (!e.isArray() || e.isEmpty()) {
                throw new StructuredOutputException("enum at " + path + " must be a non-empty array", "enum");
            }
            e.forEach(v -> {
                if (!s.has("const") || v.equals(s.get("const"))) {
                    values.add(v);
                }
            });
        }
        List<Nfa.Frag> options = new ArrayList<>();
        for (JsonNode v : values) {
            if (types.isEmpty() || types.stream().anyMatch(type -> hasType(v, type))) {
                try {
                    options.add(nfa.literal(JsonSchemaCompiler.JSON.writeValueAsString(v)));
                } catch (JsonProcessingException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        if (options.isEmpty()) {
            throw new StructuredOutputException("no value of enum/const at " + path + " has the schema's type", "enum");
        }
        return nfa.alt(options);
    }

    private static boolean hasType(JsonNode v, String type) {
        return switch (type) {
            case "object" -> v.isObject();
            case "array" -> v.isArray();
            case "string" -> v.isTextual();
            case "number" -> v.isNumber();
            case "integer" -> v.isIntegralNumber() || (v.isNumber() && v.decimalValue().stripTrailingZeros().scale() <= 0);
            case "boolean" -> v.isBoolean();
            default -> v.isNull();
        };
    }

    /** A non-negative integer keyword, or {@code dflt} when absent. */
    static int count(JsonNode s, String key, int dflt, String path) {
        JsonNode n = s.get(key);
        if (n == null) {
            return dflt;
        }
        if (!n.canConvertToInt() || !n.isIntegralNumber() && n.decimalValue().stripTrailingZeros().scale() > 0
                || n.asInt() < 0) {
            throw new StructuredOutputException(key + " at " + path + " must be a non-negative integer", key);
        }
        return n.asInt();
    }

    private static BigDecimal decimal(JsonNode s, String key, String path) {
        JsonNode n = s.get(key);
        if (n == null || n.isBoolean()) {
            return null;
        }
        if (!n.isNumber()) {
            throw new StructuredOutputException(key + " at " + path + " must be a number", key);
        }
        return n.decimalValue();
    }

    /** Draft-4 boolean {@code exclusiveMinimum}/{@code exclusiveMaximum} make {@code minimum}/{@code maximum} strict. */
    private static boolean draft4Exclusive(JsonNode s, String exclusiveKey) {
        JsonNode n = s.get(exclusiveKey);
        return n != null && n.isBoolean() && n.booleanValue();
    }

    /** The tightest integer lower (or upper) bound from the inclusive and exclusive keywords; null if none. */
    static BigInteger intBound(JsonNode s, String inclusiveKey, String exclusiveKey, boolean lower, String path) {
        BigDecimal inc = decimal(s, inclusiveKey, path), exc = decimal(s, exclusiveKey, path);
        if (inc != null && draft4Exclusive(s, exclusiveKey)) {
            exc = inc;
            inc = null;
        }
        BigInteger best = null;
        if (inc != null) {
            best = inc.setScale(0, lower ? RoundingMode.CEILING : RoundingMode.FLOOR).toBigInteger();
        }
        if (exc != null) {
            BigInteger e = lower ? exc.setScale(0, RoundingMode.FLOOR).toBigInteger().add(BigInteger.ONE)
                    : exc.setScale(0, RoundingMode.CEILING).toBigInteger().subtract(BigInteger.ONE);
            best = best == null ? e : lower ? best.max(e) : best.min(e);
        }
        return best;
    }

    static Nfa.Frag number(JsonTerminals t, JsonNode s, String path) {
        BigDecimal min = decimal(s, "minimum", path), max = decimal(s, "maximum", path);
        BigDecimal exMin = decimal(s, "exclusiveMinimum", path), exMax = decimal(s, "exclusiveMaximum", path);
        boolean minStrict = false, maxStrict = false;
        if (min != null && draft4Exclusive(s, "exclusiveMinimum")) {
            minStrict = true;
        }
        if (max != null && draft4Exclusive(s, "exclusiveMaximum")) {
            maxStrict = true;
        }
        if (exMin != null && (min == null || exMin.compareTo(min) >= 0)) {
            min = exMin;
            minStrict = true;
        }
        if (exMax != null && (max == null || exMax.compareTo(max) <= 0)) {
            max = exMax;
            maxStrict = true;
        }
        return t.number(min, minStrict, max, maxStrict);
    }
}
