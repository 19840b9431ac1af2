package dev.mesovirt.arch.aarch64;

import dev.mesovirt.acpi.AcpiImage;
import dev.mesovirt.acpi.Aml;
import dev.mesovirt.acpi.ByteWriter;
import dev.mesovirt.acpi.Fadt;
import dev.mesovirt.acpi.PciRootAml;
import dev.mesovirt.acpi.Sdt;
import dev.mesovirt.vmm.arch.DeviceDescription;
import dev.mesovirt.vmm.arch.Irq;
import dev.mesovirt.vmm.arch.PciLayout;
import dev.mesovirt.vmm.boot.GuestDescription;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * The ACPI tables of the arm64 standard machine ({@code -machine virt}), the same machine its device tree
 * describes ({@link Aarch64DeviceTree.Spec}), in the shape of QEMU's virt with ACPI: RSDP → XSDT → FADT
 * (hardware-reduced, PSCI through HVC), MADT (a GICC per vCPU with its MPIDR, the GICD, one GICR discovery range,
 * the ITS), GTDT (the architected timer's PPIs), MCFG (the ECAM window), SPCR (the console UART), IORT (the PCI root
 * complex's requester IDs mapped 1:1 to ITS device IDs, so MSIs reach the ITS) and the DSDT (the CPUs, the UART, the
 * PCI Express host bridge with its windows, _OSC and _PRT).
 *
 * <p>Not in the DSDT: the PL031 RTC, which no ACPI ID binds in Linux (its ACPI AMBA list knows the PL061 and the
 * DMA-330 only; UEFI's runtime services are ACPI machines' RTC), and the power button (a PL061 line; with ACPI it
 * needs a GED or an _AEI GPIO event, neither built yet).
 *
 * <p>Linux arm64 maps ACPI tables only through the UEFI memory map (arch/arm64/kernel/acpi.c: acpi_os_ioremap
 * returns NULL without EFI_MEMMAP), so these tables reach a guest through UEFI firmware (the firmware issue), not
 * through {@code -kernel}: a kernel booted with only a device tree cannot use them, whatever its command line.
 */
public final class Aarch64AcpiTables {
    /** ACPI 6.3: the GICC structure is 80 bytes (6.5 made it 82), which Linux checks against the FADT's version. */
    static final int FADT_MINOR_REVISION = 3;
    static final int MADT_REVISION = 5; // ACPI 6.3
    static final int GTDT_REVISION = 2;
    static final int SPCR_REVISION = 2;
    static final int IORT_REVISION = 0;
    static final int DSDT_REVISION = 2; // >= 2 makes AML integers 64-bit

    static final int MADT_GICC = 0x0B;
    static final int MADT_GICC_LENGTH = 80;
    static final int MADT_GICD = 0x0C;
    static final int MADT_GICR = 0x0E;
    static final int MADT_GIC_ITS = 0x0F;
    static final int GIC_VERSION_3 = 3;
    /** PPI n is INTID 16 + n; ACPI names GIC interrupts by INTID, the device tree by PPI number. */
    static final int PPI_INTID_BASE = 16;
    /** GICC flags: enabled. */
    static final int GICC_ENABLED = 1;

    /** The GTDT's "not provided" for the memory-mapped counter blocks KVM does not have. */
    static final long GTDT_NO_CNT_BASE = 0xFFFF_FFFF_FFFF_FFFFL;
    /** GTDT timer flags: level-triggered (bit 0 clear), active high (bit 1 clear), as the device tree says. */
    static final int GTDT_TIMER_FLAGS = 0;

    /** SPCR interface type 0: a full 16550 (the machine's UART for a kernel booted directly). */
    static final int SPCR_16550 = 0;
    /** SPCR interface type 3: Arm's PL011 (the UART of a machine that starts firmware, as QEMU's virt). */
    static final int SPCR_PL011 = 3;
    /** SPCR interrupt type bit 3: an ARMH GIC interrupt (GSIV). */
    static final int SPCR_INTERRUPT_GIC = 1 << 3;
    /** SPCR baud rate 7: 115200. */
    static final int SPCR_BAUD_115200 = 7;

