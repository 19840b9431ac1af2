package dev.mesovirt.arch.x86_64.acpi;

import dev.mesovirt.arch.x86_64.acpi.AcpiPlatform.SerialPort;
import dev.mesovirt.arch.x86_64.acpi.AcpiPlatform.SleepRegisters;
import dev.mesovirt.arch.x86_64.acpi.AcpiPlatform.VirtioMmioSlot;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Random;

/** Platform fixtures shared by the ACPI tests. */
final class Platforms {

    static final long BASE = 0xE0000L;
    static final SleepRegisters GED_LIKE = new SleepRegisters(0xFEA0_0200L, 0xFEA0_0201L, 0xFEA0_0202L, 0x42);
    /** The x86_64 microVM's power button: selector at 0xFEA00000, GSI 9. */
    static final AcpiPlatform.PowerButton BUTTON = new AcpiPlatform.PowerButton(0xFEA0_0000L, 9);

    private Platforms() {
    }

    static List<VirtioMmioSlot> slots(int count) {
        List<VirtioMmioSlot> slots = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            slots.add(new VirtioMmioSlot(0xD000_0000L + 0x1000L * i, 0x200, 5 + i + (5 + i >= 8 ? 1 : 0)));
        }
        return slots;
    }

    static AcpiPlatform platform(int vcpus, int virtioSlots, Optional<Integer> pvpanic, boolean rtc) {
        return platform(vcpus, virtioSlots, pvpanic, rtc, Optional.empty());
    }

    static AcpiPlatform platform(int vcpus, int virtioSlots, Optional<Integer> pvpanic, boolean rtc,
                                 Optional<AcpiPlatform.PowerButton> button) {
        return new AcpiPlatform(vcpus, AcpiPlatform.DEFAULT_LAPIC_ADDRESS, 0, AcpiPlatform.DEFAULT_IOAPIC_ADDRESS, 0,
                SerialPort.com1(), slots(virtioSlots), GED_LIKE, pvpanic, rtc, button, Optional.empty());
    }

    /** The q35 machine's host bridge as X86_64Architecture lays it out for 2 GiB of RAM: INTx on GSIs 16-19. */
    static final AcpiPlatform.PciHostBridge Q35_BRIDGE = new AcpiPlatform.PciHostBridge(0xB000_0000L, 256,
            Optional.of(new AcpiPlatform.Window(0xC000, 0x4000)),
            new AcpiPlatform.Window(0xC000_0000L, 0xFEA0_0000L - 0xC000_0000L),
            Optional.of(new AcpiPlatform.Window(1L << 32, 32L << 30)), List.of(16, 17, 18, 19));

    /** A q35 machine: two vCPUs, COM1, RTC, pvpanic, the power button and {@code bridge}; no virtio-mmio slots. */
    static AcpiPlatform q35(AcpiPlatform.PciHostBridge bridge) {
        return new AcpiPlatform(2, AcpiPlatform.DEFAULT_LAPIC_ADDRESS, 0, AcpiPlatform.DEFAULT_IOAPIC_ADDRESS, 0,
                SerialPort.com1(), List.of(), GED_LIKE, Optional.of(0x505), true, Optional.of(BUTTON),
                Optional.of(bridge));
    }

    /** Two vCPUs, two virtio slots, pvpanic at 0x505, RTC present, the power button. */
    static AcpiPlatform typical() {
        return platform(2, 2, Optional.of(0x505), true, Optional.of(BUTTON));
    }

    /** A random valid platform: 1..64 vCPUs, 0..8 virtio slots, random addresses and options. */
    static AcpiPlatform random(Random rnd) {
        int vcpus = 1 + rnd.nextInt(64);
        boolean rtc = rnd.nextBoolean();
        int serialIrq = rnd.nextBoolean() ? 4 : 3;
        int serialPort = rnd.nextBoolean() ? 0x3F8 : 0x2F8;
        List<Integer> gsis = new ArrayList<>();
        for (int g = 5; g < 24; g++) {
            if (g != serialIrq && g != AcpiPlatform.RTC_IRQ) {
                gsis.add(g);
            }
        }
        Collections.shuffle(gsis, rnd);
        int count = rnd.nextInt(9);
        List<VirtioMmioSlot> slots = new ArrayList<>();
        long base = 0xC000_0000L + 0x1000L * rnd.nextInt(0x1000);
        for (int i = 0; i < count; i++) {
            long size = 0x200L << rnd.nextInt(4);
            slots.add(new VirtioMmioSlot(base, size, gsis.get(i)));
            base += size + 0x200L * rnd.nextInt(4);
        }
        Collections.shuffle(slots, rnd); // slot order need not follow addresses
        Optional<Integer> pvpanic = rnd.nextBoolean() ? Optional.of(0x500 + rnd.nextInt(0x100)) : Optional.empty();
        SleepRegisters sleep = new SleepRegisters(
                0xFE00_0000L + rnd.nextInt(0x10000), 0xFE01_0000L + rnd.nextInt(0x10000),
                0xFE02_0000L + rnd.nextInt(0x10000), rnd.nextInt(256));
        // Above the virtio windows and the sleep registers, on a GSI no slot has.
        Optional<AcpiPlatform.PowerButton> button = rnd.nextBoolean()
                ? Optional.of(new AcpiPlatform.PowerButton(0xFEA0_0000L + 4L * rnd.nextInt(0x1000), gsis.get(count)))
                : Optional.empty();
        return new AcpiPlatform(vcpus, AcpiPlatform.DEFAULT_LAPIC_ADDRESS, rnd.nextInt(256),
                0xFEC0_0000L + 0x1000L * rnd.nextInt(16), 0, new SerialPort(serialPort, serialIrq), slots, sleep,
                pvpanic, rtc, button, Optional.empty());
    }

    /** A random 16-byte aligned base in the legacy BIOS area 0xE0000-0xEFFF0. */
    static long randomBase(Random rnd) {
        return 0xE0000L + 16L * rnd.nextInt(0x1000);
    }

    /**
     * A random valid q35 platform: a bridge of 1..256 buses whose ECAM window is aligned below the 32-bit window,
     * with or without I/O and 64-bit windows, four GSIs from 16..23 in any order, and random vCPUs and options.
     */
    static AcpiPlatform randomQ35(Random rnd) {
        int buses = 1 + rnd.nextInt(256);
        long ecamSize = buses * AcpiPlatform.PciHostBridge.ECAM_BYTES_PER_BUS;
        long alignment = Long.highestOneBit(ecamSize - 1) << 1;
        long ecamBase = 0x8000_0000L + alignment * rnd.nextInt((int) (0x4000_0000L / alignment));
        List<Integer> gsis = new ArrayList<>(List.of(16, 17, 18, 19, 20, 21, 22, 23));
        Collections.shuffle(gsis, rnd);
        Optional<AcpiPlatform.Window> io = rnd.nextBoolean()
                ? Optional.of(new AcpiPlatform.Window(0x1000L * (1 + rnd.nextInt(12)), 0x1000L * (1 + rnd.nextInt(3))))
                : Optional.empty();
        long mmio32Base = 0xC000_0000L + 0x10_0000L * rnd.nextInt(0x100);
        AcpiPlatform.Window mmio32 = new AcpiPlatform.Window(mmio32Base, 0xFE00_0000L - mmio32Base);
        Optional<AcpiPlatform.Window> mmio64 = rnd.nextBoolean()
                ? Optional.of(new AcpiPlatform.Window((4L + rnd.nextInt(60)) << 30, (1L + rnd.nextInt(64)) << 30))
                : Optional.empty();
        AcpiPlatform.PciHostBridge bridge = new AcpiPlatform.PciHostBridge(ecamBase, buses, io, mmio32, mmio64,
                gsis.subList(0, 4));
        return new AcpiPlatform(1 + rnd.nextInt(64), AcpiPlatform.DEFAULT_LAPIC_ADDRESS, 0,
                AcpiPlatform.DEFAULT_IOAPIC_ADDRESS, 0, SerialPort.com1(), List.of(), GED_LIKE,
                rnd.nextBoolean() ? Optional.of(0x505) : Optional.empty(), rnd.nextBoolean(),
                rnd.nextBoolean() ? Optional.of(BUTTON) : Optional.empty(), Optional.of(bridge));
    }
}
