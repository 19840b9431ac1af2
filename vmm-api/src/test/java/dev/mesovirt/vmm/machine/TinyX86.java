package dev.mesovirt.vmm.machine;

import dev.mesovirt.vmm.arch.Architecture;
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
import dev.mesovirt.vmm.arch.PowerButton;
import dev.mesovirt.vmm.bus.BusDevice;
import dev.mesovirt.vmm.kvm.GsiRoute;
import dev.mesovirt.vmm.kvm.Kvm;
import dev.mesovirt.vmm.kvm.KvmCapability;
import dev.mesovirt.vmm.kvm.Vcpu;
import dev.mesovirt.vmm.kvm.Vm;
import dev.mesovirt.vmm.memory.GuestMemory;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A test ISA that boots on an x86 host's /dev/kvm with no guest kernel: RAM at 0 and at the reset vector's page, no
 * in-kernel irqchip, and as "firmware" 13 bytes at the reset vector (an x86 vCPU starts there, 0xFFFFFFF0 in real
 * mode, with no register set-up at all) that report a RAM byte on port 0x80, overwrite it, and spin. Every boot, the
 * first and each reset's, adds one report; a platform power button counts its presses and resets.
 * {@link #withPci} makes the standard-machine variant: a PCI layout, an interrupt controller that takes MSI routes,
 * and the caller's real-mode code at F000:0000 (the reset vector jumps there), each byte it writes to port 0x80 one
 * report.
 */
public final class TinyX86 implements Architecture {
    private static final long RESET_PAGE = 0xFFFF_0000L;
    private static final long RESET_VECTOR = 0xFFFF_FFF0L;
    /** mov al,[0x500]; out 0x80,al; mov byte [0x500],0x55; jmp $ (spins: HLT would end the run without an irqchip). */
    private static final byte[] FIRMWARE = {
        (byte) 0xA0, 0x00, 0x05,
        (byte) 0xE6, (byte) 0x80,
        (byte) 0xC6, 0x06, 0x00, 0x05, 0x55,
        (byte) 0xEB, (byte) 0xFE,
    };

    /** Where {@link #withPci}'s code lies: F000:0000 in real mode. */
    private static final long CODE = 0xF_0000L;

    private final Optional<PciLayout> pci;
    private final byte[] code;
    private final int virtioSlots;

    /** The RAM byte each boot found at 0x500 (0 when RAM was zeroed); with {@link #withPci}, each byte written to 0x80. */
    public final List<Integer> bootReports = new CopyOnWriteArrayList<>();
    public final AtomicInteger presses = new AtomicInteger();
    public final AtomicInteger buttonResets = new AtomicInteger();
    /** What each boot asked {@link #loadGuest} to describe. */
    public final List<BootRequest> requests = new CopyOnWriteArrayList<>();

    /** The microVM variant: no PCI, {@link #FIRMWARE} at the reset vector. */
    public TinyX86() {
        this(Optional.empty(), FIRMWARE, 0);
    }

    private TinyX86(Optional<PciLayout> pci, byte[] code, int virtioSlots) {
        this.pci = pci;
        this.code = code.clone();
        this.virtioSlots = virtioSlots;
    }

    /**
     * The microVM variant with {@code slots} virtio-mmio slots (for the board's devices; their interrupts go through
     * KVM_IRQ_LINE, which nothing here raises: the firmware never drives a device).
     */
    public static TinyX86 withVirtioSlots(int slots) {
        return new TinyX86(Optional.empty(), FIRMWARE, slots);
    }

    /** The standard-machine variant: {@code pci} as its layout, {@code code} run from F000:0000. */
    public static TinyX86 withPci(PciLayout pci, byte[] code) {
        return new TinyX86(Optional.of(pci), code, 0);
    }

    /** The layout {@link #withPci} was given. */
    public Optional<PciLayout> pciLayout() {
        return pci;
    }

    /**
     * The precondition of a test that boots this architecture: an x86 host (skipped elsewhere: the firmware is x86
     * code) with a usable /dev/kvm ({@link dev.mesovirt.vmm.kvm.KvmAvailability#require}).
     */
    public static void requireKvmOnX86() {
        org.junit.jupiter.api.Assumptions.assumeTrue(hostIsX86(), "the test firmware is x86 real-mode code");
        dev.mesovirt.vmm.kvm.KvmAvailability.require();
    }

    /** Whether this JVM runs on x86, where the firmware is code. */
    public static boolean hostIsX86() {
        String arch = System.getProperty("os.arch");
        return "amd64".equals(arch) || "x86_64".equals(arch);
    }

    @Override
    public String name() {
        return "tiny-x86";
    }

    @Override
    public boolean runsOn(String osArch) {
        return true;
    }

    @Override
    public java.util.Map<String, MachineType> machineTypes() {
        return pci.isPresent() ? java.util.Map.of("q35", MachineType.STANDARD) : java.util.Map.of("microvm", MachineType.MICROVM);
    }

    @Override
    public String serialConsoleName() {
        return "ttyS0";
    }

    @Override
    public List<KvmCapability> requiredCapabilities() {
        return List.of();
    }

    @Override
    public MemoryLayout memoryLayout(MachineType type, long ramBytes, int vcpus) {
        return new MemoryLayout(List.of(new GuestMemory.Region(0, ramBytes), new GuestMemory.Region(RESET_PAGE,
                0x1_0000)), pci.isPresent() ? 0 : 0xD000_0000L, 0x200, virtioSlots,
                new MemoryLayout.SerialPlacement(BusKind.PIO, 0x3f8, 0, true), pci);
    }

    @Override
    public long vmType(Kvm kvm, MemoryLayout layout) {
        return 0;
    }

    @Override
    public IrqChip createIrqChip(Vm vm, MemoryLayout layout, int vcpus) {
        return new IrqChip() {
            private int next = pci.isPresent() ? 16 : 4;

            @Override
            public Irq allocate(IrqUse use) {
                int n = next++;
                return new Irq(n, n, n, use == IrqUse.PCI_INTX);
            }

            // MSI routes are taken (a standard machine needs them) but never delivered: no test code enables MSI.
            @Override
            public boolean supportsMsi() {
                return pci.isPresent();
            }

            @Override
            public int firstMsiGsi() {
                return 24;
            }

            @Override
            public GsiRoute msiRoute(int gsi, long address, int data, int deviceId) {
                return new GsiRoute.Msi(gsi, address, data, OptionalInt.empty());
            }

            /** No in-kernel irqchip to take an irqfd: the slots signal through KVM_IRQ_LINE (never used here). */
            @Override
            public boolean irqfdPulsesEdges() {
                return false;
            }

            @Override
            public void finishAfterVcpus() {
            }

            @Override
            public String description() {
                return "none";
            }
        };
    }

    @Override
    public List<PlatformDevice> platformDevices(Vm vm, MemoryLayout layout, IrqChip irqChip, GuestPower power) {
        BusDevice port80 = new BusDevice() {
            @Override
            public void read(long offset, byte[] data) {
            }

            @Override
            public void write(long offset, byte[] data) {
                bootReports.add(data[0] & 0xFF);
            }
        };
        Irq buttonIrq = irqChip.allocate(IrqUse.POWER_BUTTON);
        PowerButton button = new PowerButton() {
            @Override
            public Irq irq() {
                return buttonIrq;
            }

            @Override
            public void press() {
                presses.incrementAndGet();
            }

            @Override
            public void reset() {
                buttonResets.incrementAndGet();
            }

            @Override
            public void read(long offset, byte[] data) {
            }

            @Override
            public void write(long offset, byte[] data) {
            }
        };
        List<PlatformDevice> out = new ArrayList<>();
        out.add(new PlatformDevice("port80", BusKind.PIO, 0x80, 1, port80));
        out.add(new PlatformDevice("button", BusKind.MMIO, 0xFEA0_0300L, 4, button));
        return out;
    }

    @Override
    public BootPlan loadGuest(GuestMemory memory, MemoryLayout layout, BootRequest request) {
        requests.add(request);
        if (pci.isEmpty()) {
            memory.write(RESET_VECTOR, code);
        } else {
            memory.write(CODE, code);
            // At F000:FFF0: jmp F000:0000 (jmp far ptr16:16).
            memory.write(RESET_VECTOR, new byte[] {(byte) 0xEA, 0x00, 0x00, 0x00, (byte) 0xF0});
        }
        return new BootPlan(RESET_VECTOR, 0, RESET_VECTOR, RESET_VECTOR + 16, 0, 0, request.commandLine());
    }

    @Override
    public void configureVcpu(Vm vm, Vcpu vcpu, int vcpuCount, BootPlan plan) {
        // The architectural reset state enters at F000:FFF0 = 0xFFFFFFF0.
    }
}
