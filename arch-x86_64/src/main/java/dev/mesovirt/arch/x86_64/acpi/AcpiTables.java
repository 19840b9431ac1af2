package dev.mesovirt.arch.x86_64.acpi;

import dev.mesovirt.arch.x86_64.acpi.AcpiPlatform.SerialPort;
import dev.mesovirt.arch.x86_64.acpi.AcpiPlatform.VirtioMmioSlot;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Builds the ACPI tables of the x86_64 microVM: RSDP (revision 2) → XSDT → FADT and MADT, with the
 * DSDT reached through the FADT. The platform is "hardware-reduced" ACPI (no PM1 blocks, SCI, GPEs
 * or FACS), as in QEMU's microvm and Firecracker: power-off and reboot go through two byte-wide
 * MMIO registers instead of emulated PIIX4/ICH9 power management hardware.
 *
 * <p>The tables claim ACPI 6.5: FADT revision 6 minor 5, MADT revision 6, DSDT revision 2 (64-bit
 * AML integers), XSDT revision 1, RSDP revision 2. Every structure used exists since ACPI 1.0-5.0,
 * so older parsers (iasl 2020, Linux 6.1 ACPICA) read them without surprises.
 */
public final class AcpiTables {

    static final String OEM_ID = "MESOVT";
    static final String OEM_TABLE_ID = "MESOVIRT";
    static final int OEM_REVISION = 1;
    /** "Creator ID" names the tool that generated the tables, like QEMU's "BXPC". */
    static final String CREATOR_ID = "MSVT";
    static final int CREATOR_REVISION = 1;

    static final int RSDP_REVISION = 2; // ACPI 2.0+ RSDP with XSDT address and extended checksum
    static final int XSDT_REVISION = 1;
    static final int FADT_REVISION = 6;
    static final int FADT_MINOR_REVISION = 5; // ACPI 6.5
    static final int MADT_REVISION = 6; // ACPI 6.5
    static final int DSDT_REVISION = 2; // >= 2 makes AML integers 64-bit

    static final int HEADER_LENGTH = 36;
    static final int RSDP_LENGTH = 36;
    static final int FADT_LENGTH = 276;
    /** Tables start 16-byte aligned; the RSDP needs it for the 0xE0000-0xFFFFF scan. */
    static final int TABLE_ALIGNMENT = 16;

    // FADT Flags (ACPI 6.5 table 5.10).
    static final int FADT_RESET_REG_SUP = 1 << 10;
    static final int FADT_HW_REDUCED_ACPI = 1 << 20;

    // FADT IAPC_BOOT_ARCH (ACPI 6.5 table 5.11). LEGACY_DEVICES (bit 0) and 8042 (bit 1) stay
    // clear: Linux then does not probe for an i8042 keyboard/mouse controller (a microVM has no
    // keyboard; reboot goes through RESET_REG, and Linux's port-0x64 fallback needs no driver).
    static final int IAPC_VGA_NOT_PRESENT = 1 << 2;
    static final int IAPC_MSI_NOT_SUPPORTED = 1 << 3;
    static final int IAPC_PCIE_ASPM_CONTROLS = 1 << 4;
    static final int IAPC_CMOS_RTC_NOT_PRESENT = 1 << 5;

    // Generic Address Structure fields.
    static final int GAS_SYSTEM_MEMORY = 0;
    static final int GAS_ACCESS_BYTE = 1;

    // MADT.
    static final int MADT_PCAT_COMPAT = 1;
    static final int MADT_TYPE_LOCAL_APIC = 0;
    static final int MADT_TYPE_IO_APIC = 1;
    static final int MADT_TYPE_INTERRUPT_OVERRIDE = 2;
    static final int MADT_TYPE_LOCAL_APIC_NMI = 4;
    static final int MADT_ALL_PROCESSORS = 0xFF;

    /**
     * SLP_TYP the DSDT's {@code \_S5} package announces. In hardware-reduced mode Linux powers off
     * by writing {@code (SLP_TYP << 2) | SLP_EN} to the sleep control register.
     */
    public static final int S5_SLEEP_TYPE = 5;
    /** SLP_EN bit of the hardware-reduced sleep control register. */
    public static final int SLEEP_ENABLE = 0x20;
    /** The byte a guest writes to the sleep control register to power off: 0x34. */
    public static final int S5_SLEEP_CONTROL_VALUE = (S5_SLEEP_TYPE << 2) | SLEEP_ENABLE;
    /**
     * The Generic Event Device's selector bit for a power button press: bit 1, QEMU's ACPI_GED_PWR_DOWN_EVT (bit 0
     * is its memory hot-plug event), so that the register reads the same as QEMU's.
     */
    public static final int GED_POWER_BUTTON_EVENT = 1 << 1;

