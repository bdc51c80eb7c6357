package io.qwenserve.engine.structured;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Objects: declared properties in declaration order (required ones always, optional ones maybe), then additional
 * properties when {@code additionalProperties} is true or a schema, with keys that are none of the declared names.
 *
 * <pre>
 *   "{" ws ─┬─────────────── A_1 ──(key_1 ws ":" ws value_1)──> B_2 ... ─┬─ A_n+1 ─────> "}"
 *           │  none written yet                                           └─ B_n+1 ─> ws "}"
 *           └ B_i ──(ws "," ws key_i ...)──> B_i+1        (optional i: A_i → A_i+1, B_i → B_i+1)
 * </pre>
 */
final class JsonObjects {
    private JsonObjects() {}

    static Nfa.Frag object(Nfa nfa, JsonTerminals t, JsonSchemaCompiler c, JsonNode s, String path) {
        Map<String, JsonNode> props = new LinkedHashMap<>();
        JsonNode properties = s.get("properties");
        if (properties != null) {
            if (!properties.isObject()) {
                throw new StructuredOutputException("properties at " + path + " must be an object", "properties");
            }
            properties.fields().forEachRemaining(e -> props.put(e.getKey(), e.getValue()));
        }
        Set<String> required = new LinkedHashSet<>();
        JsonNode req = s.get("required");
        if (req != null) {
            if (!req.isArray()) {
                throw new StructuredOutputException("required at " + path + " must be an array", "required");
            }
            req.forEach(n -> required.add(n.asText()));
        }
        for (String name : required) {
            props.putIfAbsent(name, JsonSchemaCompiler.JSON.getNodeFactory().booleanNode(true));
        }
        JsonNode additional = s.get("additionalProperties");
        Supplier<Nfa.Frag> extraValue = null;
        if (additional != null && !(additional.isBoolean() && !additional.booleanValue())) {
            extraValue = () -> c.schema(additional, path + "/additionalProperties");
        }

        Nfa.Frag open = nfa.seq(nfa.literal("{"), t.ws());
        int a = open.end(), b = nfa.newState();
        for (Map.Entry<String, JsonNode> p : props.entrySet()) {
            String sub = path + "/properties/" + p.getKey();
            Nfa.Frag pair = nfa.seq(nfa.literal(key(p.getKey())), t.ws(), nfa.literal(":"), t.ws(), c.schema(p.getValue(), sub));
            int aNext = nfa.newState(), bNext = nfa.newState();
            nfa.connect(a, pair.start());
            Nfa.Frag sep = separator(nfa, t);
            nfa.connect(b, sep.start());
            nfa.connect(sep.end(), pair.start());
            nfa.connect(pair.end(), bNext);
            if (!required.contains(p.getKey())) {
                nfa.connect(a, aNext);
                nfa.connect(b, bNext);
            }
            a = aNext;
            b = bNext;
        }
        if (extraValue != null) {
            List<String> names = new ArrayList<>(props.keySet());
            Supplier<Nfa.Frag> value = extraValue;
            pairs(nfa, t, a, b, () -> nfa.seq(t.stringExcept(names), t.ws(), nfa.literal(":"), t.ws(), value.get()));
        }
        return close(nfa, t, open.start(), a, b);
    }

    /** Any object: string keys, any values (through the recursive value rule). */
    static Nfa.Frag anyObject(Nfa nfa, JsonTerminals t, JsonSchemaCompiler c) {
        Nfa.Frag open = nfa.seq(nfa.literal("{"), t.ws());
        int a = open.end(), b = nfa.newState();
        pairs(nfa, t, a, b, () -> nfa.seq(t.string(0, -1), t.ws(), nfa.literal(":"), t.ws(), c.anyValue()));
        return close(nfa, t, open.start(), a, b);
    }

    /** One or more {@code pair}s from state {@code a} to {@code b} (none, some): the first, then separated ones. */
    private static void pairs(Nfa nfa, JsonTerminals t, int a, int b, Supplier<Nfa.Frag> pair) {
        Nfa.Frag first = pair.get();
        nfa.connect(a, first.start());
        nfa.connect(first.end(), b);
        Nfa.Frag more = nfa.seq(separator(nfa, t), pair.get());
        nfa.connect(b, more.start());
        nfa.connect(more.end(), b);
    }

    private static Nfa.Frag close(Nfa nfa, JsonTerminals t, int start, int none, int some) {
        int end = nfa.newState();
        Nfa.Frag closeEmpty = nfa.literal("}");
        nfa.connect(none, closeEmpty.start());
        nfa.connect(closeEmpty.end(), end);
        Nfa.Frag closeSome = nfa.seq(t.ws(), nfa.literal("}"));
        nfa.connect(some, closeSome.start());
        nfa.connect(closeSome.end(), end);
        return new Nfa.Frag(start, end);
    }

    static Nfa.Frag separator(Nfa nfa, JsonTerminals t) {
        return nfa.seq(t.ws(), nfa.literal(","), t.ws());
    }

    private static String key(String name) {
        try {
            return JsonSchemaCompiler.JSON.writeValueAsString(name);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
