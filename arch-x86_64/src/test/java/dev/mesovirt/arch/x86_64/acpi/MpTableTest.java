package dev.mesovirt.arch.x86_64.acpi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The MP tables as Linux's mpparse reads them (arch/x86/kernel/mpparse.c: smp_scan_config, smp_check_mpc,
 * MP_processor_info, MP_bus_info, MP_ioapic_info, MP_intsrc_info): signatures, lengths, checksums, and entries
 * parsed back from the bytes.
 */
class MpTableTest {
    private static final long ADDRESS = 0xF0000L;

    /** One parsed entry: its type and its bytes. */
    private record Entry(int type, ByteBuffer bytes) {}

    private static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static int sum(byte[] b, int from, int length) {
        int s = 0;
        for (int i = from; i < from + length; i++) {
            s += b[i];
        }
        return s & 0xFF;
    }

    /** Walks the configuration table from the floating pointer, as mpparse does, checking both checksums. */
    private static List<Entry> parse(byte[] image) {
        ByteBuffer fp = le(image);
        assertEquals("_MP_", new String(image, 0, 4, StandardCharsets.US_ASCII));
        assertEquals(1, image[8], "length in 16-byte units");
        assertEquals(4, image[9], "MP spec 1.4");
        assertEquals(0, sum(image, 0, MpTable.FLOATING_POINTER_SIZE), "floating pointer checksum");
        assertEquals(0, image[11], "feature 1: a configuration table, no default configuration");
        int table = (int) (fp.getInt(4) - ADDRESS);
        assertEquals(MpTable.FLOATING_POINTER_SIZE, table, "physptr: right after the pointer");
        assertEquals("PCMP", new String(image, table, 4, StandardCharsets.US_ASCII));
        ByteBuffer h = le(image).position(table).slice().order(ByteOrder.LITTLE_ENDIAN);
        int length = h.getShort(4) & 0xFFFF;
        assertEquals(image.length - table, length, "the base table is the rest of the image");
        assertEquals(4, h.get(6));
        assertEquals(0, sum(image, table, length), "configuration table checksum");
        assertEquals(AcpiPlatform.DEFAULT_LAPIC_ADDRESS, h.getInt(36) & 0xFFFF_FFFFL);
        assertEquals(0, h.getShort(40), "no extended table");
        int count = h.getShort(34) & 0xFFFF;
        List<Entry> entries = new ArrayList<>();
        int at = MpTable.HEADER_SIZE;
        for (int i = 0; i < count; i++) {
            int type = h.get(at) & 0xFF;
            int size = type == MpTable.ENTRY_PROCESSOR ? MpTable.PROCESSOR_ENTRY_SIZE : MpTable.SHORT_ENTRY_SIZE;
            entries.add(new Entry(type, h.slice(at, size).order(ByteOrder.LITTLE_ENDIAN)));
            at += size;
        }
        assertEquals(length, at, "the entry count covers the table");
        return entries;
    }

    private static List<Entry> ofType(List<Entry> entries, int type) {
        return entries.stream().filter(e -> e.type() == type).toList();
    }

