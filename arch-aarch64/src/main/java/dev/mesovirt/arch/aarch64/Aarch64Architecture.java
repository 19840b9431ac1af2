package dev.mesovirt.arch.aarch64;

import dev.mesovirt.vmm.arch.Architecture;
import dev.mesovirt.vmm.arch.BootException;
import dev.mesovirt.vmm.arch.BootPlan;
import dev.mesovirt.vmm.arch.BootRequest;
import dev.mesovirt.vmm.arch.BusKind;
import dev.mesovirt.vmm.arch.GuestPower;
import dev.mesovirt.vmm.arch.Irq;
import dev.mesovirt.vmm.arch.IrqChip;
import dev.mesovirt.vmm.arch.IrqUse;
import dev.mesovirt.vmm.arch.MachineType;
import dev.mesovirt.vmm.arch.MemoryLayout;
import dev.mesovirt.vmm.arch.PciLayout;
import dev.mesovirt.vmm.arch.PlatformDevice;
import dev.mesovirt.vmm.boot.BootPlacement;
import dev.mesovirt.vmm.boot.GuestDescription;
import dev.mesovirt.vmm.boot.ImageBoot;
import dev.mesovirt.vmm.boot.ImageProtocol;
import dev.mesovirt.vmm.boot.PlacementRules;
import dev.mesovirt.vmm.kvm.Kvm;
import dev.mesovirt.vmm.kvm.KvmCapability;
import dev.mesovirt.vmm.kvm.Vcpu;
import dev.mesovirt.vmm.kvm.Vm;
import dev.mesovirt.vmm.memory.GuestMemory;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * arm64: a microVM laid out like StratoVirt's aarch64 microvm (and QEMU's virt below 1 GiB): GICv3 distributor at
 * 0x0800_0000 and redistributors from 0x080A_0000, a 16550 UART at 0x0900_0000, the PL061 GPIO of the power
 * button at 0x0903_0000 (QEMU's virt's address), virtio-mmio slots from 0x0A00_0000, RAM from 0x4000_0000. The
 * kernel is an arm64 {@code Image} entered at its load address with a device tree in x0; vCPUs use PSCI 0.2 through
 * KVM, so PSCI SYSTEM_OFF / SYSTEM_RESET reach the VMM as {@code KVM_EXIT_SYSTEM_EVENT}, which the
 * architecture-neutral vCPU loop handles.
 *
 * <p>The standard machine, {@code -machine virt}, is QEMU's virt board: the same GIC, UART and power button, plus
 * the GIC's ITS at 0x0808_0000 for MSIs, and a generic ECAM PCI Express host bridge (16 buses at 0x3F00_0000, a
 * 32-bit window at 0x1000_0000 and a 512 GiB one at 0x80_0000_0000) described in the device tree; no virtio-mmio
 * slots, and the PL031 RTC at 0x0901_0000 (SPI 34). PCI I/O space is not forwarded: PCI Express devices need none.
 *
 * <p>With pflash units the virt machine starts UEFI firmware (AAVMF) as QEMU's does: unit 0 in the bank at 0, where
 * vCPU 0 starts, unit 1 at 64 MiB; a PL011 instead of the 16550, fw_cfg on MMIO at 0x0902_0000, and a device tree at
 * the start of RAM that also names the banks, fw_cfg and a PCI I/O window for the firmware.
 */
