package io.qwenserve.engine.structured;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * Arrays: {@code prefixItems} (or draft-4 tuple {@code items}) first, then {@code items}, counted between
 * {@code minItems} and {@code maxItems}. Positions up to the larger of the prefix length and {@code minItems} are
 * unrolled; beyond that a loop, or a chain of optional items up to {@code maxItems}.
 */
final class JsonArrays {
    private final Nfa nfa;
    private final JsonTerminals t;
    private final JsonSchemaCompiler c;

    JsonArrays(Nfa nfa, JsonTerminals t, JsonSchemaCompiler c) {
        this.nfa = nfa;
        this.t = t;
        this.c = c;
    }

    Nfa.Frag array(JsonNode s, String path) {
        List<JsonNode> prefix = new ArrayList<>();
        JsonNode items = s.get("items");
        JsonNode prefixItems = s.get("prefixItems");
        if (prefixItems != null) {
            if (!prefixItems.isArray()) {
                throw new StructuredOutputException("prefixItems at " + path + " must be an array", "prefixItems");
            }
            prefixItems.forEach(prefix::add);
        } else if (items != null && items.isArray()) {
            items.forEach(prefix::add); // draft-4 tuple form; no items after it (a subset of what it allows)
            items = JsonSchemaCompiler.JSON.getNodeFactory().booleanNode(false);
        }
        boolean noExtra = items != null && items.isBoolean() && !items.booleanValue();
        int k = prefix.size();
        int min = JsonValues.count(s, "minItems", 0, path);
        int max = JsonValues.count(s, "maxItems", -1, path);
        if (noExtra) {
            max = max < 0 ? k : Math.min(max, k);
        }
        if (max >= 0 && min > max) {
            throw new StructuredOutputException("no array at " + path + " satisfies minItems " + min
                    + " with the items allowed", "minItems");
        }
        if (Math.max(min, max) > RegexParser.MAX_REPEAT) {
            throw new StructuredOutputException("minItems/maxItems above " + RegexParser.MAX_REPEAT + " at " + path
                    + " are not supported", max > RegexParser.MAX_REPEAT ? "maxItems" : "minItems");
        }
        JsonNode itemSchema = items;
        IntFunction<Nfa.Frag> element = j -> j < k ? c.schema(prefix.get(j), path + "/prefixItems/" + j)
                : itemSchema == null ? c.anyValue() : c.schema(itemSchema, path + "/items");
        return items(element, min, max, Math.max(k, min));
    }

    /** Any array: any values through the recursive value rule. */
    Nfa.Frag anyArray() {
        return items(j -> c.anyValue(), 0, -1, 0);
    }

    private Nfa.Frag items(IntFunction<Nfa.Frag> element, int min, int max, int unrolled) {
        Nfa.Frag open = nfa.seq(nfa.literal("["), t.ws());
        int end = nfa.newState();
        Nfa.Frag closeEmpty = nfa.literal("]");
        int cur = open.end();
        if (min == 0) {
            nfa.connect(cur, closeEmpty.start());
            nfa.connect(closeEmpty.end(), end);
        }
        int limit = max < 0 ? unrolled : max;
        for (int j = 0; j < limit; j++) {
            Nfa.Frag item = j == 0 ? element.apply(0) : nfa.seq(JsonObjects.separator(nfa, t), element.apply(j));
            nfa.connect(cur, item.start());
            cur = item.end();
            if (j + 1 >= min) {
                Nfa.Frag close = nfa.seq(t.ws(), nfa.literal("]"));
                nfa.connect(cur, close.start());
                nfa.connect(close.end(), end);
            }
        }
        if (max < 0) {
            int j = limit;
            Nfa.Frag first = element.apply(j);
            if (limit == 0) {
                // the first item has no separator; later ones loop on a shared state
                nfa.connect(cur, first.start());
                cur = first.end();
                Nfa.Frag close = nfa.seq(t.ws(), nfa.literal("]"));
                nfa.connect(cur, close.start());
                nfa.connect(close.end(), end);
                first = null;
            }
            Nfa.Frag more = nfa.seq(JsonObjects.separator(nfa, t), first != null ? first : element.apply(j));
            nfa.connect(cur, more.start());
            nfa.connect(more.end(), cur);
        }
        return new Nfa.Frag(open.start(), end);
    }
}