    private AcpiTables() {
    }

    /**
     * Lays out RSDP, XSDT, FADT, MADT and DSDT contiguously from {@code baseAddress}, each table
     * 16-byte aligned, with the RSDP first so the kernel's legacy BIOS-area scan also finds it.
     *
     * @param baseAddress 16-byte aligned guest-physical address (0xE0000 in the microVM); the image
     *                    must end below 4 GiB because the FADT's DSDT field is 32-bit
     */
    public static AcpiImage build(long baseAddress, AcpiPlatform platform) {
        Objects.requireNonNull(platform, "platform");
        if (baseAddress < 0 || (baseAddress & (TABLE_ALIGNMENT - 1)) != 0) {
            throw new IllegalArgumentException("baseAddress must be non-negative and 16-byte aligned but was 0x"
                    + Long.toHexString(baseAddress));
        }
        byte[] madt = madt(platform);
        byte[] dsdt = dsdt(platform);

        int rsdpOffset = 0;
        int xsdtOffset = align(rsdpOffset + RSDP_LENGTH);
        int xsdtLength = HEADER_LENGTH + 2 * 8;
        int fadtOffset = align(xsdtOffset + xsdtLength);
        int madtOffset = align(fadtOffset + FADT_LENGTH);
        int dsdtOffset = align(madtOffset + madt.length);
        int end = dsdtOffset + dsdt.length;
        if (baseAddress + end > 0x1_0000_0000L) {
            throw new IllegalArgumentException("ACPI tables at 0x" + Long.toHexString(baseAddress) + " (+" + end
                    + " bytes) must end below 4 GiB");
        }

        byte[] fadt = fadt(baseAddress + dsdtOffset, platform);
        byte[] xsdt = xsdt(baseAddress + fadtOffset, baseAddress + madtOffset);
        byte[] rsdp = rsdp(baseAddress + xsdtOffset);

        ByteWriter image = new ByteWriter(end);
        place(image, rsdp, rsdpOffset);
        place(image, xsdt, xsdtOffset);
        place(image, fadt, fadtOffset);
        place(image, madt, madtOffset);
        place(image, dsdt, dsdtOffset);
        return new AcpiImage(baseAddress, image.toByteArray(), baseAddress + rsdpOffset);
    }

    private static void place(ByteWriter image, byte[] table, int offset) {
        image.alignTo(TABLE_ALIGNMENT);
        if (image.position() != offset) {
            throw new IllegalStateException("layout mismatch: table at " + image.position() + ", expected " + offset);
        }
        image.bytes(table);
    }

    private static int align(int offset) {
        return (offset + TABLE_ALIGNMENT - 1) & -TABLE_ALIGNMENT;
    }

    // ---------------------------------------------------------------- RSDP, XSDT

    /** Root System Description Pointer, revision 2: no RSDT, only the 64-bit XSDT address. */
    static byte[] rsdp(long xsdtAddress) {
        ByteWriter w = new ByteWriter(RSDP_LENGTH)
                .ascii("RSD PTR ", 8)
                .u8(0) // checksum over the ACPI 1.0 part (bytes 0..19), patched below
                .ascii(OEM_ID, 6)
                .u8(RSDP_REVISION)
                .u32(0) // RsdtAddress: none, revision 2 guests use the XSDT
                .u32(RSDP_LENGTH)
                .u64(xsdtAddress)
                .u8(0) // extended checksum over all 36 bytes, patched below
                .zeros(3);
        w.putU8At(8, w.checksumOf(0, 20));
        w.putU8At(32, w.checksumOf(0, RSDP_LENGTH));
        return w.toByteArray();
    }

    /** Extended System Description Table: 64-bit pointers to FADT and MADT (not the DSDT). */
    static byte[] xsdt(long... tableAddresses) {
        ByteWriter w = beginTable("XSDT", XSDT_REVISION);
        for (long address : tableAddresses) {
            w.u64(address);
        }
        return finishTable(w);
    }

    // ---------------------------------------------------------------- FADT

