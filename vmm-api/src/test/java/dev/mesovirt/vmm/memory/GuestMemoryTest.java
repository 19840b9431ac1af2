package dev.mesovirt.vmm.memory;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
}
