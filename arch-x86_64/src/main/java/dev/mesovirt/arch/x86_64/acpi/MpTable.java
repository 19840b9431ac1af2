package dev.mesovirt.arch.x86_64.acpi;

import dev.mesovirt.acpi.ByteWriter;

import java.util.HashSet;
import java.util.Set;

/**
 * The Intel MultiProcessor Specification 1.4 tables (a floating pointer structure and an MP configuration table),
 * which a guest booted with {@code acpi=off} reads instead of the MADT: its CPUs, the I/O APIC and how the I/O
 * APIC's pins are wired. Kata Containers boots StratoVirt's microvm this way ({@code pci=off iommu=off acpi=off}),
 * and StratoVirt and Firecracker write these tables for it, as Mesovirt does when the kernel command line turns ACPI
 * off (the virtio-mmio devices then go on the command line: see {@code X86_64Architecture}).
 *
 * <p>What the tables say is what {@link AcpiPlatform} says through ACPI: one processor entry per vCPU (APIC IDs
 * 0..n-1, the first the bootstrap processor), one ISA bus, the I/O APIC, and an I/O interrupt entry for each of its
 * 24 pins, ISA IRQ n to pin n as KVM routes them, with the virtio-mmio slots' pins level-triggered and active-high,
 * as the DSDT declares them and as their resample irqfds need; the other pins conform to ISA (edge, active-high).
 * The local APICs' LINT0 takes the 8259's ExtINT and LINT1 the NMI, as on a PC.
 */
public final class MpTable {
    /** The floating pointer structure: 16 bytes, on a 16-byte boundary in a region Linux scans. */
    public static final int FLOATING_POINTER_SIZE = 16;
    /** The configuration table header. */
    public static final int HEADER_SIZE = 44;
    public static final int PROCESSOR_ENTRY_SIZE = 20;
    /** Bus, I/O APIC, I/O interrupt and local interrupt entries. */
    public static final int SHORT_ENTRY_SIZE = 8;
    /** Pins of KVM's in-kernel I/O APIC. */
    public static final int IOAPIC_PINS = 24;

    static final int ENTRY_PROCESSOR = 0;
    static final int ENTRY_BUS = 1;
    static final int ENTRY_IOAPIC = 2;
    static final int ENTRY_IO_INTERRUPT = 3;
    static final int ENTRY_LOCAL_INTERRUPT = 4;
    static final int INT_TYPE_INT = 0;
    static final int INT_TYPE_NMI = 1;
    static final int INT_TYPE_EXTINT = 3;
    /** I/O interrupt flags: polarity bits 0-1 (01 active high), trigger bits 2-3 (11 level); 0 conforms to the bus. */
    static final int FLAGS_CONFORMING = 0;
    static final int FLAGS_LEVEL_ACTIVE_HIGH = 0b1101;
    static final int ISA_BUS_ID = 0;
    static final int LAPIC_VERSION = 0x14;
    static final int IOAPIC_VERSION = 0x11;
    static final int CPU_ENABLED = 1;
    static final int CPU_BOOTSTRAP = 2;
    /** The processor signature and feature flags of the entries: family 6; FPU and on-chip APIC. */
    static final int CPU_SIGNATURE = 0x600;
    static final int CPU_FEATURES = (1 << 0) | (1 << 9);

    private MpTable() {}

    /**
     * The floating pointer at {@code address} and the configuration table right after it (the pointer's physptr),
     * as one image.
     *
     * @param address guest-physical address of the image, 16-byte aligned, below 4 GiB
     */
    public static byte[] build(long address, AcpiPlatform platform) {
        if ((address & 15) != 0 || address < 0 || address + FLOATING_POINTER_SIZE > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("MP table address 0x" + Long.toHexString(address)
                    + " must be 16-byte aligned and below 4 GiB");
        }
        // The I/O APIC's MP ID follows the CPUs' APIC IDs (as Firecracker numbers it): IDs share one namespace.
        int ioapicId = platform.vcpus();
        if (ioapicId > 0xFE) {
            throw new IllegalArgumentException("an MP table holds at most 254 processors besides the I/O APIC, not "
                    + platform.vcpus());
        }
        Set<Integer> levelPins = new HashSet<>();
        for (AcpiPlatform.VirtioMmioSlot slot : platform.virtioSlots()) {
            int pin = slot.gsi() - platform.ioapicGsiBase();
            if (pin < 0 || pin >= IOAPIC_PINS) {
                throw new IllegalArgumentException("virtio slot GSI " + slot.gsi() + " is not on the I/O APIC's "
                        + IOAPIC_PINS + " pins");
            }
            levelPins.add(pin);
        }

        ByteWriter w = new ByteWriter(FLOATING_POINTER_SIZE + HEADER_SIZE
                + platform.vcpus() * PROCESSOR_ENTRY_SIZE + (4 + IOAPIC_PINS) * SHORT_ENTRY_SIZE);
        // Floating pointer structure.
        w.ascii("_MP_", 4).u32(address + FLOATING_POINTER_SIZE).u8(1).u8(4).u8(0)
                .u8(0)   // feature 1: 0, a configuration table is present (no default configuration)
                .u8(0)   // feature 2: IMCRP clear, virtual wire mode
                .zeros(3);
        w.putU8At(10, w.checksumOf(0, FLOATING_POINTER_SIZE));

        int table = w.position();
        w.ascii("PCMP", 4).u16(0).u8(4).u8(0).ascii("MESOVIRT", 8).ascii("MICROVM     ", 12)
                .u32(0).u16(0).u16(0).u32(platform.lapicAddress()).u16(0).u8(0).u8(0);
        int entries = 0;
        for (int cpu = 0; cpu < platform.vcpus(); cpu++) {
            w.u8(ENTRY_PROCESSOR).u8(cpu).u8(LAPIC_VERSION)
                    .u8(CPU_ENABLED | (cpu == 0 ? CPU_BOOTSTRAP : 0))
                    .u32(CPU_SIGNATURE).u32(CPU_FEATURES).zeros(8);
            entries++;
        }
        w.u8(ENTRY_BUS).u8(ISA_BUS_ID).ascii("ISA   ", 6);
        entries++;
        w.u8(ENTRY_IOAPIC).u8(ioapicId).u8(IOAPIC_VERSION).u8(1).u32(platform.ioapicAddress());
        entries++;
        for (int pin = 0; pin < IOAPIC_PINS; pin++) {
            int flags = levelPins.contains(pin) ? FLAGS_LEVEL_ACTIVE_HIGH : FLAGS_CONFORMING;
            w.u8(ENTRY_IO_INTERRUPT).u8(INT_TYPE_INT).u16(flags).u8(ISA_BUS_ID).u8(pin).u8(ioapicId).u8(pin);
            entries++;
        }
        w.u8(ENTRY_LOCAL_INTERRUPT).u8(INT_TYPE_EXTINT).u16(FLAGS_CONFORMING).u8(ISA_BUS_ID).u8(0).u8(0xFF).u8(0);
        w.u8(ENTRY_LOCAL_INTERRUPT).u8(INT_TYPE_NMI).u16(FLAGS_CONFORMING).u8(ISA_BUS_ID).u8(0).u8(0xFF).u8(1);
        entries += 2;
        int length = w.position() - table;
        byte[] image = w.toByteArray();
        image[table + 4] = (byte) length;
        image[table + 5] = (byte) (length >>> 8);
        image[table + 34] = (byte) entries;
        image[table + 35] = (byte) (entries >>> 8);
        image[table + 7] = (byte) ByteWriter.checksum(image, table, length);
        return image;
    }
}
