package dev.mesovirt.vmm.firmware;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.mesovirt.vmm.memory.GuestMemory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** arm64 virt's fw_cfg register layout over the shared core. */
class FwCfgMmioTest {
    private final GuestMemory memory = GuestMemory.allocate(List.of(new GuestMemory.Region(0x4000_0000L, 1 << 20)));
    private final FwCfgMmio fw = new FwCfgMmio(FwCfg.builder().number(FwCfg.NB_CPUS, 3, 2)
            .file("etc/table-loader", "LOADER-SCRIPT".getBytes(StandardCharsets.US_ASCII)).build(memory));

    @AfterEach
    void close() {
        memory.close();
    }

    private void select(int key) {
        fw.write(FwCfgMmio.SELECTOR, new byte[] {(byte) (key >> 8), (byte) key}); // big-endian
    }

    @Test
    void selectorIsBigEndianAndDataReadsAreItemOrder() {
        select(FwCfg.SIGNATURE);
        byte[] sig = new byte[4];
        fw.read(FwCfgMmio.DATA, sig);
        assertArrayEquals("QEMU".getBytes(StandardCharsets.US_ASCII), sig, "one 4-byte read, item order");
        select(FwCfg.NB_CPUS);
        byte[] n = new byte[2];
        fw.read(FwCfgMmio.DATA, n);
        assertArrayEquals(new byte[] {3, 0}, n);
        byte[] dma = new byte[8];
        fw.read(FwCfgMmio.DMA, dma);
        assertEquals(FwCfg.DMA_SIGNATURE, ByteBuffer.wrap(dma).getLong());
    }

    @Test
    void dmaReadsAFileIntoRamAndRefusesOutside() {
        long req = 0x4000_1000L;
        long target = 0x4000_2000L;
        int control = FwCfg.FILE_FIRST << 16 | FwCfg.DMA_SELECT | FwCfg.DMA_READ;
        memory.write(req, ByteBuffer.allocate(16).putInt(control).putInt(13).putLong(target).array());
        fw.write(FwCfgMmio.DMA, ByteBuffer.allocate(8).putLong(req).array());
        assertEquals(0, ByteBuffer.wrap(memory.read(req, 4)).getInt());
        assertArrayEquals("LOADER-SCRIPT".getBytes(StandardCharsets.US_ASCII), memory.read(target, 13));
        // Two halves, the low one last; a target below RAM (the flash) is an error and nothing is written.
        memory.write(req, ByteBuffer.allocate(16).putInt(control).putInt(13).putLong(0x1000).array());
        fw.write(FwCfgMmio.DMA, ByteBuffer.allocate(4).putInt((int) (req >>> 32)).array());
        fw.write(FwCfgMmio.DMA + 4, ByteBuffer.allocate(4).putInt((int) req).array());
        assertEquals(FwCfg.DMA_ERROR, ByteBuffer.wrap(memory.read(req, 4)).getInt());
    }
}
