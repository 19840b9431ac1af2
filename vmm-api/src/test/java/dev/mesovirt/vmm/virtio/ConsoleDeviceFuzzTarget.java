package dev.mesovirt.vmm.virtio;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.mesovirt.vmm.memory.GuestMemory;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * virtio-console: the guest's transmit chains and the receive queue, with host input arriving between the guest's
 * steps (from the same input), behind virtio-mmio.
 */
class ConsoleDeviceFuzzTarget {
    /** A backend that takes any output and hands input to the device when the harness says. */
    private static final class Backend extends ConsoleBackend {
        Sink sink;

        @Override
        void start(Sink s) {
            sink = s;
        }

        @Override
        void output(ByteBuffer data) {
            data.position(data.limit());
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    private static GuestMemory mem;

    @BeforeAll
    static void setUp() {
        mem = VirtioFuzzing.memory();
    }

    @AfterAll
    static void tearDown() {
        mem.close();
    }

    // A device per input: host input waits in the device until the guest takes it (a bounded back-log that blocks
    // the backend's reader when full), so one device for every input would fill up and block the harness.
    @FuzzTest(maxDuration = "5s")
    void guest(FuzzedDataProvider data) {
        byte[] input = data.consumeBytes(data.consumeInt(0, 600));
        ConsoleDevice device = new ConsoleDevice("con", new Backend());
        try {
            device.input(input);
            MmioTransport transport = new MmioTransport("con", device, mem, () -> { }, q -> { });
            VirtioFuzzing.drive(transport, mem, data);
        } finally {
            device.close();
        }
    }
}
