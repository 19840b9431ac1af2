package dev.mesovirt.arch.x86_64.acpi;

import dev.mesovirt.acpi.AcpiImage;
import dev.mesovirt.acpi.testing.AmlWalker;
import dev.mesovirt.acpi.testing.ImageReader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.arch.x86_64.acpi.AcpiPlatform.PciHostBridge;
import dev.mesovirt.arch.x86_64.acpi.AcpiPlatform.SerialPort;
import dev.mesovirt.arch.x86_64.acpi.AcpiPlatform.SleepRegisters;
import dev.mesovirt.arch.x86_64.acpi.AcpiPlatform.VirtioMmioSlot;
import dev.mesovirt.arch.x86_64.acpi.AcpiPlatform.Window;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class AcpiPlatformTest {

    private static final long LAPIC = AcpiPlatform.DEFAULT_LAPIC_ADDRESS;
    private static final long IOAPIC = AcpiPlatform.DEFAULT_IOAPIC_ADDRESS;

    private static AcpiPlatform with(int vcpus, long lapic, int ioapicId, long ioapic, int gsiBase, SerialPort serial,
                                     List<VirtioMmioSlot> slots, Optional<Integer> pvpanic, boolean rtc) {
        return new AcpiPlatform(vcpus, lapic, ioapicId, ioapic, gsiBase, serial, slots, Platforms.GED_LIKE, pvpanic,
                rtc, Optional.empty(), Optional.empty());
    }

    private static AcpiPlatform withSlots(List<VirtioMmioSlot> slots, boolean rtc) {
        return with(1, LAPIC, 0, IOAPIC, 0, SerialPort.com1(), slots, Optional.empty(), rtc);
    }

    /**
     * {@code p}, once the guest's tables are built from it: what the platform accepts, the tables must describe, so
     * the image walks as a guest walks it (every pointer inside the image) and every table sums to 0.
     */
    private static AcpiPlatform accepted(AcpiPlatform p) {
        AcpiImage image = AcpiTables.build(Platforms.BASE, p);
        for (ImageReader.Table t : ImageReader.tables(image).values()) {
            if (!t.signature().equals("RSDP")) {
                assertEquals(0, ImageReader.sum(image.bytes(), t.offset(), t.length()), t.signature() + " checksum");
            }
        }
        return p;
    }

    /** The names the DSDT built from {@code p} declares. */
    private static List<String> dsdtNames(AcpiPlatform p) {
        return AmlWalker.walkTable(AcpiTables.dsdt(p)).stream().map(AmlWalker.Named::path).toList();
    }

    private static void assertRejected(String messagePart, Executable e) {
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, e);
        assertTrue(ex.getMessage().contains(messagePart), "message \"" + ex.getMessage() + "\" lacks \"" + messagePart + "\"");
    }

    @Test
    void acceptsTheTypicalPlatformAndCopiesTheSlotList() {
        List<VirtioMmioSlot> slots = new ArrayList<>(Platforms.slots(2));
        AcpiPlatform p = withSlots(slots, true);
        slots.clear();
        assertEquals(2, p.virtioSlots().size());
        assertThrows(UnsupportedOperationException.class, () -> p.virtioSlots().clear());
        assertEquals(new SerialPort(0x3F8, 4), SerialPort.com1());
    }

    @ParameterizedTest
    @ValueSource(ints = {0, -1, 256, 1000})
    void rejectsVcpuCountsOutside1To255(int vcpus) {
        assertRejected("vcpus must be in 1..255 but was " + vcpus,
                () -> with(vcpus, LAPIC, 0, IOAPIC, 0, SerialPort.com1(), List.of(), Optional.empty(), false));
    }

    @Test
    void acceptsTheVcpuLimits() {
        for (int vcpus : new int[] {1, 255}) {
            AcpiPlatform p = accepted(with(vcpus, LAPIC, 0, IOAPIC, 0, SerialPort.com1(), List.of(), Optional.empty(),
                    false));
            assertEquals(vcpus, p.vcpus());
            // The MADT's header, a local APIC per vCPU, the I/O APIC, the timer's override and the NMI.
            assertEquals(44 + 8 * vcpus + 12 + 10 + 6, AcpiTables.madt(p).length, vcpus + " vCPUs");
        }
    }

    @Test
    void rejectsBadInterruptControllerAddresses() {
        assertRejected("lapicAddress must be a non-zero 32-bit address",
                () -> with(1, 0, 0, IOAPIC, 0, SerialPort.com1(), List.of(), Optional.empty(), false));
        assertRejected("lapicAddress must be a non-zero 32-bit address",
                () -> with(1, 0x1_0000_0000L, 0, IOAPIC, 0, SerialPort.com1(), List.of(), Optional.empty(), false));
        assertRejected("4 KiB aligned",
                () -> with(1, LAPIC + 0x10, 0, IOAPIC, 0, SerialPort.com1(), List.of(), Optional.empty(), false));
        assertRejected("ioapicAddress must be a non-zero 32-bit address",
                () -> with(1, LAPIC, 0, -1, 0, SerialPort.com1(), List.of(), Optional.empty(), false));
        assertRejected("ioapicId must be in 0..255",
                () -> with(1, LAPIC, 256, IOAPIC, 0, SerialPort.com1(), List.of(), Optional.empty(), false));
        assertRejected("ioapicGsiBase must not be negative",
                () -> with(1, LAPIC, 0, IOAPIC, -1, SerialPort.com1(), List.of(), Optional.empty(), false));
    }

    @Test
    void rejectsGsiBaseThatStrandsIsaInterrupts() {
        assertRejected("below the I/O APIC GSI base",
                () -> with(1, LAPIC, 0, IOAPIC, 3, SerialPort.com1(), List.of(), Optional.empty(), false));
        assertRejected("virtio slot 0 gsi 1 is below the I/O APIC GSI base 2",
                () -> with(1, LAPIC, 0, IOAPIC, 2, new SerialPort(0x3F8, 3), // serial IRQ 3 >= base 2, timer GSI 2 too
                        List.of(new VirtioMmioSlot(0xD000_0000L, 0x200, 1)), Optional.empty(), false));
    }

    @Test
    void rejectsBadSerialPorts() {
        assertRejected("serial ioPort", () -> new SerialPort(0xFFF9, 4));
        assertRejected("serial ioPort", () -> new SerialPort(-1, 4));
        assertRejected("ISA IRQ 0..15", () -> new SerialPort(0x3F8, 16));
        assertRejected("timer's IRQ 0 or the cascade IRQ 2", () -> new SerialPort(0x3F8, 2));
        assertRejected("serial port 0x70 overlaps the RTC ports",
                () -> with(1, LAPIC, 0, IOAPIC, 0, new SerialPort(0x70, 4), List.of(), Optional.empty(), true));
    }

    @Test
    void rejectsBadVirtioSlots() {
        assertRejected("must be non-empty and lie below 4 GiB", () -> new VirtioMmioSlot(0xD000_0000L, 0, 5));
        assertRejected("must be non-empty and lie below 4 GiB", () -> new VirtioMmioSlot(0xFFFF_FF00L, 0x200, 5));
        assertRejected("must be non-empty and lie below 4 GiB", () -> new VirtioMmioSlot(0x200, Long.MAX_VALUE, 5));
        assertRejected("must be non-empty and lie below 4 GiB", () -> new VirtioMmioSlot(-0x200, 0x200, 5));
        assertRejected("gsi must not be negative", () -> new VirtioMmioSlot(0xD000_0000L, 0x200, -1));
    }

    @Test
    void rejectsOverlappingVirtioWindows() {
        assertRejected("overlap", () -> withSlots(List.of(
                new VirtioMmioSlot(0xD000_1000L, 0x200, 5),
                new VirtioMmioSlot(0xD000_0000L, 0x1001, 6)), false));
        AcpiPlatform adjacent = accepted(withSlots(List.of(new VirtioMmioSlot(0xD000_1000L, 0x200, 5),
                new VirtioMmioSlot(0xD000_0000L, 0x1000, 6)), false)); // adjacent is fine
        assertEquals(2, adjacent.virtioSlots().size());
        assertTrue(dsdtNames(adjacent).containsAll(List.of("\\_SB_.VR00", "\\_SB_.VR01")), "both slots described");
    }

    @Test
    void rejectsSharedOrIsaVirtioInterrupts() {
        assertRejected("virtio slot 1 gsi 5 is used by another virtio slot", () -> withSlots(List.of(
                new VirtioMmioSlot(0xD000_0000L, 0x200, 5),
                new VirtioMmioSlot(0xD000_1000L, 0x200, 5)), false));
        assertRejected("collides with an ISA interrupt",
                () -> withSlots(List.of(new VirtioMmioSlot(0xD000_0000L, 0x200, 4)), false));
        assertRejected("collides with an ISA interrupt",
                () -> withSlots(List.of(new VirtioMmioSlot(0xD000_0000L, 0x200, 2)), false));
        assertRejected("collides with an ISA interrupt",
                () -> withSlots(List.of(new VirtioMmioSlot(0xD000_0000L, 0x200, 8)), true));
        AcpiPlatform irq8 = accepted(withSlots(List.of(new VirtioMmioSlot(0xD000_0000L, 0x200, 8)), false));
        assertEquals(8, irq8.virtioSlots().get(0).gsi(), "IRQ 8 is free without an RTC");
        assertTrue(dsdtNames(irq8).contains("\\_SB_.VR00") && !dsdtNames(irq8).contains("\\_SB_.RTC_"));
    }

    @Test
    void rejectsMoreThan256VirtioSlots() {
        List<VirtioMmioSlot> slots = Platforms.slots(257);
        assertRejected("at most 256 virtio slots", () -> withSlots(slots, false));
    }

    @Test
    void rejectsBadPvpanicPorts() {
        assertRejected("pvpanicPort must be in 0..0xFFFF", () -> with(1, LAPIC, 0, IOAPIC, 0, SerialPort.com1(),
                List.of(), Optional.of(0x10000), false));
        assertRejected("overlaps the serial port", () -> with(1, LAPIC, 0, IOAPIC, 0, SerialPort.com1(),
                List.of(), Optional.of(0x3FF), false));
        assertRejected("overlaps the RTC ports", () -> with(1, LAPIC, 0, IOAPIC, 0, SerialPort.com1(),
                List.of(), Optional.of(0x71), true));
    }

    @Test
    void rejectsMissingSleepRegisters() {
        assertRejected("sleep controlAddress must not be 0", () -> new SleepRegisters(0, 1, 2, 0));
        assertRejected("sleep statusAddress must not be 0", () -> new SleepRegisters(1, 0, 2, 0));
        assertRejected("resetAddress must not be 0", () -> new SleepRegisters(1, 2, 0, 0));
        assertRejected("resetValue must be a byte", () -> new SleepRegisters(1, 2, 3, 256));
        assertRejected("resetValue must be a byte", () -> new SleepRegisters(1, 2, 3, -1));
    }

    @Test
    void rejectsNulls() {
        assertThrows(NullPointerException.class, () -> with(1, LAPIC, 0, IOAPIC, 0, null, List.of(),
                Optional.empty(), false));
        assertThrows(NullPointerException.class, () -> with(1, LAPIC, 0, IOAPIC, 0, SerialPort.com1(), null,
                Optional.empty(), false));
        assertThrows(NullPointerException.class, () -> with(1, LAPIC, 0, IOAPIC, 0, SerialPort.com1(),
                Arrays.asList((VirtioMmioSlot) null), Optional.empty(), false));
        assertThrows(NullPointerException.class, () -> with(1, LAPIC, 0, IOAPIC, 0, SerialPort.com1(), List.of(),
                null, false));
        assertThrows(NullPointerException.class, () -> new AcpiPlatform(1, LAPIC, 0, IOAPIC, 0, SerialPort.com1(),
                List.of(), null, Optional.empty(), false, Optional.empty(), Optional.empty()));
        assertThrows(NullPointerException.class, () -> new AcpiPlatform(1, LAPIC, 0, IOAPIC, 0, SerialPort.com1(),
                List.of(), Platforms.GED_LIKE, Optional.empty(), false, null, Optional.empty()));
        assertThrows(NullPointerException.class, () -> new AcpiPlatform(1, LAPIC, 0, IOAPIC, 0, SerialPort.com1(),
                List.of(), Platforms.GED_LIKE, Optional.empty(), false, Optional.empty(), null));
        assertThrows(NullPointerException.class, () -> AcpiTables.build(0xE0000, null));
    }

    // ------------------------------------------------------------ power button

    private static AcpiPlatform withButton(AcpiPlatform.PowerButton button, List<VirtioMmioSlot> slots, boolean rtc) {
        return withButton(button, slots, rtc, Platforms.GED_LIKE);
    }

    private static AcpiPlatform withButton(AcpiPlatform.PowerButton button, List<VirtioMmioSlot> slots, boolean rtc,
                                           SleepRegisters sleep) {
        return new AcpiPlatform(1, LAPIC, 0, IOAPIC, 0, SerialPort.com1(), slots, sleep, Optional.empty(), rtc,
                Optional.of(button), Optional.empty());
    }

    @Test
    void acceptsThePowerButtonOnAFreeGsi() {
        AcpiPlatform p = accepted(withButton(Platforms.BUTTON, Platforms.slots(2), true));
        assertEquals(Optional.of(Platforms.BUTTON), p.powerButton());
        AcpiPlatform.PowerButton irq8 = new AcpiPlatform.PowerButton(0xFEA0_0000L, 8); // free without an RTC
        assertEquals(Optional.of(irq8), accepted(withButton(irq8, List.of(), false)).powerButton());
        AcpiPlatform.PowerButton top = new AcpiPlatform.PowerButton(0xFFFF_FFFCL, 23); // the last DWord below 4 GiB
        assertEquals(Optional.of(top), accepted(withButton(top, List.of(), true)).powerButton());
    }

    @Test
    void rejectsAPowerButtonGsiAnotherDeviceHas() {
        for (int gsi : new int[] {0, 2, 4}) {
            assertRejected("power button gsi " + gsi + " collides with an ISA interrupt",
                    () -> withButton(new AcpiPlatform.PowerButton(0xFEA0_0000L, gsi), List.of(), false));
        }
        assertRejected("power button gsi 8 collides with an ISA interrupt",
                () -> withButton(new AcpiPlatform.PowerButton(0xFEA0_0000L, 8), List.of(), true));
        assertRejected("power button gsi 6 is used by virtio slot 1",
                () -> withButton(new AcpiPlatform.PowerButton(0xFEA0_0000L, 6), Platforms.slots(2), false));
        assertRejected("power button gsi 1 is below the I/O APIC GSI base 2",
                () -> new AcpiPlatform(1, LAPIC, 0, IOAPIC, 2, new SerialPort(0x3F8, 3), List.of(),
                        Platforms.GED_LIKE, Optional.empty(), false,
                        Optional.of(new AcpiPlatform.PowerButton(0xFEA0_0000L, 1)), Optional.empty()));
    }

    @Test
    void rejectsAPowerButtonSelectorOverlappingOtherRegisters() {
        assertRejected("overlaps virtio slot 0", () -> withButton(new AcpiPlatform.PowerButton(0xD000_01FCL, 9),
                Platforms.slots(1), false));
        AcpiPlatform.PowerButton adjacent = new AcpiPlatform.PowerButton(0xD000_0200L, 9); // adjacent is fine
        assertEquals(Optional.of(adjacent), accepted(withButton(adjacent, Platforms.slots(1), false)).powerButton());
        assertRejected("overlaps the ACPI sleep/reset register at 0xFEA00200",
                () -> withButton(new AcpiPlatform.PowerButton(0xFEA0_0200L, 9), List.of(), false));
        assertRejected("overlaps the ACPI sleep/reset register at 0xFEA00202",
                () -> withButton(new AcpiPlatform.PowerButton(0xFEA0_0200L, 9), List.of(), false,
                        new SleepRegisters(0xFEA0_0100L, 0xFEA0_0101L, 0xFEA0_0202L, 0x42)));
        AcpiPlatform.PowerButton below = new AcpiPlatform.PowerButton(0xFEA0_01FCL, 9); // ends where they start
        assertEquals(Optional.of(below), accepted(withButton(below, List.of(), false)).powerButton());
    }

    @Test
    void rejectsBadPowerButtons() {
        for (long address : new long[] {0, -4, 0xFEA0_0002L, 0x1_0000_0000L, 0xFFFF_FFFEL}) {
            assertRejected("power button selectorAddress must be a non-zero, 4-byte aligned address below 4 GiB",
                    () -> new AcpiPlatform.PowerButton(address, 9));
        }
        assertRejected("power button gsi must not be negative", () -> new AcpiPlatform.PowerButton(0xFEA0_0000L, -1));
    }

    // ------------------------------------------------------------ PCI host bridge

    private static final Optional<Window> IO = Optional.of(new Window(0xC000, 0x4000));
    private static final Window MMIO32 = new Window(0xC000_0000L, 0x3EA0_0000L);
    private static final Optional<Window> MMIO64 = Optional.of(new Window(1L << 32, 32L << 30));
    private static final List<Integer> GSIS = List.of(16, 17, 18, 19);

    private static PciHostBridge bridge(long ecam, int buses) {
        return new PciHostBridge(ecam, buses, IO, MMIO32, MMIO64, GSIS);
    }

    private static PciHostBridge bridgeWithGsis(List<Integer> gsis) {
        return new PciHostBridge(0xB000_0000L, 256, IO, MMIO32, MMIO64, gsis);
    }

    /** A q35 platform with the bridge, COM1, the RTC, pvpanic at 0x505 and the power button on GSI 9. */
    private static AcpiPlatform q35With(PciHostBridge bridge) {
        return Platforms.q35(bridge);
    }

    @Test
    void acceptsTheQ35Bridge() {
        AcpiPlatform p = accepted(q35With(Platforms.Q35_BRIDGE));
        assertEquals(Optional.of(Platforms.Q35_BRIDGE), p.pciHostBridge());
        assertEquals(0x1000_0000L, Platforms.Q35_BRIDGE.ecamSize());
        // Smaller bridges: the ECAM window is aligned to its size rounded up to a power of two.
        for (PciHostBridge b : List.of(bridge(0xBFF0_0000L, 1), bridge(0xB040_0000L, 3), bridge(0xB800_0000L, 128),
                // No I/O window, no 64-bit window.
                new PciHostBridge(0xB000_0000L, 256, Optional.empty(), MMIO32, Optional.empty(), GSIS))) {
            assertEquals(Optional.of(b), accepted(q35With(b)).pciHostBridge());
            assertEquals(b.buses() * PciHostBridge.ECAM_BYTES_PER_BUS, b.ecamSize(), b.toString());
        }
    }

    @Test
    void rejectsBadBusCounts() {
        assertRejected("decodes 1..256 buses, not 0", () -> bridge(0xB000_0000L, 0));
        assertRejected("decodes 1..256 buses, not 257", () -> bridge(0xB000_0000L, 257));
    }

    @Test
    void rejectsAnUnalignedOrMisplacedEcamWindow() {
        assertRejected("the ECAM window of 256 buses must be 0x10000000-aligned", () -> bridge(0xB010_0000L, 256));
        assertRejected("the ECAM window of 3 buses must be 0x400000-aligned", () -> bridge(0xB030_0000L, 3));
        assertRejected("the ECAM window of 1 buses must be 0x100000-aligned", () -> bridge(0xB000_8000L, 1));
        assertRejected("and not at 0", () -> bridge(0, 256));
        assertRejected("must lie below 4 GiB", () -> bridge(1L << 32, 256));
    }

    @Test
    void rejectsBadWindows() {
        assertRejected("must be non-empty", () -> new Window(0xC000, 0));
        assertRejected("must be non-empty", () -> new Window(-1, 0x10));
        assertRejected("must not wrap", () -> new Window(Long.MAX_VALUE, 2));
        assertRejected("below port 0x10000", () -> new PciHostBridge(0xB000_0000L, 256,
                Optional.of(new Window(0xC000, 0x4001)), MMIO32, MMIO64, GSIS));
        assertRejected("overlaps the configuration ports 0xCF8-0xCFF", () -> new PciHostBridge(0xB000_0000L, 256,
                Optional.of(new Window(0x0, 0xCF9)), MMIO32, MMIO64, GSIS));
        assertRejected("overlaps the configuration ports 0xCF8-0xCFF", () -> new PciHostBridge(0xB000_0000L, 256,
                Optional.of(new Window(0xCFF, 0x100)), MMIO32, MMIO64, GSIS));
        Window upToTheTop = new Window(0xD00, 0xF300);
        PciHostBridge b = new PciHostBridge(0xB000_0000L, 256, Optional.of(upToTheTop), MMIO32, MMIO64, GSIS);
        assertEquals(Optional.of(upToTheTop), accepted(q35With(b)).pciHostBridge().orElseThrow().io());
        assertEquals(0x10000, upToTheTop.end(), "the I/O window may end at the last port");
        assertRejected("the 32-bit PCI window must lie below 4 GiB", () -> new PciHostBridge(0xB000_0000L, 256, IO,
                new Window(0xC000_0000L, 0x4000_0001L), MMIO64, GSIS));
        assertRejected("the 32-bit PCI window overlaps the ECAM window", () -> new PciHostBridge(0xB000_0000L, 256,
                IO, new Window(0xBFFF_F000L, 0x2000), MMIO64, GSIS));
        assertRejected("the 64-bit PCI window must start at or above 4 GiB", () -> new PciHostBridge(0xB000_0000L,
                256, IO, MMIO32, Optional.of(new Window(0xFFFF_F000L, 1L << 32)), GSIS));
    }

    @Test
    void rejectsIntxGsisThatAreNotFourDistinctLevelLines() {
        assertRejected("has 4 INTx lines, not 3", () -> bridgeWithGsis(List.of(16, 17, 18)));
        assertRejected("has 4 INTx lines, not 5", () -> bridgeWithGsis(List.of(16, 17, 18, 19, 20)));
        assertRejected("four distinct GSIs", () -> bridgeWithGsis(List.of(16, 17, 17, 19)));
        assertRejected("INTx GSI 11 is an ISA IRQ", () -> bridgeWithGsis(List.of(16, 17, 11, 19)));
        assertThrows(NullPointerException.class, () -> bridgeWithGsis(Arrays.asList(16, null, 18, 19)));
        assertEquals(List.of(23, 16, 20, 21), bridgeWithGsis(List.of(23, 16, 20, 21)).intxGsis(), "any order");
    }

    @Test
    void rejectsIntxGsisOtherDevicesHave() {
        assertRejected("INTx GSI 16 is the power button's", () -> new AcpiPlatform(1, LAPIC, 0, IOAPIC, 0,
                SerialPort.com1(), List.of(), Platforms.GED_LIKE, Optional.empty(), false,
                Optional.of(new AcpiPlatform.PowerButton(0xFEA0_0000L, 16)), Optional.of(Platforms.Q35_BRIDGE)));
        assertRejected("INTx GSI 18 is used by virtio slot 1", () -> new AcpiPlatform(1, LAPIC, 0, IOAPIC, 0,
                SerialPort.com1(), List.of(new VirtioMmioSlot(0xD000_0000L, 0x200, 20),
                        new VirtioMmioSlot(0xD000_1000L, 0x200, 18)), Platforms.GED_LIKE, Optional.empty(), false,
                Optional.empty(), Optional.of(Platforms.Q35_BRIDGE)));
    }

    @Test
    void rejectsAnIoWindowOverPlatformPorts() {
        assertRejected("overlaps the serial port at 0x3F8", () -> q35With(new PciHostBridge(0xB000_0000L, 256,
                Optional.of(new Window(0x3F0, 0x10)), MMIO32, MMIO64, GSIS)));
        assertRejected("overlaps the RTC ports", () -> q35With(new PciHostBridge(0xB000_0000L, 256,
                Optional.of(new Window(0x0, 0x100)), MMIO32, MMIO64, GSIS)));
        assertRejected("overlaps the pvpanic port 0x505", () -> q35With(new PciHostBridge(0xB000_0000L, 256,
                Optional.of(new Window(0x500, 0x100)), MMIO32, MMIO64, GSIS)));
        // Without an RTC, ports 0x70-0x71 are nobody's.
        Window low = new Window(0x0, 0x100);
        AcpiPlatform noRtc = accepted(new AcpiPlatform(1, LAPIC, 0, IOAPIC, 0, SerialPort.com1(), List.of(),
                Platforms.GED_LIKE, Optional.empty(), false, Optional.empty(), Optional.of(new PciHostBridge(
                        0xB000_0000L, 256, Optional.of(low), MMIO32, MMIO64, GSIS))));
        assertEquals(Optional.of(low), noRtc.pciHostBridge().orElseThrow().io());
    }

    @Test
    void rejectsBridgeRangesOverPlatformMmio() {
        assertRejected("overlaps the local APIC at 0xFEE00000", () -> q35With(new PciHostBridge(0xB000_0000L, 256,
                IO, new Window(0xC000_0000L, 0x3EE0_1000L), MMIO64, GSIS)));
        assertRejected("overlaps the I/O APIC at 0xFEC00000", () -> q35With(new PciHostBridge(0xB000_0000L, 256,
                IO, new Window(0xFEB0_0000L, 0x10_0001L), MMIO64, GSIS)));
        assertRejected("overlaps the power button selector at 0xFEA00000", () -> q35With(new PciHostBridge(
                0xB000_0000L, 256, IO, new Window(0xC000_0000L, 0x3EA0_0001L), MMIO64, GSIS)));
        assertRejected("overlaps the sleep control register at 0xFEA00200", () -> new AcpiPlatform(1, LAPIC, 0,
                IOAPIC, 0, SerialPort.com1(), List.of(), Platforms.GED_LIKE, Optional.empty(), false, Optional.empty(),
                Optional.of(new PciHostBridge(0xB000_0000L, 256, IO, new Window(0xFEA0_0200L, 1), MMIO64, GSIS))));
        assertRejected("overlaps the reset register at 0xFEA00202", () -> new AcpiPlatform(1, LAPIC, 0,
                IOAPIC, 0, SerialPort.com1(), List.of(), Platforms.GED_LIKE, Optional.empty(), false, Optional.empty(),
                Optional.of(new PciHostBridge(0xB000_0000L, 256, IO, new Window(0xFEA0_0202L, 1), MMIO64, GSIS))));
        assertRejected("overlaps virtio slot 0 at 0xD0000000", () -> new AcpiPlatform(1, LAPIC, 0, IOAPIC, 0,
                SerialPort.com1(), Platforms.slots(1), Platforms.GED_LIKE, Optional.empty(), false, Optional.empty(),
                Optional.of(Platforms.Q35_BRIDGE)));
        // The ECAM window is checked like the memory windows.
        assertRejected("PCI host bridge range [0xFEC00000, 0xFED00000) overlaps the I/O APIC", () -> q35With(
                new PciHostBridge(0xFEC0_0000L, 1, IO, MMIO32, MMIO64, GSIS)));
        // Up to the power button's page is fine: the q35 layout ends its 32-bit window there.
        AcpiPlatform upToTheButton = accepted(q35With(new PciHostBridge(0xB000_0000L, 256, IO,
                new Window(0xC000_0000L, 0x3EA0_0000L), MMIO64, GSIS)));
        assertEquals(Platforms.BUTTON.selectorAddress(), upToTheButton.pciHostBridge().orElseThrow().mmio32().end());
    }

    @Test
    void swizzlesDevicesOntoTheFourLines() {
        PciHostBridge b = bridgeWithGsis(List.of(23, 16, 20, 21));
        assertEquals(23, b.intxGsiOf(0, 0));
        assertEquals(16, b.intxGsiOf(0, 1));
        assertEquals(16, b.intxGsiOf(1, 0));
        assertEquals(23, b.intxGsiOf(1, 3));
        assertEquals(21, b.intxGsiOf(31, 0));
        assertEquals(3, b.intxLineOf(31, 0));
        assertEquals(2, b.intxLineOf(31, 3));
        assertRejected("no device 32 pin 0", () -> b.intxLineOf(32, 0));
        assertRejected("no device -1 pin 0", () -> b.intxLineOf(-1, 0));
        assertRejected("no device 0 pin 4", () -> b.intxGsiOf(0, 4));
    }

    @Test
    void rejectsNullBridgeParts() {
        assertThrows(NullPointerException.class, () -> new PciHostBridge(0xB000_0000L, 256, null, MMIO32, MMIO64, GSIS));
        assertThrows(NullPointerException.class, () -> new PciHostBridge(0xB000_0000L, 256, IO, null, MMIO64, GSIS));
        assertThrows(NullPointerException.class, () -> new PciHostBridge(0xB000_0000L, 256, IO, MMIO32, null, GSIS));
        assertThrows(NullPointerException.class, () -> new PciHostBridge(0xB000_0000L, 256, IO, MMIO32, MMIO64, null));
    }
}
