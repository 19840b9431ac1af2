package dev.mesovirt.machine.standard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.mesovirt.vmm.arch.Architecture;
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
import dev.mesovirt.vmm.bus.BusDevice;
import dev.mesovirt.vmm.kvm.GsiRoute;
import dev.mesovirt.vmm.kvm.Kvm;
import dev.mesovirt.vmm.kvm.KvmAvailability;
import dev.mesovirt.vmm.kvm.KvmCapability;
import dev.mesovirt.vmm.kvm.RequiresKvm;
import dev.mesovirt.vmm.kvm.Vcpu;
import dev.mesovirt.vmm.kvm.Vm;
import dev.mesovirt.vmm.machine.DevicePlacement;
import dev.mesovirt.vmm.machine.MachineConfig;
import dev.mesovirt.vmm.machine.SerialConfig;
import dev.mesovirt.vmm.machine.VirtioConfig;
import dev.mesovirt.vmm.memory.GuestMemory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The standard machine on this machine's /dev/kvm, built by the real StandardMachine from a tiny test architecture
 * with a PCI layout (no ISA knowledge here: the "firmware" is x86 real-mode code because the test runs on x86). At the
 * reset vector it reads, through configuration mechanism #1 (0xCF8/0xCFC), the host bridge's IDs, a virtio-blk-pci's
 * IDs at 00:03.0, the BAR 4 address the board's firmware assignment gave it, and the root port's secondary bus, and
 * reports every byte on port 0x80; then spins. A machine reset must give the same answers on the new VM.
 */
@RequiresKvm
class StandardMachineKvmTest {
    private static final long RESET_VECTOR = 0xFFFF_FFF0L;
    private static final long RESET_PAGE = 0xFFFF_0000L;
    /** Where the firmware's code lies: the reset vector jumps here (F000:0000 = 0xF0000 in real mode). */
    private static final long CODE = 0xF_0000L;

    @TempDir
    Path dir;

    private final LinkedBlockingQueue<Integer> reports = new LinkedBlockingQueue<>();

    @BeforeEach
    void needKvmOnX86() {
        String arch = System.getProperty("os.arch");
        assumeTrue("amd64".equals(arch) || "x86_64".equals(arch), "the test firmware is x86 real-mode code");
        KvmAvailability.require();
    }

    @Test
    void theGuestFindsTheHostBridgeAVirtioBlkPciAndARootPortAcrossAReset() throws Exception {
        Path image = Files.write(dir.resolve("disk.img"), new byte[1 << 20]);
        MachineConfig config = new MachineConfig("q35-test", Optional.empty(), 16L << 20, 1,
                Path.of("/nonexistent-kernel-the-test-arch-loads-none"), Optional.empty(), "", new SerialConfig.None(),
                false, List.of(new VirtioConfig.Block("blk0", image, false, false, Optional.empty(),
                        Optional.of(new DevicePlacement.Pci(PciTopology.ROOT_BUS, 3, 0)))),
                MachineConfig.HotplugSlots.NONE);
        PciTopology topology = new PciTopology(List.of(new PciTopology.RootPort("pcie.1", 1, 5, 0)));
        TinyQ35 arch = new TinyQ35(reports);
        List<Thread> deviceThread;
        try (StandardMachine machine = new StandardMachine(config, topology, arch, Kvm.DEFAULT_PATH)) {
            machine.start();
            deviceThread = threadsNamed("virtio-blk0");
            assertEquals(1, deviceThread.size(), "blk0's queue work has a thread of its own");
            Answers first = answers();
            assertEquals(0x29C0_8086, first.hostBridge(), "the q35 host bridge at 00:00.0");
            assertEquals(0x1042_1AF4, first.virtioBlk(), "virtio-blk-pci (modern ID 0x1040 + 2) at 00:03.0");
            assertEquals(0x000C_1B36, first.rootPort(), "the PCIe root port at 00:05.0");
            // BAR 4's low half: a 64-bit prefetchable memory BAR (type bits 0xC); the layout has no 64-bit window, so it
            // goes into the 32-bit one.
            assertEquals(0xC, first.bar4() & 0xF, "BAR 4 is 64-bit prefetchable memory");
            long bar4 = Integer.toUnsignedLong(first.bar4()) & ~0xFL;
            assertTrue(bar4 >= TinyQ35.MMIO32_BASE && bar4 < TinyQ35.MMIO32_BASE + TinyQ35.MMIO32_SIZE,
                    "BAR 4 assigned in the 32-bit window before boot: 0x" + Long.toHexString(bar4));
            assertEquals(1, first.secondaryBus(), "the root port's secondary bus numbered 1");
            assertEquals(1, arch.requests.size());
            DeviceDescription.PciHostBridge bridge = assertInstanceOf(DeviceDescription.PciHostBridge.class,
                    arch.requests.get(0).devices().get(arch.requests.get(0).devices().size() - 1));
            assertEquals(arch.pci, bridge.layout());

            machine.reset();
            Answers second = answers();
            assertEquals(first, second, "after a reset: a new VM, the same functions, the same assignment");
            assertNotEquals(0, second.bar4());
            assertEquals(2, arch.requests.size());
            assertEquals(deviceThread, threadsNamed("virtio-blk0"), "a reset keeps the device's thread");
        }
        assertFalse(deviceThread.get(0).isAlive(), "closing the machine stops the device's thread");
    }

