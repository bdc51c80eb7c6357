package io.qwenserve.service.security;

import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.engine.sample.InvalidParameterException;
import io.qwenserve.proto.v1.ChatRequest;
import io.qwenserve.proto.v1.GenerateRequest;
import org.junit.jupiter.api.Test;

/** Who may choose a priority: inside its range, yes; outside, a clear error; without a range, the default. */
class PriorityRangeTest {
    @Test
    void parsesMinDotDotMax() {
        assertEquals(new PriorityRange(-10, 10), PriorityRange.parse(" -10..10 "));
        assertEquals(new PriorityRange(3, 3), PriorityRange.parse("3..3"));
        assertThrows(IllegalArgumentException.class, () -> PriorityRange.parse("5"));
        assertThrows(IllegalArgumentException.class, () -> PriorityRange.parse("a..b"));
        assertThrows(IllegalArgumentException.class, () -> PriorityRange.parse("5..1"));
    }

    @Test
    void aCallerWithoutTheRightGetsTheDefaultAndOneWithItStaysInItsRange() {
        assertEquals(PriorityRange.DEFAULT, PriorityRange.apply(null, -50));
        PriorityRange r = new PriorityRange(-5, 5);
        assertEquals(-5, PriorityRange.apply(r, -5));
        InvalidParameterException e = assertThrows(InvalidParameterException.class, () -> PriorityRange.apply(r, 6));
        assertEquals("priority", e.field());
    }

    @Test
    void theInterceptorRewritesTheRequestsPriority() {
        ChatRequest asked = ChatRequest.newBuilder().setRequestId("c").setPriority(-50).build();
        assertEquals(PriorityRange.DEFAULT, ApiKeyInterceptor.withPriority(asked, null).getPriority());
        assertSame(asked, ApiKeyInterceptor.withPriority(asked, new PriorityRange(-50, 0)), "allowed: unchanged");
        GenerateRequest g = GenerateRequest.newBuilder().setPriority(7).build();
        assertEquals(PriorityRange.DEFAULT, ApiKeyInterceptor.withPriority(g, null).getPriority());
        assertThrows(InvalidParameterException.class, () -> ApiKeyInterceptor.withPriority(g, new PriorityRange(0, 5)));
    }
}
