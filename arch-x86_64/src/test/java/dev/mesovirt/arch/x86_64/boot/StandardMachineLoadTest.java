package dev.mesovirt.arch.x86_64.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.arch.x86_64.X86_64Architecture;
import dev.mesovirt.vmm.arch.BootRequest;
import dev.mesovirt.vmm.arch.BusKind;
import dev.mesovirt.vmm.arch.DeviceDescription;
import dev.mesovirt.vmm.arch.Irq;
import dev.mesovirt.vmm.arch.MachineType;
import dev.mesovirt.vmm.arch.MemoryLayout;
import dev.mesovirt.vmm.arch.PciLayout;
import dev.mesovirt.vmm.memory.GuestMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * loadGuest for the standard machine, into real guest memory (no KVM needed): what the guest finds in the zero
 * page's memory map and in the ACPI area.
 */
class StandardMachineLoadTest {

    private static final X86_64Architecture ARCH = new X86_64Architecture();

    private static List<DeviceDescription> devices(PciLayout pci) {
        List<Irq> intx = IntStream.rangeClosed(16, 19).mapToObj(g -> new Irq(g, g, g, true)).toList();
        return List.of(new DeviceDescription.Serial(BusKind.PIO, 0x3F8, 0, new Irq(4, 4, 4, false)),
                new DeviceDescription.PciHostBridge(pci, intx));
    }

    private static List<E820Entry> e820Of(GuestMemory memory) {
        ByteBuffer zeroPage = ByteBuffer.wrap(memory.read(LowMemoryMap.ZERO_PAGE_ADDR, BootProtocol.ZERO_PAGE_SIZE))
                .order(ByteOrder.LITTLE_ENDIAN);
        int count = zeroPage.get(BootProtocol.ZP_E820_ENTRIES) & 0xFF;
        List<E820Entry> map = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int at = BootProtocol.ZP_E820_TABLE + i * BootProtocol.E820_ENTRY_SIZE;
            map.add(new E820Entry(zeroPage.getLong(at), zeroPage.getLong(at + 8), zeroPage.getInt(at + 16)));
        }
        return map;
    }

    /** The tables' signatures in XSDT order, found from the RSDP as the guest finds them. */
    private static List<String> xsdtTables(GuestMemory memory) {
        long rsdp = LowMemoryMap.ACPI_TABLES_ADDR;
        assertEquals("RSD PTR ", new String(memory.read(rsdp, 8), StandardCharsets.US_ASCII));
        long xsdt = memory.readLong(rsdp + 24);
        int length = memory.readInt(xsdt + 4);
        List<String> signatures = new ArrayList<>();
        for (long entry = xsdt + 36; entry < xsdt + length; entry += 8) {
            signatures.add(new String(memory.read(memory.readLong(entry), 4), StandardCharsets.US_ASCII));
        }
        return signatures;
    }

    @Test
    void theGuestFindsTheEcamWindowReservedAndAnMcfg(@TempDir Path dir) throws Exception {
        Path kernel = Files.write(dir.resolve("vmlinuz"), SyntheticBzImage.create().build());
        MemoryLayout layout = ARCH.memoryLayout(MachineType.STANDARD, 3L << 30, 2);
        PciLayout pci = layout.pci().orElseThrow();
        assertEquals(new PciLayout.HostBridgeId(0x8086, 0x29c0), pci.hostBridge(), "q35's MCH, as QEMU's q35");
        try (GuestMemory memory = GuestMemory.allocate(layout.ram())) {
            ARCH.loadGuest(memory, layout, new BootRequest(kernel, Optional.empty(), "", 2, devices(pci)));
            List<E820Entry> map = e820Of(memory);
            assertEquals(List.of(
                    E820Entry.ram(0, LowMemoryMap.EBDA_ADDR),
                    E820Entry.reserved(LowMemoryMap.EBDA_ADDR, LowMemoryMap.LOW_MEMORY_END - LowMemoryMap.EBDA_ADDR),
                    E820Entry.reserved(LowMemoryMap.ACPI_TABLES_ADDR, LowMemoryMap.ACPI_TABLES_SIZE),
                    E820Entry.ram(LowMemoryMap.HIMEM_START, 0x8000_0000L - LowMemoryMap.HIMEM_START),
                    E820Entry.reserved(0xB000_0000L, 0x1000_0000L),
                    E820Entry.ram(1L << 32, 1L << 30)), map);
            assertEquals(List.of("FACP", "APIC", "MCFG"), xsdtTables(memory));
        }
    }

    @Test
    void theMicrovmMapAndTablesHaveNoPci(@TempDir Path dir) throws Exception {
        Path kernel = Files.write(dir.resolve("vmlinuz"), SyntheticBzImage.create().build());
        MemoryLayout layout = ARCH.memoryLayout(MachineType.MICROVM, 256L << 20, 1);
        try (GuestMemory memory = GuestMemory.allocate(layout.ram())) {
            ARCH.loadGuest(memory, layout, new BootRequest(kernel, Optional.empty(), "", 1, List.of()));
            assertEquals(LowMemoryMap.e820(256L << 20, 0), e820Of(memory));
            assertEquals(List.of("FACP", "APIC"), xsdtTables(memory));
        }
    }

    @Test
    void aBridgeTheLayoutDoesNotHaveIsRefused(@TempDir Path dir) throws Exception {
        Path kernel = Files.write(dir.resolve("vmlinuz"), SyntheticBzImage.create().build());
        MemoryLayout microvm = ARCH.memoryLayout(MachineType.MICROVM, 256L << 20, 1);
        PciLayout pci = ARCH.memoryLayout(MachineType.STANDARD, 256L << 20, 1).pci().orElseThrow();
        try (GuestMemory memory = GuestMemory.allocate(microvm.ram())) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ARCH.loadGuest(memory,
                    microvm, new BootRequest(kernel, Optional.empty(), "", 1, devices(pci))));
            assertTrue(e.getMessage().contains("is not the memory layout's"), e.getMessage());
        }
    }
}