    static final int IORT_NODE_ITS_GROUP = 0;
    static final int IORT_NODE_ROOT_COMPLEX = 2;
    static final int IORT_HEADER_LENGTH = Sdt.HEADER_LENGTH + 12;
    static final int IORT_ITS_NODE_LENGTH = 24;
    static final int IORT_RC_NODE_LENGTH = 36 + 20; // revision 1 fields, then one ID mapping
    /** The root complex's memory access properties: cache coherent (CCA 1), as the device tree's dma-coherent. */
    static final int IORT_CCA_COHERENT = 1;
    /** Requester IDs 0x0000..0xFFFF (an IORT mapping counts its IDs minus one), like the device tree's msi-map. */
    static final int IORT_ID_COUNT_MINUS_ONE = 0xFFFF;

    private Aarch64AcpiTables() {}

    /** The tables of {@code spec}'s machine from {@code baseAddress} (16-byte aligned, the image below 4 GiB). */
    public static AcpiImage build(long baseAddress, Aarch64DeviceTree.Spec spec) {
        GuestDescription guest = spec.guest();
        if (guest.pci().isEmpty() || spec.gic().itsBase().isEmpty()) {
            throw new IllegalArgumentException("the arm64 ACPI tables describe the standard machine: a PCI host bridge "
                    + "and the GIC's ITS");
        }
        PciLayout pci = guest.pci().get().layout();
        List<byte[]> tables = List.of(madt(spec), gtdt(), Sdt.mcfg(pci.ecamBase(), pci.buses()), spcr(guest.serial()),
                iort(pci));
        return Sdt.image(baseAddress, Fadt.LENGTH, Aarch64AcpiTables::fadt, tables, dsdt(spec));
    }

    /** Hardware-reduced, PSCI compliant with HVC as the conduit (KVM implements PSCI); no reset or sleep register. */
    static byte[] fadt(long dsdtAddress) {
        return new Fadt(FADT_MINOR_REVISION, 0, 0, Fadt.ARM_PSCI_COMPLIANT | Fadt.ARM_PSCI_USE_HVC,
                OptionalLong.empty(), 0, OptionalLong.empty(), OptionalLong.empty()).table(dsdtAddress);
    }

    /**
     * The MADT: a GICC per vCPU (UID = vCPU index, its MPIDR, the vGIC maintenance interrupt; GICv3 has no
     * memory-mapped CPU interface, and the GICR range below says where the redistributors are), the GICD, the GICR
     * discovery range (every vCPU's frames, contiguous) and the ITS.
     */
    static byte[] madt(Aarch64DeviceTree.Spec spec) {
        Aarch64DeviceTree.Gic gic = spec.gic();
        ByteWriter w = Sdt.begin("APIC", MADT_REVISION)
                .u32(0) // local interrupt controller address: none on arm64
                .u32(0); // flags: no PC-AT 8259s
        List<Long> cpus = spec.cpuAffinities();
        for (int i = 0; i < cpus.size(); i++) {
            w.u8(MADT_GICC).u8(MADT_GICC_LENGTH).u16(0)
                    .u32(0) // CPU interface number: GICv3 has none
                    .u32(i) // ACPI processor UID, the DSDT's processor device's _UID
                    .u32(GICC_ENABLED)
                    .u32(0) // parking protocol version: PSCI starts the CPUs
                    .u32(0) // performance monitoring interrupt: no vPMU
                    .u64(0) // parked address
                    .u64(0) // GICC base: GICv3 uses system registers
                    .u64(0) // GICV
                    .u64(0) // GICH
                    .u32(PPI_INTID_BASE + Aarch64DeviceTree.GIC_MAINTENANCE_PPI) // VGIC maintenance interrupt
                    .u64(0) // GICR base: in the GICR structure
                    .u64(cpus.get(i)) // MPIDR: Aff3 in bits 32-39, Aff2..Aff0 in bits 0-23
                    .u8(0) // processor power efficiency class
                    .u8(0) // reserved
                    .u16(0); // SPE overflow interrupt: none
        }
        w.u8(MADT_GICD).u8(24).u16(0)
                .u32(0) // GIC ID
                .u64(gic.distributorBase())
                .u32(0) // system vector base: reserved 0
                .u8(GIC_VERSION_3)
                .zeros(3);
        w.u8(MADT_GICR).u8(16).u16(0)
                .u64(gic.redistributorBase())
                .u32(gic.redistributorSize());
        w.u8(MADT_GIC_ITS).u8(20).u16(0)
                .u32(0) // GIC ITS ID, which the IORT's ITS group names
                .u64(gic.itsBase().getAsLong())
                .u32(0);
        return Sdt.finish(w);
    }