    @Test
    void processorsBusIoApicAndEveryPinAsLinuxReadsThem() {
        AcpiPlatform platform = Platforms.platform(3, 0, Optional.empty(), true);
        List<Entry> entries = parse(MpTable.build(ADDRESS, platform));
        List<Entry> cpus = ofType(entries, MpTable.ENTRY_PROCESSOR);
        assertEquals(3, cpus.size());
        for (int i = 0; i < 3; i++) {
            ByteBuffer cpu = cpus.get(i).bytes();
            assertEquals(i, cpu.get(1), "APIC ID = vCPU index, as the MADT has them");
            assertEquals(MpTable.CPU_ENABLED | (i == 0 ? MpTable.CPU_BOOTSTRAP : 0), cpu.get(3),
                    "enabled; the first is the bootstrap processor");
        }
        List<Entry> buses = ofType(entries, MpTable.ENTRY_BUS);
        assertEquals(1, buses.size());
        byte[] busType = new byte[6];
        buses.get(0).bytes().get(2, busType);
        assertEquals("ISA   ", new String(busType, StandardCharsets.US_ASCII));
        List<Entry> ioapics = ofType(entries, MpTable.ENTRY_IOAPIC);
        assertEquals(1, ioapics.size());
        ByteBuffer ioapic = ioapics.get(0).bytes();
        assertEquals(3, ioapic.get(1), "the I/O APIC's ID follows the CPUs'");
        assertEquals(1, ioapic.get(3), "enabled");
        assertEquals(AcpiPlatform.DEFAULT_IOAPIC_ADDRESS, ioapic.getInt(4) & 0xFFFF_FFFFL);
        List<Entry> pins = ofType(entries, MpTable.ENTRY_IO_INTERRUPT);
        assertEquals(MpTable.IOAPIC_PINS, pins.size());
        for (int pin = 0; pin < pins.size(); pin++) {
            ByteBuffer e = pins.get(pin).bytes();
            assertEquals(MpTable.INT_TYPE_INT, e.get(1));
            assertEquals(MpTable.FLAGS_CONFORMING, e.getShort(2), "no virtio slots: every pin conforms to ISA");
            assertEquals(pin, e.get(5), "ISA IRQ n");
            assertEquals(3, e.get(6), "on the I/O APIC");
            assertEquals(pin, e.get(7), "to pin n, as KVM routes GSI n");
        }
        List<Entry> lints = ofType(entries, MpTable.ENTRY_LOCAL_INTERRUPT);
        assertEquals(List.of(MpTable.INT_TYPE_EXTINT, MpTable.INT_TYPE_NMI),
                lints.stream().map(e -> (int) e.bytes().get(1)).toList());
        assertEquals(List.of(0, 1), lints.stream().map(e -> (int) e.bytes().get(7)).toList(), "LINT0, LINT1");
    }

    @Test
    void virtioPinsAreLevelTriggeredActiveHighAsTheirResampleIrqfdsNeed() {
        List<AcpiPlatform.VirtioMmioSlot> slots = List.of(new AcpiPlatform.VirtioMmioSlot(0xFEB0_0000L, 0x200, 16),
                new AcpiPlatform.VirtioMmioSlot(0xFEB0_0200L, 0x200, 23));
        AcpiPlatform platform = new AcpiPlatform(1, AcpiPlatform.DEFAULT_LAPIC_ADDRESS, 0,
                AcpiPlatform.DEFAULT_IOAPIC_ADDRESS, 0, AcpiPlatform.SerialPort.com1(), slots, Platforms.GED_LIKE,
                Optional.empty(), true, Optional.empty(), Optional.empty());
        List<Entry> pins = ofType(parse(MpTable.build(ADDRESS, platform)), MpTable.ENTRY_IO_INTERRUPT);
        for (int pin = 0; pin < pins.size(); pin++) {
            int flags = pins.get(pin).bytes().getShort(2);
            assertEquals(pin == 16 || pin == 23 ? 0b1101 : 0, flags, "pin " + pin);
        }
    }

    @Test
    void theMostProcessorsFitWithTheIoApicBesideThem() {
        List<Entry> entries = parse(MpTable.build(ADDRESS, Platforms.platform(254, 0, Optional.empty(), true)));
        assertEquals(254, ofType(entries, MpTable.ENTRY_PROCESSOR).size());
        assertEquals(254, ofType(entries, MpTable.ENTRY_IOAPIC).get(0).bytes().get(1) & 0xFF);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MpTable.build(ADDRESS, Platforms.platform(255, 0, Optional.empty(), true)));
        assertTrue(e.getMessage().contains("at most 254 processors"), e.getMessage());
    }

    @Test
    void badPlacesAndPinsAreRefused() {
        AcpiPlatform platform = Platforms.platform(1, 0, Optional.empty(), true);
        assertThrows(IllegalArgumentException.class, () -> MpTable.build(ADDRESS + 8, platform), "16-byte aligned");
        assertThrows(IllegalArgumentException.class, () -> MpTable.build(-16, platform));
        AcpiPlatform beyond = new AcpiPlatform(1, AcpiPlatform.DEFAULT_LAPIC_ADDRESS, 0,
                AcpiPlatform.DEFAULT_IOAPIC_ADDRESS, 0, AcpiPlatform.SerialPort.com1(),
                List.of(new AcpiPlatform.VirtioMmioSlot(0xFEB0_0000L, 0x200, 24)), Platforms.GED_LIKE,
                Optional.empty(), true, Optional.empty(), Optional.empty());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MpTable.build(ADDRESS, beyond));
        assertTrue(e.getMessage().contains("GSI 24"), e.getMessage());
    }
}