public final class Aarch64Architecture implements Architecture {
    public static final long GICD_BASE = 0x0800_0000L;
    public static final long GICR_BASE = 0x080A_0000L;
    /** The standard machine's ITS, between the distributor and the redistributors (QEMU's virt's address). */
    public static final long GIC_ITS_BASE = 0x0808_0000L;
    public static final long UART_BASE = 0x0900_0000L;
    public static final int UART_REGISTER_SHIFT = 0;
    /** The PL061 GPIO controller whose line 3 is the power button. */
    public static final long GPIO_BASE = 0x0903_0000L;
    /** The standard machine's PL031 RTC (QEMU's virt's address). */
    public static final long RTC_BASE = 0x0901_0000L;
    public static final long VIRTIO_MMIO_BASE = 0x0A00_0000L;
    public static final long VIRTIO_MMIO_SLOT_SIZE = 0x200;
    public static final int VIRTIO_MMIO_SLOTS = 32;
    public static final long RAM_BASE = 0x4000_0000L;
    /** The standard machine's PCI windows, as on QEMU's virt: ECAM for 16 buses, 32-bit and 64-bit MMIO. */
    public static final long PCIE_ECAM_BASE = 0x3f00_0000L;
    public static final int PCIE_BUSES = 16;
    public static final PciLayout.Window PCIE_MMIO32 = new PciLayout.Window(0x1000_0000L, 0x2eff_0000L);
    public static final PciLayout.Window PCIE_MMIO64 = new PciLayout.Window(0x80_0000_0000L, 0x80_0000_0000L);
    /** The flash banks of QEMU's virt: unit 0 (the firmware, where the CPU starts) at 0, unit 1 (variables) above. */
    public static final long FLASH_BASE = 0;
    public static final long FLASH_BANK_SIZE = 64L << 20;
    public static final int FLASH_BANKS = 2;
    /** fw_cfg's registers, as on QEMU's virt. */
    public static final long FW_CFG_BASE = 0x0902_0000L;
    /** The PCI I/O window that firmware's tree gives the host bridge (QEMU's virt's PIO window). */
    public static final PciLayout.Window PCIE_PIO = new PciLayout.Window(0x3eff_0000L, 0x1_0000L);
    /**
     * Where firmware finds its device tree: the start of RAM (EDK2's ArmVirtQemu reads it there, at its
     * PcdDeviceTreeInitialBaseAddress, before it knows anything else about the machine).
     */
    public static final long FIRMWARE_DTB = RAM_BASE;
    /** ArmVirtQemu's early stack lies from 496 KiB into RAM: the tree must end before it. */
    public static final int FIRMWARE_DTB_LIMIT = 0x7_c000;
    /** INTIDs the vGIC implements: 32 private (SGIs, PPIs) + 96 SPIs, enough for the UART and every slot. */
    public static final int GIC_NR_IRQS = 128;
    /** The redistributor frames (128 KiB per vCPU) must end before the UART: 123 vCPUs, as in QEMU's virt. */
    public static final int MAX_VCPUS = (int) ((UART_BASE - GICR_BASE) / Arm64Kvm.VGIC_V3_REDIST_SIZE);
    public static final long MIN_RAM = 16L << 20;
    /** The IPA size every arm64 KVM gives a VM created with type 0. */
    public static final int DEFAULT_IPA_BITS = 40;
    /** The largest IPA size the architecture defines (FEAT_LPA). */
    public static final int MAX_IPA_BITS = 52;
    /** KVM refuses IPA sizes below 32 bits. */
    public static final int MIN_IPA_BITS = 32;
    /** arm64's COMMAND_LINE_SIZE, including the terminating NUL. */
    public static final int COMMAND_LINE_SIZE = 2048;
    /**
     * booting.rst: the device tree anywhere in RAM (it goes at the end), the initrd inside the 1 GiB aligned, 32 GiB
     * window that also covers the kernel Image.
     */
    public static final PlacementRules PLACEMENT = new PlacementRules(PlacementRules.WHOLE_RAM,
            Optional.of(new PlacementRules.Window(1L << 30, 32L << 30)), "its image_size");
    static final ImageProtocol IMAGE_PROTOCOL = new ImageProtocol(ArmImageHeader.FORMAT, PLACEMENT, COMMAND_LINE_SIZE);

    static {
        if (GIC_NR_IRQS - Arm64Kvm.SPI_BASE <= Gicv3.POWER_BUTTON_SPI) {
            throw new AssertionError("not enough SPIs for the UART, every virtio-mmio slot and the power button");
        }
    }

    @Override
    public String name() {
        return "aarch64";
    }

    @Override
    public boolean runsOn(String osArch) {
        return "aarch64".equals(osArch) || "arm64".equals(osArch);
    }

    @Override
    public String serialConsoleName() {
        return "ttyS0";
    }

