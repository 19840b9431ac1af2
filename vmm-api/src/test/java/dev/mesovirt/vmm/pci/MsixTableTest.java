package dev.mesovirt.vmm.pci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** MSI-X: the table and PBA in a BAR, per-vector and function masks, enable, pending bits, and plain MSI. */
class MsixTableTest {
    final Fakes.Root r = new Fakes.Root();
    MsixTable msix;
    PciHeader header;

    /** An endpoint with 3 MSI-X vectors: table at 0 and PBA at 0x800 of BAR 1. */
    final class Device implements PciFunction {
        final PciHeader h;
        final MsixTable table;

        Device() {
            Bar.Listener none = Bar.Listener.NONE;
            MsixTable[] t = new MsixTable[1];
            h = PciHeader.endpoint(new PciIdentity(0x1af4, 0x1041, 1, 0x020000, 0x1af4, 0x1100), 256, 1,
                    Map.of(1, new Bar(Bar.Type.MEMORY32, false, MsixTable.barSize(3), new dev.mesovirt.vmm.bus.BusDevice() {
                        @Override
                        public void read(long offset, byte[] data) {
                            t[0].region().read(offset, data);
                        }

                        @Override
                        public void write(long offset, byte[] data) {
                            t[0].region().write(offset, data);
                        }
                    }, none)));
            table = new MsixTable(h, 3, 1, 0, 0x800);
            t[0] = table;
            h.powerOnStateDone();
        }

        @Override
        public PciHeader header() {
            return h;
        }

        @Override
        public void writeConfig(int offset, int size, int value) {
            h.writeConfig(offset, size, value);
            table.configWritten(offset, size);
        }

        @Override
        public void reset() {
            h.reset();
            table.reset();
        }
    }

    @BeforeEach
    void setUp() {
        Device d = new Device();
        r.root.bus().attach(2, 0, d);
        msix = d.table;
        header = d.h;
        r.write(0, 2, 0, 0x14, 4, 0xc000_0000);
        r.write(0, 2, 0, 0x04, 2, PciHeader.COMMAND_MEMORY | PciHeader.COMMAND_BUS_MASTER);
    }

    int control() {
        return r.read(0, 2, 0, msix.capability() + 2, 2);
    }

    void setControl(int v) {
        r.write(0, 2, 0, msix.capability() + 2, 2, v);
    }

    void tableWrite(int vector, int dword, int value) {
        byte[] b = new byte[4];
        PciRoot.store(b, 0, 4, value);
        r.mapper.mmio.write(0xc000_0000L + 16L * vector + 4L * dword, b);
    }

    int barRead(long offset, int size) {
        byte[] b = new byte[size];
        r.mapper.mmio.read(0xc000_0000L + offset, b);
        return PciRoot.load(b, 0, size);
    }

    /** Linux's msix_capability_init + msix_setup_interrupts + unmasking, for vector {@code v}. */
    void program(int v, int data) {
        tableWrite(v, 0, 0xfee0_0000);
        tableWrite(v, 1, 0);
        tableWrite(v, 2, data);
        tableWrite(v, 3, 0);
    }

    @Test
    void capabilityLayout() {
        int cap = r.root.bus().function(2, 0).orElseThrow().header().config().findCapability(MsixTable.CAPABILITY_ID);
        assertEquals(msix.capability(), cap);
        assertEquals(2, control() & 0x7ff, "table size - 1");
        assertEquals(0x0000_0001, r.read(0, 2, 0, cap + 4, 4), "table at offset 0 of BAR 1");
        assertEquals(0x0000_0801, r.read(0, 2, 0, cap + 8, 4), "PBA at 0x800 of BAR 1");
        r.write(0, 2, 0, cap + 4, 4, 0x1234);
        assertEquals(0x0000_0001, r.read(0, 2, 0, cap + 4, 4), "read-only");
        assertEquals(1, barRead(12, 4), "vectors are masked at power-on");
        assertEquals(0, barRead(0x800, 8));
        assertEquals(4096, MsixTable.barSize(3));
        assertEquals(8192, MsixTable.barSize(257));
        assertThrows(IllegalArgumentException.class, () -> new MsixTable(header, 4, 1, 0, 0x20));
    }

    @Test
    void maskedVectorsBecomePendingAndAreDeliveredOnUnmask() {
        setControl(MsixTable.CONTROL_ENABLE | MsixTable.CONTROL_FUNCTION_MASK);
        tableWrite(1, 0, 0xfee0_0000);
        tableWrite(1, 2, 0x41);
        msix.signal(1);
        assertTrue(msix.pending(1));
        assertEquals(2, barRead(0x800, 4), "PBA bit 1");
        assertTrue(r.msi.vectors.isEmpty(), "nothing allocated before delivery");
        tableWrite(1, 3, 0); // vector unmasked, function still masked
        assertTrue(msix.pending(1));
        setControl(MsixTable.CONTROL_ENABLE);
        assertFalse(msix.pending(1));
        assertEquals(List.of("program 0 0xfee00000 65", "signal 0 data 65"), r.msi.log);
        assertEquals(2 << 3, r.msi.vectors.get(0).requesterId, "00:02.0");
        // Vector mask: pending again, unmask delivers.
        tableWrite(1, 3, 1);
        msix.signal(1);
        msix.signal(1);
        assertEquals(2, r.msi.log.size());
        tableWrite(1, 3, 0);
        assertEquals("signal 0 data 65", r.msi.log.get(2));
        assertEquals(3, r.msi.log.size(), "one pending bit, one message");
    }

