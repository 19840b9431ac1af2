package dev.mesovirt.arch.riscv64;

import com.sun.jna.Memory;
import dev.mesovirt.vmm.arch.Architecture;
import dev.mesovirt.vmm.arch.BootException;
import dev.mesovirt.vmm.arch.BootPlan;
import dev.mesovirt.vmm.arch.BootRequest;
import dev.mesovirt.vmm.arch.BusKind;
import dev.mesovirt.vmm.arch.GuestPower;
import dev.mesovirt.vmm.arch.IrqChip;
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
import dev.mesovirt.vmm.kvm.KvmIoctls;
import dev.mesovirt.vmm.kvm.Vcpu;
import dev.mesovirt.vmm.kvm.Vm;
import dev.mesovirt.vmm.memory.GuestMemory;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * riscv64: a microVM laid out like QEMU's {@code virt} with {@code aia=aplic-imsic} (and kvmtool): the APLIC at
 * 0x0C00_0000, a 16550 UART at 0x1000_0000, virtio-mmio slots from 0x1001_0000, one IMSIC interrupt file per hart
 * from 0x2800_0000, RAM from 0x8000_0000. The kernel is a riscv64 {@code Image} entered in S-mode at its load
 * address with a0 = hart id and a1 = the device tree; secondary harts start stopped and the guest starts them with
 * SBI HSM, which KVM implements, as it does SBI SRST (system reset/shutdown arrive as {@code KVM_EXIT_SYSTEM_EVENT},
 * which the architecture-neutral vCPU loop handles). Interrupts go through KVM's in-kernel AIA ({@link Aia}).
 *
 * <p>The standard machine, {@code -machine virt}, is QEMU's virt board with its generic ECAM PCI Express host bridge
 * (16 buses at 0x3000_0000, a 32-bit window at 0x4000_0000 and a 16 GiB one above RAM) in the device tree; PCI MSIs
 * go straight to the harts' IMSIC files; no virtio-mmio slots; PCI I/O space is not forwarded.
 */
public final class Riscv64Architecture implements Architecture {
    private static final Logger LOG = LoggerFactory.getLogger(Riscv64Architecture.class);

    public static final long APLIC_BASE = 0x0C00_0000L;
    public static final long UART_BASE = 0x1000_0000L;
    public static final int UART_REGISTER_SHIFT = 0;
    public static final long VIRTIO_MMIO_BASE = 0x1001_0000L;
    public static final long VIRTIO_MMIO_SLOT_SIZE = 0x200;
    public static final int VIRTIO_MMIO_SLOTS = 32;
    public static final long IMSIC_BASE = 0x2800_0000L;
    public static final long RAM_BASE = 0x8000_0000L;
    /** The standard machine's PCI windows, as on QEMU's virt: ECAM (16 buses here), 32-bit MMIO, 64-bit MMIO. */
    public static final long PCIE_ECAM_BASE = 0x3000_0000L;
    public static final int PCIE_BUSES = 16;
    public static final PciLayout.Window PCIE_MMIO32 = new PciLayout.Window(0x4000_0000L, 0x4000_0000L);
    /** The 64-bit window's size, and its alignment above RAM (QEMU's virt: 16 GiB). */
    public static final long PCIE_MMIO64_SIZE = 16L << 30;
    /** APLIC sources: the UART and one per virtio-mmio slot. */
    public static final int APLIC_SOURCES = Aia.FIRST_VIRTIO_SOURCE - 1 + VIRTIO_MMIO_SLOTS;
    /** IMSIC files up to 0x2C00_0000 would allow 16384 harts; KVM's own limit is far lower. */
    public static final int MAX_VCPUS = 512;
    public static final long MIN_RAM = 16L << 20;
    /** Guest RAM ends below 2^40 (Sv39 guests map at most 2^39 bytes of RAM linearly; this leaves room). */
    public static final long MAX_RAM_END = 1L << 40;
    public static final int COMMAND_LINE_SIZE = 1024;
    static final int BOOT_WINDOW_MIB = 1024;
    /**
     * boot.rst and kvmtool: the device tree and the initrd in the first {@value #BOOT_WINDOW_MIB} MiB of RAM (or all
     * of it when smaller), which the early boot maps; no firmware needs the 2 MiB below the kernel here, so Linux
     * gets them back as ordinary memory.
     */
    public static final PlacementRules PLACEMENT = new PlacementRules((long) BOOT_WINDOW_MIB << 20, Optional.empty(),
            "text_offset + image_size");
    static final ImageProtocol IMAGE_PROTOCOL = new ImageProtocol(RiscvImageHeader.FORMAT, PLACEMENT,
            COMMAND_LINE_SIZE);

