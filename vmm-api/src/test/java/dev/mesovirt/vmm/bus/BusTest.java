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

    /** x86's 0xCF9 inside the configuration address port 0xCF8-0xCFB: bytes there go to the inner device only. */
    @Test
    void aRangeInsideAnotherTakesTheAccessesThatFitInIt() {
        Bus bus = new Bus("pio");
        Recorder config = new Recorder();
        Recorder reset = new Recorder();
        bus.insert(0xcf8, 8, config, "pci-config-ports");
        bus.insertWithin(0xcf9, 1, reset, "rst-cnt");
        bus.write(0xcf8, new byte[] {1, 0, 0, 0});
        bus.write(0xcf9, new byte[] {6});
        bus.write(0xcf9, new byte[] {7, 0});
        bus.write(0xcfa, new byte[] {8});
        bus.write(0xcfc, new byte[] {9, 0, 0, 0});
        assertEquals(List.of("w0:1", "w1:7", "w2:8", "w4:9"), config.log, "everything that does not fit in 0xCF9");
        assertEquals(List.of("w0:6"), reset.log);
        assertFalse(bus.write(0xcff, new byte[] {1, 2}), "across the outer range's end: nobody");
        assertThrows(IllegalArgumentException.class, () -> bus.insertWithin(0xcf9, 1, reset, "again"));
        assertThrows(IllegalArgumentException.class, () -> bus.insertWithin(0xcf8, 1, reset, "at the outer's base"));
        assertThrows(IllegalArgumentException.class, () -> bus.insertWithin(0xcfe, 4, reset, "across its end"));
        assertThrows(IllegalArgumentException.class, () -> bus.insertWithin(0x60, 1, reset, "inside nothing"));
        assertThrows(IllegalArgumentException.class, () -> bus.insert(0xcf9, 1, reset, "an ordinary overlap"));
        assertTrue(bus.remove(0xcf9));
        bus.write(0xcf9, new byte[] {5});
        assertEquals("w1:5", config.log.get(config.log.size() - 1), "gone: the outer device has it again");
    }
}