    /** Fixed ACPI Description Table, revision 6 (276 bytes), hardware-reduced. */
    static byte[] fadt(long dsdtAddress, AcpiPlatform platform) {
        int iapcBootArch = IAPC_VGA_NOT_PRESENT | IAPC_MSI_NOT_SUPPORTED | IAPC_PCIE_ASPM_CONTROLS
                | (platform.rtcPresent() ? 0 : IAPC_CMOS_RTC_NOT_PRESENT);
        AcpiPlatform.SleepRegisters sleep = platform.sleep();
        ByteWriter w = beginTable("FACP", FADT_REVISION)
                .u32(0) // FIRMWARE_CTRL: no FACS, optional when HW_REDUCED_ACPI is set
                .u32(dsdtAddress) // DSDT; same value as X_DSDT so ACPICA sees no mismatch
                .u8(0) // reserved (INT_MODEL in ACPI 1.0)
                .u8(0) // Preferred_PM_Profile: unspecified
                .u16(0) // SCI_INT: hardware-reduced platforms have no SCI
                .u32(0) // SMI_CMD: no SMM, so ACPI_ENABLE/ACPI_DISABLE/S4BIOS_REQ/PSTATE_CNT are 0
                .u8(0).u8(0).u8(0).u8(0)
                .zeros(8 * 4) // PM1a/b_EVT, PM1a/b_CNT, PM2_CNT, PM_TMR, GPE0, GPE1 blocks: absent
                .zeros(8) // their lengths, GPE1_BASE, CST_CNT
                .u16(0).u16(0) // P_LVL2_LAT, P_LVL3_LAT: C-states via _CST/MWAIT only
                .u16(0).u16(0) // FLUSH_SIZE, FLUSH_STRIDE
                .u8(0).u8(0) // DUTY_OFFSET, DUTY_WIDTH
                .u8(0).u8(0).u8(0) // DAY_ALRM, MON_ALRM, CENTURY: RTC alarm/century not described
                .u16(iapcBootArch)
                .u8(0) // reserved
                .u32(FADT_HW_REDUCED_ACPI | FADT_RESET_REG_SUP);
        gas(w, sleep.resetAddress()); // RESET_REG
        w.u8(sleep.resetValue())
                .u16(0) // ARM_BOOT_ARCH
                .u8(FADT_MINOR_REVISION)
                .u64(0) // X_FIRMWARE_CTRL
                .u64(dsdtAddress) // X_DSDT
                .zeros(8 * 12); // X_PM1a_EVT_BLK .. X_GPE1_BLK: absent in hardware-reduced mode
        gas(w, sleep.controlAddress()); // SLEEP_CONTROL_REG
        gas(w, sleep.statusAddress()); // SLEEP_STATUS_REG
        w.ascii("MESOVIRT", 8); // Hypervisor Vendor Identity
        if (w.position() != FADT_LENGTH) {
            throw new IllegalStateException("FADT is " + w.position() + " bytes, expected " + FADT_LENGTH);
        }
        return finishTable(w);
    }

    /** Generic Address Structure for a byte-wide register in system memory (8-bit access). */
    private static void gas(ByteWriter w, long address) {
        w.u8(GAS_SYSTEM_MEMORY).u8(8 /* bit width */).u8(0 /* bit offset */).u8(GAS_ACCESS_BYTE).u64(address);
    }

    // ---------------------------------------------------------------- MADT

    /**
     * Multiple APIC Description Table.
     *
     * <p>Flags: PCAT_COMPAT is set, as QEMU's microvm does: KVM_CREATE_IRQCHIP always instantiates
     * the dual 8259 next to the I/O APIC, so the flag is truthful; Linux x86 does not consult it,
     * and in hardware-reduced mode it uses no legacy PIC anyway.
     *
     * <p>Interrupt source overrides: only ISA IRQ 0 → GSI 2, because KVM's default routing wires the
     * PIT (GSI 0) to I/O APIC pin 2 exactly like PC chipsets. Its flags are 0 ("conforms to the bus"),
     * which for ISA means edge-triggered, active-high, the same entry QEMU's pc machines emit.
     * QEMU's microvm itself emits no override at all (it only sets apic_xrupt_override on pc
     * machines) and has no PCI-routed ISA IRQs that would need level overrides, so nothing else.
     */
    static byte[] madt(AcpiPlatform platform) {
        ByteWriter w = beginTable("APIC", MADT_REVISION)
                .u32(platform.lapicAddress())
                .u32(MADT_PCAT_COMPAT);
        for (int cpu = 0; cpu < platform.vcpus(); cpu++) {
            w.u8(MADT_TYPE_LOCAL_APIC).u8(8)
                    .u8(cpu) // ACPI processor UID
                    .u8(cpu) // APIC ID
                    .u32(1); // Enabled (so Online Capable must stay 0)
        }
        w.u8(MADT_TYPE_IO_APIC).u8(12)
                .u8(platform.ioapicId())
                .u8(0) // reserved
                .u32(platform.ioapicAddress())
                .u32(platform.ioapicGsiBase());
        w.u8(MADT_TYPE_INTERRUPT_OVERRIDE).u8(10)
                .u8(0) // bus: ISA
                .u8(0) // source: IRQ 0 (PIT)
                .u32(AcpiPlatform.TIMER_GSI)
                .u16(0); // conforms to ISA: edge, active-high
        w.u8(MADT_TYPE_LOCAL_APIC_NMI).u8(6)
                .u8(MADT_ALL_PROCESSORS)
                .u16(0) // conforms to the bus
                .u8(1); // LINT1, where PCs wire NMI
        return finishTable(w);
    }