    @Override
    public List<KvmCapability> requiredCapabilities() {
        return List.of(KvmCapability.ARM_PSCI_0_2, KvmCapability.DEVICE_CTRL, KvmCapability.ONE_REG);
    }

    @Override
    public Map<String, MachineType> machineTypes() {
        return Map.of("microvm", MachineType.MICROVM, "virt", MachineType.STANDARD);
    }

    @Override
    public MemoryLayout memoryLayout(MachineType type, long ramBytes, int vcpus) {
        if (vcpus < 1 || vcpus > MAX_VCPUS) {
            throw new IllegalArgumentException("aarch64 supports 1.." + MAX_VCPUS + " vCPUs, not " + vcpus);
        }
        if (ramBytes < MIN_RAM) {
            throw new IllegalArgumentException("too little memory: " + (ramBytes >> 20) + " MiB (aarch64 needs at least "
                    + (MIN_RAM >> 20) + " MiB)");
        }
        if (ramBytes > (1L << MAX_IPA_BITS) - RAM_BASE) {
            throw new IllegalArgumentException("too much memory: " + (ramBytes >> 20) + " MiB does not fit in the "
                    + MAX_IPA_BITS + "-bit physical address space above 0x" + Long.toHexString(RAM_BASE));
        }
        MemoryLayout.SerialPlacement serial = new MemoryLayout.SerialPlacement(BusKind.MMIO, UART_BASE,
                UART_REGISTER_SHIFT, false);
        List<GuestMemory.Region> ram = List.of(new GuestMemory.Region(RAM_BASE, ramBytes));
        if (type == MachineType.MICROVM) {
            return new MemoryLayout(ram, VIRTIO_MMIO_BASE, VIRTIO_MMIO_SLOT_SIZE, VIRTIO_MMIO_SLOTS, serial);
        }
        if (RAM_BASE + ramBytes > PCIE_MMIO64.base()) {
            throw new IllegalArgumentException("too much memory: " + (ramBytes >> 20) + " MiB reaches the virt machine's "
                    + "64-bit PCI window at 0x" + Long.toHexString(PCIE_MMIO64.base()));
        }
        PciLayout pci = new PciLayout(PCIE_ECAM_BASE, PCIE_BUSES, Optional.empty(), PCIE_MMIO32,
                Optional.of(PCIE_MMIO64), false, PciLayout.HostBridgeId.REDHAT_PCIE_HOST);
        return new MemoryLayout(ram, VIRTIO_MMIO_BASE, VIRTIO_MMIO_SLOT_SIZE, 0, serial, Optional.of(pci));
    }

    /**
     * 0 (KVM's default 40-bit IPA space, 1 TiB, which every arm64 KVM offers) unless the RAM reaches beyond it or
     * the host cannot translate 40 bits; then KVM_VM_TYPE_ARM_IPA_SIZE(n) with the n the machine needs, when
     * KVM_CAP_ARM_VM_IPA_SIZE says the host supports it.
     */
    @Override
    public long vmType(Kvm kvm, MemoryLayout layout) {
        return ipaVmType(addressEnd(layout), kvm.checkExtension(KvmCapability.ARM_VM_IPA_SIZE));
    }

    /** The first guest-physical address above everything: RAM, or the standard machine's 64-bit PCI window. */
    static long addressEnd(MemoryLayout layout) {
        long end = layout.ram().get(layout.ram().size() - 1).end();
        if (layout.pci().isPresent() && layout.pci().get().mmio64().isPresent()) {
            end = Math.max(end, layout.pci().get().mmio64().get().end());
        }
        return end;
    }

