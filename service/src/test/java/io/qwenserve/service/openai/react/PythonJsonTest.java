package io.qwenserve.service.openai.react;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/** Python's json.dumps(..., ensure_ascii=False), whose output the reference values below were written from. */
class PythonJsonTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static String dumps(String json) throws Exception {
        return PythonJson.dumps(JSON.readTree(json));
    }

    @Test
    void separatorsKeyOrderAndNesting() throws Exception {
        assertEquals("{\"b\": 1, \"a\": [true, false, null, {}], \"c\": {\"d\": []}}",
                dumps("{\"b\":1,\"a\":[true,false,null,{}],\"c\":{\"d\":[]}}"));
    }

    @Test
    void stringsEscapeLikePython() throws Exception {
        assertEquals("\"天气 \\\"q\\\" \\\\ \\n\\t\\r\\b\\f \\u0001 \\u001f \u007f é 😀 \u2028\"",
                dumps("\"天气 \\\"q\\\" \\\\ \\n\\t\\r\\b\\f \\u0001 \\u001F \\u007f é 😀 \\u2028\""));
    }

    @Test
    void numbersLikePythonRepr() throws Exception {
        assertEquals("[1, -7, 12345678901234567890, 1.0, 0.5, -2.25, 1e-05, 0.0001, 1e+16, 1234567890123456.0, 1.5e+300, 0.0, -0.0]",
                dumps("[1, -7, 12345678901234567890, 1.0, 0.5, -2.25, 0.00001, 0.0001, 1e16, 1234567890123456.0, 1.5e300, 0.0, -0.0]"));
    }
}
