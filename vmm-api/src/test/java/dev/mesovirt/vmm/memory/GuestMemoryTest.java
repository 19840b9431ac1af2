package dev.mesovirt.vmm.memory;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.Pointer;
import dev.mesovirt.vmm.sys.Fds;
import dev.mesovirt.vmm.sys.LibC;
import dev.mesovirt.vmm.sys.Sys;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class GuestMemoryTest {
    private static final long HIGH = 1L << 32;

    @Test
    void readsBackWhatWasWrittenInEveryRegion() {
        try (GuestMemory m = GuestMemory.allocate(List.of(new GuestMemory.Region(0, 1 << 20),
                new GuestMemory.Region(HIGH, 1 << 20)))) {
            m.writeLong(0x1000, 0x1122334455667788L);
            assertEquals(0x1122334455667788L, m.readLong(0x1000));
            assertEquals((byte) 0x88, m.readByte(0x1000), "little-endian");
            m.writeInt(HIGH + 8, 0xCAFEBABE);
            assertEquals(0xCAFEBABE, m.readInt(HIGH + 8));
            m.writeShort(HIGH + 0xFFFFE, (short) 0x1234);
            assertEquals(0x1234, m.readShort(HIGH + 0xFFFFE));
            byte[] data = {1, 2, 3, 4, 5};
            m.write(0xFFFFB, data);
            assertArrayEquals(data, m.read(0xFFFFB, 5));
            assertEquals(2L << 20, m.totalSize());
        }
    }

    @Test
    void everyAccessOutsideRamIsAnExceptionNotACrash() {
        try (GuestMemory m = GuestMemory.allocate(List.of(new GuestMemory.Region(0, 1 << 20),
                new GuestMemory.Region(HIGH, 1 << 20)))) {
            long[] bad = {1 << 20, (1 << 20) - 1, HIGH - 1, HIGH + (1 << 20), -1, Long.MAX_VALUE, Long.MIN_VALUE, 0x8000_0000L};
            for (long a : bad) {
                assertThrows(GuestMemoryException.class, () -> m.readLong(a), () -> "readLong 0x" + Long.toHexString(a));
                assertThrows(GuestMemoryException.class, () -> m.writeInt(a, 0));
                assertThrows(GuestMemoryException.class, () -> m.read(a, 8));
                assertThrows(GuestMemoryException.class, () -> m.slice(a, 8));
            }
            // Straddling the end of a region or the gap between regions.
            assertThrows(GuestMemoryException.class, () -> m.read((1 << 20) - 4, 8));
            assertThrows(GuestMemoryException.class, () -> m.slices((1 << 20) - 4, HIGH));
            assertThrows(GuestMemoryException.class, () -> m.read(0, -1));
            assertFalse(m.contains(Long.MAX_VALUE - 2, 8), "overflowing end");
            assertTrue(m.contains(0, 1 << 20));
            assertFalse(m.contains(0, (1 << 20) + 1));
        }
    }

    @Test
    void randomAccessesNeverEscapeTheExceptionContract() {
        Random r = new Random(42);
        try (GuestMemory m = GuestMemory.allocate(List.of(new GuestMemory.Region(0x10000, 0x10000)))) {
            for (int i = 0; i < 100_000; i++) {
                long a = switch (r.nextInt(3)) {
                    case 0 -> r.nextLong();
                    case 1 -> 0x10000 + r.nextInt(0x10000) - 8;
                    default -> 0x20000 - r.nextInt(16);
                };
                int len = r.nextInt(32);
                boolean inside = a >= 0x10000 && a + len <= 0x20000;
                try {
                    m.read(a, len);
                    assertTrue(inside, "read outside RAM succeeded");
                } catch (GuestMemoryException e) {
                    assertFalse(inside, "read inside RAM failed");
                }
            }
        }
    }

    @Test
    void slicesSplitAtOneGibViewBoundaries() {
        long size = (1L << 30) + (1 << 20);
        try (GuestMemory m = GuestMemory.allocate(List.of(new GuestMemory.Region(0, size)))) {
            long a = (1L << 30) - 2;
            m.write(a, new byte[] {9, 8, 7, 6});
            assertArrayEquals(new byte[] {9, 8, 7, 6}, m.read(a, 4));
            List<ByteBuffer> parts = m.slices(a, 4);
            assertEquals(2, parts.size());
            assertEquals(2, parts.get(0).remaining());
            assertThrows(GuestMemoryException.class, () -> m.slice(a, 4), "single view cannot straddle");
            assertEquals(7, m.readByte(a + 2));
        }
    }

    @Test
    void rejectsOverlappingOrUnalignedRegionsAndClosedUse() {
        assertThrows(IllegalArgumentException.class, () -> GuestMemory.allocate(
                List.of(new GuestMemory.Region(0, 0x2000), new GuestMemory.Region(0x1000, 0x1000))));
        assertThrows(IllegalArgumentException.class, () -> GuestMemory.allocate(List.of(new GuestMemory.Region(0, 100))));
        GuestMemory m = GuestMemory.allocate(List.of(new GuestMemory.Region(0, 0x1000)));
        m.close();
        assertThrows(GuestMemoryException.class, () -> m.readByte(0));
    }
    @Test
    void sharedRamIsOneMemfdThatAnotherMappingSeesAndResetZeroes() {
        try (GuestMemory m = GuestMemory.allocateShared(List.of(new GuestMemory.Region(0, 0x4000),
                new GuestMemory.Region(HIGH, 0x2000)), true)) {
            assertTrue(m.shared());
            List<GuestMemory.Mapping> maps = m.mappings();
            assertEquals(2, maps.size());
            int fd = maps.get(0).fd();
            assertTrue(fd >= 0 && Fds.isOpen(fd) && Fds.isCloseOnExec(fd));
            assertEquals(fd, maps.get(1).fd(), "one memfd for every region");
            assertEquals(0, maps.get(0).fdOffset());
            assertEquals(0x4000, maps.get(1).fdOffset(), "regions back to back in the file");
            assertEquals(m.hostAddress(HIGH), maps.get(1).hostAddress());
            m.writeLong(HIGH + 8, 0x0102030405060708L);
            m.writeInt(0x3ffc, 0xCAFEBABE);
            // A second mapping of the file, as a vhost-user back-end makes, sees the guest's writes and makes its own.
            Pointer other = Sys.mmap(0x6000, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED, fd, 0, "test");
            try {
                assertEquals(0x0102030405060708L, other.getLong(0x4000 + 8));
                assertEquals(0xCAFEBABE, other.getInt(0x3ffc));
                other.setInt(0x100, 0x55AA55AA);
                assertEquals(0x55AA55AA, m.readInt(0x100));
                m.discard();
                assertEquals(0, m.readInt(0x100), "reset zeroes shared RAM");
                assertEquals(0, other.getLong(0x4000 + 8), "for the other process too");
            } finally {
                Sys.munmap(other, 0x6000);
            }
            m.close();
            assertFalse(Fds.isOpen(fd), "close releases the memfd");
        }
    }

    @Test
    void privateRamHasNoDescriptor() {
        try (GuestMemory m = GuestMemory.allocate(List.of(new GuestMemory.Region(0x10000, 0x1000)))) {
            assertFalse(m.shared());
            assertEquals(List.of(new GuestMemory.Mapping(0x10000, 0x1000, m.hostAddress(0x10000), -1, 0)), m.mappings());
        }
    }
}