    /**
     * @param ramEnd the first guest-physical address above RAM and the PCI windows (the other MMIO regions lie below
     *     RAM)
     * @param hostIpaLimit KVM_CAP_ARM_VM_IPA_SIZE: the largest IPA size the host supports, 0 if it cannot choose
     */
    static long ipaVmType(long ramEnd, int hostIpaLimit) {
        int needed = Math.max(MIN_IPA_BITS, 64 - Long.numberOfLeadingZeros(ramEnd - 1));
        if (hostIpaLimit <= 0) {
            if (needed > DEFAULT_IPA_BITS) {
                throw new IllegalArgumentException(String.format("guest addresses up to 0x%x need a %d-bit IPA space, but "
                        + "the host's KVM offers only the default %d bits (no KVM_CAP_ARM_VM_IPA_SIZE)", ramEnd,
                        needed, DEFAULT_IPA_BITS));
            }
            return 0;
        }
        int bits = Math.max(needed, Math.min(DEFAULT_IPA_BITS, hostIpaLimit));
        if (bits > hostIpaLimit) {
            throw new IllegalArgumentException(String.format("guest addresses up to 0x%x need a %d-bit IPA space, but the "
                    + "host's KVM supports at most %d bits (KVM_CAP_ARM_VM_IPA_SIZE): give the machine less memory",
                    ramEnd, needed, hostIpaLimit));
        }
        return bits == DEFAULT_IPA_BITS ? 0 : Arm64Kvm.vmTypeIpaSize(bits);
    }

    @Override
    public IrqChip createIrqChip(Vm vm, MemoryLayout layout, int vcpus) {
        return Gicv3.create(vm, GICD_BASE, GICR_BASE, GIC_NR_IRQS,
                layout.pci().isPresent() ? OptionalLong.of(GIC_ITS_BASE) : OptionalLong.empty());
    }

    /**
     * The power button: a PL061 whose line 3 the device tree makes KEY_POWER (QMP system_powerdown); on the
     * standard machine also the PL031 RTC, as on QEMU's virt. The UART comes from the neutral machine; power-off
     * and reset are PSCI, which KVM implements.
     */
    @Override
    public List<PlatformDevice> platformDevices(Vm vm, MemoryLayout layout, IrqChip irqChip, GuestPower power) {
        Irq irq = irqChip.allocate(IrqUse.POWER_BUTTON);
        Pl061 gpio = new Pl061(irq, level -> vm.setIrqLine(irq.kvmLine(), level));
        PlatformDevice button = new PlatformDevice("pl061", BusKind.MMIO, GPIO_BASE, Pl061.SIZE, gpio);
        if (layout.pci().isEmpty()) {
            return List.of(button);
        }
        Irq rtcIrq = rtcIrq();
        Pl031 rtc = new Pl031(rtcIrq, level -> vm.setIrqLine(rtcIrq.kvmLine(), level));
        return List.of(button, new PlatformDevice("pl031", BusKind.MMIO, RTC_BASE, Pl031.SIZE, rtc));
    }

    /**
     * On QEMU's virt board the CPU starts at address 0, the first byte of pflash unit 0: an arm64 image has an A64
     * instruction there (AAVMF: {@code b 0x1000}, 00 04 00 14), checked as an unconditional branch (bits 31-26
     * 000101), which is what EDK2's ArmVirtQemu and other arm64 flash images put first. An x86 OVMF image starts with
     * its firmware volume header's zero vector, which is no branch.
     */
    @Override
    public Optional<String> firmwareMismatch(dev.mesovirt.vmm.firmware.FlashImage code) {
        return codeHeadMismatch(code.head());
    }

    static Optional<String> codeHeadMismatch(byte[] head) {
        int insn = head.length < 4 ? 0 : (head[0] & 0xFF) | (head[1] & 0xFF) << 8 | (head[2] & 0xFF) << 16
                | (head[3] & 0xFF) << 24;
        if (head.length >= 4 && (insn >>> 26) == 0b000101) {
            return Optional.empty();
        }
        return Optional.of("no arm64 branch at its first byte, where the CPU starts: not firmware for aarch64"
                + " (an x86 OVMF or other image?)");
    }

