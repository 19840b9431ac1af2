package dev.mesovirt.arch.x86_64;

import dev.mesovirt.acpi.AcpiImage;
import dev.mesovirt.arch.x86_64.acpi.AcpiPlatform;
import dev.mesovirt.arch.x86_64.acpi.AcpiTables;
import dev.mesovirt.arch.x86_64.acpi.MpTable;
import dev.mesovirt.arch.x86_64.boot.BootParams;
import dev.mesovirt.arch.x86_64.boot.BzImage;
import dev.mesovirt.arch.x86_64.boot.E820Entry;
import dev.mesovirt.arch.x86_64.boot.InvalidKernelException;
import dev.mesovirt.arch.x86_64.boot.KernelCommandLine;
import dev.mesovirt.arch.x86_64.boot.KernelPlacement;
import dev.mesovirt.arch.x86_64.boot.KernelPlacementException;
import dev.mesovirt.arch.x86_64.boot.LongModeSetup;
import dev.mesovirt.arch.x86_64.boot.LowMemoryMap;
import dev.mesovirt.arch.x86_64.devices.AcpiSleepRegisters;
import dev.mesovirt.arch.x86_64.devices.CmosRtc;
import dev.mesovirt.arch.x86_64.devices.GedPowerButton;
import dev.mesovirt.arch.x86_64.devices.I8042;
import dev.mesovirt.arch.x86_64.devices.PvPanic;
import dev.mesovirt.vmm.arch.Architecture;
import dev.mesovirt.vmm.arch.BootException;
import dev.mesovirt.vmm.arch.BootFiles;
import dev.mesovirt.vmm.arch.BootPlan;
import dev.mesovirt.vmm.arch.BootRequest;
import dev.mesovirt.vmm.arch.BusKind;
import dev.mesovirt.vmm.arch.DeviceDescription;
import dev.mesovirt.vmm.arch.GuestPower;
import dev.mesovirt.vmm.arch.Irq;
import dev.mesovirt.vmm.arch.IrqChip;
import dev.mesovirt.vmm.arch.IrqUse;
import dev.mesovirt.vmm.arch.MachineType;
import dev.mesovirt.vmm.arch.MemoryLayout;
import dev.mesovirt.vmm.arch.PciLayout;
import dev.mesovirt.vmm.arch.PlatformDevice;
import dev.mesovirt.vmm.kvm.Kvm;
import dev.mesovirt.vmm.kvm.KvmCapability;
import dev.mesovirt.vmm.kvm.Vcpu;
import dev.mesovirt.vmm.kvm.Vm;
import dev.mesovirt.vmm.memory.GuestMemory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * x86_64: a PC-like microVM in the manner of QEMU's and StratoVirt's microvm. RAM from 0 up to 3 GiB and the
 * rest from 4 GiB; the 32-bit hole holds the virtio-mmio window (0xFEB00000), the power button's Generic Event
 * Device (0xFEA00000), the ACPI sleep registers (0xFEA00200), the IOAPIC and the local APICs. The standard machine
 * (q35) puts a PCI Express host bridge's ECAM and 32-bit window in the hole instead of virtio-mmio slots. The kernel
 * is a bzImage entered at its 64-bit entry point with boot_params; devices are announced through ACPI (Debian's
 * kernels need it: the cloud flavour has no MP-table parser and no virtio-mmio command-line devices).
 */