    static {
        if (APLIC_BASE + RiscvKvm.APLIC_SIZE > UART_BASE || VIRTIO_MMIO_BASE + VIRTIO_MMIO_SLOTS * VIRTIO_MMIO_SLOT_SIZE
                > IMSIC_BASE || IMSIC_BASE + MAX_VCPUS * RiscvKvm.IMSIC_SIZE > RAM_BASE) {
            throw new AssertionError("overlapping riscv64 MMIO regions");
        }
    }

    /** What KVM's vCPUs look like (read in {@link #createIrqChip}, needed by the device tree in loadGuest). */
    private volatile HostCpu hostCpu;
    private volatile Aia.AiaConfig aiaConfig;

    public Riscv64Architecture() {}

    /** For tests: a machine whose KVM facts are given instead of probed. */
    Riscv64Architecture(HostCpu hostCpu, Aia.AiaConfig aiaConfig) {
        this.hostCpu = hostCpu;
        this.aiaConfig = aiaConfig;
    }

    @Override
    public String name() {
        return "riscv64";
    }

    @Override
    public String qmpCpuArch() {
        return "riscv";
    }

    @Override
    public boolean runsOn(String osArch) {
        return "riscv64".equals(osArch);
    }

    @Override
    public String serialConsoleName() {
        return "ttyS0";
    }

    @Override
    public List<KvmCapability> requiredCapabilities() {
        return List.of(KvmCapability.ONE_REG, KvmCapability.DEVICE_CTRL);
    }

    @Override
    public Map<String, MachineType> machineTypes() {
        return Map.of("microvm", MachineType.MICROVM, "virt", MachineType.STANDARD);
    }

    @Override
    public MemoryLayout memoryLayout(MachineType type, long ramBytes, int vcpus) {
        if (vcpus < 1 || vcpus > MAX_VCPUS) {
            throw new IllegalArgumentException("riscv64 supports 1.." + MAX_VCPUS + " vCPUs, not " + vcpus);
        }
        if (ramBytes < MIN_RAM) {
            throw new IllegalArgumentException("too little memory: " + (ramBytes >> 20) + " MiB (riscv64 needs at least "
                    + (MIN_RAM >> 20) + " MiB)");
        }
        if (ramBytes > MAX_RAM_END - RAM_BASE) {
            throw new IllegalArgumentException("too much memory: " + (ramBytes >> 20) + " MiB does not fit below 0x"
                    + Long.toHexString(MAX_RAM_END));
        }
        List<GuestMemory.Region> ram = List.of(new GuestMemory.Region(RAM_BASE, ramBytes));
        MemoryLayout.SerialPlacement serial = new MemoryLayout.SerialPlacement(BusKind.MMIO, UART_BASE,
                UART_REGISTER_SHIFT, false);
        if (type == MachineType.MICROVM) {
            return new MemoryLayout(ram, VIRTIO_MMIO_BASE, VIRTIO_MMIO_SLOT_SIZE, VIRTIO_MMIO_SLOTS, serial);
        }
        long ramEnd = RAM_BASE + ramBytes;
        long high = (ramEnd + PCIE_MMIO64_SIZE - 1) & -PCIE_MMIO64_SIZE;
        PciLayout pci = new PciLayout(PCIE_ECAM_BASE, PCIE_BUSES, Optional.empty(), PCIE_MMIO32,
                Optional.of(new PciLayout.Window(high, PCIE_MMIO64_SIZE)), false,
                PciLayout.HostBridgeId.REDHAT_PCIE_HOST);
        return new MemoryLayout(ram, VIRTIO_MMIO_BASE, VIRTIO_MMIO_SLOT_SIZE, 0, serial, Optional.of(pci));
    }