    /**
     * As QEMU's virt: unit 0 in the bank at 0, unit 1 in the bank at 64 MiB, each at most a bank and in whole
     * 256 KiB blocks of the bank's chips.
     */
    @Override
    public List<Long> flashPlacement(List<dev.mesovirt.vmm.firmware.FlashImage> units) {
        if (units.size() > FLASH_BANKS) {
            throw new IllegalArgumentException("the virt machine has " + FLASH_BANKS + " flash banks (pflash units 0"
                    + " and 1), not " + units.size());
        }
        List<Long> bases = new ArrayList<>();
        int block = flashGeometry().blockSize();
        for (dev.mesovirt.vmm.firmware.FlashImage u : units) {
            String what = "pflash unit " + u.unit() + " (" + u.file() + "): ";
            if (u.size() > FLASH_BANK_SIZE) {
                throw new IllegalArgumentException(what + u.size() + " bytes is more than the virt machine's "
                        + (FLASH_BANK_SIZE >> 20) + " MiB flash bank");
            }
            if (u.size() % block != 0) {
                throw new IllegalArgumentException(what + u.size() + " bytes is not a whole number of the virt"
                        + " machine's " + (block >> 10) + " KiB flash blocks (Debian's AAVMF_CODE.fd and"
                        + " AAVMF_VARS.fd are 64 MiB each)");
            }
            bases.add(FLASH_BASE + u.unit() * FLASH_BANK_SIZE);
        }
        return List.copyOf(bases);
    }

    /** QEMU's virt: a 32-bit bank of two x16 chips with 256 KiB blocks, what EDK2's flash driver expects. */
    @Override
    public dev.mesovirt.vmm.firmware.CfiFlash.Geometry flashGeometry() {
        return dev.mesovirt.vmm.firmware.CfiFlash.Geometry.ARM_VIRT;
    }

    /** On the virt machine, a PL011 where the kernel's 16550 would be: EDK2 2022.11 drives no other UART. */
    @Override
    public MemoryLayout.SerialPlacement firmwareSerial(MemoryLayout layout) {
        if (layout.pci().isEmpty()) {
            return layout.serial();
        }
        return new MemoryLayout.SerialPlacement(BusKind.MMIO, UART_BASE, 0, false, dev.mesovirt.vmm.arch.UartModel.PL011);
    }

    /**
     * fw_cfg on MMIO at {@link #FW_CFG_BASE} with DMA, as EDK2 finds it through the device tree: the vCPU count,
     * and with acpi=on the machine's ACPI tables ({@link Aarch64AcpiTables}) with the table-loader script: EDK2
     * installs them and then hands the guest ACPI instead of the device tree (without etc/table-loader, the tree).
     * No kernel: AAVMF boots a disk.
     */
    @Override
    public Optional<PlatformDevice> firmwareConfig(MemoryLayout layout, int vcpus, GuestMemory memory,
            List<dev.mesovirt.vmm.arch.DeviceDescription> devices, dev.mesovirt.vmm.arch.FirmwareHandover handover) {
        if (handover.kernel().isPresent()) {
            throw new IllegalArgumentException("-kernel with pflash firmware is not supported yet on the aarch64 virt"
                    + " machine: the firmware boots a disk (or drop the pflash drives to boot the kernel directly)");
        }
        dev.mesovirt.vmm.firmware.FwCfg.Builder builder = dev.mesovirt.vmm.firmware.FwCfg.builder()
                .number(dev.mesovirt.vmm.firmware.FwCfg.NB_CPUS, vcpus, 2)
                .number(dev.mesovirt.vmm.firmware.FwCfg.MAX_CPUS, vcpus, 2)
                .number(dev.mesovirt.vmm.firmware.FwCfg.RAM_SIZE, layout.ramSize(), 8);
        if (handover.acpiTables()) {
            // Built at 0: the table-loader turns every pointer into an offset the firmware relocates.
            dev.mesovirt.acpi.FirmwareAcpi acpi = dev.mesovirt.acpi.FirmwareAcpi.of(
                    Aarch64AcpiTables.build(0, firmwareTreeSpec(layout, vcpus, devices)));
            builder.file(dev.mesovirt.acpi.FirmwareAcpi.RSDP_FILE, acpi.rsdp())
                    .file(dev.mesovirt.acpi.FirmwareAcpi.TABLES_FILE, acpi.tables())
                    .file(dev.mesovirt.acpi.FirmwareAcpi.LOADER_FILE, acpi.loader());
        }
        dev.mesovirt.vmm.firmware.FwCfg fw = builder.build(memory);
        return Optional.of(new PlatformDevice("fw_cfg", BusKind.MMIO, FW_CFG_BASE,
                dev.mesovirt.vmm.firmware.FwCfgMmio.LENGTH, new dev.mesovirt.vmm.firmware.FwCfgMmio(fw)));
    }