    // ---------------------------------------------------------------- DSDT

    /**
     * Differentiated System Description Table: the devices Linux cannot discover by itself, all in
     * {@code \_SB}, plus {@code \_S5} so that ACPICA offers power-off.
     *
     * <p>{@code _S5} is {@code Package (4) {5, 0, 0, 0}} like QEMU's microvm and SeaBIOS: SLP_TYPa,
     * SLP_TYPb and two reserved entries per the ACPI \_Sx definition. ACPICA accepts any package
     * with at least one integer (acpi_get_sleep_type_data reads the first two), and in
     * hardware-reduced mode only SLP_TYPa is written, as (5 &lt;&lt; 2) | 0x20 = 0x34.
     */
    static byte[] dsdt(AcpiPlatform platform) {
        List<byte[]> devices = new ArrayList<>();
        devices.add(serialDevice(platform.serial()));
        if (platform.rtcPresent()) {
            devices.add(rtcDevice());
        }
        platform.pvpanicPort().ifPresent(port -> devices.add(pvpanicDevice(port)));
        List<VirtioMmioSlot> slots = platform.virtioSlots();
        for (int i = 0; i < slots.size(); i++) {
            devices.add(virtioDevice(i, slots.get(i)));
        }
        platform.powerButton().ifPresent(button -> {
            devices.add(gedDevice(button));
            devices.add(powerButtonDevice());
        });
        // "_SB" rather than "\_SB": at the top of a definition block both mean the root's \_SB,
        // and the short form is what iasl emits, so recompiling our disassembly round-trips exactly.
        ByteWriter w = beginTable("DSDT", DSDT_REVISION)
                .bytes(Aml.scope("_SB", devices.toArray(byte[][]::new)))
                .bytes(Aml.name("_S5", Aml.packageOf(
                        Aml.integer(S5_SLEEP_TYPE), Aml.zero(), Aml.zero(), Aml.zero())));
        return finishTable(w);
    }

    /**
     * COM1 as a PNP0501 device. Linux's hardware-reduced mode has no legacy PIC and so creates no
     * identity ISA IRQ mappings; this _CRS is what gets IRQ 4 routed through the I/O APIC.
     */
    private static byte[] serialDevice(SerialPort serial) {
        return Aml.device("COM1",
                Aml.name("_HID", Aml.eisaId("PNP0501")),
                Aml.name("_UID", Aml.zero()),
                Aml.name("_CRS", Aml.resourceTemplate(
                        Aml.io(serial.ioPort(), serial.ioPort(), 1, AcpiPlatform.SERIAL_PORT_COUNT),
                        Aml.irqNoFlags(serial.irq()))));
    }

    /** MC146818 CMOS RTC, bound by Linux's rtc-cmos through PNP. */
    private static byte[] rtcDevice() {
        return Aml.device("RTC",
                Aml.name("_HID", Aml.eisaId("PNP0B00")),
                Aml.name("_CRS", Aml.resourceTemplate(
                        Aml.io(AcpiPlatform.RTC_PORT, AcpiPlatform.RTC_PORT, 1, AcpiPlatform.RTC_PORT_COUNT),
                        Aml.irqNoFlags(AcpiPlatform.RTC_IRQ))));
    }