    /** The GTDT: the architected timer's four PPIs as INTIDs, level-triggered, active high; no memory-mapped timers. */
    static byte[] gtdt() {
        int[] ppis = Aarch64DeviceTree.TIMER_PPIS; // secure EL1, non-secure EL1, virtual, hypervisor
        ByteWriter w = Sdt.begin("GTDT", GTDT_REVISION)
                .u64(GTDT_NO_CNT_BASE) // CntControlBase
                .u32(0); // reserved
        for (int ppi : ppis) {
            w.u32(PPI_INTID_BASE + ppi).u32(GTDT_TIMER_FLAGS);
        }
        w.u64(GTDT_NO_CNT_BASE) // CntReadBase
                .u32(0) // platform timer count
                .u32(0); // platform timer offset
        return Sdt.finish(w);
    }

    /**
     * The SPCR, revision 2: the console at its MMIO base on its GIC SPI, a 16550 (byte-wide registers) or a PL011
     * (32-bit registers, as QEMU's virt describes its own).
     */
    static byte[] spcr(DeviceDescription.Serial serial) {
        boolean pl011 = serial.model() == dev.mesovirt.vmm.arch.UartModel.PL011;
        if (!pl011 && serial.registerShift() != 0) {
            throw new IllegalArgumentException("the SPCR describes byte-spaced 16550 registers only");
        }
        ByteWriter w = Sdt.begin("SPCR", SPCR_REVISION)
                .u8(pl011 ? SPCR_PL011 : SPCR_16550)
                .zeros(3);
        if (pl011) {
            Sdt.gasDword(w, serial.base());
        } else {
            Sdt.gasByte(w, serial.base());
        }
        w.u8(SPCR_INTERRUPT_GIC)
                .u8(0) // PC-AT IRQ: none
                .u32(gsi(serial.irq()))
                .u8(SPCR_BAUD_115200)
                .u8(0) // no parity
                .u8(1) // one stop bit
                .u8(0) // no flow control
                .u8(0) // terminal type VT100
                .u8(0) // language: reserved 0
                .u16(0xFFFF).u16(0xFFFF) // PCI device and vendor ID: not a PCI device
                .u8(0).u8(0).u8(0) // PCI bus, device, function
                .u32(0) // PCI flags
                .u8(0) // PCI segment
                .u32(0); // reserved
        return Sdt.finish(w);
    }

    /**
     * The IORT: one ITS group (ITS 0) and the PCI root complex of segment 0, whose requester IDs map 1:1 to the
     * ITS's device IDs (what the device tree's {@code msi-map = <0 &its 0 0x10000>} says). Without it Linux's
     * ACPI code finds no MSI domain for PCI devices.
     */
    static byte[] iort(PciLayout pci) {
        int itsOffset = IORT_HEADER_LENGTH;
        int rcOffset = itsOffset + IORT_ITS_NODE_LENGTH;
        ByteWriter w = Sdt.begin("IORT", IORT_REVISION)
                .u32(2) // nodes
                .u32(itsOffset) // offset of the node array
                .u32(0); // reserved
        // ITS group node.
        w.u8(IORT_NODE_ITS_GROUP).u16(IORT_ITS_NODE_LENGTH).u8(0 /* revision */)
                .u32(0) // reserved
                .u32(0) // ID mappings: none
                .u32(0) // their offset
                .u32(1) // ITSs in the group
                .u32(0); // the MADT's GIC ITS ID
        // Root complex node, revision 1.
        int mappingOffset = 36;
        w.u8(IORT_NODE_ROOT_COMPLEX).u16(IORT_RC_NODE_LENGTH).u8(1 /* revision */)
                .u32(0) // reserved
                .u32(1) // ID mappings
                .u32(mappingOffset) // their offset in the node
                .u32(IORT_CCA_COHERENT).u8(0 /* allocation hints */).u16(0).u8(0 /* memory access flags */)
                .u32(0) // ATS: not supported
                .u32(0) // PCI segment, the MCFG's and the host bridge's _SEG
                .u8(64) // memory address size limit: the devices address 64 bits
                .zeros(3);
        if (w.position() != rcOffset + mappingOffset) {
            throw new IllegalStateException("IORT root complex mapping at " + w.position());
        }
        w.u32(0) // input base: requester ID 0
                .u32(IORT_ID_COUNT_MINUS_ONE)
                .u32(0) // output base: device ID 0
                .u32(itsOffset) // output reference: the ITS group
                .u32(0); // flags: not a single mapping
        if (w.position() != rcOffset + IORT_RC_NODE_LENGTH) {
            throw new IllegalStateException("IORT is " + w.position() + " bytes");
        }
        return Sdt.finish(w);
    }

