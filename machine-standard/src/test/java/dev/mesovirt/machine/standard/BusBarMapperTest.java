package dev.mesovirt.machine.standard;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.mesovirt.vmm.arch.BusKind;
import dev.mesovirt.vmm.bus.Bus;
import dev.mesovirt.vmm.bus.BusDevice;
import org.junit.jupiter.api.Test;

/**
 * A guest that reassigns BARs one by one moves one onto a range another still holds: it waits and takes the range
 * when that one moves away; a waiting BAR that moves elsewhere first leaves nothing behind.
 */
class BusBarMapperTest {
    /** A BAR region whose reads return its tag. */
    private record Tagged(byte tag) implements BusDevice {
        @Override
        public void read(long offset, byte[] data) {
            java.util.Arrays.fill(data, tag);
        }

        @Override
        public void write(long offset, byte[] data) {
        }
    }

    private static int at(Bus bus, long address) {
        byte[] b = new byte[1];
        return bus.read(address, b) ? b[0] : -1;
    }

    @Test
    void aBarMovedOntoAnotherWaitsForItsRange() {
        Bus mmio = new Bus("mmio");
        BusBarMapper m = new BusBarMapper(new Bus("pio"), mmio);
        Tagged a = new Tagged((byte) 1);
        Tagged b = new Tagged((byte) 2);
        Tagged c = new Tagged((byte) 3);
        m.map(BusKind.MMIO, 0x1000, 0x1000, a, "a");
        m.map(BusKind.MMIO, 0x1000, 0x1000, b, "b"); // Linux moves b onto a's range before it moves a
        assertEquals(1, m.shadowedCount());
        assertEquals(1, at(mmio, 0x1000), "a keeps decoding meanwhile");
        m.unmap(BusKind.MMIO, 0x1000, a); // a moves away ...
        m.map(BusKind.MMIO, 0x3000, 0x1000, a, "a");
        assertEquals(0, m.shadowedCount());
        assertEquals(2, at(mmio, 0x1000), "... and b has its range");
        assertEquals(1, at(mmio, 0x3000));
        // A waiting BAR that moves elsewhere before the range frees leaves nothing behind.
        m.map(BusKind.MMIO, 0x3800, 0x1000, c, "c"); // overlaps a's [0x3000, 0x4000)
        assertEquals(1, m.shadowedCount());
        m.unmap(BusKind.MMIO, 0x3800, c);
        assertEquals(0, m.shadowedCount());
        assertEquals(1, at(mmio, 0x3800), "a's range untouched");
        m.map(BusKind.MMIO, 0x5000, 0x1000, c, "c");
        assertEquals(3, at(mmio, 0x5000));
        m.unmap(BusKind.MMIO, 0x3000, a);
        assertEquals(-1, at(mmio, 0x3000));
    }
}
