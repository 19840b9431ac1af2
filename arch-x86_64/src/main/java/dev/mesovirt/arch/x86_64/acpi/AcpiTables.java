package dev.mesovirt.arch.x86_64.acpi;

import dev.mesovirt.acpi.AcpiImage;
import dev.mesovirt.acpi.Aml;
import dev.mesovirt.acpi.ByteWriter;
import dev.mesovirt.acpi.Fadt;
import dev.mesovirt.acpi.PciRootAml;
import dev.mesovirt.acpi.Sdt;
import dev.mesovirt.arch.x86_64.acpi.AcpiPlatform.PciHostBridge;
import dev.mesovirt.arch.x86_64.acpi.AcpiPlatform.SerialPort;
import dev.mesovirt.arch.x86_64.acpi.AcpiPlatform.VirtioMmioSlot;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * Builds the ACPI tables of an x86_64 machine: RSDP (revision 2) → XSDT → FADT, MADT and, with a PCI host
 * bridge, MCFG, with the DSDT reached through the FADT. The platform is "hardware-reduced" ACPI (no PM1 blocks,
 * SCI, GPEs or FACS), as in QEMU's microvm and Firecracker: power-off and reboot go through two byte-wide
 * MMIO registers instead of emulated PIIX4/ICH9 power management hardware.
 *
 * <p>The standard machine (q35) keeps the hardware-reduced FADT too. Nothing Linux does for PCI Express needs the
 * fixed hardware: native hot-plug, AER and PME are signalled by the root ports' own MSI or INTx, not by GPEs, and
 * QEMU's microvm boots Linux with a PCI Express host bridge behind the same kind of FADT. Only the "MSI not
 * supported" boot flag must go once there is PCI (see {@link #fadt}).
 *
 * <p>The tables claim ACPI 6.5: FADT revision 6 minor 5, MADT revision 6, DSDT revision 2 (64-bit
 * AML integers), XSDT revision 1, RSDP revision 2. Every structure used exists since ACPI 1.0-5.0,
 * so older parsers (iasl 2020, Linux 6.1 ACPICA) read them without surprises.
 */
public final class AcpiTables {

    static final String OEM_ID = Sdt.OEM_ID;
    static final String OEM_TABLE_ID = Sdt.OEM_TABLE_ID;
    static final int OEM_REVISION = Sdt.OEM_REVISION;
    /** "Creator ID" names the tool that generated the tables, like QEMU's "BXPC". */
    static final String CREATOR_ID = Sdt.CREATOR_ID;
    static final int CREATOR_REVISION = Sdt.CREATOR_REVISION;

    static final int RSDP_REVISION = Sdt.RSDP_REVISION; // ACPI 2.0+ RSDP with XSDT address and extended checksum
    static final int XSDT_REVISION = Sdt.XSDT_REVISION;
    static final int FADT_REVISION = Fadt.REVISION;
    static final int FADT_MINOR_REVISION = 5; // ACPI 6.5
    static final int MADT_REVISION = 6; // ACPI 6.5
    static final int DSDT_REVISION = 2; // >= 2 makes AML integers 64-bit
    static final int MCFG_REVISION = Sdt.MCFG_REVISION;

    static final int HEADER_LENGTH = Sdt.HEADER_LENGTH;
    static final int RSDP_LENGTH = Sdt.RSDP_LENGTH;
    static final int FADT_LENGTH = Fadt.LENGTH;
    /** Tables start 16-byte aligned; the RSDP needs it for the 0xE0000-0xFFFFF scan. */
    static final int TABLE_ALIGNMENT = Sdt.TABLE_ALIGNMENT;

    // FADT Flags (ACPI 6.5 table 5.10).
    static final int FADT_RESET_REG_SUP = Fadt.RESET_REG_SUP;
    static final int FADT_HW_REDUCED_ACPI = Fadt.HW_REDUCED_ACPI;

