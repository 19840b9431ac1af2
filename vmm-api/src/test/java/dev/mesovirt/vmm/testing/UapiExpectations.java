package dev.mesovirt.vmm.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Our values of C expressions over the kernel's uapi headers (sizes, offsets, request numbers), collected and then
 * compared with what the C compiler makes of the headers, in one {@link CProbe} run.
 */
public final class UapiExpectations {
    private final Map<String, String> expressions = new LinkedHashMap<>();
    private final Map<String, Long> ours = new LinkedHashMap<>();

    /** Expects the C {@code expression} to be {@code value}. */
    public UapiExpectations expect(String expression, long value) {
        String key = "v" + expressions.size();
        expressions.put(key, expression);
        ours.put(key, value);
        return this;
    }

    /** Compiles the expressions against {@code includes} and asserts each equals our value. */
    public void assertMatch(List<String> includes) throws Exception {
        Map<String, Long> kernel = CProbe.evaluate(includes, expressions);
        for (Map.Entry<String, Long> e : ours.entrySet()) {
            assertEquals(kernel.get(e.getKey()), e.getValue(), expressions.get(e.getKey()));
        }
    }
}
