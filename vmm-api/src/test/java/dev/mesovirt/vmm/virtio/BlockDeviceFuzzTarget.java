package dev.mesovirt.vmm.virtio;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.mesovirt.vmm.memory.GuestMemory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * virtio-blk request parsing (header, data segments, status byte; IN, OUT, FLUSH, GET_ID, DISCARD, WRITE_ZEROES and
 * unknown types; sectors past the end) on a small writable image, behind virtio-mmio, driven as a guest would.
 */
class BlockDeviceFuzzTarget {
    private static GuestMemory mem;
    private static MmioTransport transport;
    private static Path image;

    @BeforeAll
    static void setUp() throws IOException {
        mem = VirtioFuzzing.memory();
        Path base = Files.createDirectories(Path.of("target").toAbsolutePath());
        image = Files.createTempFile(base, "fuzz-blk", ".img");
        Files.write(image, new byte[64 * 1024]);
        transport = new MmioTransport("blk", new BlockDevice("blk", image, false, false, "FUZZ"), mem, () -> { },
                q -> { });
    }

    @AfterAll
    static void tearDown() throws IOException {
        transport.device().close();
        mem.close();
        Files.deleteIfExists(image);
    }

    @FuzzTest(maxDuration = "5s")
    void guest(FuzzedDataProvider data) {
        VirtioFuzzing.drive(transport, mem, data);
    }
}