    @Override
    public long vmType(Kvm kvm, MemoryLayout layout) {
        return 0;
    }

    @Override
    public IrqChip createIrqChip(Vm vm, MemoryLayout layout, int vcpus) {
        hostCpu = HostCpu.probe(vm.kvm());
        LOG.info("KVM vCPUs: {}, timebase-frequency {} Hz", hostCpu.isaString(), hostCpu.timebaseFrequency());
        Aia aia = Aia.create(vm, AiaMode.configured(), APLIC_SOURCES, APLIC_BASE, IMSIC_BASE, vcpus);
        aiaConfig = aia.config();
        return aia;
    }

    /** None: the UART comes from the neutral machine, power control is SBI SRST, which KVM implements. */
    @Override
    public List<PlatformDevice> platformDevices(Vm vm, MemoryLayout layout, IrqChip irqChip, GuestPower power) {
        return List.of();
    }

    @Override
    public BootPlan loadGuest(GuestMemory memory, MemoryLayout layout, BootRequest request) throws BootException {
        HostCpu cpu = hostCpu;
        Aia.AiaConfig aia = aiaConfig;
        if (cpu == null || aia == null) {
            throw new IllegalStateException("loadGuest before createIrqChip: the vCPU and AIA facts are unknown");
        }
        return ImageBoot.load(IMAGE_PROTOCOL, memory, layout, request,
                (placement, seed) -> Riscv64DeviceTree.build(
                        deviceTreeSpec(layout, request, placement, cpu, aia, seed)));
    }

    static Riscv64DeviceTree.Spec deviceTreeSpec(MemoryLayout layout, BootRequest request, BootPlacement placement,
            HostCpu cpu, Aia.AiaConfig aia, byte[] rngSeed) {
        GuestDescription guest = GuestDescription.of("riscv64", layout, request, placement, rngSeed,
                Aia.source(Aia.SERIAL_SOURCE, true));
        if (guest.powerButton().isPresent()) {
            throw new IllegalArgumentException("the riscv64 machine has no power button");
        }
        Riscv64DeviceTree.Aia dtAia = new Riscv64DeviceTree.Aia(aia.aplicBase(), RiscvKvm.APLIC_SIZE, aia.sources(),
                aia.imsicBase(), RiscvKvm.IMSIC_SIZE, aia.ids(), aia.hartBits());
        return new Riscv64DeviceTree.Spec(request.vcpus(), cpu, dtAia, guest);
    }

    @Override
    public void configureVcpu(Vm vm, Vcpu vcpu, int vcpuCount, BootPlan plan) {
        if (vcpu.id() == 0) {
            // boot.rst: S-mode, satp = 0 (both KVM's reset state), a0 = hart id, a1 = the device tree.
            vcpu.setOneReg(RiscvKvm.CORE_A0, vcpu.id());
            vcpu.setOneReg(RiscvKvm.CORE_A1, plan.firmwareAddress());
            vcpu.setOneReg(RiscvKvm.CORE_PC, plan.entry());
        } else {
            // KVM powers secondary harts off itself (kvm_arch_vcpu_postcreate); say so explicitly, as kvmtool does.
            try (Memory state = new Memory(4)) {
                state.setInt(0, RiscvKvm.MP_STATE_STOPPED);
                vcpu.ioctl(KvmIoctls.SET_MP_STATE, state, "KVM_SET_MP_STATE(STOPPED)");
            } catch (RuntimeException e) {
                LOG.warn("vCPU {}: cannot mark it stopped ({}); relying on KVM's default", vcpu.id(), e.getMessage());
            }
        }
    }

    /**
     * The time CSR, as QEMU keeps it across stop/cont: read while paused, written back at resume (on every hart) so
     * that the guest's time goes on from where it stopped.
     */
    @Override
    public PausedClock pauseClock(Vm vm, List<Vcpu> vcpus, GuestMemory memory) {
        if (vcpus.isEmpty()) {
            return PausedClock.NONE;
        }
        return new FrozenTime(vcpus.get(0).getOneReg(RiscvKvm.TIMER_TIME), List.copyOf(vcpus));
    }

