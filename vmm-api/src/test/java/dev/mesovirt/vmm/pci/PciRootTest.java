package dev.mesovirt.vmm.pci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.vmm.arch.PciLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Configuration access: ECAM and mechanism #1 decoding, routing through bridges, attach rules, INTx routing. */
class PciRootTest {
    final Fakes.Root r = new Fakes.Root();
    final List<PciFunction> removed = new ArrayList<>();

    int cf8Read(int bus, int dev, int fn, int reg, int size) {
        byte[] a = new byte[4];
        PciRoot.store(a, 0, 4, 0x8000_0000 | bus << 16 | dev << 11 | fn << 8 | (reg & 0xfc));
        r.root.legacyConfigPorts().write(0, a);
        byte[] d = new byte[size];
        r.root.legacyConfigPorts().read(4 + (reg & 3), d);
        return PciRoot.load(d, 0, size);
    }

    void cf8Write(int bus, int dev, int fn, int reg, int size, int value) {
        byte[] a = new byte[4];
        PciRoot.store(a, 0, 4, 0x8000_0000 | bus << 16 | dev << 11 | fn << 8 | (reg & 0xfc));
        r.root.legacyConfigPorts().write(0, a);
        byte[] d = new byte[size];
        PciRoot.store(d, 0, size, value);
        r.root.legacyConfigPorts().write(4 + (reg & 3), d);
    }

    @Test
    void hostBridgeThroughEcamAndLegacyPorts() {
        assertEquals(0x29c0_8086, r.read(0, 0, 0, 0, 4));
        assertEquals(0x0600_0000, r.read(0, 0, 0, 0x08, 4), "class 0x060000, revision 0");
        assertEquals(0, r.read(0, 0, 0, 0x0e, 1), "single-function type 0 header");
        assertEquals(0xb000_0001, r.read(0, 0, 0, PciRoot.PCIEXBAR, 4), "PCIEXBAR: ECAM base, 256 buses, enabled");
        assertEquals(0x29c0_8086, cf8Read(0, 0, 0, 0, 4));
        assertEquals(0x29c0, cf8Read(0, 0, 0, 2, 2), "word at 0xCFE");
        assertEquals(0x80, cf8Read(0, 0, 0, 1, 1), "byte at 0xCFD");
        assertEquals(0x0600, cf8Read(0, 0, 0, 0x0a, 2));
    }

    /** The IDs at 00.0 are the layout's: here QEMU virt's generic host bridge; the rest of the header is the same. */
    @Test
    void hostBridgeIdsComeFromTheLayout() {
        PciLayout l = Fakes.LAYOUT;
        PciLayout virt = new PciLayout(l.ecamBase(), l.buses(), l.io(), l.mmio32(), l.mmio64(), false,
                PciLayout.HostBridgeId.REDHAT_PCIE_HOST);
        Fakes.Line line = new Fakes.Line();
        PciRoot root = new PciRoot(virt, List.of(line, line, line, line), new Fakes.Mapper(), new Fakes.Msi());
        byte[] b = new byte[4];
        root.ecam().read(0, b);
        assertEquals(0x0008_1b36, PciRoot.load(b, 0, 4));
        root.ecam().read(0x08, b);
        assertEquals(0x0600_0000, PciRoot.load(b, 0, 4), "class 0x060000, revision 0");
        root.ecam().read(0x2c, b);
        assertEquals(0x1100_1af4, PciRoot.load(b, 0, 4), "subsystem 1af4:1100");
        assertEquals(0x29c0_8086, r.read(0, 0, 0, 0, 4), "q35's MCH where the layout says so");
    }