    // FADT IAPC_BOOT_ARCH (ACPI 6.5 table 5.11). LEGACY_DEVICES (bit 0) and 8042 (bit 1) stay
    // clear: Linux then does not probe for an i8042 keyboard/mouse controller (a microVM has no
    // keyboard; reboot goes through RESET_REG, and Linux's port-0x64 fallback needs no driver).
    static final int IAPC_VGA_NOT_PRESENT = 1 << 2;
    static final int IAPC_MSI_NOT_SUPPORTED = 1 << 3;
    static final int IAPC_PCIE_ASPM_CONTROLS = 1 << 4;
    static final int IAPC_CMOS_RTC_NOT_PRESENT = 1 << 5;

    // Generic Address Structure fields.
    static final int GAS_SYSTEM_MEMORY = Sdt.GAS_SYSTEM_MEMORY;
    static final int GAS_ACCESS_BYTE = Sdt.GAS_ACCESS_BYTE;

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

    /** The UUID of the PCI host bridge _OSC interface (PCI Firmware Specification 3.3, 4.5.1). */
    static final String PCI_HOST_BRIDGE_OSC_UUID = PciRootAml.OSC_UUID;
    // _OSC status bits in the first capabilities DWORD (ACPI 6.5 section 6.2.11).
    static final int OSC_UNRECOGNIZED_UUID = PciRootAml.OSC_UNRECOGNIZED_UUID;
    static final int OSC_UNRECOGNIZED_REVISION = PciRootAml.OSC_UNRECOGNIZED_REVISION;
    static final int OSC_CAPABILITIES_MASKED = PciRootAml.OSC_CAPABILITIES_MASKED;
    // Control bits of the PCI host bridge _OSC, in the third DWORD (PCI Firmware Specification 3.3, table 4-5).
    static final int OSC_PCIE_NATIVE_HOT_PLUG = PciRootAml.OSC_PCIE_NATIVE_HOT_PLUG;
    static final int OSC_PCIE_PME = PciRootAml.OSC_PCIE_PME;
    static final int OSC_PCIE_AER = PciRootAml.OSC_PCIE_AER;
    static final int OSC_PCIE_CAPABILITY = PciRootAml.OSC_PCIE_CAPABILITY;
    /**
     * What the _OSC hands to the OS: native PCI Express hot-plug (Linux's pciehp runs only with it, unless booted
     * with pcie_ports=native), PME, AER and the PCI Express capability structure, all of which the guest drives
     * through the root ports with no firmware in between. SHPC hot-plug, LTR and DPC stay with the platform: no
     * device here has those capabilities, and Linux only notes that they were not granted.
     */
    static final int OSC_GRANTED_CONTROLS = PciRootAml.OSC_GRANTED_CONTROLS;
    /** _STA of a link device: present, enabled and functioning; not shown in a UI. */
    static final int LINK_DEVICE_STATUS = 0x0B;

    private AcpiTables() {
    }

    /**
     * Lays out RSDP, XSDT, FADT, MADT, MCFG (with a PCI host bridge) and DSDT contiguously from
     * {@code baseAddress}, each table 16-byte aligned, with the RSDP first so the kernel's legacy BIOS-area scan
     * also finds it.
     *
     * @param baseAddress 16-byte aligned guest-physical address (0xE0000 in the microVM); the image
     *                    must end below 4 GiB because the FADT's DSDT field is 32-bit
     */
    public static AcpiImage build(long baseAddress, AcpiPlatform platform) {
        Objects.requireNonNull(platform, "platform");
        List<byte[]> tables = new ArrayList<>();
        tables.add(madt(platform));
        platform.pciHostBridge().map(AcpiTables::mcfg).ifPresent(tables::add);
        return Sdt.image(baseAddress, FADT_LENGTH, dsdtAddress -> fadt(dsdtAddress, platform), tables, dsdt(platform));
    }

    // ---------------------------------------------------------------- RSDP, XSDT

    /** Root System Description Pointer, revision 2: no RSDT, only the 64-bit XSDT address. */
    static byte[] rsdp(long xsdtAddress) {
        return Sdt.rsdp(xsdtAddress);
    }

    /** Extended System Description Table: 64-bit pointers to FADT, MADT and MCFG if any (not the DSDT). */
    static byte[] xsdt(long... tableAddresses) {
        return Sdt.xsdt(tableAddresses);
    }

