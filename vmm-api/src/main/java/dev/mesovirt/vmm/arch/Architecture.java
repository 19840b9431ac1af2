package dev.mesovirt.vmm.arch;

import dev.mesovirt.vmm.kvm.Kvm;
import dev.mesovirt.vmm.kvm.KvmCapability;
import dev.mesovirt.vmm.kvm.Vcpu;
import dev.mesovirt.vmm.kvm.Vm;
import dev.mesovirt.vmm.memory.GuestMemory;
import java.util.List;

/**
 * The instruction-set-specific half of a machine, found with {@link java.util.ServiceLoader}. Like the JDK's
 * {@code jdk.internal.foreign.abi} leaves, an implementation computes plain data (a {@link MemoryLayout}, an
 * {@link Irq}, a {@link BootPlan}) that the architecture-neutral machine code acts on, and does the few steps that
 * only it can do (interrupt controller creation, guest loading with firmware tables, vCPU register set-up).
 *
 * <p>The machine calls, in order: {@link #requiredCapabilities}, {@link #memoryLayout}, {@link #vmType},
 * {@link #createIrqChip}, {@link #platformDevices}, {@link #loadGuest} (or {@link #firmwareBoot}), then
 * {@link #configureVcpu} for each vCPU
 * (after creating all of them), then {@link IrqChip#finishAfterVcpus}.
 */
public interface Architecture {
    /** The ISA name, e.g. {@code x86_64}, {@code aarch64}, {@code riscv64}; also QMP's query-target answer. */
    String name();

    /**
     * The ISA as QEMU's {@code CpuInfoArch} names it in QMP's query-cpus: {@code x86}, {@code riscv}, ...; QEMU's enum
     * has no member for some ISAs (arm), which it reports as {@code other}, the default.
     */
    default String qmpCpuArch() {
        return "other";
    }

    /** Whether this implementation drives KVM on a host whose {@code os.arch} is {@code osArch}. */
    boolean runsOn(String osArch);

    /** The guest device name of the first serial port, for {@code console=}. */
    String serialConsoleName();

    /** KVM capabilities without which this architecture cannot build a machine. */
    List<KvmCapability> requiredCapabilities();

    /**
     * The machine types this architecture lays out, by the names {@code -machine} takes (QEMU's and StratoVirt's:
     * {@code microvm}; {@code q35} for x86_64's standard machine).
     */
    default java.util.Map<String, MachineType> machineTypes() {
        return java.util.Map.of("microvm", MachineType.MICROVM);
    }

    /**
     * The guest-physical map for a machine of this type and size; rejects types not in {@link #machineTypes()} and
     * sizes the architecture cannot lay out. A standard machine's layout has a {@link MemoryLayout#pci()}.
     */
    MemoryLayout memoryLayout(MachineType type, long ramBytes, int vcpus);

    /**
     * Why a firmware image whose last 16 bytes are {@code codeTail} cannot be started by this ISA's CPUs from the top
     * of the flash (the image of pflash unit 0, e.g. an arm64 AAVMF image given to an x86 machine); empty if it looks
     * right. The default: this architecture starts no firmware from pflash.
     */
    default java.util.Optional<String> firmwareMismatch(byte[] codeTail) {
        return java.util.Optional.of("the " + name() + " machine starts no firmware from pflash");
    }

    /**
     * Why pflash unit 0's image {@code code} cannot be started by this ISA's CPUs; empty if it looks right. The
     * default asks {@link #firmwareMismatch(byte[])} about its last 16 bytes (x86's reset vector); arm64, whose CPU
     * starts at the image's first byte, looks there.
     */
    default java.util.Optional<String> firmwareMismatch(dev.mesovirt.vmm.firmware.FlashImage code) {
        return firmwareMismatch(code.tail());
    }

    /**
     * The guest-physical address where flash units of {@code totalBytes} together begin (unit 0 the highest), or
     * empty where the machine has no place for them. The default: none.
     */
    default java.util.OptionalLong flashBase(long totalBytes) {
        return java.util.OptionalLong.empty();
    }