    /**
     * As QEMU's virt with KVM: vCPU 0 starts at address 0, the first instruction of pflash unit 0, in EL1 (KVM's
     * reset state) with x0 = the device tree, which goes to the start of RAM; the other vCPUs stay powered off
     * until the firmware or the kernel starts them with PSCI CPU_ON.
     */
    @Override
    public BootPlan firmwareBoot(GuestMemory memory, MemoryLayout layout, int vcpus,
            List<dev.mesovirt.vmm.arch.DeviceDescription> devices) throws BootException {
        byte[] dtb = Aarch64DeviceTree.build(firmwareTreeSpec(layout, vcpus, devices));
        if (dtb.length > FIRMWARE_DTB_LIMIT) {
            throw new BootException("the firmware's device tree is " + dtb.length + " bytes, more than the "
                    + FIRMWARE_DTB_LIMIT + " before the firmware's stack");
        }
        memory.write(FIRMWARE_DTB, dtb);
        return firmwarePlan();
    }

    static BootPlan firmwarePlan() {
        return new BootPlan(FLASH_BASE, FIRMWARE_DTB, 0, 0, 0, 0, "", true);
    }

    @Override
    public BootPlan firmwareBoot(GuestMemory memory, MemoryLayout layout, int vcpus) throws BootException {
        throw new BootException("the aarch64 machine's firmware needs the machine's device list for its device tree");
    }

    /** The tree firmware reads: a kernel's, with the PL011, flash banks, fw_cfg and PCI I/O window. */
    static Aarch64DeviceTree.Spec firmwareTreeSpec(MemoryLayout layout, int vcpus,
            List<dev.mesovirt.vmm.arch.DeviceDescription> devices) {
        List<Long> cpus = new ArrayList<>(vcpus);
        for (int i = 0; i < vcpus; i++) {
            cpus.add(VcpuSetup.affinity(VcpuSetup.expectedMpidr(i)));
        }
        GuestDescription guest = GuestDescription.ofFirmware("aarch64", layout, devices,
                Gicv3.spi(Gicv3.SERIAL_SPI, true));
        List<dev.mesovirt.vmm.arch.DeviceDescription.Flash> flash = new ArrayList<>();
        Optional<dev.mesovirt.vmm.arch.DeviceDescription.FirmwareConfig> fwCfg = Optional.empty();
        for (dev.mesovirt.vmm.arch.DeviceDescription d : devices) {
            if (d instanceof dev.mesovirt.vmm.arch.DeviceDescription.Flash f) {
                flash.add(f);
            } else if (d instanceof dev.mesovirt.vmm.arch.DeviceDescription.FirmwareConfig c) {
                fwCfg = Optional.of(c);
            }
        }
        flash.sort(java.util.Comparator.comparingInt(dev.mesovirt.vmm.arch.DeviceDescription.Flash::unit));
        Aarch64DeviceTree.Gic gic = new Aarch64DeviceTree.Gic(GICD_BASE, Arm64Kvm.VGIC_V3_DIST_SIZE, GICR_BASE,
                Arm64Kvm.VGIC_V3_REDIST_SIZE * vcpus,
                guest.pci().isPresent() ? OptionalLong.of(GIC_ITS_BASE) : OptionalLong.empty());
        Optional<Aarch64DeviceTree.Rtc> rtc = guest.pci().isPresent()
                ? Optional.of(new Aarch64DeviceTree.Rtc(RTC_BASE, Pl031.SIZE, rtcIrq()))
                : Optional.empty();
        Optional<PciLayout.Window> io = guest.pci().isPresent() ? Optional.of(PCIE_PIO) : Optional.empty();
        return new Aarch64DeviceTree.Spec(cpus, gic, guest, rtc,
                Optional.of(new Aarch64DeviceTree.Firmware(flash, fwCfg, io)));
    }