    /**
     * The DSDT: in {@code \_SB}, a processor device per vCPU (ACPI0007, _UID the MADT's), the UART (PNP0501, which
     * Linux's 8250_pnp drives on MMIO), the PCI Express host bridge and the ECAM window's reservation.
     */
    static byte[] dsdt(Aarch64DeviceTree.Spec spec) {
        GuestDescription guest = spec.guest();
        List<byte[]> devices = new ArrayList<>();
        for (int i = 0; i < spec.cpuAffinities().size(); i++) {
            devices.add(Aml.device(String.format("C%03X", i),
                    Aml.name("_HID", Aml.string("ACPI0007")),
                    Aml.name("_UID", Aml.integer(i))));
        }
        DeviceDescription.Serial serial = guest.serial();
        // A PL011 is ARMH0011 (Linux's amba-pl011 binds it as ttyAMA0), a 16550 PNP0501 (8250_pnp).
        devices.add(Aml.device("COM0",
                Aml.name("_HID", serial.model() == dev.mesovirt.vmm.arch.UartModel.PL011 ? Aml.string("ARMH0011")
                        : Aml.eisaId("PNP0501")),
                Aml.name("_UID", Aml.zero()),
                Aml.name("_CRS", Aml.resourceTemplate(
                        Aml.memory32Fixed(true, serial.base(), guest.serialSize()),
                        interrupt(serial.irq())))));
        DeviceDescription.PciHostBridge bridge = guest.pci().orElseThrow();
        devices.add(pciHostBridge(bridge));
        PciLayout pci = bridge.layout();
        devices.add(Aml.device("RES0",
                Aml.name("_HID", Aml.eisaId("PNP0C02")),
                Aml.name("_CRS", Aml.resourceTemplate(
                        Aml.memory32Fixed(true, pci.ecamBase(), pci.ecamSize())))));
        ByteWriter w = Sdt.begin("DSDT", DSDT_REVISION)
                .bytes(Aml.scope("_SB", devices.toArray(byte[][]::new)));
        return Sdt.finish(w);
    }

    /**
     * PNP0A08 with the windows the device tree's {@code ranges} give (no I/O space), cache-coherent DMA (_CCA), the
     * shared _OSC and a _PRT routing each device's INTA..INTD straight to the bridge's four SPIs (GSIs) with the
     * device tree's swizzle.
     */
    private static byte[] pciHostBridge(DeviceDescription.PciHostBridge bridge) {
        PciLayout pci = bridge.layout();
        List<byte[]> resources = new ArrayList<>();
        resources.add(Aml.wordBusNumber(0, pci.buses() - 1));
        resources.add(Aml.dwordMemory(pci.mmio32().base(), pci.mmio32().end() - 1));
        pci.mmio64().ifPresent(m -> resources.add(Aml.qwordMemory(m.base(), m.end() - 1)));
        List<byte[]> prt = new ArrayList<>();
        for (int device = 0; device < 32; device++) {
            for (int pin = 0; pin < 4; pin++) {
                prt.add(Aml.packageOf(
                        Aml.integer(((long) device << 16) | 0xFFFF),
                        Aml.integer(pin),
                        Aml.zero(), // no link device: the last element is the GSI
                        Aml.integer(gsi(bridge.intxOf(device, pin)))));
            }
        }
        return PciRootAml.device(List.of(Aml.name("_CCA", Aml.one())),
                Aml.resourceTemplate(resources.toArray(byte[][]::new)), Aml.packageOf(prt.toArray(byte[][]::new)));
    }

    private static byte[] interrupt(Irq irq) {
        return Aml.interrupt(irq.levelTriggered() ? Aml.Trigger.LEVEL : Aml.Trigger.EDGE, Aml.Polarity.ACTIVE_HIGH,
                Aml.Sharing.EXCLUSIVE, gsi(irq));
    }

    /** An SPI's GSI in ACPI terms: its INTID (ACPI numbers GIC interrupts by INTID, the device tree from 32). */
    static int gsi(Irq irq) {
        return Arm64Kvm.SPI_BASE + irq.firmwareNumber();
    }
}