    private static List<Thread> threadsNamed(String name) {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals(name)).toList();
    }

    private record Answers(int hostBridge, int virtioBlk, int rootPort, int bar4, int secondaryBus) {}

    /** Five 32-bit answers, each reported on port 0x80 low byte first. */
    private Answers answers() throws InterruptedException {
        int[] v = new int[5];
        for (int i = 0; i < 5; i++) {
            for (int b = 0; b < 4; b++) {
                Integer r = reports.poll(30, TimeUnit.SECONDS);
                assertTrue(r != null, "the guest reported nothing within 30 s");
                v[i] |= r << (8 * b);
            }
        }
        return new Answers(v[0], v[1], v[2], v[3], v[4] & 0xFF);
    }

    /**
     * Real-mode firmware: for each configuration address, {@code mov eax, ADDR; mov dx, 0xcf8; out dx, eax; mov dx,
     * 0xcfc; in eax, dx}, then the four bytes out to port 0x80; finally {@code jmp $}.
     */
    private static byte[] firmware() {
        int[] addresses = {
            0x8000_0000, // 00:00.0 vendor/device
            0x8000_1800, // 00:03.0 vendor/device
            0x8000_2800, // 00:05.0 vendor/device
            0x8000_1820, // 00:03.0 BAR 4
            0x8000_2818, // 00:05.0 primary/secondary/subordinate bus numbers (secondary in bits 8-15)
        };
        List<Byte> code = new ArrayList<>();
        for (int a : addresses) {
            add(code, 0x66, 0xB8, a, a >>> 8, a >>> 16, a >>> 24); // mov eax, imm32
            add(code, 0xBA, 0xF8, 0x0C);                           // mov dx, 0xcf8
            add(code, 0x66, 0xEF);                                 // out dx, eax
            add(code, 0xBA, 0xFC, 0x0C);                           // mov dx, 0xcfc
            add(code, 0x66, 0xED);                                 // in eax, dx
            if (a == 0x8000_2818) {
                add(code, 0x66, 0xC1, 0xE8, 0x08);                 // shr eax, 8: the secondary bus in al
            }
            for (int b = 0; b < 4; b++) {
                add(code, 0xE6, 0x80);                             // out 0x80, al
                add(code, 0x66, 0xC1, 0xE8, 0x08);                 // shr eax, 8
            }
        }
        add(code, 0xEB, 0xFE);                                     // jmp $
        byte[] out = new byte[code.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = code.get(i);
        }
        return out;
    }

    private static void add(List<Byte> code, int... bytes) {
        for (int b : bytes) {
            code.add((byte) b);
        }
    }

    /**
     * A test architecture with a standard machine: RAM from 0 and the reset page, a PCI layout (ECAM, a 32-bit window,
     * 0xCF8 ports), port 0x80 reporting, an interrupt controller that takes MSIs without needing any (the firmware
     * enables none), and firmware that jumps from the reset vector to {@link #firmware()}.
     */
    private static final class TinyQ35 implements Architecture {
        static final long MMIO32_BASE = 0xC000_0000L;
        static final long MMIO32_SIZE = 0x1000_0000L;
        final List<BootRequest> requests = new ArrayList<>();
        final PciLayout pci = new PciLayout(0xB000_0000L, 16, Optional.of(new PciLayout.Window(0xC000, 0x4000)),
                new PciLayout.Window(MMIO32_BASE, MMIO32_SIZE), Optional.empty(), true);
        private final LinkedBlockingQueue<Integer> reports;

        TinyQ35(LinkedBlockingQueue<Integer> reports) {
            this.reports = reports;
        }

        @Override
        public String name() {
            return "tiny-q35";
        }

        @Override
        public boolean runsOn(String osArch) {
            return true;
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
                    0x1_0000)), 0, 0x200, 0, new MemoryLayout.SerialPlacement(BusKind.PIO, 0x3f8, 0, true),
                    Optional.of(pci));
        }

        @Override
        public long vmType(Kvm kvm, MemoryLayout layout) {
            return 0;
        }

        @Override
        public IrqChip createIrqChip(Vm vm, MemoryLayout layout, int vcpus) {
            return new IrqChip() {
                private int next = 16;

                @Override
                public Irq allocate(IrqUse use) {
                    int n = next++;
                    return new Irq(n, n, n, use == IrqUse.PCI_INTX);
                }

                @Override
                public void finishAfterVcpus() {}

                @Override
                public String description() {
                    return "none (MSIs accepted, never delivered)";
                }

                @Override
                public boolean supportsMsi() {
                    return true;
                }

                @Override
                public int firstMsiGsi() {
                    return 24;
                }

                @Override
                public GsiRoute msiRoute(int gsi, long address, int data, int deviceId) {
                    return new GsiRoute.Msi(gsi, address, data, OptionalInt.empty());
                }
            };
        }

        @Override
        public List<PlatformDevice> platformDevices(Vm vm, MemoryLayout layout, IrqChip irqChip, GuestPower power) {
            BusDevice port80 = new BusDevice() {
                @Override
                public void read(long offset, byte[] data) {}

                @Override
                public void write(long offset, byte[] data) {
                    reports.add(data[0] & 0xFF);
                }
            };
            return List.of(new PlatformDevice("port80", BusKind.PIO, 0x80, 1, port80));
        }

        @Override
        public BootPlan loadGuest(GuestMemory memory, MemoryLayout layout, BootRequest request) {
            requests.add(request);
            memory.write(CODE, firmware());
            // At F000:FFF0: jmp F000:0000 (jmp far ptr16:16).
            memory.write(RESET_VECTOR, new byte[] {(byte) 0xEA, 0x00, 0x00, 0x00, (byte) 0xF0});
            return new BootPlan(RESET_VECTOR, 0, RESET_VECTOR, RESET_VECTOR + 16, 0, 0, request.commandLine());
        }

        @Override
        public void configureVcpu(Vm vm, Vcpu vcpu, int vcpuCount, BootPlan plan) {
            // The architectural reset state enters at F000:FFF0 = 0xFFFFFFF0.
        }
    }
}