    /** The PL031's interrupt: a fixed level-triggered SPI, which the device tree names too. */
    static Irq rtcIrq() {
        return Gicv3.spi(Gicv3.RTC_SPI, true);
    }

    @Override
    public BootPlan loadGuest(GuestMemory memory, MemoryLayout layout, BootRequest request) throws BootException {
        return ImageBoot.load(IMAGE_PROTOCOL, memory, layout, request,
                (placement, seed) -> Aarch64DeviceTree.build(deviceTreeSpec(layout, request, placement, seed)));
    }

    /** What the device tree says about this machine; the CPUs' affinities are KVM's reset MPIDRs. */
    static Aarch64DeviceTree.Spec deviceTreeSpec(MemoryLayout layout, BootRequest request, BootPlacement placement,
            byte[] rngSeed) {
        List<Long> cpus = new ArrayList<>(request.vcpus());
        for (int i = 0; i < request.vcpus(); i++) {
            cpus.add(VcpuSetup.affinity(VcpuSetup.expectedMpidr(i)));
        }
        GuestDescription guest = GuestDescription.of("aarch64", layout, request, placement, rngSeed,
                Gicv3.spi(Gicv3.SERIAL_SPI, true));
        if (guest.powerButton().isPresent() && guest.powerButton().get().bus() != BusKind.MMIO) {
            throw new IllegalArgumentException("aarch64 has no port I/O: the PL061 must be on MMIO");
        }
        Aarch64DeviceTree.Gic gic = new Aarch64DeviceTree.Gic(GICD_BASE, Arm64Kvm.VGIC_V3_DIST_SIZE, GICR_BASE,
                Arm64Kvm.VGIC_V3_REDIST_SIZE * request.vcpus(),
                guest.pci().isPresent() ? OptionalLong.of(GIC_ITS_BASE) : OptionalLong.empty());
        Optional<Aarch64DeviceTree.Rtc> rtc = guest.pci().isPresent()
                ? Optional.of(new Aarch64DeviceTree.Rtc(RTC_BASE, Pl031.SIZE, rtcIrq()))
                : Optional.empty();
        return new Aarch64DeviceTree.Spec(cpus, gic, guest, rtc);
    }

    @Override
    public void configureVcpu(Vm vm, Vcpu vcpu, int vcpuCount, BootPlan plan) {
        VcpuSetup.initialise(vm, vcpu);
        if (vcpu.id() == 0) {
            VcpuSetup.setBootRegisters(vcpu, plan.entry(), plan.firmwareAddress());
        }
    }

    /**
     * The virtual counter, as QEMU keeps it across stop/cont: read while paused, written back at resume (on every vCPU)
     * so that the guest's counter goes on from where it stopped.
     */
    @Override
    public PausedClock pauseClock(Vm vm, List<Vcpu> vcpus, GuestMemory memory) {
        if (vcpus.isEmpty()) {
            return PausedClock.NONE;
        }
        return new FrozenCounter(vcpus.get(0).getOneReg(Arm64Kvm.REG_TIMER_CNT), List.copyOf(vcpus));
    }

    /** The virtual counter's value at the pause; {@link #resume} makes the counter go on from it. */
    record FrozenCounter(long value, List<Vcpu> vcpus) implements PausedClock {
        @Override
        public void resume() {
            for (Vcpu v : vcpus) {
                v.setOneReg(Arm64Kvm.REG_TIMER_CNT, value);
            }
        }
    }

    /** vCPUs as {@code vcpu0..}, then {@code gic}: the vGICv3's distributor, redistributors and CPU interfaces. */
    @Override
    public List<String> stateSections(int vcpus) {
        return dev.mesovirt.vmm.snapshot.RegisterListState.sectionIds(vcpus, Gicv3State.ID);
    }

