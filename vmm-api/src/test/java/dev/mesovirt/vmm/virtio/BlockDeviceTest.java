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

    /**
     * With O_DIRECT the JDK's channel takes only transfers aligned to the file system's block size; a guest told of
     * 512-byte sectors (Kata's logical_block_size=512) writes and reads single sectors all the same: the device
     * widens them (read-modify-write) and the neighbouring sectors keep their bytes.
     */
    @Test
    void sectorsSmallerThanWhatODirectTakesAreWidened() throws Exception {
        Path base = Files.createDirectories(Path.of("target").toAbsolutePath()); // the temporary one may be a tmpfs
        Path img = Files.createTempFile(base, "blk-direct", ".img");
        try (GuestMemory mem = GuestMemory.allocate(List.of(new GuestMemory.Region(0, 1 << 20)))) {
            byte[] before = new byte[1 << 16];
            java.util.Arrays.fill(before, (byte) 0x5A);
            Files.write(img, before);
            int alignment = BlockDevice.directAlignment(img);
            assertTrue(alignment >= 512 && Integer.bitCount(alignment) == 1, "alignment " + alignment);
            BlockDevice d = new BlockDevice("b", img, false, true, false, new BlockSizes(512, 4096), null);
            assertEquals(512, config(d).getInt(20), "the guest is told 512-byte sectors");
            d.activate(mem, List.of(), 0, null);
            for (int i = 0; i < 512; i++) {
                mem.writeByte(0x3000 + i, (byte) i);
            }
            assertEquals(1, request(d, mem, BlockDevice.T_OUT, 3, 512));
            assertEquals(BlockDevice.S_OK, mem.readByte(0x2000), "a write of sector 3 alone");
            byte[] after = Files.readAllBytes(img);
            for (int i = 0; i < after.length; i++) {
                byte want = i >= 3 * 512 && i < 4 * 512 ? (byte) (i - 3 * 512) : (byte) 0x5A;
                assertEquals(want, after[i], "byte " + i);
            }
            mem.zero(0x3000, 512);
            assertEquals(513, request(d, mem, BlockDevice.T_IN, 3, 512));
            assertEquals(BlockDevice.S_OK, mem.readByte(0x2000));
            assertEquals((byte) 200, mem.readByte(0x3000 + 200), "a read of sector 3 alone");
            d.close();
        } catch (IOException e) {
            // a file system without O_DIRECT: nothing to see here, as MmioTransportTest's direct case
            assertTrue(e.getMessage().contains("direct") || e.getMessage().contains("Invalid argument"),
                    e.getMessage());
        } finally {
            Files.deleteIfExists(img);
        }
    }

    /** A read (T_IN) or write (T_OUT) of {@code len} bytes at {@code sector}, data at 0x3000, status at 0x2000. */
    private static int request(BlockDevice d, GuestMemory mem, int type, long sector, int len) throws Exception {
        mem.writeInt(0x1000, type);
        mem.writeInt(0x1004, 0);
        mem.writeLong(0x1008, sector);
        DescriptorChain.Segment data = new DescriptorChain.Segment(0x3000, len);
        DescriptorChain.Segment status = new DescriptorChain.Segment(0x2000, 1);
        DescriptorChain chain = type == BlockDevice.T_OUT
                ? new DescriptorChain(0, List.of(new DescriptorChain.Segment(0x1000, 16), data), List.of(status))
                : new DescriptorChain(0, List.of(new DescriptorChain.Segment(0x1000, 16)), List.of(data, status));
        return d.handle(chain);
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

    /** A request of scattered buffers, one straddling guest RAM's 1 GiB view boundary; data at sector 2. */
    private static DescriptorChain scattered(GuestMemory mem, int type, List<DescriptorChain.Segment> data) {
        mem.writeInt(0x1000, type);
        mem.writeInt(0x1004, 0);
        mem.writeLong(0x1008, 2);
        List<DescriptorChain.Segment> header = List.of(new DescriptorChain.Segment(0x1000, 16));
        DescriptorChain.Segment status = new DescriptorChain.Segment(0x2000, 1);
        if (type == BlockDevice.T_OUT) {
            List<DescriptorChain.Segment> out = new java.util.ArrayList<>(header);
            out.addAll(data);
            return new DescriptorChain(0, out, List.of(status));
        }
        List<DescriptorChain.Segment> in = new java.util.ArrayList<>(data);
        in.add(status);
        return new DescriptorChain(0, header, in);
    }

    private static byte[] gather(GuestMemory mem, List<DescriptorChain.Segment> segs) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (DescriptorChain.Segment g : segs) {
            for (long a = g.address(); a < g.address() + g.length(); a++) {
                out.write(mem.readByte(a));
            }
        }
        return out.toByteArray();
    }

    /**
     * Reads and writes of scattered buffers (one preadv/pwritev; a buffer crossing guest RAM's 1 GiB view boundary
     * is two iovecs) move the same bytes as the file holds, and so do requests of more buffers than one iovec array
     * takes (the buffer-by-buffer path); an image that shrank under the guest fails the read (IOERR).
     */
    @Test
    void scatteredBuffersMoveTheFilesBytes() throws Exception {
        long gib = 1L << 30;
        try (GuestMemory mem = GuestMemory.allocate(List.of(new GuestMemory.Region(0, gib + (1 << 20))))) {
            byte[] disk = new byte[1 << 20];
            for (int i = 0; i < disk.length; i++) {
                disk[i] = (byte) (i * 7 + 1);
            }
            Path img = Files.write(dir.resolve("scatter.img"), disk);
            BlockDevice d = new BlockDevice("b", img, false, false, null);
            d.activate(mem, List.of(), 0, null);
            List<DescriptorChain.Segment> few = List.of(new DescriptorChain.Segment(0x3000, 512),
                    new DescriptorChain.Segment(0x5000, 1024), new DescriptorChain.Segment(gib - 512, 1024));
            List<DescriptorChain.Segment> many = new java.util.ArrayList<>();
            for (int k = 0; k < dev.mesovirt.vmm.sys.IoVector.MAX_ENTRIES + 76; k++) {
                many.add(new DescriptorChain.Segment(0x10000 + 1024L * k, 512)); // every other 512 bytes
            }
            for (List<DescriptorChain.Segment> segs : List.of(few, many)) {
                int total = segs.stream().mapToInt(g -> (int) g.length()).sum();
                byte[] now = Files.readAllBytes(img);
                assertEquals(total + 1, d.handle(scattered(mem, BlockDevice.T_IN, segs)));
                assertEquals(BlockDevice.S_OK, mem.readByte(0x2000));
                assertEquals(java.util.Arrays.toString(java.util.Arrays.copyOfRange(now, 1024, 1024 + total)),
                        java.util.Arrays.toString(gather(mem, segs)), segs.size() + " buffers read");
                for (DescriptorChain.Segment g : segs) {
                    for (long a = g.address(); a < g.address() + g.length(); a++) {
                        mem.writeByte(a, (byte) (a * 3));
                    }
                }
                assertEquals(1, d.handle(scattered(mem, BlockDevice.T_OUT, segs)));
                assertEquals(BlockDevice.S_OK, mem.readByte(0x2000));
                byte[] file = Files.readAllBytes(img);
                assertEquals(java.util.Arrays.toString(gather(mem, segs)),
                        java.util.Arrays.toString(java.util.Arrays.copyOfRange(file, 1024, 1024 + total)),
                        segs.size() + " buffers written");
                assertEquals(now[1023], file[1023], "nothing before the request");
                assertEquals(now[1024 + total], file[1024 + total], "nothing after it");
            }
            try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(img,
                    java.nio.file.StandardOpenOption.WRITE)) {
                ch.truncate(2048); // sector 2 onward: 1024 bytes left of the 2560 asked for
            }
            d.handle(scattered(mem, BlockDevice.T_IN, few));
            assertEquals(BlockDevice.S_IOERR, mem.readByte(0x2000), "a read past the shrunken image's end");
            d.close();
            d.close(); // twice is harmless
        }
    }
}
