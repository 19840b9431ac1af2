package dev.mesovirt.vmm.virtio;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.mesovirt.vmm.memory.GuestMemory;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * virtio-rng behind the virtio-mmio register file, driven as a guest would ({@link VirtioFuzzing}); with the
 * simplest device, most of what the fuzzer reaches is the transport: status machine, feature and queue
 * registers, configuration generation, interrupt acknowledgement, notifications.
 */
class RngDeviceFuzzTarget {
    private static GuestMemory mem;
    private static MmioTransport transport;

    @BeforeAll
    static void setUp() throws IOException {
        mem = VirtioFuzzing.memory();
        // /dev/zero: the same bytes at every run, and never at its end
        transport = new MmioTransport("rng", new RngDevice("rng", Path.of("/dev/zero")), mem, () -> { }, q -> { });
    }

    @AfterAll
    static void tearDown() {
        transport.device().close();
        mem.close();
    }

    @FuzzTest(maxDuration = "5s")
    void guest(FuzzedDataProvider data) {
        VirtioFuzzing.drive(transport, mem, data);
    }
}
