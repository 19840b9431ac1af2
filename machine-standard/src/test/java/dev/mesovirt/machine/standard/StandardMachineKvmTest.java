package dev.mesovirt.machine.standard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.vmm.arch.DeviceDescription;
import dev.mesovirt.vmm.arch.PciLayout;
import dev.mesovirt.vmm.kvm.Kvm;
import dev.mesovirt.vmm.kvm.RequiresKvm;
import dev.mesovirt.vmm.machine.DevicePlacement;
import dev.mesovirt.vmm.machine.MachineConfig;
import dev.mesovirt.vmm.machine.SerialConfig;
import dev.mesovirt.vmm.machine.TinyX86;
import dev.mesovirt.vmm.machine.VirtioConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The standard machine on this machine's /dev/kvm, built by the real StandardMachine from a tiny test architecture
 * ({@link TinyX86#withPci}) with a PCI layout (no ISA knowledge here: the "firmware" is x86 real-mode code because the
 * test runs on x86). From the reset vector it reads, through configuration mechanism #1 (0xCF8/0xCFC), the host bridge's IDs, a virtio-blk-pci's
 * IDs at 00:03.0, the BAR 4 address the board's firmware assignment gave it, and the root port's secondary bus, and
 * reports every byte on port 0x80; then spins. A machine reset must give the same answers on the new VM.
 */
@RequiresKvm
class StandardMachineKvmTest {
    private static final long MMIO32_BASE = 0xC000_0000L;
    private static final long MMIO32_SIZE = 0x1000_0000L;
    /** ECAM for 16 buses, 0xCF8 ports, a 32-bit window and no 64-bit one. */
    private static final PciLayout PCI = new PciLayout(0xB000_0000L, 16,
            Optional.of(new PciLayout.Window(0xC000, 0x4000)), new PciLayout.Window(MMIO32_BASE, MMIO32_SIZE),
            Optional.empty(), true, PciLayout.HostBridgeId.Q35_MCH);

    private final TinyX86 arch = TinyX86.withPci(PCI, firmware());
    /** How many of the architecture's port 0x80 reports {@link #answers} has read. */
    private int taken;

    @TempDir
    Path dir;

    @BeforeEach
    void needKvmOnX86() {
        TinyX86.requireKvmOnX86();
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
            assertTrue(bar4 >= MMIO32_BASE && bar4 < MMIO32_BASE + MMIO32_SIZE,
                    "BAR 4 assigned in the 32-bit window before boot: 0x" + Long.toHexString(bar4));
            assertEquals(1, first.secondaryBus(), "the root port's secondary bus numbered 1");
            assertEquals(1, arch.requests.size());
            DeviceDescription.PciHostBridge bridge = assertInstanceOf(DeviceDescription.PciHostBridge.class,
                    arch.requests.get(0).devices().get(arch.requests.get(0).devices().size() - 1));
            assertEquals(PCI, bridge.layout());

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

    /** The next five 32-bit answers, each reported on port 0x80 low byte first. */
    private Answers answers() throws InterruptedException {
        int[] v = new int[5];
        for (int i = 0; i < 5; i++) {
            for (int b = 0; b < 4; b++) {
                v[i] |= nextReport() << (8 * b);
            }
        }
        return new Answers(v[0], v[1], v[2], v[3], v[4] & 0xFF);
    }

    private int nextReport() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (arch.bootReports.size() <= taken && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertTrue(arch.bootReports.size() > taken, "the guest reported nothing within 30 s");
        return arch.bootReports.get(taken++);
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
}
