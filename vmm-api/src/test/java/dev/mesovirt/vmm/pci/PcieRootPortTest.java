package dev.mesovirt.vmm.pci;

import static dev.mesovirt.vmm.pci.PcieRootPort.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The root port's registers and its hot-plug handshake, driven the way Linux pciehp drives it. */
class PcieRootPortTest {
    final Fakes.Root r = new Fakes.Root();
    final List<PciFunction> removed = new ArrayList<>();
    PcieRootPort port;
    int msiCap;

    @BeforeEach
    void setUp() {
        port = new PcieRootPort(r.root, 5, Reserve.DEFAULT, removed::add);
        r.root.bus().attach(4, 0, port);
        r.root.assignResources();
        msiCap = port.msi().capability();
    }

    int rd(int reg, int size) {
        return r.read(0, 4, 0, reg, size);
    }

    void wr(int reg, int size, int v) {
        r.write(0, 4, 0, reg, size, v);
    }

    int slotStatus() {
        return rd(SLOT_STATUS, 2);
    }

    /** pcie_write_cmd: read-modify-write Slot Control, then wait for Command Completed and clear it. */
    void command(int value, int mask) {
        int ctl = rd(SLOT_CONTROL, 2);
        wr(SLOT_CONTROL, 2, (ctl & ~mask) | (value & mask));
        assertTrue((slotStatus() & SLTSTA_CC) != 0, "Command Completed after every Slot Control write");
        wr(SLOT_STATUS, 2, SLTSTA_CC);
    }

    /** pciehp's probe: clear events, enable notification (DLLSCE, ABPE since there is a button, HPIE, CCIE). */
    void pciehpProbe() {
        wr(msiCap + 4, 4, 0xfee0_0000);
        wr(msiCap + 0xc, 2, 0x2a);
        wr(msiCap + 2, 2, 1);
        wr(SLOT_STATUS, 2, SLTSTA_ABP | SLTSTA_PFD | SLTSTA_MRLSC | SLTSTA_CC | SLTSTA_DLLSC | SLTSTA_PDC);
        command(SLTCTL_DLLSCE | SLTCTL_ABPE | SLTCTL_HPIE | SLTCTL_CCIE,
                SLTCTL_DLLSCE | SLTCTL_ABPE | SLTCTL_PDCE | SLTCTL_HPIE | SLTCTL_CCIE);
    }

    /** The IRQ handler: read Slot Status, write back the events, return them. */
    int isr() {
        int events = slotStatus() & EVENTS;
        if (events != 0) {
            wr(SLOT_STATUS, 2, events);
        }
        return events;
    }

    @Test
    void registers() {
        assertEquals(0x000c_1b36, rd(0, 4));
        assertEquals(0x10, rd(0x06, 2) & 0x10, "capability list");
        assertEquals(EXP, rd(0x34, 1));
        assertEquals(0x10, rd(EXP, 1), "PCI Express capability");
        assertEquals(0x0142, rd(EXP + 2, 2), "v2, root port, slot implemented");
        int slotCaps = rd(SLOT_CAPS, 4);
        assertEquals(SLTCAP_ABP | SLTCAP_PCP | SLTCAP_AIP | SLTCAP_PIP | SLTCAP_HPC, slotCaps & 0x7f);
        assertEquals(0, slotCaps & SLTCAP_NCCS, "Command Completed is supported");
        assertEquals(5, slotCaps >>> 19, "physical slot number");
        assertEquals(5, rd(LINK_CAPS, 4) >>> 24, "port number");
        assertTrue((rd(LINK_CAPS, 4) & (1 << 20)) != 0, "link active reporting");
        assertEquals(0x11, rd(LINK_STATUS, 2) & 0x3ff, "2.5 GT/s x1");
        assertEquals(0, slotStatus() & SLTSTA_PDS, "empty");
        assertEquals(PWR_OFF | PWR_IND_OFF | ATTN_IND_OFF, rd(SLOT_CONTROL, 2) & 0x7c0, "empty slot powered off");
        assertEquals(0, rd(0x100, 4), "an extended space without extended capabilities");
        assertEquals(MsiCapability.CAPABILITY_ID, rd(rd(EXP + 1, 1), 1), "MSI after the PCIe capability");
        // Retrain Link reads back 0; Slot Status events are W1C, the rest read-only.
        wr(LINK_CONTROL, 2, 0x20);
        assertEquals(0, rd(LINK_CONTROL, 2) & 0x20);
        wr(SLOT_STATUS, 2, SLTSTA_PDS);
        assertEquals(0, slotStatus() & SLTSTA_PDS);
    }