public final class X86_64Architecture implements Architecture {
    /** RAM below this address; the rest of the 32-bit space is the MMIO hole, as in StratoVirt's microvm. */
    static final long LOW_RAM_LIMIT = 0xC000_0000L;
    static final long VIRTIO_MMIO_BASE = 0xFEB0_0000L;
    static final long VIRTIO_MMIO_SLOT_SIZE = 0x200;
    /** One slot per free IOAPIC pin (16-23). */
    static final int VIRTIO_MMIO_SLOTS = X86IrqChip.LAST_DEVICE_GSI - X86IrqChip.FIRST_DEVICE_GSI + 1;
    static final long ACPI_SLEEP_REGISTERS = 0xFEA0_0200L;
    static final int ACPI_RESET_VALUE = 0x42;
    /**
     * The Generic Event Device's selector: where QEMU's microvm has it, whose sleep registers are at +0x200 as ours.
     */
    static final long GED_BASE = 0xFEA0_0000L;
    static final int COM1_PORT = 0x3f8;
    static final int RTC_PORT = 0x70;
    static final int I8042_PORT = 0x60;
    static final int PVPANIC_PORT = 0x505;
    /** The real-mode reset vector, F000:FFF0, inside the e820-reserved BIOS area. */
    static final long RESET_VECTOR = 0xF_FFF0L;
    /** The BIOS area Linux scans for an MP floating pointer (the last of its three places). */
    static final long MP_TABLE_AREA = 0xF_0000L;
    /**
     * What a guest finds at the reset vector instead of a BIOS: pulse the reset line through the i8042
     * ({@code mov al, 0xfe; out 0x64, al}), then halt. Linux ends up here when it reboots through the BIOS, which it
     * does by default on hardware-reduced ACPI without EFI (reboot_type BOOT_EFI falls back to BOOT_BIOS).
     */
    static final byte[] RESET_STUB = {(byte) 0xB0, (byte) 0xFE, (byte) 0xE6, 0x64, (byte) 0xF4, (byte) 0xEB, (byte) 0xFD};
    /** q35: where the ECAM window starts, and the low RAM limit of machines too large to fit below it. */
    static final long Q35_ECAM_BASE = 0xB000_0000L;
    static final long Q35_LOW_RAM_LIMIT = 0x8000_0000L;
    static final long Q35_MMIO32_BASE = 0xC000_0000L;
    static final int PCI_MMIO64_SIZE_GIB = 32;
    /** I/O BARs get ports 0xC000-0xFFFF, clear of every legacy PC port. */
    static final long PCI_IO_BASE = 0xC000;
    static final long PCI_IO_SIZE = 0x4000;
    /** The smallest machine: the kernel's decompression area alone needs tens of MiB. */
    static final long MIN_RAM = 64L << 20;

    @Override
    public String name() {
        return "x86_64";
    }

    @Override
    public String qmpCpuArch() {
        return "x86";
    }

    @Override
    public boolean runsOn(String osArch) {
        return "amd64".equals(osArch) || "x86_64".equals(osArch);
    }

    @Override
    public String serialConsoleName() {
        return "ttyS0";
    }

    @Override
    public List<KvmCapability> requiredCapabilities() {
        return List.of(KvmCapability.IRQCHIP, KvmCapability.PIT2, KvmCapability.EXT_CPUID);
    }

    @Override
    public Map<String, MachineType> machineTypes() {
        return Map.of("microvm", MachineType.MICROVM, "q35", MachineType.STANDARD);
    }

    /**
     * microvm: RAM below 3 GiB, the rest from 4 GiB, virtio-mmio slots in the hole. q35 (the standard machine), as
     * QEMU's q35 lays it out: RAM below 2 GiB when the machine has 2.75 GiB or more, else all of it low; the ECAM
     * window at 0xB0000000 (256 buses); the 32-bit PCI window from 0xC0000000 up to the platform devices at
     * 0xFEA00000; a 64-bit window of {@value #PCI_MMIO64_SIZE_GIB} GiB from the next GiB boundary after high RAM;
     * ports 0xC000-0xFFFF for I/O BARs; configuration mechanism #1 at 0xCF8 too.
     */
    @Override
    public MemoryLayout memoryLayout(MachineType type, long ramBytes, int vcpus) {
        if (ramBytes < MIN_RAM) {
            throw new IllegalArgumentException("too little memory: " + (ramBytes >> 20) + " MiB (x86_64 needs at least "
                    + (MIN_RAM >> 20) + " MiB)");
        }
        if (vcpus < 1 || vcpus > AcpiPlatform.MAX_VCPUS) {
            throw new IllegalArgumentException("x86_64 supports 1.." + AcpiPlatform.MAX_VCPUS + " vCPUs, not " + vcpus);
        }
        long lowLimit = type == MachineType.STANDARD
                ? (ramBytes >= Q35_ECAM_BASE ? Q35_LOW_RAM_LIMIT : Q35_ECAM_BASE) : LOW_RAM_LIMIT;
        List<GuestMemory.Region> ram = new ArrayList<>(2);
        long low = Math.min(ramBytes, lowLimit);
        ram.add(new GuestMemory.Region(0, low));
        if (ramBytes > low) {
            ram.add(new GuestMemory.Region(LowMemoryMap.HIGH_RAM_START, ramBytes - low));
        }
        MemoryLayout.SerialPlacement serial = new MemoryLayout.SerialPlacement(BusKind.PIO, COM1_PORT, 0, true);
        if (type == MachineType.MICROVM) {
            return new MemoryLayout(ram, VIRTIO_MMIO_BASE, VIRTIO_MMIO_SLOT_SIZE, VIRTIO_MMIO_SLOTS, serial);
        }
        GuestMemory.Region last = ram.get(ram.size() - 1);
        long mmio64Base = Math.max(LowMemoryMap.HIGH_RAM_START, alignUp(last.guestAddress() + last.size(), 1L << 30));
        PciLayout pci = new PciLayout(Q35_ECAM_BASE, 256, Optional.of(new PciLayout.Window(PCI_IO_BASE, PCI_IO_SIZE)),
                new PciLayout.Window(Q35_MMIO32_BASE, GED_BASE - Q35_MMIO32_BASE),
                Optional.of(new PciLayout.Window(mmio64Base, (long) PCI_MMIO64_SIZE_GIB << 30)), true,
                PciLayout.HostBridgeId.Q35_MCH);
        return new MemoryLayout(ram, 0, VIRTIO_MMIO_SLOT_SIZE, 0, serial, Optional.of(pci));
    }

