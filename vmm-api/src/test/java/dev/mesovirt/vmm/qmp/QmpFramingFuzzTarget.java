package dev.mesovirt.vmm.qmp;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * QMP's input side on one connection: the byte stream cut into values by {@link JsonFramer} (with small limits, so
 * that the size and depth errors are reached), each value parsed strictly by {@link QmpJson}. Only frames and
 * {@link QmpJson.ParseException}s with a description may come out.
 */
class QmpFramingFuzzTarget {
    @FuzzTest(maxDuration = "5s")
    void framing(byte[] input) {
        JsonFramer framer = new JsonFramer(4096, 32);
        framer.feed(input, 0, input.length, frame -> {
            if (frame instanceof JsonFramer.Frame.Value v) {
                try {
                    QmpJson.parse(v.json(), 32);
                } catch (QmpJson.ParseException e) {
                    assertTrue(e.getMessage() != null && !e.getMessage().isBlank(), "a parse error without a reason");
                }
            } else if (frame instanceof JsonFramer.Frame.Error e) {
                assertTrue(!e.desc().isBlank());
            }
        });
    }
}
