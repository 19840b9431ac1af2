package dev.mesovirt.vmm.virtio;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.mesovirt.vmm.memory.GuestMemory;
import org.junit.jupiter.api.AfterAll;

/**
 * The split virtqueue and its descriptor chains, straight from guest memory the fuzzer fills: rings and tables
 * anywhere (unaligned, in the hole, across the end of RAM), any queue size, indirect tables and event index on or
 * off. Only {@link VirtioException} may come out, and every segment of a chain it returns must lie in RAM.
 */
class VirtqueueFuzzTarget {
    private static final GuestMemory MEM = VirtioFuzzing.memory();

    @AfterAll
    static void close() {
        MEM.close();
    }

    @FuzzTest(maxDuration = "5s")
    void popChains(FuzzedDataProvider data) {
        VirtioFuzzing.wipe(MEM);
        Virtqueue q = new Virtqueue(256);
        q.setSize(data.pickValue(new int[] {1, 2, 4, 8, 16, 256, 0, 3, 512}));
        q.setDescTable(VirtioFuzzing.address(data));
        q.setAvailRing(VirtioFuzzing.address(data));
        q.setUsedRing(VirtioFuzzing.address(data));
        q.setReady(true);
        boolean eventIdx = data.consumeBoolean();
        boolean indirect = data.consumeBoolean();
        int writes = data.consumeInt(0, 64);
        for (int i = 0; i < writes && data.remainingBytes() > 0; i++) {
            VirtioFuzzing.poke(MEM, VirtioFuzzing.address(data), data.consumeBytes(data.consumeInt(1, 32)));
        }
        try {
            q.activate(MEM, eventIdx, indirect);
            // More pops than any ring holds: a guest that keeps moving avail.idx cannot keep us here for ever.
            for (int n = 0; n < 600 && q.hasAvailable(); n++) {
                DescriptorChain c = q.pop();
                if (c == null) {
                    break;
                }
                for (DescriptorChain.Segment s : c.readable()) {
                    assertTrue(MEM.contains(s.address(), s.length()), "readable segment outside RAM: " + s);
                }
                for (DescriptorChain.Segment s : c.writable()) {
                    assertTrue(MEM.contains(s.address(), s.length()), "writable segment outside RAM: " + s);
                }
                q.addUsed(c.head(), (int) Math.min(c.writableLength(), Integer.MAX_VALUE));
                q.needsInterrupt();
            }
        } catch (VirtioException e) {
            assertTrue(e.getMessage() != null && !e.getMessage().isBlank(), "an error without a message");
        }
    }
}