    @Test
    void disabledOrNoBusMasterDropsMessages() {
        program(0, 7);
        msix.signal(0);
        assertTrue(r.msi.log.isEmpty());
        assertFalse(msix.pending(0), "disabled: dropped, not pending");
        setControl(MsixTable.CONTROL_ENABLE);
        r.write(0, 2, 0, 0x04, 2, PciHeader.COMMAND_MEMORY);
        msix.signal(0);
        assertTrue(r.msi.log.isEmpty(), "bus mastering off");
        r.write(0, 2, 0, 0x04, 2, PciHeader.COMMAND_MEMORY | PciHeader.COMMAND_BUS_MASTER);
        msix.signal(0);
        msix.signal(5); // no such vector
        msix.signal(-1);
        assertEquals(List.of("program 0 0xfee00000 7", "signal 0 data 7"), r.msi.log);
    }

    @Test
    void changedMessageIsReprogrammed() {
        setControl(MsixTable.CONTROL_ENABLE);
        program(2, 0x30);
        msix.signal(2);
        tableWrite(2, 3, 1);
        tableWrite(2, 2, 0x31);
        tableWrite(2, 3, 0);
        msix.signal(2);
        assertEquals(List.of("program 0 0xfee00000 48", "signal 0 data 48", "program 0 0xfee00000 49",
                "signal 0 data 49"), r.msi.log);
        // A change while unmasked (undefined by the spec) is followed at once.
        tableWrite(2, 2, 0x32);
        assertEquals("program 0 0xfee00000 50", r.msi.log.get(4));
    }

    @Test
    void tableAccessesOfAnySizeAndReservedBits() {
        tableWrite(0, 3, 0xffff_fffe);
        assertEquals(0, barRead(12, 4), "only the mask bit of Vector Control is writable");
        byte[] q = new byte[8];
        PciRoot.store(q, 0, 4, 0xfee0_1000);
        PciRoot.store(q, 4, 4, 0x1);
        r.mapper.mmio.write(0xc000_0010L, q);
        assertEquals(0xfee0_1000, barRead(0x10, 4));
        assertEquals(1, barRead(0x14, 4));
        assertEquals(0x10, barRead(0x11, 1));
        byte[] pba = {1, 1, 1, 1};
        r.mapper.mmio.write(0xc000_0800L, pba);
        assertEquals(0, barRead(0x800, 4), "the PBA is read-only");
        assertEquals(0, barRead(0x900, 4), "between the structures: 0");
    }

    @Test
    void resetMasksEverythingAndReleasesRoutes() {
        setControl(MsixTable.CONTROL_ENABLE);
        program(0, 1);
        msix.signal(0);
        r.root.reset();
        assertTrue(r.msi.vectors.get(0).closed);
        assertEquals(0, control() & 0xc000);
        assertTrue(msix.masked(0));
    }

    @Test
    void msiCapabilityMaskAndPending() {
        PcieRootPort port = new PcieRootPort(r.root, 1, PcieRootPort.Reserve.NONE, f -> {});
        r.root.bus().attach(3, 0, port);
        MsiCapability msi = port.msi();
        int cap = msi.capability();
        assertEquals(MsiCapability.CAPABILITY_ID, r.read(0, 3, 0, cap, 1));
        assertEquals(0x180, r.read(0, 3, 0, cap + 2, 2), "64-bit, per-vector masking, one vector");
        r.write(0, 3, 0, cap + 2, 2, 0xffff);
        assertEquals(0x181, r.read(0, 3, 0, cap + 2, 2), "only Enable is writable");
        r.write(0, 3, 0, cap + 2, 2, 0);
        r.write(0, 3, 0, cap + 4, 4, 0xfee0_0003);
        assertEquals(0xfee0_0000, r.read(0, 3, 0, cap + 4, 4));
        r.write(0, 3, 0, cap + 0xc, 2, 0x55);
        r.write(0, 3, 0, 0x04, 2, PciHeader.COMMAND_BUS_MASTER);
        msi.signal();
        assertTrue(r.msi.log.isEmpty(), "disabled");
        r.write(0, 3, 0, cap + 0x10, 4, 1);
        r.write(0, 3, 0, cap + 2, 2, 1);
        msi.signal();
        assertTrue(msi.pending());
        assertEquals(1, r.read(0, 3, 0, cap + 0x14, 4));
        r.write(0, 3, 0, cap + 0x14, 4, 0);
        assertTrue(msi.pending(), "Pending Bits are read-only");
        r.write(0, 3, 0, cap + 0x10, 4, 0);
        assertFalse(msi.pending());
        assertEquals(List.of("program 0 0xfee00000 85", "signal 0 data 85"), r.msi.log);
        assertEquals(3 << 3, r.msi.vectors.get(0).requesterId);
    }
}