    /** The time CSR's value at the pause; {@link #resume} makes time go on from it. */
    record FrozenTime(long value, List<Vcpu> vcpus) implements PausedClock {
        @Override
        public void resume() {
            for (Vcpu v : vcpus) {
                v.setOneReg(RiscvKvm.TIMER_TIME, value);
            }
        }
    }

    /** vCPUs as {@code vcpu0..}, then {@code aia}: the APLIC and every hart's IMSIC file. */
    @Override
    public List<String> stateSections(int vcpus) {
        return dev.mesovirt.vmm.snapshot.RegisterListState.sectionIds(vcpus, AiaState.ID);
    }

    /**
     * Every hart's registers (config, core, CSRs, timer, F/D, ISA and SBI extensions: all KVM lists) and MP state,
     * then the AIA. The time saved is the one frozen at the pause, so the restored guest sees no time from stop to
     * restore.
     */
    @Override
    public List<dev.mesovirt.vmm.snapshot.Section> saveState(Vm vm, List<Vcpu> vcpus, GuestMemory memory,
                                                            PausedClock clock, IrqChip irqChip) {
        Aia aia = (Aia) irqChip;
        List<dev.mesovirt.vmm.snapshot.Section> out = new java.util.ArrayList<>();
        for (Vcpu v : vcpus) {
            dev.mesovirt.vmm.snapshot.RegisterListState s = dev.mesovirt.vmm.snapshot.RegisterListState.save(v);
            if (clock instanceof FrozenTime frozen) {
                s = s.withRegister(RiscvKvm.TIMER_TIME, frozen.value());
            }
            out.add(s.toSection(v.id()));
        }
        out.add(AiaStateIo.save(aia.device(), aia.config().sources(), aia.config().ids(), vcpus.size()).toSection());
        return out;
    }

    /**
     * Each hart given its registers (in KVM's list order: the ISA configuration before the CSRs that depend on it, the
     * timer's time before its compare value and state) and MP state; then the AIA initialised and given its state.
     */
    @Override
    public void restoreState(Vm vm, List<Vcpu> vcpus, IrqChip irqChip,
                             java.util.Map<String, dev.mesovirt.vmm.snapshot.Section> sections) {
        Aia aia = (Aia) irqChip;
        List<dev.mesovirt.vmm.snapshot.RegisterListState> states = new java.util.ArrayList<>();
        for (Vcpu v : vcpus) {
            states.add(vcpuState(sections.get(dev.mesovirt.vmm.snapshot.RegisterListState.sectionId(v.id()))));
        }
        AiaState aiaState = AiaState.fromSection(sections.get(AiaState.ID), aia.config().sources(), aia.config().ids(),
                vcpus.size());
        for (int i = 0; i < vcpus.size(); i++) {
            states.get(i).restoreTo(vcpus.get(i), Riscv64Architecture::written);
        }
        aia.finishAfterVcpus();
        AiaStateIo.restore(aia.device(), aiaState);
    }

    /**
     * Whether a saved register is written back: all but the timer's state when it is off, which a fresh vCPU's timer
     * is and which KVM refuses to be told (cancelling a timer that is not set is EINVAL; QEMU skips it too).
     */
    static boolean written(dev.mesovirt.vmm.snapshot.RegisterListState.Register r) {
        return r.id() != RiscvKvm.TIMER_STATE || !java.util.Arrays.equals(r.value(), new byte[8]);
    }

    /** A vCPU section: riscv64 registers and MP state. */
    static dev.mesovirt.vmm.snapshot.RegisterListState vcpuState(dev.mesovirt.vmm.snapshot.Section section) {
        return dev.mesovirt.vmm.snapshot.RegisterListState.fromSection(section, "riscv64", RiscvKvm.REG_RISCV,
                java.util.Set.of(RiscvKvm.MP_STATE_RUNNABLE, RiscvKvm.MP_STATE_STOPPED));
    }

    /** The allow-list in seccomp.txt next to this class (one readable file; see SeccompTableTest). */
    @Override
    public java.util.Optional<dev.mesovirt.vmm.seccomp.SyscallTable> seccompTable() {
        return java.util.Optional.of(dev.mesovirt.vmm.seccomp.SyscallTable.load(getClass(), "seccomp.txt"));
    }
}
