package dev.mesovirt.vmm.bus;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BusTest {
    private static final class Recorder implements BusDevice {
        final List<String> log = new ArrayList<>();

        @Override
        public void read(long offset, byte[] data) {
            log.add("r" + offset + ":" + data.length);
            data[0] = (byte) offset;
        }

        @Override
        public void write(long offset, byte[] data) {
            log.add("w" + offset + ":" + data[0]);
        }
    }

    @Test
    void dispatchesWithOffsetsRelativeToTheDevice() {
        Bus bus = new Bus("pio");
        Recorder a = new Recorder();
        bus.insert(0x3f8, 8, a, "uart");
        byte[] d = new byte[1];
        assertTrue(bus.read(0x3fd, d));
        assertEquals(5, d[0]);
        assertTrue(bus.write(0x3f8, new byte[] {42}));
        assertEquals(List.of("r5:1", "w0:42"), a.log);
    }

    @Test
    void unclaimedReadsAreAllOnesAndAccessesMayNotStraddleTheEnd() {
        Bus bus = new Bus("mmio");
        Recorder a = new Recorder();
        bus.insert(0x1000, 0x10, a, "dev");
        byte[] d = new byte[4];
        assertFalse(bus.read(0x2000, d));
        assertArrayEquals(new byte[] {-1, -1, -1, -1}, d);
        assertFalse(bus.read(0x100e, d), "4 bytes at 0x100e run past the device's 16 bytes");
        assertFalse(bus.write(0xfff, new byte[1]));
        assertTrue(a.log.isEmpty());
    }

    @Test
    void overlappingClaimsAreRejectedAndRemovalFreesTheRange() {
        Bus bus = new Bus("mmio");
        bus.insert(0x1000, 0x100, new Recorder(), "a");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> bus.insert(0x10ff, 1, new Recorder(), "b"));
        assertTrue(e.getMessage().contains("overlaps a"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> bus.insert(0xf00, 0x101, new Recorder(), "c"));
        bus.insert(0x1100, 1, new Recorder(), "adjacent is fine");
        assertTrue(bus.remove(0x1000));
        bus.insert(0x1000, 0x100, new Recorder(), "again");
        assertThrows(IllegalArgumentException.class, () -> bus.insert(0, 0, new Recorder(), "empty"));
    }
}