    /**
     * Every vCPU's registers and MP state, then the vGIC. The virtual counter saved is the one frozen at the pause
     * (the same on every vCPU: KVM keeps one offset per VM), so the restored guest sees no time from stop to restore.
     */
    @Override
    public List<dev.mesovirt.vmm.snapshot.Section> saveState(Vm vm, List<Vcpu> vcpus, GuestMemory memory,
                                                            PausedClock clock, IrqChip irqChip) {
        Gicv3 gic = snapshotGic(irqChip);
        List<dev.mesovirt.vmm.snapshot.Section> out = new ArrayList<>();
        List<Long> mpidrs = new ArrayList<>();
        for (Vcpu v : vcpus) {
            dev.mesovirt.vmm.snapshot.RegisterListState s = dev.mesovirt.vmm.snapshot.RegisterListState.save(v);
            if (clock instanceof FrozenCounter frozen) {
                s = s.withRegister(Arm64Kvm.REG_TIMER_CNT, frozen.value());
            }
            mpidrs.add(v.getOneReg(Arm64Kvm.REG_MPIDR_EL1));
            out.add(s.toSection(v.id()));
        }
        out.add(Arm64StateIo.saveGic(gic.device(), gic.nrIrqs(), mpidrs).toSection());
        return out;
    }

    /**
     * Each vCPU initialised as at boot and given its registers and MP state; then the vGIC initialised (CTRL_INIT,
     * which {@link IrqChip#finishAfterVcpus} repeats harmlessly) and given its state: KVM reaches a redistributor by
     * its vCPU's MPIDR_EL1, restored first.
     */
    @Override
    public void restoreState(Vm vm, List<Vcpu> vcpus, IrqChip irqChip,
                             Map<String, dev.mesovirt.vmm.snapshot.Section> sections) {
        Gicv3 gic = snapshotGic(irqChip);
        // Decode everything first: bad data is refused before KVM is touched.
        List<dev.mesovirt.vmm.snapshot.RegisterListState> states = new ArrayList<>();
        for (Vcpu v : vcpus) {
            states.add(vcpuState(sections.get(dev.mesovirt.vmm.snapshot.RegisterListState.sectionId(v.id()))));
        }
        Gicv3State gicState = Gicv3State.fromSection(sections.get(Gicv3State.ID), gic.nrIrqs(), vcpus.size());
        List<Long> mpidrs = new ArrayList<>();
        for (int i = 0; i < vcpus.size(); i++) {
            Vcpu v = vcpus.get(i);
            VcpuSetup.initialise(vm, v);
            states.get(i).restoreTo(v);
            mpidrs.add(v.getOneReg(Arm64Kvm.REG_MPIDR_EL1));
        }
        gic.finishAfterVcpus();
        Arm64StateIo.restoreGic(gic.device(), gicState, mpidrs);
    }

    /** A vCPU section: arm64 registers (every core, system, timer and firmware register KVM lists) and MP state. */
    static dev.mesovirt.vmm.snapshot.RegisterListState vcpuState(dev.mesovirt.vmm.snapshot.Section section) {
        return dev.mesovirt.vmm.snapshot.RegisterListState.fromSection(section, "arm64", Arm64Kvm.REG_ARM64,
                java.util.Set.of(Arm64Kvm.MP_STATE_RUNNABLE, Arm64Kvm.MP_STATE_STOPPED, Arm64Kvm.MP_STATE_SUSPENDED));
    }

    /** The microVM's vGIC; one with an ITS (the standard machine's LPIs and their tables) is not saved. */
    private static Gicv3 snapshotGic(IrqChip irqChip) {
        if (!(irqChip instanceof Gicv3 gic) || gic.hasIts()) {
            throw new dev.mesovirt.vmm.snapshot.SnapshotException("snapshot: not supported with "
                    + irqChip.description());
        }
        return gic;
    }

    /** The allow-list in seccomp.txt next to this class (one readable file; see SeccompTableTest). */
    @Override
    public java.util.Optional<dev.mesovirt.vmm.seccomp.SyscallTable> seccompTable() {
        return java.util.Optional.of(dev.mesovirt.vmm.seccomp.SyscallTable.load(getClass(), "seccomp.txt"));
    }
}
