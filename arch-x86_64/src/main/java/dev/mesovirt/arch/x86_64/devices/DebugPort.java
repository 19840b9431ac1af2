package dev.mesovirt.arch.x86_64.devices;

import dev.mesovirt.vmm.bus.BusDevice;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * QEMU's ISA debug console at port 0x402, where OVMF writes its debug log: each line goes to the VMM's log (-D) as
 * "firmware: ...". Reads return 0xE9, QEMU's answer that tells firmware the port is there.
 */
public final class DebugPort implements BusDevice {
    public static final int PORT = 0x402;
    private static final Logger LOG = LoggerFactory.getLogger(DebugPort.class);
    private static final int MAX_LINE = 4096;

    private final ByteArrayOutputStream line = new ByteArrayOutputStream();
    private final Consumer<String> sink;

    public DebugPort() {
        this(text -> LOG.info("firmware: {}", text));
    }

    DebugPort(Consumer<String> sink) {
        this.sink = sink;
    }

    @Override
    public void read(long offset, byte[] data) {
        java.util.Arrays.fill(data, (byte) 0xE9);
    }

    @Override
    public synchronized void write(long offset, byte[] data) {
        for (byte b : data) {
            if (b == '\n' || line.size() >= MAX_LINE) {
                sink.accept(line.toString(StandardCharsets.UTF_8).replace("\r", ""));
                line.reset();
            } else {
                line.write(b);
            }
        }
    }
}