    // ---------------------------------------------------------------- FADT

    /**
     * Fixed ACPI Description Table, revision 6 (276 bytes), hardware-reduced.
     *
     * <p>"MSI not supported" is set only without a PCI host bridge (the microVM has no MSI-capable device). With
     * one it must be clear: Linux's acpi_pci_init turns the flag into pci_no_msi(), which would take MSI-X from the
     * virtio-pci devices and, since negotiate_os_control asks _OSC for nothing unless the OS supports MSI, native
     * hot-plug, AER and PME from the root ports. "PCIe ASPM controls" stays: the OS is not to enable ASPM, which a
     * virtual link does not have, and Linux then keeps the devices' ASPM state as it finds it.
     */
    static byte[] fadt(long dsdtAddress, AcpiPlatform platform) {
        int iapcBootArch = IAPC_VGA_NOT_PRESENT | IAPC_PCIE_ASPM_CONTROLS
                | (platform.pciHostBridge().isPresent() ? 0 : IAPC_MSI_NOT_SUPPORTED)
                | (platform.rtcPresent() ? 0 : IAPC_CMOS_RTC_NOT_PRESENT);
        AcpiPlatform.SleepRegisters sleep = platform.sleep();
        return new Fadt(FADT_MINOR_REVISION, 0, iapcBootArch, 0, OptionalLong.of(sleep.resetAddress()),
                sleep.resetValue(), OptionalLong.of(sleep.controlAddress()), OptionalLong.of(sleep.statusAddress()))
                .table(dsdtAddress);
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

    // ---------------------------------------------------------------- MCFG

    /**
     * PCI Express memory-mapped configuration space table, revision 1: one allocation, segment 0, buses
     * {@code 0..buses-1} from the ECAM base (PCI Firmware Specification 3.3, 4.1.2). Linux uses it only once the
     * window is reserved: by an E820 entry (checked early, for machines without DMI BIOS dates of 2016 or later) or
     * by a PNP0C02 motherboard resource in the DSDT (checked once the interpreter runs); the machine has both.
     */
    static byte[] mcfg(PciHostBridge bridge) {
        return Sdt.mcfg(bridge.ecamBase(), bridge.buses());
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
        platform.pciHostBridge().ifPresent(bridge -> {
            for (int line = 0; line < PciHostBridge.INTX_LINES; line++) {
                devices.add(pciLinkDevice(line, bridge.intxGsis().get(line)));
            }
            devices.add(pciHostBridgeDevice(bridge));
            devices.add(ecamReservation(bridge));
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

    /**
     * The PCI Express host bridge {@code \_SB.PCI0} ({@link PciRootAml#device}).
     *
     * <p>_CRS: the bus range, the configuration ports 0xCF8-0xCFF (the bridge's own; Linux drops them from the
     * windows), then the windows. The I/O window is exactly the one I/O BARs are assigned from. QEMU's q35 forwards
     * 0x0000-0x0CF7 and 0x0D00-0xFFFF instead because its ISA devices sit behind the LPC bridge on bus 0; ours
     * (COM1, RTC, pvpanic, i8042) are not PCI devices but platform devices of {@code \_SB}, which Linux reserves
     * from the root I/O space, and a wider window would only let it put BARs on ports the VMM does not route to PCI.
     */
    private static byte[] pciHostBridgeDevice(PciHostBridge bridge) {
        List<byte[]> resources = new ArrayList<>();
        resources.add(Aml.wordBusNumber(0, bridge.buses() - 1));
        resources.add(Aml.io(PciHostBridge.CONFIG_PORTS, PciHostBridge.CONFIG_PORTS, 1, PciHostBridge.CONFIG_PORT_COUNT));
        bridge.io().ifPresent(io -> resources.add(Aml.wordIo((int) io.base(), (int) io.last())));
        resources.add(Aml.dwordMemory(bridge.mmio32().base(), bridge.mmio32().last()));
        bridge.mmio64().ifPresent(w -> resources.add(Aml.qwordMemory(w.base(), w.last())));
        return PciRootAml.device(List.of(), Aml.resourceTemplate(resources.toArray(byte[][]::new)),
                pciRoutingTable(bridge));
    }

    /**
     * _PRT: for every device 0..31 of bus 0 and every pin INTA..INTD, {@code Package {(device << 16) | 0xFFFF
     * (any function), pin, link device, 0}}, the link being the line {@link PciHostBridge#intxLineOf} names.
     */
    private static byte[] pciRoutingTable(PciHostBridge bridge) {
        List<byte[]> entries = new ArrayList<>();
        for (int device = 0; device < PciHostBridge.DEVICES_PER_BUS; device++) {
            for (int pin = 0; pin < PciHostBridge.INTX_LINES; pin++) {
                entries.add(Aml.packageOf(
                        Aml.integer(((long) device << 16) | 0xFFFF),
                        Aml.integer(pin),
                        Aml.nameString(pciLinkName(bridge.intxLineOf(device, pin))),
                        Aml.zero())); // the link's first and only interrupt
            }
        }
        return Aml.packageOf(entries.toArray(byte[][]::new));
    }

    /** {@code GSIA} .. {@code GSID}: the link device of INTx line 0..3. */
    static String pciLinkName(int line) {
        return "GSI" + (char) ('A' + line);
    }

    /**
     * A PCI interrupt link device (PNP0C0F) for one INTx line, hard-wired to its GSI: Level, ActiveHigh, Shared.
     *
     * <p>Why links rather than GSIs in the _PRT: a _PRT entry that names a GSI directly means level-triggered,
     * active-low (ACPI 6.5 section 6.2.13), and Linux programs the I/O APIC pin so. The VMM raises the line by
     * setting the KVM IRQ level to 1, and KVM's I/O APIC never looks at the pin's polarity (ioapic_set_irq treats
     * level 1 as asserted whatever the redirection entry says), so either declaration would deliver; but only a
     * link device can say what actually happens, active-high, as QEMU's q35 (GSIA-GSIH) and microvm (GSI0-GSI3)
     * do. Linux's pci_link driver reads the polarity from the link's _PRS/_CRS and passes it on.
     *
     * <p>What Linux's pci_link needs: _PRS (the possible setting: just the wired GSI), _CRS (the current one, the
     * same), and _SRS, which it always calls with the setting it picked; with a single possible GSI there is
     * nothing to program, so _SRS is empty. _STA says enabled, which Linux checks after _SRS. No _DIS: the line
     * cannot be disconnected, and Linux ignores a missing _DIS.
     */
    private static byte[] pciLinkDevice(int line, int gsi) {
        byte[] interrupt = Aml.resourceTemplate(
                Aml.interrupt(Aml.Trigger.LEVEL, Aml.Polarity.ACTIVE_HIGH, Aml.Sharing.SHARED, gsi));
        return Aml.device(pciLinkName(line),
                Aml.name("_HID", Aml.eisaId("PNP0C0F")),
                Aml.name("_UID", Aml.integer(line)),
                Aml.name("_STA", Aml.integer(LINK_DEVICE_STATUS)),
                Aml.name("_PRS", interrupt),
                Aml.name("_CRS", interrupt),
                Aml.method("_SRS", 1, false));
    }

    /**
     * A motherboard resource (PNP0C02) reserving the ECAM window: where the PCI Firmware Specification (4.1.2)
     * requires it, and what Linux's MMCONFIG check (is_acpi_reserved) looks for once the interpreter runs.
     */
    private static byte[] ecamReservation(PciHostBridge bridge) {
        return Aml.device("ECAM",
                Aml.name("_HID", Aml.eisaId("PNP0C02")),
                Aml.name("_CRS", Aml.resourceTemplate(
                        Aml.memory32Fixed(true, bridge.ecamBase(), bridge.ecamSize()))));
    }

    // ---------------------------------------------------------------- common header

    private static ByteWriter beginTable(String signature, int revision) {
        return Sdt.begin(signature, revision);
    }

    private static byte[] finishTable(ByteWriter w) {
        return Sdt.finish(w);
    }
}
