package dev.mesovirt.vmm.qmp;

import com.code_intelligence.jazzer.junit.FuzzTest;

class QmpFramingFuzzTarget {
    @FuzzTest(maxDuration = "10s")
    void framing(byte[] input) {
        JsonFramer framer = new JsonFramer(4096, 32);
        framer.feed(input, 0, input.length, frame -> {
            if (frame instanceof JsonFramer.Frame.Value v) {
                try {
                    QmpJson.parse(v.json(), 32);
                } catch (QmpJson.ParseException e) {
                    // expected
                }
            }
        });
    }
}
