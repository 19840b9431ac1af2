package dev.mesovirt.arch.aarch64;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.fdt.DeviceTree;
import dev.mesovirt.fdt.FdtNode;
import dev.mesovirt.vmm.arch.BootException;
import dev.mesovirt.vmm.arch.BootPlan;
import dev.mesovirt.vmm.arch.BootRequest;
import dev.mesovirt.vmm.arch.MachineType;
import dev.mesovirt.vmm.arch.MemoryLayout;
import dev.mesovirt.vmm.memory.GuestMemory;
import dev.mesovirt.vmm.testing.BootFixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** loadGuest into real (mmap'd, KVM-less) guest memory. */
class LoadGuestTest {
    private static final long MIB = 1L << 20;

    @TempDir
    Path dir;

    private BootPlan load(long ram, int vcpus, byte[] kernel, byte[] initrd, String cmdline) throws Exception {
        MemoryLayout layout = Fixtures.ARCH.memoryLayout(MachineType.MICROVM, ram, vcpus);
        BootRequest request = BootFixtures.request(dir, kernel, initrd, cmdline, vcpus, Fixtures.devices(layout, 2));
        try (GuestMemory memory = GuestMemory.allocate(layout.ram())) {
            BootPlan plan = Fixtures.ARCH.loadGuest(memory, layout, request);
            assertArrayEquals(kernel, memory.read(plan.kernelStart(), kernel.length));
            if (initrd != null) {
                assertArrayEquals(initrd, memory.read(plan.initrdStart(), initrd.length));
            }
            byte[] header = memory.read(plan.firmwareAddress(), 8);
            int total = ((header[4] & 0xff) << 24) | ((header[5] & 0xff) << 16) | ((header[6] & 0xff) << 8) | (header[7] & 0xff);
            lastTree = DeviceTree.parse(memory.read(plan.firmwareAddress(), total));
            return plan;
        }
    }

    private DeviceTree lastTree;

    private String error(long ram, byte[] kernel, byte[] initrd) {
        return assertThrows(BootException.class, () -> load(ram, 1, kernel, initrd, "")).getMessage();
    }

    @Test
    void bootsTheKernelWithDeviceTreeInX0() throws Exception {
        byte[] kernel = SyntheticImage.standard();
        BootPlan plan = load(64 * MIB, 2, kernel, null, "console=ttyS0");
        assertEquals(0x4000_0000L, plan.entry());
        assertEquals(plan.entry(), plan.kernelStart());
        assertEquals(0x4000_0000L + MIB, plan.kernelEnd());
        assertEquals(0x4000_0000L + 62 * MIB, plan.firmwareAddress());
        assertEquals(0, plan.firmwareAddress() % 8);
        assertEquals(0, plan.initrdStart());
        assertEquals("console=ttyS0", plan.commandLine());
        assertEquals("console=ttyS0", lastTree.node("/chosen").property("bootargs").orElseThrow().asString());
        assertEquals(2, lastTree.node("/cpus").children().size());
    }

    @Test
    void initrdBelowTheDeviceTree() throws Exception {
        byte[] initrd = new byte[3 * (int) MIB + 5];
        for (int i = 0; i < initrd.length; i++) {
            initrd[i] = (byte) (i ^ (i >> 8));
        }
        BootPlan plan = load(64 * MIB, 1, SyntheticImage.standard(), initrd, "");
        assertEquals(initrd.length, plan.initrdSize());
        assertEquals(0, plan.initrdStart() % 4096);
        assertTrue(plan.initrdStart() >= plan.kernelEnd());
        assertTrue(plan.initrdStart() + initrd.length <= plan.firmwareAddress());
        FdtNode chosen = lastTree.node("/chosen");
        assertEquals(plan.initrdStart(), chosen.property("linux,initrd-start").orElseThrow().asU64());
        assertEquals(plan.initrdStart() + initrd.length, chosen.property("linux,initrd-end").orElseThrow().asU64());
    }

    @Test
    void legacyTextOffset() throws Exception {
        BootPlan plan = load(64 * MIB, 1, SyntheticImage.image(0x80000, 4 * MIB, 0, 8192), null, "");
        assertEquals(0x4008_0000L, plan.entry());
    }

    @Test
    void clearErrors() throws Exception {
        byte[] gz = {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
        String m = error(64 * MIB, gz, null);
        assertTrue(m.startsWith("kernel " + dir.resolve("Image")) && m.contains("decompress it first"), m);
        assertTrue(error(64 * MIB, new byte[200], null).contains("not an arm64 Image"));
        assertTrue(error(64 * MIB, new byte[10], null).contains("truncated"));
        assertTrue(error(64 * MIB, SyntheticImage.image(0, 1 << 20, 1, 4096), null).contains("big-endian"));
        m = error(16 * MIB, SyntheticImage.image(0, 20 * MIB, 0xa, 4096), null);
        assertTrue(m.contains("too little memory") && m.contains("16 MiB"), m);
        m = error(64 * MIB, SyntheticImage.standard(), new byte[61 * (int) MIB + 1]);
        assertTrue(m.contains("initrd") && m.contains("does not fit"), m);
        assertTrue(error(64 * MIB, SyntheticImage.standard(), new byte[0]).contains("is empty"));
    }

    @Test
    void missingFilesAndLongCommandLines() throws Exception {
        MemoryLayout layout = Fixtures.ARCH.memoryLayout(MachineType.MICROVM, 64 * MIB, 1);
        try (GuestMemory memory = GuestMemory.allocate(layout.ram())) {
            BootRequest missing = Fixtures.request(dir.resolve("nope"), Optional.empty(), "", 1, Fixtures.devices(layout, 0));
            assertTrue(assertThrows(BootException.class, () -> Fixtures.ARCH.loadGuest(memory, layout, missing))
                    .getMessage().contains("no such file"));
            Path k = Files.write(dir.resolve("Image"), SyntheticImage.standard());
            BootRequest longLine = Fixtures.request(k, Optional.empty(), "a".repeat(2048), 1, Fixtures.devices(layout, 0));
            assertTrue(assertThrows(BootException.class, () -> Fixtures.ARCH.loadGuest(memory, layout, longLine))
                    .getMessage().contains("too long"));
            BootRequest fits = Fixtures.request(k, Optional.empty(), "a".repeat(2047), 1, Fixtures.devices(layout, 0));
            Fixtures.ARCH.loadGuest(memory, layout, fits);
        }
    }
}
