package dev.mesovirt.vmm.virtio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.vmm.memory.GuestMemory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * virtio-blk's sector sizes (QEMU's logical_block_size / physical_block_size, which Kata Containers sends to
 * device_add) and cache.no-flush, as the guest sees them: features, the configuration space, flush requests.
 */
class BlockDeviceTest {
    @TempDir
    Path dir;

    private Path image() throws IOException {
        return Files.write(dir.resolve("disk.img"), new byte[1 << 20]);
    }

    private static ByteBuffer config(BlockDevice d) {
        byte[] c = new byte[BlockDevice.CONFIG_SIZE];
        d.readConfig(0, c);
        return ByteBuffer.wrap(c).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static boolean has(BlockDevice d, int feature) {
        return (d.features() & (1L << feature)) != 0;
    }

    @Test
    void qemusBoundsOnSectorSizes() {
        assertEquals(new BlockSizes(512, 4096), new BlockSizes(512, 4096));
        assertEquals(new BlockSizes(0, 0), BlockSizes.DEFAULT);
        new BlockSizes(BlockSizes.MAX, 0);
        new BlockSizes(0, 4096);
        assertEquals("Property logical_block_size doesn't take value 256 (minimum: 512, maximum: 2097152)",
                assertThrows(IllegalArgumentException.class, () -> new BlockSizes(256, 0)).getMessage());
        assertEquals("Property physical_block_size doesn't take value 4194304 (minimum: 512, maximum: 2097152)",
                assertThrows(IllegalArgumentException.class, () -> new BlockSizes(0, 4 << 20)).getMessage());
        assertEquals("Property logical_block_size doesn't take value '1000', it's not a power of 2",
                assertThrows(IllegalArgumentException.class, () -> new BlockSizes(1000, 0)).getMessage());
        assertEquals("logical_block_size > physical_block_size not supported",
                assertThrows(IllegalArgumentException.class, () -> new BlockSizes(4096, 512)).getMessage());
    }

    @Test
    void defaultsTellTheGuestNothingAboutSectors() throws IOException {
        BlockDevice d = new BlockDevice("b", image(), false, false, null);
        assertEquals(false, has(d, BlockDevice.F_BLK_SIZE));
        assertEquals(false, has(d, BlockDevice.F_TOPOLOGY));
        assertEquals(2048, config(d).getLong(0), "capacity in 512-byte sectors");
        d.close();
    }

    @Test
    void logicalAndPhysicalSizesReachTheGuest() throws IOException {
        BlockDevice d = new BlockDevice("b", image(), false, false, false, new BlockSizes(4096, 16384), null);
        assertTrue(has(d, BlockDevice.F_BLK_SIZE));
        assertTrue(has(d, BlockDevice.F_TOPOLOGY));
        ByteBuffer c = config(d);
        assertEquals(2048, c.getLong(0), "capacity stays in 512-byte sectors");
        assertEquals(4096, c.getInt(20), "blk_size");
        assertEquals(2, c.get(24), "physical_block_exp: 16384 = 4096 << 2");
        assertEquals(0, c.get(25), "alignment_offset");
        assertEquals(0, c.getShort(26), "min_io_size");
        assertEquals(0, c.getInt(28), "opt_io_size");
        d.close();

        BlockDevice physicalOnly = new BlockDevice("b", image(), false, false, false, new BlockSizes(0, 4096), null);
        assertEquals(false, has(physicalOnly, BlockDevice.F_BLK_SIZE), "512-byte logical sectors are the default");
        assertEquals(512, config(physicalOnly).getInt(20));
        assertEquals(3, config(physicalOnly).get(24), "4096 = 512 << 3");
        physicalOnly.close();
    }

    @Test
    void aLogicalSizeBelowWhatODirectNeedsIsRefused() throws IOException {
        Path img = image();
        int alignment = BlockDevice.directAlignment(img);
        assertTrue(alignment >= 512 && Integer.bitCount(alignment) == 1, "alignment " + alignment);
        if (alignment > 512) { // a 4 KiB file system: what the guest is told must be what O_DIRECT can do
            IOException e = assertThrows(IOException.class,
                    () -> new BlockDevice("b", img, false, true, false, new BlockSizes(512, 0), null));
            assertTrue(e.getMessage().contains("is below the " + alignment + "-byte alignment O_DIRECT needs"),
                    e.getMessage());
            e = assertThrows(IOException.class,
                    () -> new BlockDevice("b", img, false, true, false, new BlockSizes(0, 512), null));
            assertEquals("physical_block_size 512 is below the logical sector size " + alignment, e.getMessage());
        }
        try {
            BlockDevice d = new BlockDevice("b", img, false, true, false, BlockSizes.DEFAULT, null);
            assertEquals(alignment, config(d).getInt(20), "with O_DIRECT the guest's sectors are its alignment");
            assertEquals(alignment > 512, has(d, BlockDevice.F_BLK_SIZE));
            d.close();
        } catch (IOException e) {
            // a file system without O_DIRECT (tmpfs before Linux 6.6): nothing more to see here
            assertTrue(e.getMessage().contains("direct") || e.getMessage().contains("Invalid argument"),
                    e.getMessage());
        }
    }

    /** cache.no-flush: a flush succeeds without an fdatasync, here even where one would fail (a closed file). */
    @Test
    void noFlushSkipsTheFdatasync() throws Exception {
        try (GuestMemory mem = GuestMemory.allocate(List.of(new GuestMemory.Region(0, 1 << 20)))) {
            for (boolean noFlush : new boolean[] {false, true}) {
                BlockDevice d = new BlockDevice("b", image(), false, false, noFlush, BlockSizes.DEFAULT, null);
                d.activate(mem, List.of(), 0, null);
                d.close(); // a flush now reaches a closed channel, unless it is skipped
                mem.writeInt(0x1000, BlockDevice.T_FLUSH);
                mem.writeLong(0x1008, 0);
                DescriptorChain chain = new DescriptorChain(0, List.of(new DescriptorChain.Segment(0x1000, 16)),
                        List.of(new DescriptorChain.Segment(0x2000, 1)));
                assertEquals(1, d.handle(chain));
                assertEquals(noFlush ? BlockDevice.S_OK : BlockDevice.S_IOERR, mem.readByte(0x2000),
                        "noFlush " + noFlush);
            }
        }
    }
}
