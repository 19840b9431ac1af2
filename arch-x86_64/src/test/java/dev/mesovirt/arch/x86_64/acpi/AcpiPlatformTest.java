package dev.mesovirt.arch.x86_64.acpi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.arch.x86_64.acpi.AcpiPlatform.SerialPort;
import dev.mesovirt.arch.x86_64.acpi.AcpiPlatform.SleepRegisters;
import dev.mesovirt.arch.x86_64.acpi.AcpiPlatform.VirtioMmioSlot;
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
                rtc, Optional.empty());
    }

    private static AcpiPlatform withSlots(List<VirtioMmioSlot> slots, boolean rtc) {
        return with(1, LAPIC, 0, IOAPIC, 0, SerialPort.com1(), slots, Optional.empty(), rtc);
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
        with(1, LAPIC, 0, IOAPIC, 0, SerialPort.com1(), List.of(), Optional.empty(), false);
        with(255, LAPIC, 0, IOAPIC, 0, SerialPort.com1(), List.of(), Optional.empty(), false);
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
        withSlots(List.of(new VirtioMmioSlot(0xD000_1000L, 0x200, 5), new VirtioMmioSlot(0xD000_0000L, 0x1000, 6)),
                false); // adjacent is fine
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
        withSlots(List.of(new VirtioMmioSlot(0xD000_0000L, 0x200, 8)), false); // IRQ 8 is free without an RTC
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
                List.of(), null, Optional.empty(), false, Optional.empty()));
        assertThrows(NullPointerException.class, () -> new AcpiPlatform(1, LAPIC, 0, IOAPIC, 0, SerialPort.com1(),
                List.of(), Platforms.GED_LIKE, Optional.empty(), false, null));
        assertThrows(NullPointerException.class, () -> AcpiTables.build(0xE0000, null));
    }

    // ------------------------------------------------------------ power button

    private static AcpiPlatform withButton(AcpiPlatform.PowerButton button, List<VirtioMmioSlot> slots, boolean rtc) {
        return withButton(button, slots, rtc, Platforms.GED_LIKE);
    }

    private static AcpiPlatform withButton(AcpiPlatform.PowerButton button, List<VirtioMmioSlot> slots, boolean rtc,
                                           SleepRegisters sleep) {
        return new AcpiPlatform(1, LAPIC, 0, IOAPIC, 0, SerialPort.com1(), slots, sleep, Optional.empty(), rtc,
                Optional.of(button));
    }

    @Test
    void acceptsThePowerButtonOnAFreeGsi() {
        AcpiPlatform p = withButton(Platforms.BUTTON, Platforms.slots(2), true);
        assertEquals(Optional.of(Platforms.BUTTON), p.powerButton());
        withButton(new AcpiPlatform.PowerButton(0xFEA0_0000L, 8), List.of(), false); // IRQ 8 is free without an RTC
        withButton(new AcpiPlatform.PowerButton(0xFFFF_FFFCL, 23), List.of(), true); // the last DWord below 4 GiB
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
                        Optional.of(new AcpiPlatform.PowerButton(0xFEA0_0000L, 1))));
    }

    @Test
    void rejectsAPowerButtonSelectorOverlappingOtherRegisters() {
        assertRejected("overlaps virtio slot 0", () -> withButton(new AcpiPlatform.PowerButton(0xD000_01FCL, 9),
                Platforms.slots(1), false));
        withButton(new AcpiPlatform.PowerButton(0xD000_0200L, 9), Platforms.slots(1), false); // adjacent is fine
        assertRejected("overlaps the ACPI sleep/reset register at 0xFEA00200",
                () -> withButton(new AcpiPlatform.PowerButton(0xFEA0_0200L, 9), List.of(), false));
        assertRejected("overlaps the ACPI sleep/reset register at 0xFEA00202",
                () -> withButton(new AcpiPlatform.PowerButton(0xFEA0_0200L, 9), List.of(), false,
                        new SleepRegisters(0xFEA0_0100L, 0xFEA0_0101L, 0xFEA0_0202L, 0x42)));
        withButton(new AcpiPlatform.PowerButton(0xFEA0_01FCL, 9), List.of(), false);
    }

    @Test
    void rejectsBadPowerButtons() {
        for (long address : new long[] {0, -4, 0xFEA0_0002L, 0x1_0000_0000L, 0xFFFF_FFFEL}) {
            assertRejected("power button selectorAddress must be a non-zero, 4-byte aligned address below 4 GiB",
                    () -> new AcpiPlatform.PowerButton(address, 9));
        }
        assertRejected("power button gsi must not be negative", () -> new AcpiPlatform.PowerButton(0xFEA0_0000L, -1));
    }
}