    /** pvpanic: Linux's pvpanic-mmio driver matches ACPI id QEMU0001 and accepts an I/O resource. */
    private static byte[] pvpanicDevice(int port) {
        return Aml.device("PEVT",
                Aml.name("_HID", Aml.string("QEMU0001")),
                Aml.name("_CRS", Aml.resourceTemplate(Aml.io(port, port, 1, 1))),
                Aml.name("_STA", Aml.integer(0x0F))); // present, enabled, shown, functioning
    }

    /**
     * virtio-mmio transport: LNRO0005 is the ACPI id Linux's virtio_mmio driver matches. The
     * interrupt is level-triggered like QEMU's microvm (the device holds it until the guest acks
     * through InterruptACK); _CCA says DMA is cache-coherent.
     */
    private static byte[] virtioDevice(int index, VirtioMmioSlot slot) {
        return Aml.device(String.format("VR%02X", index),
                Aml.name("_HID", Aml.string("LNRO0005")),
                Aml.name("_UID", Aml.integer(index)),
                Aml.name("_CCA", Aml.one()),
                Aml.name("_CRS", Aml.resourceTemplate(
                        Aml.memory32Fixed(true, slot.base(), slot.size()),
                        Aml.interrupt(Aml.Trigger.LEVEL, Aml.Polarity.ACTIVE_HIGH, Aml.Sharing.EXCLUSIVE,
                                slot.gsi()))));
    }

    /**
     * The ACPI Generic Event Device (ACPI0013), as in QEMU's microvm: Linux's evged driver requests the _CRS
     * interrupt and, on each one, runs {@code _EVT} with the GSI. {@code _EVT} reads the event selector (the read
     * clears it and lowers the interrupt) and turns the power-button bit into {@code Notify (PWRB, 0x80)}, which
     * Linux's button driver reports as KEY_POWER. Level-triggered: the device holds the line while an event is
     * pending, so an event raised while the guest has the line masked (e.g. before evged binds) is delivered when
     * it unmasks, where an edge would be lost.
     *
     * <p>{@code PWRB} is a single NameSeg, found by the namespace search from {@code \_SB.GED} up to {@code \_SB}:
     * what iasl emits for {@code \_SB.PWRB}, so that the disassembly recompiles to the same bytes.
     */
    private static byte[] gedDevice(AcpiPlatform.PowerButton button) {
        return Aml.device("GED",
                Aml.name("_HID", Aml.string("ACPI0013")),
                Aml.name("_UID", Aml.zero()),
                Aml.name("_CRS", Aml.resourceTemplate(
                        Aml.interrupt(Aml.Trigger.LEVEL, Aml.Polarity.ACTIVE_HIGH, Aml.Sharing.EXCLUSIVE,
                                button.gsi()))),
                Aml.operationRegion("EREG", Aml.RegionSpace.SYSTEM_MEMORY, button.selectorAddress(),
                        AcpiPlatform.PowerButton.SELECTOR_LENGTH),
                Aml.field("EREG", Aml.FieldAccess.DWORD, Aml.FieldUpdate.WRITE_AS_ZEROS,
                        new Aml.FieldUnit("ESEL", 8 * AcpiPlatform.PowerButton.SELECTOR_LENGTH)),
                Aml.method("_EVT", 1, true,
                        Aml.store(Aml.nameString("ESEL"), Aml.local(0)),
                        Aml.ifThen(Aml.and(Aml.local(0), Aml.integer(GED_POWER_BUTTON_EVENT)),
                                Aml.notify("PWRB", 0x80))));
    }

    /** The ACPI power button (PNP0C0C): Linux's button driver makes it the "Power Button" input device. */
    private static byte[] powerButtonDevice() {
        return Aml.device("PWRB",
                Aml.name("_HID", Aml.eisaId("PNP0C0C")),
                Aml.name("_UID", Aml.zero()));
    }

    // ---------------------------------------------------------------- common header

    private static ByteWriter beginTable(String signature, int revision) {
        return new ByteWriter(512)
                .ascii(signature, 4)
                .u32(0) // length, patched by finishTable
                .u8(revision)
                .u8(0) // checksum, patched by finishTable
                .ascii(OEM_ID, 6)
                .ascii(OEM_TABLE_ID, 8)
                .u32(OEM_REVISION)
                .ascii(CREATOR_ID, 4)
                .u32(CREATOR_REVISION);
    }

    private static byte[] finishTable(ByteWriter w) {
        w.putU32At(4, w.position());
        w.putU8At(9, w.checksumOf(0, w.position()));
        return w.toByteArray();
    }
}