    private static long alignUp(long value, long alignment) {
        return (value + alignment - 1) & -alignment;
    }

    /**
     * x86 firmware starts where the CPU comes out of reset, 16 bytes below 4 GiB (CS base 0xFFFF0000, IP 0xFFF0):
     * there an image for x86 has a jump (after padding NOPs, as OVMF's reset vector has: 90 90 E9 ...). An arm64
     * AAVMF image ends in padding or code of another ISA.
     */
    @Override
    public java.util.Optional<String> firmwareMismatch(byte[] codeTail) {
        int i = 0;
        while (i < codeTail.length && codeTail[i] == (byte) 0x90) {
            i++;
        }
        int op = i < codeTail.length ? codeTail[i] & 0xFF : -1;
        if (op == 0xE9 || op == 0xEB || op == 0xEA) { // jmp rel16, jmp rel8, jmp far
            return java.util.Optional.empty();
        }
        return java.util.Optional.of("no x86 reset vector (a jump in the last 16 bytes, where the CPU starts): not"
                + " firmware for x86_64 (an arm64 AAVMF or other image?)");
    }

    /**
     * fw_cfg at QEMU's x86 ports with what OVMF reads: the CPU counts, the RAM size, the memory map as "etc/e820"
     * (RAM entries, type 1, as QEMU lists them), and the machine's own ACPI tables (the same builder's as for a
     * kernel) with the table-loader script that has OVMF install them; with {@code kernel}, the bzImage, initrd and
     * command line as QEMU hands them to OVMF ({@link dev.mesovirt.arch.x86_64.boot.FwCfgKernel}).
     */
    @Override
    public java.util.Optional<PlatformDevice> firmwareConfig(MemoryLayout layout, int vcpus, GuestMemory memory,
            List<DeviceDescription> devices, Optional<dev.mesovirt.vmm.arch.FirmwareKernel> kernel) {
        dev.mesovirt.acpi.FirmwareAcpi acpi = dev.mesovirt.acpi.FirmwareAcpi.of(
                AcpiTables.build(LowMemoryMap.ACPI_TABLES_ADDR, acpiPlatform(vcpus, devices)));
        java.nio.ByteBuffer e820 = java.nio.ByteBuffer.allocate(20 * layout.ram().size())
                .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (GuestMemory.Region r : layout.ram()) {
            e820.putLong(r.guestAddress()).putLong(r.size()).putInt(1);
        }
        dev.mesovirt.vmm.firmware.FwCfg.Builder builder = dev.mesovirt.vmm.firmware.FwCfg.builder();
        if (kernel.isPresent()) {
            addKernel(builder, kernel.get());
        }
        dev.mesovirt.vmm.firmware.FwCfg fw = builder
                .number(dev.mesovirt.vmm.firmware.FwCfg.NB_CPUS, vcpus, 2)
                .number(dev.mesovirt.vmm.firmware.FwCfg.MAX_CPUS, vcpus, 2)
                .number(dev.mesovirt.vmm.firmware.FwCfg.RAM_SIZE, layout.ramSize(), 8)
                .file("etc/e820", e820.array())
                .file(dev.mesovirt.acpi.FirmwareAcpi.RSDP_FILE, acpi.rsdp())
                .file(dev.mesovirt.acpi.FirmwareAcpi.TABLES_FILE, acpi.tables())
                .file(dev.mesovirt.acpi.FirmwareAcpi.LOADER_FILE, acpi.loader())
                .build(memory);
        return java.util.Optional.of(new PlatformDevice("fw_cfg", BusKind.PIO, dev.mesovirt.vmm.firmware.FwCfg.PORT_BASE,
                dev.mesovirt.vmm.firmware.FwCfg.LENGTH, fw));
    }