    /**
     * Where each of {@code units} (checked, in unit order) goes: its guest-physical base, in the same order.
     * IllegalArgumentException with a message for the user when they do not fit. The default stacks them below
     * {@link #flashBase} as x86 does (unit 0 at the top), within {@link dev.mesovirt.vmm.firmware.FlashImage#TOTAL_LIMIT}
     * together.
     */
    default List<Long> flashPlacement(List<dev.mesovirt.vmm.firmware.FlashImage> units) {
        long total = units.stream().mapToLong(dev.mesovirt.vmm.firmware.FlashImage::size).sum();
        if (total > dev.mesovirt.vmm.firmware.FlashImage.TOTAL_LIMIT) {
            throw new IllegalArgumentException("the pflash units take " + total + " bytes together, more than the "
                    + (dev.mesovirt.vmm.firmware.FlashImage.TOTAL_LIMIT >> 20) + " MiB below 4 GiB they may take");
        }
        java.util.OptionalLong base = flashBase(total);
        if (base.isEmpty()) {
            throw new IllegalArgumentException("the " + name() + " standard machine has no room for " + total
                    + " bytes of pflash");
        }
        List<Long> bases = new java.util.ArrayList<>();
        long top = base.getAsLong() + total;
        for (dev.mesovirt.vmm.firmware.FlashImage u : units) {
            top -= u.size();
            bases.add(top);
        }
        return List.copyOf(bases);
    }

    /** How the flash units' chips are wired (block size, bank width). The default: x86's one byte-wide chip. */
    default dev.mesovirt.vmm.firmware.CfiFlash.Geometry flashGeometry() {
        return dev.mesovirt.vmm.firmware.CfiFlash.Geometry.X86;
    }

    /**
     * Where the console UART is, and which one, on a machine of {@code layout} that starts firmware from pflash
     * (arm64's EDK2 drives only a PL011). The default: the layout's, as for a kernel.
     */
    default MemoryLayout.SerialPlacement firmwareSerial(MemoryLayout layout) {
        return layout.serial();
    }

    /** The machine-type word for KVM_CREATE_VM. */
    long vmType(Kvm kvm, MemoryLayout layout);

    /** Creates the in-kernel interrupt controller; called before any vCPU exists. */
    IrqChip createIrqChip(Vm vm, MemoryLayout layout, int vcpus);

    /**
     * Architecture-specific devices every machine has (e.g. x86's RTC, i8042 and ACPI sleep registers), and the
     * {@link PowerButton} where the architecture has one. {@code vm} is for devices that raise interrupts
     * ({@link Vm#setIrqLine}) with lines allocated from {@code irqChip}.
     */
    List<PlatformDevice> platformDevices(Vm vm, MemoryLayout layout, IrqChip irqChip, GuestPower power);

    /**
     * Loads the kernel and initrd into guest memory and writes the firmware tables (x86: boot_params and ACPI;
     * arm64 and riscv64: a device tree) that describe {@code request.devices()}.
     */
    BootPlan loadGuest(GuestMemory memory, MemoryLayout layout, BootRequest request) throws BootException;

    /**
     * For a machine that starts firmware from flash instead of a kernel: prepares what that firmware needs in RAM
     * and returns a plan with {@link BootPlan#firmware()} set, for which {@link #configureVcpu} leaves the vCPUs at
     * their reset state. The default: this architecture starts no firmware.
     */
    default BootPlan firmwareBoot(GuestMemory memory, MemoryLayout layout, int vcpus) throws BootException {
        throw new BootException("the " + name() + " machine cannot start firmware from pflash");
    }

    /**
     * As {@link #firmwareBoot(GuestMemory, MemoryLayout, int)}, for firmware that reads a description of the machine
     * ({@code devices}: the UART, the PCI host bridge, the flash units, fw_cfg...) from RAM, as arm64's EDK2 reads a
     * device tree. The default ignores them.
     */
    default BootPlan firmwareBoot(GuestMemory memory, MemoryLayout layout, int vcpus, List<DeviceDescription> devices)
            throws BootException {
        return firmwareBoot(memory, layout, vcpus);
    }

    /**
     * The chipset functions firmware programs on a standard machine's root bus (x86: the ICH9 LPC bridge with the
     * ACPI PM timer that OVMF's timer library counts with, and the PM1 control register its ResetSystem powers off
     * through); new ones for each machine, whose guest power requests go to {@code power}. The default: none.
     */
    default List<ChipsetFunction> chipsetFunctions(GuestPower power) {
        return List.of();
    }

