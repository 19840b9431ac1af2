package dev.mesovirt.vmm.pci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class ConfigSpaceTest {
    @Test
    void writableMaskKeepsReadOnlyBits() {
        ConfigSpace c = new ConfigSpace(256);
        c.set32(0x40, 0x1234_5678);
        c.setWritable(0x40, 4, 0x0000_ff0f);
        c.write(0x40, 4, 0xffff_ffff);
        assertEquals(0x1234_ff7f, c.read(0x40, 4));
        c.write(0x41, 1, 0x00);
        assertEquals(0x1234_007f, c.read(0x40, 4), "a byte write touches one byte");
        c.write(0x40, 2, 0);
        assertEquals(0x1234_0070, c.read(0x40, 4));
    }

    @Test
    void writeOneToClearBits() {
        ConfigSpace c = new ConfigSpace(256);
        c.set16(0x06, 0xf910);
        c.setClearable(0x06, 2, 0xf900);
        c.write(0x06, 2, 0x0100 | 0x0010);
        assertEquals(0xf810, c.read(0x06, 2), "bit 8 cleared, bit 4 read-only");
        c.write(0x06, 2, 0);
        assertEquals(0xf810, c.read(0x06, 2), "writing 0 clears nothing");
        c.write(0x07, 1, 0xff);
        assertEquals(0x0010, c.read(0x06, 2));
    }

    @Test
    void outOfRangeReadsZeroAndWritesAreDropped() {
        ConfigSpace c = new ConfigSpace(256);
        c.setWritable(0xfc, 4, -1);
        c.write(0xfe, 4, 0xaabb_ccdd);
        assertEquals(0xccdd, c.read(0xfe, 4), "bytes past the end read 0");
        assertEquals(0, c.read(300, 4));
        assertEquals(0, c.read(-1, 1));
    }

    @Test
    void capabilityChain() {
        ConfigSpace c = new ConfigSpace(256);
        assertEquals(0, c.findCapability(0x05));
        int a = c.addCapability(0x05, 0x18);
        int b = c.addCapability(0x11, 12);
        int d = c.addCapability(0x09, 3);
        assertEquals(0x40, a);
        assertEquals(0x58, b);
        assertEquals(0x64, d);
        assertEquals(0x10, c.read(0x06, 2) & 0x10, "Status: capability list");
        assertEquals(a, c.read(0x34, 1));
        assertEquals(b, c.read(a + 1, 1));
        assertEquals(d, c.read(b + 1, 1));
        assertEquals(0, c.read(d + 1, 1));
        assertEquals(b, c.findCapability(0x11));
        // The ID and next pointer are read-only to the guest.
        c.write(a, 2, 0xffff);
        assertEquals(0x05 | b << 8, c.read(a, 2));
        assertThrows(IllegalArgumentException.class, () -> c.addCapability(0x10, 0x100));
    }

    @Test
    void extendedCapabilityChain() {
        ConfigSpace c = new ConfigSpace(4096);
        int a = c.addExtendedCapability(0x0001, 2, 0x48);
        int b = c.addExtendedCapability(0x000d, 1, 8);
        assertEquals(0x100, a);
        assertEquals(0x148, b);
        assertEquals(0x0001 | 2 << 16 | 0x148 << 20, c.read(0x100, 4));
        assertEquals(0x000d | 1 << 16, c.read(0x148, 4));
        assertThrows(IllegalArgumentException.class, () -> new ConfigSpace(256).addExtendedCapability(1, 1, 8));
        assertThrows(IllegalArgumentException.class, () -> new ConfigSpace(512));
    }

    @Test
    void resetRestoresPowerOnContents() {
        ConfigSpace c = new ConfigSpace(256);
        c.set16(0x00, 0x8086);
        c.setWritable(0x04, 2, 0x7);
        c.markPowerOn();
        c.write(0x04, 2, 7);
        c.set16(0x00, 0);
        c.reset();
        assertEquals(0x8086, c.read(0, 2));
        assertEquals(0, c.read(4, 2));
        c.write(0x04, 2, 7);
        assertEquals(7, c.read(4, 2), "masks survive reset");
    }
}