    /** The kernel's fw_cfg items; a file that is no bzImage, or unreadable: IllegalArgumentException, one line. */
    private static void addKernel(dev.mesovirt.vmm.firmware.FwCfg.Builder builder,
            dev.mesovirt.vmm.arch.FirmwareKernel k) {
        try {
            BzImage image = parseKernel(k.kernel());
            byte[] initrd = new byte[0];
            if (k.initrd().isPresent()) {
                long size = initrdLength(k.initrd());
                if (size > BzImage.MAX_IMAGE_SIZE) {
                    throw new BootException("initrd " + k.initrd().get() + " is larger than "
                            + (BzImage.MAX_IMAGE_SIZE >> 20) + " MiB");
                }
                initrd = Files.readAllBytes(k.initrd().get());
            }
            dev.mesovirt.arch.x86_64.boot.FwCfgKernel.add(builder, image, initrd, k.commandLine());
        } catch (BootException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        } catch (IOException e) {
            throw new IllegalArgumentException("initrd " + k.initrd().get() + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** q35's ICH9 LPC bridge at 00:1f.0, with the ACPI PM timer firmware delays with and PM1 control. */
    @Override
    public List<dev.mesovirt.vmm.arch.ChipsetFunction> chipsetFunctions(GuestPower power) {
        dev.mesovirt.arch.x86_64.devices.Ich9Lpc lpc = new dev.mesovirt.arch.x86_64.devices.Ich9Lpc(power);
        return List.of(new dev.mesovirt.vmm.arch.ChipsetFunction(dev.mesovirt.arch.x86_64.devices.Ich9Lpc.SLOT, 0,
                lpc, lpc::placeOn));
    }

    /** As QEMU's PC machines: the flash units end at 4 GiB, unit 0 at the top. */
    @Override
    public java.util.OptionalLong flashBase(long totalBytes) {
        if (totalBytes <= 0 || totalBytes > FLASH_LIMIT) {
            return java.util.OptionalLong.empty();
        }
        return java.util.OptionalLong.of(FOUR_GIB - totalBytes);
    }

    /** The flash's room at the top of the 4 GiB hole, above the platform devices (QEMU's limit for it). */
    static final long FLASH_LIMIT = 8L << 20;
    private static final long FOUR_GIB = 1L << 32;

    @Override
    public long vmType(Kvm kvm, MemoryLayout layout) {
        return 0;
    }

    @Override
    public IrqChip createIrqChip(Vm vm, MemoryLayout layout, int vcpus) {
        return new X86IrqChip(vm);
    }

    /** The legacy PC devices, the ACPI sleep registers and the power button (a Generic Event Device on IRQ 9). */
    @Override
    public List<PlatformDevice> platformDevices(Vm vm, MemoryLayout layout, IrqChip irqChip, GuestPower power) {
        Irq buttonIrq = irqChip.allocate(IrqUse.POWER_BUTTON);
        GedPowerButton button = new GedPowerButton(buttonIrq, level -> vm.setIrqLine(buttonIrq.kvmLine(), level));
        return List.of(
                new PlatformDevice("rtc", BusKind.PIO, RTC_PORT, 2, new CmosRtc(ramBelow4g(layout), ramAbove4g(layout))),
                new PlatformDevice("i8042", BusKind.PIO, I8042_PORT, I8042.LENGTH, new I8042(power)),
                new PlatformDevice("pvpanic", BusKind.PIO, PVPANIC_PORT, 1, new PvPanic(power)),
                new PlatformDevice("acpi-sleep", BusKind.MMIO, ACPI_SLEEP_REGISTERS, AcpiSleepRegisters.LENGTH,
                        new AcpiSleepRegisters(power, ACPI_RESET_VALUE)),
                new PlatformDevice("ged", BusKind.MMIO, GED_BASE, GedPowerButton.LENGTH, button));
    }

    /**
     * The firmware (OVMF) starts where an x86 CPU comes out of reset: real mode, CS base 0xFFFF0000, IP 0xFFF0, i.e.
     * 4 GiB - 16, the top of pflash unit 0. KVM creates vCPUs in that state; nothing goes into RAM.
     */
    @Override
    public BootPlan firmwareBoot(GuestMemory memory, MemoryLayout layout, int vcpus) {
        return BootPlan.firmwareReset(0xFFFF_FFF0L);
    }

    private static long ramBelow4g(MemoryLayout layout) {
        return layout.ram().stream().filter(r -> r.guestAddress() < FOUR_GIB).mapToLong(r -> r.size()).sum();
    }

    private static long ramAbove4g(MemoryLayout layout) {
        return layout.ramSize() - ramBelow4g(layout);
    }

    @Override
    public BootPlan loadGuest(GuestMemory memory, MemoryLayout layout, BootRequest request) throws BootException {
        BzImage kernel = parseKernel(request.kernel());
        long lowRamEnd = layout.ram().get(0).end();
        long initrdLength = initrdLength(request.initrd());

        KernelPlacement placement;
        try {
            placement = KernelPlacement.compute(kernel, lowRamEnd, initrdLength);
        } catch (KernelPlacementException e) {
            throw new BootException(e.getMessage(), e);
        }
        // Straight from the parsed file into guest RAM: no second heap copy of the kernel.
        ByteBuffer code = kernel.protectedModeCode();
        for (ByteBuffer target : memory.slices(placement.kernelLoadAddress(), code.remaining())) {
            ByteBuffer part = code.slice(code.position(), target.remaining());
            target.put(part);
            code.position(code.position() + part.capacity());
        }
        if (request.initrd().isPresent()) {
            BootFiles.load(memory, request.initrd().get(), placement.initrdAddress(), initrdLength);
        }

        boolean acpiOff = disablesAcpi(request.commandLine());
        KernelCommandLine cmdline;
        try {
            // Kernel parameters go before a "--", after which the words are init's.
            String text = request.commandLine();
            int dashes = (" " + text + " ").indexOf(" -- ");
            String kernelPart = dashes < 0 ? text : text.substring(0, dashes);
            cmdline = KernelCommandLine.forKernel(kernel.header()).append(kernelPart);
            if (acpiOff) {
                // Without ACPI the guest learns of the virtio-mmio slots from its command line, as StratoVirt's and
                // QEMU's microvm tell it then (Linux's virtio_mmio.device=SIZE@BASE:IRQ, "virtio-mmio.N" devices).
                for (DeviceDescription d : request.devices()) {
                    if (d instanceof DeviceDescription.VirtioMmio v) {
                        cmdline.param("virtio_mmio.device", v.size() + "@0x" + Long.toHexString(v.base()) + ":"
                                + v.irq().firmwareNumber());
                    }
                }
            }
            if (dashes >= 0) {
                cmdline.append(text.substring(dashes));
            }
        } catch (IllegalArgumentException e) {
            throw new BootException("bad kernel command line: " + e.getMessage(), e);
        }
        memory.write(LowMemoryMap.CMDLINE_ADDR, cmdline.toBytes());

        requireBridgeOfLayout(request, layout);
        AcpiPlatform platform = acpiPlatform(request);
        AcpiImage acpi = AcpiTables.build(LowMemoryMap.ACPI_TABLES_ADDR, platform);
        if (acpi.endAddress() > RESET_VECTOR) {
            throw new BootException("ACPI tables too large: they reach 0x" + Long.toHexString(acpi.endAddress()));
        }
        memory.write(acpi.baseAddress(), acpi.bytes());
        if (acpiOff) {
            // CPUs and interrupt wiring for a guest that reads no MADT: the MP tables, in the BIOS area Linux scans
            // (0xF0000-0xFFFFF), after the ACPI tables, below the reset vector; reserved in the e820 map with them.
            long mpAddress = Math.max(alignUp(acpi.endAddress(), 16), MP_TABLE_AREA);
            byte[] mp = MpTable.build(mpAddress, platform);
            if (mpAddress + mp.length > RESET_VECTOR) {
                throw new BootException("MP tables too large: they reach 0x" + Long.toHexString(mpAddress + mp.length));
            }
            memory.write(mpAddress, mp);
        }

        byte[] zeroPage = BootParams.builder(kernel)
                .commandLine(LowMemoryMap.CMDLINE_ADDR)
                .placement(placement)
                .acpiRsdp(acpi.rsdpAddress())
                .e820(e820(layout))
                .build();
        memory.write(LowMemoryMap.ZERO_PAGE_ADDR, zeroPage);
        memory.write(RESET_VECTOR, RESET_STUB);
        for (Map.Entry<Long, byte[]> e : LongModeSetup.memoryImage().entrySet()) {
            memory.write(e.getKey(), e.getValue());
        }
        return new BootPlan(placement.entry64(), LowMemoryMap.ZERO_PAGE_ADDR, placement.kernelLoadAddress(),
                placement.kernelEnd(), placement.initrdAddress(), placement.initrdSize(), cmdline.toString());
    }

    /**
     * Whether the kernel command line turns ACPI off for the guest: {@code acpi=off} not overridden by a later
     * {@code acpi=force}, as Linux's x86 parse_acpi() reads them in order (Kata Containers boots StratoVirt's microvm
     * with acpi=off).
     */
    static boolean disablesAcpi(String commandLine) {
        boolean off = false;
        for (String word : commandLine.trim().split("\\s+")) {
            if (word.equals("acpi=off")) {
                off = true;
            } else if (word.equals("acpi=force")) {
                off = false;
            }
        }
        return off;
    }

    private static BzImage parseKernel(Path path) throws BootException {
        try {
            return BzImage.parse(path);
        } catch (NoSuchFileException e) {
            throw new BootException("kernel " + path + ": no such file");
        } catch (IOException e) {
            throw new BootException("kernel " + path + ": cannot read: " + e.getMessage(), e);
        } catch (InvalidKernelException e) {
            throw new BootException("kernel " + path + ": " + e.getMessage(), e);
        }
    }

    private static long initrdLength(Optional<Path> initrd) throws BootException {
        if (initrd.isEmpty()) {
            return 0;
        }
        try {
            long size = Files.size(initrd.get());
            if (size == 0) {
                throw new BootException("initrd " + initrd.get() + " is empty");
            }
            return size;
        } catch (IOException e) {
            throw new BootException("initrd " + initrd.get() + ": cannot read: " + e.getMessage(), e);
        }
    }


    /**
     * The boot_params memory map: RAM as the layout has it and, on a standard machine, the ECAM window reserved, so
     * that Linux accepts MMCONFIG in its early check (pci_mmcfg_reserved: for a BIOS without a DMI date of 2016 or
     * later, an MCFG window counts as reserved only where E820 says so; the late check looks for the DSDT's
     * PNP0C02 instead). The PCI address windows stay out of the map, as holes, like the microVM's virtio window.
     */
    static List<E820Entry> e820(MemoryLayout layout) {
        long lowRamEnd = layout.ram().get(0).end();
        long highRam = layout.ram().size() > 1 ? layout.ram().get(1).size() : 0;
        List<E820Entry> reserved = layout.pci()
                .map(pci -> List.of(E820Entry.reserved(pci.ecamBase(), pci.ecamSize())))
                .orElse(List.of());
        return LowMemoryMap.e820(lowRamEnd, highRam, reserved);
    }

    /**
     * The PCI host bridge the firmware tables describe must be the one the memory layout placed, and its address
     * windows must be clear of RAM: the guest assigns BARs anywhere in them.
     */
    static void requireBridgeOfLayout(BootRequest request, MemoryLayout layout) {
        for (DeviceDescription d : request.devices()) {
            if (d instanceof DeviceDescription.PciHostBridge b && !layout.pci().equals(Optional.of(b.layout()))) {
                throw new IllegalArgumentException("the PCI host bridge described (" + b.layout()
                        + ") is not the memory layout's (" + layout.pci() + ")");
            }
        }
        layout.pci().ifPresent(pci -> {
            List<PciLayout.Window> windows = new ArrayList<>();
            windows.add(new PciLayout.Window(pci.ecamBase(), pci.ecamSize()));
            windows.add(pci.mmio32());
            pci.mmio64().ifPresent(windows::add);
            for (PciLayout.Window w : windows) {
                for (GuestMemory.Region r : layout.ram()) {
                    if (w.base() < r.end() && r.guestAddress() < w.end()) {
                        throw new IllegalArgumentException("PCI range [0x" + Long.toHexString(w.base()) + ", 0x"
                                + Long.toHexString(w.end()) + ") overlaps RAM at 0x"
                                + Long.toHexString(r.guestAddress()));
                    }
                }
            }
        });
    }

    static AcpiPlatform acpiPlatform(BootRequest request) {
        return acpiPlatform(request.vcpus(), request.devices());
    }

    /** The ACPI view of a machine of {@code vcpus} vCPUs with {@code devices}. */
    static AcpiPlatform acpiPlatform(int vcpus, List<DeviceDescription> devices) {
        List<AcpiPlatform.VirtioMmioSlot> virtio = new ArrayList<>();
        AcpiPlatform.SerialPort serial = AcpiPlatform.SerialPort.com1();
        Optional<AcpiPlatform.PowerButton> button = Optional.empty();
        Optional<AcpiPlatform.PciHostBridge> bridge = Optional.empty();
        for (DeviceDescription d : devices) {
            switch (d) {
                case DeviceDescription.Serial s -> serial = new AcpiPlatform.SerialPort((int) s.base(), s.irq().firmwareNumber());
                case DeviceDescription.VirtioMmio v -> virtio.add(
                        new AcpiPlatform.VirtioMmioSlot(v.base(), v.size(), v.irq().firmwareNumber()));
                case DeviceDescription.PowerButton b -> button = Optional.of(powerButton(b, button.isPresent()));
                case DeviceDescription.PciHostBridge p -> bridge = Optional.of(pciHostBridge(p, bridge.isPresent()));
                // OVMF finds its flash and fw_cfg at fixed places; the ACPI tables do not describe them.
                case DeviceDescription.Flash f -> { }
                case DeviceDescription.FirmwareConfig c -> { }
            }
        }
        return new AcpiPlatform(vcpus, AcpiPlatform.DEFAULT_LAPIC_ADDRESS, 0,
                AcpiPlatform.DEFAULT_IOAPIC_ADDRESS, 0, serial, virtio,
                new AcpiPlatform.SleepRegisters(ACPI_SLEEP_REGISTERS, ACPI_SLEEP_REGISTERS + 1,
                        ACPI_SLEEP_REGISTERS + 2, ACPI_RESET_VALUE),
                Optional.of(PVPANIC_PORT), true, button, bridge);
    }

    /**
     * The DSDT describes a host bridge as x86 wires it: configuration mechanism #1 at 0xCF8 beside ECAM (Linux
     * probes the former before it trusts MMCONFIG early, and the bridge's _CRS claims the ports), and the four INTx
     * lines on level-triggered I/O APIC pins.
     */
    private static AcpiPlatform.PciHostBridge pciHostBridge(DeviceDescription.PciHostBridge b, boolean another) {
        if (another) {
            throw new IllegalArgumentException("more than one PCI host bridge: " + b);
        }
        PciLayout pci = b.layout();
        if (!pci.legacyConfigPorts()) {
            throw new IllegalArgumentException("an x86 PCI host bridge also answers configuration mechanism #1 at "
                    + "ports 0xCF8-0xCFF: " + b);
        }
        List<Integer> gsis = new ArrayList<>();
        for (Irq irq : b.intx()) {
            if (!irq.levelTriggered()) {
                throw new IllegalArgumentException("PCI INTx lines are level-triggered, not " + irq);
            }
            gsis.add(irq.firmwareNumber());
        }
        return new AcpiPlatform.PciHostBridge(pci.ecamBase(), pci.buses(), pci.io().map(X86_64Architecture::window),
                window(pci.mmio32()), pci.mmio64().map(X86_64Architecture::window), gsis);
    }

    private static AcpiPlatform.Window window(PciLayout.Window w) {
        return new AcpiPlatform.Window(w.base(), w.size());
    }

    /** The DSDT describes a GED as this architecture's {@link GedPowerButton} works: MMIO, level-triggered. */
    private static AcpiPlatform.PowerButton powerButton(DeviceDescription.PowerButton b, boolean another) {
        if (another) {
            throw new IllegalArgumentException("more than one power button: " + b);
        }
        if (b.bus() != BusKind.MMIO || b.size() < AcpiPlatform.PowerButton.SELECTOR_LENGTH
                || !b.irq().levelTriggered()) {
            throw new IllegalArgumentException("x86_64 describes a power button as a Generic Event Device: an MMIO "
                    + "window of at least " + AcpiPlatform.PowerButton.SELECTOR_LENGTH
                    + " bytes and a level-triggered interrupt, not " + b);
        }
        return new AcpiPlatform.PowerButton(b.base(), b.irq().firmwareNumber());
    }

    @Override
    public void configureVcpu(Vm vm, Vcpu vcpu, int vcpuCount, BootPlan plan) {
        if (plan.firmware()) {
            VcpuConfigurator.configureForFirmware(vcpu, CpuidTable.supported(vm.kvm()), vcpuCount);
            return;
        }
        VcpuConfigurator.configure(vcpu, CpuidTable.supported(vm.kvm()), vcpuCount, plan.entry(), plan.firmwareAddress());
    }

    /** kvmclock, frozen while paused as QEMU's kvmclock device does: see {@link KvmClock}. */
    @Override
    public PausedClock pauseClock(Vm vm, List<Vcpu> vcpus, GuestMemory memory) {
        return KvmClock.pause(vm, vcpus, memory);
    }

    /** vCPUs as {@code vcpu0..}, then {@code irqchip}: PICs, IOAPIC, PIT and kvmclock. */
    @Override
    public List<String> stateSections(int vcpus) {
        List<String> ids = new java.util.ArrayList<>();
        for (int i = 0; i < vcpus; i++) {
            ids.add(X86VcpuState.sectionId(i));
        }
        ids.add(X86VmState.ID);
        return ids;
    }

    @Override
    public List<dev.mesovirt.vmm.snapshot.Section> saveState(Vm vm, List<Vcpu> vcpus, GuestMemory memory,
                                                            PausedClock clock, IrqChip irqChip) {
        List<Integer> msrs = X86StateIo.msrIndices(vm.kvm());
        List<dev.mesovirt.vmm.snapshot.Section> out = new java.util.ArrayList<>();
        for (Vcpu v : vcpus) {
            X86VcpuState s = X86StateIo.save(vm, v, msrs);
            X86StateIo.logSaved(v.id(), s);
            out.add(s.toSection(v.id()));
        }
        out.add(X86StateIo.saveVm(vm, vcpus, memory, clock).toSection());
        return out;
    }

    @Override
    public void restoreState(Vm vm, List<Vcpu> vcpus, IrqChip irqChip,
                             java.util.Map<String, dev.mesovirt.vmm.snapshot.Section> sections) {
        // Decode everything first: bad data is refused before KVM is touched.
        X86VmState machine = X86VmState.fromSection(sections.get(X86VmState.ID));
        List<X86VcpuState> states = new java.util.ArrayList<>();
        for (Vcpu v : vcpus) {
            states.add(X86VcpuState.fromSection(sections.get(X86VcpuState.sectionId(v.id()))));
        }
        X86StateIo.restoreVm(vm, machine);
        List<CpuidEntry> cpuid = CpuidTable.supported(vm.kvm());
        for (int i = 0; i < vcpus.size(); i++) {
            VcpuConfigurator.setCpuid(vcpus.get(i), cpuid, vcpus.size());
            X86StateIo.restore(vcpus.get(i), states.get(i));
        }
        X86StateIo.restoreClock(vm, machine);
    }

    /** The allow-list in seccomp.txt next to this class (one readable file; see SeccompTableTest). */
    @Override
    public java.util.Optional<dev.mesovirt.vmm.seccomp.SyscallTable> seccompTable() {
        return java.util.Optional.of(dev.mesovirt.vmm.seccomp.SyscallTable.load(getClass(), "seccomp.txt"));
    }
}