    /**
     * QEMU's firmware configuration device as this architecture's firmware finds it (x86: ports 0x510-0x51B), with
     * the items it reads about a machine of {@code layout} with {@code vcpus} vCPUs and {@code devices} (what the
     * ACPI tables it hands over describe), its DMA reaching {@code memory};
     * empty where the architecture has none. With {@code kernel}, the firmware boots that kernel, which the device
     * carries as the firmware reads it; a kernel file that is not one for this architecture is an
     * IllegalArgumentException with a message for the user. The default: none.
     */
    default java.util.Optional<PlatformDevice> firmwareConfig(MemoryLayout layout, int vcpus, GuestMemory memory,
            List<DeviceDescription> devices, java.util.Optional<FirmwareKernel> kernel) {
        return java.util.Optional.empty();
    }

    /** Sets a vCPU's architectural state (registers, CPUID, MSRs...) so that vCPU 0 enters the kernel. */
    void configureVcpu(Vm vm, Vcpu vcpu, int vcpuCount, BootPlan plan);

    /**
     * Called with every vCPU parked (QMP stop): freezes the guest's clock as QEMU does, so that the paused time does
     * not appear to the guest when it runs again; returns what {@code cont} calls, with the vCPUs still parked, to
     * let the clock go on from where it stopped. The default freezes nothing (the guest sees the pause as lost time).
     */
    default PausedClock pauseClock(Vm vm, List<Vcpu> vcpus, GuestMemory memory) {
        return PausedClock.NONE;
    }

    /**
     * The ids of the sections {@link #saveState} gives for a machine with {@code vcpus} vCPUs (vCPUs first, then the
     * interrupt controller's), in order: the restore checks a snapshot's header against them before building.
     */
    default List<String> stateSections(int vcpus) {
        throw new dev.mesovirt.vmm.snapshot.SnapshotException("snapshot: not supported on " + name() + " yet");
    }

    /**
     * The state of every vCPU and of the in-kernel interrupt controller and clock as plain sections, taken with
     * every vCPU parked outside KVM_RUN ({@link #stateSections} order) after a KVM_RUN that returned EINTR (as the
     * machine's pause parks them): KVM completes an I/O or MMIO exit only when the vCPU enters KVM_RUN again, so a
     * vCPU saved right after one would repeat the access. {@code clock} is what {@link #pauseClock} froze when the
     * machine was paused, so that the snapshot's clock is the one the guest saw stop. {@code irqChip} is what
     * {@link #createIrqChip} made for this VM (arm64 and riscv64 read their controller's state through its device).
     */
    default List<dev.mesovirt.vmm.snapshot.Section> saveState(Vm vm, List<Vcpu> vcpus, GuestMemory memory,
                                                             PausedClock clock, IrqChip irqChip) {
        throw new dev.mesovirt.vmm.snapshot.SnapshotException("snapshot: not supported on " + name() + " yet");
    }

    /**
     * Instead of {@link #configureVcpu}, on a restore: gives each freshly created vCPU (and the interrupt controller
     * and clock) the state {@link #saveState} took, in the order KVM needs; {@code sections} are by id. Bad section
     * data (a size or version this VMM does not read) is a {@link dev.mesovirt.vmm.snapshot.SnapshotException}.
     * Called before {@link IrqChip#finishAfterVcpus} (which must then accept being called again): a controller whose
     * state KVM takes only once initialised (arm64's vGIC, riscv64's AIA) is initialised here first.
     */
    default void restoreState(Vm vm, List<Vcpu> vcpus, IrqChip irqChip,
                              java.util.Map<String, dev.mesovirt.vmm.snapshot.Section> sections) {
        throw new dev.mesovirt.vmm.snapshot.SnapshotException("snapshot: not supported on " + name() + " yet");
    }

    /**
     * This ISA's seccomp allow-list: the system calls the VMM (its JVM included) makes once the machine is built, by
     * this ISA's numbers; empty if the architecture has none (then the VMM runs only with seccomp off).
     */
    default java.util.Optional<dev.mesovirt.vmm.seccomp.SyscallTable> seccompTable() {
        return java.util.Optional.empty();
    }

    /** A frozen guest clock, released by {@link #resume}. */
    @FunctionalInterface
    interface PausedClock {
        PausedClock NONE = () -> { };

        void resume();
    }
}
