package dev.mesovirt.arch.x86_64.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.arch.x86_64.X86_64Architecture;
import dev.mesovirt.vmm.arch.BootRequest;
import dev.mesovirt.vmm.arch.BusKind;
import dev.mesovirt.vmm.arch.DeviceDescription;
import dev.mesovirt.vmm.arch.Irq;
import dev.mesovirt.vmm.arch.MachineType;
import dev.mesovirt.vmm.arch.MemoryLayout;
import dev.mesovirt.vmm.memory.GuestMemory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * loadGuest of the microVM for a kernel command line that turns ACPI off (Kata Containers' acpi=off): the guest
 * then finds its CPUs and I/O APIC in MP tables and the virtio-mmio slots on its command line, as under StratoVirt;
 * with ACPI on nothing of that is written.
 */
class AcpiOffLoadTest {
    private static final X86_64Architecture ARCH = new X86_64Architecture();

    @TempDir
    Path dir;

    private static List<DeviceDescription> devices() {
        return List.of(new DeviceDescription.Serial(BusKind.PIO, 0x3F8, 0, new Irq(4, 4, 4, false)),
                new DeviceDescription.VirtioMmio(0xFEB0_0000L, 0x200, new Irq(16, 16, 16, true)),
                new DeviceDescription.VirtioMmio(0xFEB0_0200L, 0x200, new Irq(17, 17, 17, true)));
    }

    /** Loads a synthetic kernel with {@code cmdline}; returns the command line the guest gets and the memory. */
    private String load(GuestMemory memory, MemoryLayout layout, String cmdline) throws Exception {
        Path kernel = Files.write(dir.resolve("vmlinuz"), SyntheticBzImage.create().build());
        ARCH.loadGuest(memory, layout, new BootRequest(kernel, Optional.empty(), cmdline, 2, devices()));
        byte[] text = memory.read(LowMemoryMap.CMDLINE_ADDR, 4096);
        int end = 0;
        while (text[end] != 0) {
            end++;
        }
        return new String(text, 0, end, StandardCharsets.US_ASCII);
    }

    /** Where Linux's smp_scan_config finds an "_MP_" floating pointer in the BIOS area, or -1. */
    private static long floatingPointer(GuestMemory memory) {
        for (long a = 0xF0000L; a < 0x100000L; a += 16) {
            if (new String(memory.read(a, 4), StandardCharsets.US_ASCII).equals("_MP_")) {
                return a;
            }
        }
        return -1;
    }

    @Test
    void acpiOffWritesMpTablesAndPutsTheSlotsOnTheCommandLine() throws Exception {
        MemoryLayout layout = ARCH.memoryLayout(MachineType.MICROVM, 256L << 20, 2);
        try (GuestMemory memory = GuestMemory.allocate(layout.ram())) {
            String cmdline = load(memory, layout, "reboot=k panic=1 pci=off iommu=off acpi=off debug -- init-arg");
            assertEquals("reboot=k panic=1 pci=off iommu=off acpi=off debug virtio_mmio.device=512@0xfeb00000:16"
                    + " virtio_mmio.device=512@0xfeb00200:17 -- init-arg", cmdline,
                    "the slots as Linux's virtio_mmio.device=SIZE@BASE:IRQ, before init's words");
            long fp = floatingPointer(memory);
            assertTrue(fp >= 0xF0000L, "an MP floating pointer in 0xF0000-0xFFFFF");
            long table = memory.readInt(fp + 4) & 0xFFFF_FFFFL;
            assertEquals("PCMP", new String(memory.read(table, 4), StandardCharsets.US_ASCII));
            int length = memory.readShort(table + 4) & 0xFFFF;
            assertTrue(table + length <= 0xFFFF0L, "below the reset vector");
            int sum = 0;
            for (byte b : memory.read(table, length)) {
                sum += b;
            }
            assertEquals(0, sum & 0xFF, "checksum");
            assertEquals(2 + 1 + 1 + 24 + 2, memory.readShort(table + 34), "2 CPUs, a bus, the I/O APIC, 24 pins"
                    + " and the two local interrupts");
            assertTrue(table >= LowMemoryMap.ACPI_TABLES_ADDR && table + length
                    <= LowMemoryMap.ACPI_TABLES_ADDR + LowMemoryMap.ACPI_TABLES_SIZE,
                    "in the BIOS area the e820 map reserves with the ACPI tables");
        }
    }

    @Test
    void withAcpiNothingChanges() throws Exception {
        MemoryLayout layout = ARCH.memoryLayout(MachineType.MICROVM, 256L << 20, 2);
        for (String cmdline : List.of("console=ttyS0 quiet", "acpi=off acpi=force", "noacpi=off")) {
            try (GuestMemory memory = GuestMemory.allocate(layout.ram())) {
                String loaded = load(memory, layout, cmdline);
                assertEquals(cmdline, loaded, "no virtio_mmio.device parameters");
                assertFalse(loaded.contains("virtio_mmio"));
                assertEquals(-1, floatingPointer(memory), "no MP tables: " + cmdline);
            }
        }
    }
}