    @Test
    void hostBridgeIdsAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> new PciLayout.HostBridgeId(0xffff, 0x0008));
        assertThrows(IllegalArgumentException.class, () -> new PciLayout.HostBridgeId(0, 0x0008));
        assertThrows(IllegalArgumentException.class, () -> new PciLayout.HostBridgeId(0x1b36, 0x1_0000));
        PciLayout l = Fakes.LAYOUT;
        assertThrows(NullPointerException.class,
                () -> new PciLayout(l.ecamBase(), l.buses(), l.io(), l.mmio32(), l.mmio64(), true, null));
    }

    @Test
    void legacyAddressRegister() {
        byte[] a = new byte[4];
        PciRoot.store(a, 0, 4, 0x8000_0000);
        r.root.legacyConfigPorts().write(0, a);
        byte[] back = new byte[4];
        r.root.legacyConfigPorts().read(0, back);
        assertEquals(0x8000_0000, PciRoot.load(back, 0, 4), "Linux's type 1 probe reads back what it wrote");
        // Disabled: the data port reads all ones.
        PciRoot.store(a, 0, 4, 0);
        r.root.legacyConfigPorts().write(0, a);
        byte[] d = new byte[4];
        r.root.legacyConfigPorts().read(4, d);
        assertEquals(-1, PciRoot.load(d, 0, 4));
        // Byte accesses to 0xCF8..0xCFB are not the address register; an access past 0xCFF reads all ones.
        r.root.legacyConfigPorts().write(1, new byte[] {0});
        r.root.legacyConfigPorts().read(0, back);
        assertEquals(0, PciRoot.load(back, 0, 4));
        byte[] one = new byte[1];
        r.root.legacyConfigPorts().read(1, one);
        assertEquals(-1, one[0]);
        PciRoot.store(a, 0, 4, 0x8000_0000);
        r.root.legacyConfigPorts().write(0, a);
        r.root.legacyConfigPorts().read(6, d);
        assertEquals(-1, PciRoot.load(d, 0, 4));
    }

    @Test
    void absentFunctionsAndBusesReadAllOnes() {
        assertEquals(0xffff_ffff, r.read(0, 5, 0, 0, 4));
        assertEquals(0xffff, r.read(0, 5, 0, 0, 2));
        assertEquals(0xff, r.read(0, 0, 3, 0, 1));
        assertEquals(0xffff_ffff, r.read(7, 0, 0, 0, 4), "no bridge decodes bus 7");
        assertEquals(0xffff_ffff, r.read(0, 0, 0, 0x100, 4), "past a conventional function's 256 bytes");
        assertEquals(0xffff_ffff, cf8Read(0, 31, 7, 0, 4));
        r.write(0, 5, 0, 4, 2, 7); // dropped
        byte[] beyond = new byte[4];
        r.root.ecam().read(Fakes.LAYOUT.ecamSize(), beyond);
        assertEquals(-1, PciRoot.load(beyond, 0, 4));
    }

    @Test
    void misalignedAccessIsBytewise() {
        Fakes.Endpoint e = new Fakes.Endpoint(1, Map.of());
        r.root.bus().attach(2, 0, e);
        assertEquals(0x78_12, r.read(0, 2, 0, 1, 2), "vendor high byte, device low byte");
        assertEquals(0x0056_7812, r.read(0, 2, 0, 1, 4) & 0x00ff_ffff);
        r.write(0, 2, 0, 0x3b, 2, 0x0b00);
        assertEquals(0x0b, r.read(0, 2, 0, 0x3c, 1));
        byte[] d = new byte[4];
        r.root.ecam().read(2L << 15 | 0xffe, d);
        assertEquals(-1, PciRoot.load(d, 0, 4), "an access across the end of a function's space");
    }

    @Test
    void attachRules() {
        Fakes.Endpoint e = new Fakes.Endpoint(1, Map.of());
        IllegalArgumentException taken = assertThrows(IllegalArgumentException.class,
                () -> r.root.bus().attach(0, 0, e));
        assertTrue(taken.getMessage().contains("00.0") && taken.getMessage().contains("taken"), taken.getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> r.root.bus().attach(32, 0, e))
                .getMessage().contains("0..31"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> r.root.bus().attach(3, 8, e))
                .getMessage().contains("0..7"));
        r.root.bus().attach(3, 0, e);
        assertThrows(IllegalArgumentException.class, () -> r.root.bus().attach(4, 0, e), "attached twice");
        PcieRootPort port = new PcieRootPort(r.root, 1, PcieRootPort.Reserve.DEFAULT, removed::add);
        r.root.bus().attach(4, 0, port);
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> port.secondaryBus().attach(1, 0, new Fakes.Endpoint(1, Map.of()))).getMessage()
                .contains("device 0 only"));
    }

    @Test
    void multiFunctionBitFollowsTheOtherFunctions() {
        Fakes.Endpoint f0 = new Fakes.Endpoint(1, Map.of());
        Fakes.Endpoint f3 = new Fakes.Endpoint(1, Map.of());
        r.root.bus().attach(5, 0, f0);
        assertEquals(0x00, r.read(0, 5, 0, 0x0e, 1));
        r.root.bus().attach(5, 3, f3);
        assertEquals(0x80, r.read(0, 5, 0, 0x0e, 1));
        assertEquals(0x5678_1234, r.read(0, 5, 3, 0, 4));
        r.root.reset();
        assertEquals(0x80, r.read(0, 5, 0, 0x0e, 1), "reset keeps the topology");
        r.root.bus().detach(5, 3);
        assertEquals(0x00, r.read(0, 5, 0, 0x0e, 1));
        assertTrue(r.root.bus().detach(5, 3).isEmpty());
    }

    @Test
    void configCyclesRouteThroughBridgesByBusNumber() {
        PcieRootPort a = new PcieRootPort(r.root, 1, PcieRootPort.Reserve.NONE, removed::add);
        PcieRootPort b = new PcieRootPort(r.root, 2, PcieRootPort.Reserve.NONE, removed::add);
        r.root.bus().attach(1, 0, a);
        r.root.bus().attach(2, 0, b);
        Fakes.Endpoint behindA = new Fakes.Endpoint(1, Map.of());
        a.insert(behindA);
        assertEquals(0x000c_1b36, r.read(0, 1, 0, 0, 4));
        assertEquals(0x01, r.read(0, 1, 0, 0x0e, 1), "type 1 header");
        assertEquals(0x0604_0000, r.read(0, 1, 0, 0x08, 4));
        assertEquals(0xffff_ffff, r.read(1, 0, 0, 0, 4), "bus numbers not programmed: nothing forwarded");
        // Secondary 5, subordinate 5 on port a; 6..6 on port b.
        r.write(0, 1, 0, 0x18, 4, 0x00_05_05_00);
        r.write(0, 2, 0, 0x18, 4, 0x00_06_06_00);
        assertEquals(0x5678_1234, r.read(5, 0, 0, 0, 4));
        assertEquals(0xffff_ffff, r.read(6, 0, 0, 0, 4), "port b's slot is empty");
        assertEquals(0xffff_ffff, r.read(5, 1, 0, 0, 4));
        assertEquals((5 << 8), behindA.header().place().requesterId());
        // Renumbering moves the function.
        r.write(0, 1, 0, 0x19, 2, 0x0909);
        assertEquals(0xffff_ffff, r.read(5, 0, 0, 0, 4));
        assertEquals(0x5678_1234, r.read(9, 0, 0, 0, 4));
        // The function is reached through 0xCF8 as well.
        assertEquals(0x5678_1234, cf8Read(9, 0, 0, 0, 4));
        cf8Write(9, 0, 0, 0x3c, 1, 0x42);
        assertEquals(0x42, r.read(9, 0, 0, 0x3c, 1));
    }

    @Test
    void intxIsSwizzledThroughBridgesAndWireOred() {
        PcieRootPort port = new PcieRootPort(r.root, 1, PcieRootPort.Reserve.NONE, removed::add);
        r.root.bus().attach(3, 0, port);
        Fakes.Endpoint behind = new Fakes.Endpoint(2, Map.of()); // INTB
        port.insert(behind);
        Fakes.Endpoint onRoot = new Fakes.Endpoint(1, Map.of()); // device 7 INTA: (7 + 0) % 4 = 3
        Fakes.Endpoint other = new Fakes.Endpoint(4, Map.of()); // device 4 INTD: (4 + 3) % 4 = 3
        r.root.bus().attach(7, 0, onRoot);
        r.root.bus().attach(4, 0, other);
        // Behind the port: device 0 INTB -> the port's pin (0 + 1) % 4 = INTB at device 3 -> (3 + 1) % 4 = 0.
        behind.header().setIntx(true);
        assertTrue(r.lines.get(0).level);
        behind.header().setIntx(false);
        assertFalse(r.lines.get(0).level);
        onRoot.header().setIntx(true);
        other.header().setIntx(true);
        assertTrue(r.lines.get(3).level);
        onRoot.header().setIntx(false);
        assertTrue(r.lines.get(3).level, "shared: still asserted by the other function");
        other.header().setIntx(false);
        assertFalse(r.lines.get(3).level);
        assertEquals(1, r.lines.get(3).edges);
        // A detached function lets go of its line.
        other.header().setIntx(true);
        r.root.bus().detach(4, 0);
        assertFalse(r.lines.get(3).level);
        assertEquals(PciHeader.STATUS_INTERRUPT, other.header().config().get16(PciHeader.STATUS)
                & PciHeader.STATUS_INTERRUPT);
    }

    /** q35's PAM and SMRAM registers keep what firmware writes, and a machine reset puts them back to 0. */
    @Test
    void pamAndSmramBackToPowerOnAtReset() {
        for (int reg = PciRoot.PAM0; reg <= PciRoot.PAM0 + 6; reg++) {
            cf8Write(0, 0, 0, reg, 1, 0x33);
            assertEquals(0x33, cf8Read(0, 0, 0, reg, 1));
        }
        cf8Write(0, 0, 0, PciRoot.SMRAM, 1, 0x0A);
        assertEquals(0x0A, cf8Read(0, 0, 0, PciRoot.SMRAM, 1));
        r.root.reset();
        for (int reg = PciRoot.PAM0; reg <= PciRoot.PAM0 + 6; reg++) {
            assertEquals(0, cf8Read(0, 0, 0, reg, 1), "PAM at 0x" + Integer.toHexString(reg));
        }
        assertEquals(0, cf8Read(0, 0, 0, PciRoot.SMRAM, 1));
        assertEquals(0xb000_0001, r.read(0, 0, 0, PciRoot.PCIEXBAR, 4), "PCIEXBAR keeps the machine's ECAM");
    }
}