    @Test
    void hotPlugAndUnplugHandshake() {
        pciehpProbe();
        assertEquals(1, r.msi.log.stream().filter(s -> s.startsWith("signal")).count(),
                "the enabling command completed, with an interrupt");
        assertEquals(SLTSTA_CC, isr() | SLTSTA_CC);
        int before = r.msi.log.size();

        Fakes.Endpoint dev = new Fakes.Endpoint(1, Map.of(0, Bar.memory32(0x1000, new Fakes.Region())));
        port.hotPlug(dev);
        assertTrue(r.msi.log.size() > before && r.msi.log.get(r.msi.log.size() - 1).startsWith("signal"),
                "link change raised the MSI");
        assertEquals(SLTSTA_PDS, slotStatus() & SLTSTA_PDS);
        assertEquals(LNKSTA_DLLLA, rd(LINK_STATUS, 2) & LNKSTA_DLLLA);
        int events = isr();
        assertEquals(SLTSTA_PDC | SLTSTA_DLLSC, events & (SLTSTA_PDC | SLTSTA_DLLSC));
        // pciehp_enable_slot: power on, power indicator blinking then on; the device answers on the secondary bus.
        command(0, SLTCTL_PCC);
        command(PWR_IND_BLINK, SLTCTL_PIC);
        assertEquals(0x5678_1234, r.read(1, 0, 0, 0, 4));
        command(PWR_IND_ON, SLTCTL_PIC);
        isr();

        // device_del: the attention button; the guest blinks, waits, removes its driver, powers the slot off.
        int signals = r.msi.log.size();
        port.requestUnplug();
        assertEquals(signals + 1, r.msi.log.size());
        assertEquals(SLTSTA_ABP, isr() & SLTSTA_ABP);
        command(PWR_IND_BLINK, SLTCTL_PIC);
        assertEquals("the guest is busy with the slot", assertThrows(IllegalStateException.class,
                port::requestUnplug).getMessage().replaceAll(".*: ", "").replaceAll(" \\(.*", ""));
        assertTrue(removed.isEmpty());
        wr(SLOT_CONTROL, 2, rd(SLOT_CONTROL, 2) | SLTCTL_PCC); // pciehp_power_off_slot
        assertEquals(List.of(dev), removed);
        assertEquals(0, slotStatus() & SLTSTA_PDS);
        assertEquals(0, rd(LINK_STATUS, 2) & LNKSTA_DLLLA);
        assertEquals(0xffff_ffff, r.read(1, 0, 0, 0, 4), "gone from the secondary bus");
        assertTrue(port.device().isEmpty());
        command(PWR_IND_OFF, SLTCTL_PIC);
        assertEquals(1, removed.size(), "removed once");
        assertThrows(IllegalStateException.class, port::requestUnplug, "empty slot");
        // The slot can be refilled.
        port.hotPlug(new Fakes.Endpoint(1, Map.of()));
        assertEquals(SLTSTA_PDS, slotStatus() & SLTSTA_PDS);
        assertThrows(IllegalArgumentException.class, () -> port.hotPlug(new Fakes.Endpoint(1, Map.of())));
    }

    @Test
    void unplugOfAPoweredOffSlotIsImmediate() {
        port.hotPlug(new Fakes.Endpoint(1, Map.of()));
        assertEquals(PWR_OFF, rd(SLOT_CONTROL, 2) & SLTCTL_PCC, "nobody powered it on");
        port.requestUnplug();
        assertEquals(1, removed.size());
    }

    @Test
    void intxFallbackFollowsTheEventCondition() {
        wr(0x04, 2, 0x6);
        wr(SLOT_STATUS, 2, EVENTS);
        command(SLTCTL_DLLSCE | SLTCTL_HPIE, SLTCTL_DLLSCE | SLTCTL_HPIE);
        assertFalse(r.lines.get(0).level, "CCIE off: Command Completed raises nothing");
        port.hotPlug(new Fakes.Endpoint(1, Map.of()));
        // Device 4, INTA: line (4 + 0) % 4 = 0.
        assertTrue(r.lines.get(0).level);
        assertTrue((rd(0x06, 2) & PciHeader.STATUS_INTERRUPT) != 0);
        wr(SLOT_STATUS, 2, SLTSTA_DLLSC | SLTSTA_PDC);
        assertFalse(r.lines.get(0).level, "clearing the events lowers the line");
        assertTrue(r.msi.log.isEmpty());
    }

    @Test
    void clearingEventsThatWereNotSetClearsNothing() {
        port.hotPlug(new Fakes.Endpoint(1, Map.of()));
        wr(SLOT_STATUS, 2, EVENTS);
        assertEquals(SLTSTA_PDC | SLTSTA_DLLSC, slotStatus() & EVENTS, "QEMU's work-around: the event survives");
        wr(SLOT_STATUS, 2, SLTSTA_PDC | SLTSTA_DLLSC);
        assertEquals(0, slotStatus() & EVENTS);
    }

    @Test
    void coldPlugAndResetKeepTheDevice() {
        PcieRootPort p = new PcieRootPort(r.root, 6, Reserve.DEFAULT, removed::add);
        r.root.bus().attach(5, 0, p);
        Fakes.Endpoint dev = new Fakes.Endpoint(1, Map.of());
        p.insert(dev);
        r.root.assignResources();
        int bus = r.read(0, 5, 0, 0x19, 1);
        assertEquals(SLTSTA_PDS, r.read(0, 5, 0, SLOT_STATUS, 2) & EVENTS | SLTSTA_PDS & r.read(0, 5, 0,
                SLOT_STATUS, 2));
        assertEquals(PWR_IND_ON, r.read(0, 5, 0, SLOT_CONTROL, 2) & 0x700, "powered, indicator on");
        assertEquals(0x5678_1234, r.read(bus, 0, 0, 0, 4));
        r.root.reset();
        r.root.assignResources();
        assertEquals(PWR_IND_ON, r.read(0, 5, 0, SLOT_CONTROL, 2) & 0x700);
        assertEquals(LNKSTA_DLLLA, r.read(0, 5, 0, LINK_STATUS, 2) & LNKSTA_DLLLA);
        assertEquals(0x5678_1234, r.read(r.read(0, 5, 0, 0x19, 1), 0, 0, 0, 4));
    }

    @Test
    void secondaryBusResetResetsTheDevice() {
        Fakes.Endpoint dev = new Fakes.Endpoint(1, Map.of());
        port.insert(dev);
        r.root.assignResources();
        int bus = rd(0x19, 1);
        r.write(bus, 0, 0, 0x3c, 1, 9);
        wr(PciHeader.BRIDGE_CONTROL, 2, PciHeader.BRIDGE_CONTROL_BUS_RESET);
        wr(PciHeader.BRIDGE_CONTROL, 2, 0);
        assertEquals(0, r.read(bus, 0, 0, 0x3c, 1));
    }
}
