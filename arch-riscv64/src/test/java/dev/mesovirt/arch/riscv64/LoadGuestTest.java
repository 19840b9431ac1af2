package dev.mesovirt.arch.riscv64;

import static dev.mesovirt.arch.riscv64.Fixtures.MIB;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.fdt.DeviceTree;
import dev.mesovirt.vmm.arch.Architecture;
import dev.mesovirt.vmm.arch.Architectures;
import dev.mesovirt.vmm.arch.BootException;
import dev.mesovirt.vmm.arch.BootPlan;
import dev.mesovirt.vmm.arch.BootRequest;
import dev.mesovirt.vmm.arch.BusKind;
import dev.mesovirt.vmm.arch.MachineType;
import dev.mesovirt.vmm.arch.MemoryLayout;
import dev.mesovirt.vmm.memory.GuestMemory;
import dev.mesovirt.vmm.testing.BootFixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** loadGuest into real (mmap'd, KVM-less) guest memory, and the architecture's registration and layout. */
class LoadGuestTest {
    @TempDir
    Path dir;

    private DeviceTree lastTree;

    private BootPlan load(long ram, int vcpus, byte[] kernel, byte[] initrd, String cmdline) throws Exception {
        Riscv64Architecture arch = Fixtures.arch(vcpus);
        MemoryLayout layout = arch.memoryLayout(MachineType.MICROVM, ram, vcpus);
        BootRequest request = BootFixtures.request(dir, kernel, initrd, cmdline, vcpus, Fixtures.devices(layout, 2));
        try (GuestMemory memory = GuestMemory.allocate(layout.ram())) {
            BootPlan plan = arch.loadGuest(memory, layout, request);
            assertArrayEquals(kernel, memory.read(plan.kernelStart(), kernel.length));
            if (initrd != null) {
                assertArrayEquals(initrd, memory.read(plan.initrdStart(), initrd.length));
            }
            byte[] header = memory.read(plan.firmwareAddress(), 8);
            int total = ((header[4] & 0xff) << 24) | ((header[5] & 0xff) << 16) | ((header[6] & 0xff) << 8)
                    | (header[7] & 0xff);
            lastTree = DeviceTree.parse(memory.read(plan.firmwareAddress(), total));
            return plan;
        }
    }

    @Test
    void loadsKernelInitrdAndDeviceTree() throws Exception {
        byte[] initrd = new byte[300_000];
        new java.util.Random(1).nextBytes(initrd);
        BootPlan plan = load(128 * MIB, 2, Fixtures.standard(), initrd, "console=ttyS0");
        assertEquals(0x8020_0000L, plan.entry());
        assertEquals(0x8020_0000L, plan.kernelStart());
        assertEquals(0x8060_0000L, plan.kernelEnd());
        assertEquals(0x8000_0000L + 126 * MIB, plan.firmwareAddress());
        assertEquals(plan.initrdStart(), lastTree.node("/chosen").property("linux,initrd-start").orElseThrow().asU64());
        assertEquals("console=ttyS0", plan.commandLine());
        assertTrue(lastTree.find("/cpus/cpu@1").isPresent());
    }

    @Test
    void badKernelsAreClearBootExceptions() throws Exception {
        Path gz = dir.resolve("vmlinuz.gz");
        try (GZIPOutputStream out = new GZIPOutputStream(Files.newOutputStream(gz))) {
            out.write(Fixtures.standard());
        }
        String m = assertThrows(BootException.class, () -> load(128 * MIB, 1, Files.readAllBytes(gz), null, ""))
                .getMessage();
        assertTrue(m.matches("kernel .*Image is gzip-compressed .*decompress it first.*"), m);
        String t = assertThrows(BootException.class, () -> load(32 * MIB, 1, Fixtures.image(2 * MIB, 40 * MIB, 4096),
                null, "")).getMessage();
        assertTrue(t.startsWith("too little memory"), t);
        String c = assertThrows(BootException.class, () -> load(128 * MIB, 1, Fixtures.standard(), null,
                "x".repeat(1024))).getMessage();
        assertTrue(c.startsWith("kernel command line too long"), c);
    }

    @Test
    void layoutAndRegistration() {
        Riscv64Architecture arch = new Riscv64Architecture();
        MemoryLayout l = arch.memoryLayout(MachineType.MICROVM, 256 * MIB, 4);
        assertEquals(0x8000_0000L, l.ram().get(0).guestAddress());
        assertEquals(BusKind.MMIO, l.serial().bus());
        assertEquals(0x1000_0000L, l.serial().base());
        assertFalse(l.serial().out2Gated(), "no PC-style OUT2 gate on the virt board's MMIO UART");
        assertEquals("riscv", arch.qmpCpuArch());
        assertEquals(0x1001_0000L, l.virtioMmioSlot(0));
        assertThrows(IllegalArgumentException.class, () -> arch.memoryLayout(MachineType.MICROVM, 8 * MIB, 1));
        assertThrows(IllegalArgumentException.class, () -> arch.memoryLayout(MachineType.MICROVM, 256 * MIB, 0));
        assertThrows(IllegalArgumentException.class, () -> arch.memoryLayout(MachineType.MICROVM, 256 * MIB, 513));
        assertTrue(arch.runsOn("riscv64"));
        assertTrue(!arch.runsOn("amd64"));
        assertEquals("ttyS0", arch.serialConsoleName());
        Architecture found = Architectures.available().stream().filter(a -> a.name().equals("riscv64")).findFirst()
                .orElseThrow();
        assertEquals(Riscv64Architecture.class, found.getClass());
        assertThrows(IllegalStateException.class, () -> arch.loadGuest(null, l,
                new BootRequest(Path.of("x"), Optional.empty(), "", 1, java.util.List.of())));
    }
}
