package dev.mesovirt.arch.x86_64.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class LowMemoryMapTest {

    @Test
    void chosenAddresses() {
        assertEquals(0x500, LowMemoryMap.GDT_ADDR);
        assertEquals(0x530, LowMemoryMap.IDT_ADDR);
        assertEquals(0x7000, LowMemoryMap.ZERO_PAGE_ADDR);
        assertEquals(0x8FF0, LowMemoryMap.BOOT_STACK_TOP);
        assertEquals(0x9000, LowMemoryMap.PML4_ADDR);
        assertEquals(0xA000, LowMemoryMap.PDPT_ADDR);
        assertEquals(0xB000, LowMemoryMap.PD_ADDR);
        assertEquals(0x20000, LowMemoryMap.CMDLINE_ADDR);
        assertEquals(0x9FC00, LowMemoryMap.EBDA_ADDR);
        assertEquals(0xE0000, LowMemoryMap.ACPI_TABLES_ADDR);
        assertEquals(128 * 1024, LowMemoryMap.ACPI_TABLES_SIZE);
        assertEquals(0x100000, LowMemoryMap.HIMEM_START);
    }

    @Test
    void regionsAreSortedDisjointAndBelow1MiB() {
        List<LowMemoryMap.Region> regions = LowMemoryMap.regions();
        long end = 0;
        for (LowMemoryMap.Region r : regions) {
            assertTrue(r.start() >= end, r + " overlaps its predecessor");
            end = r.end();
        }
        assertEquals(LowMemoryMap.HIMEM_START, end);
        assertTrue(LowMemoryMap.IDT_ADDR >= LowMemoryMap.GDT_ADDR + LongModeSetup.gdt().length);
        assertEquals(LowMemoryMap.GDT_SIZE, LongModeSetup.gdt().length);
        assertEquals(LowMemoryMap.PML4_ADDR + 0x1000, LowMemoryMap.PDPT_ADDR);
        assertEquals(LowMemoryMap.PDPT_ADDR + 0x1000, LowMemoryMap.PD_ADDR);
        assertEquals(0, LowMemoryMap.BOOT_STACK_TOP % 16);
        assertTrue(LowMemoryMap.BOOT_STACK_BOTTOM >= LowMemoryMap.ZERO_PAGE_ADDR + BootProtocol.ZERO_PAGE_SIZE);
    }

    @Test
    void standardE820Map() {
        List<E820Entry> map = LowMemoryMap.e820(0xC000_0000L, 2L << 30);
        assertEquals(List.of(
                E820Entry.ram(0, 0x9FC00),
                E820Entry.reserved(0x9FC00, 0x400),
                E820Entry.reserved(0xE0000, 0x20000),
                E820Entry.ram(0x100000, 0xC000_0000L - 0x100000),
                E820Entry.ram(1L << 32, 2L << 30)), map);
        // Every fixed low-memory structure except the EBDA/ACPI reservations lies in the first RAM entry.
        for (LowMemoryMap.Region r : LowMemoryMap.regions()) {
            boolean inRam = r.end() <= 0x9FC00;
            boolean reserved = r.start() >= 0x9FC00;
            assertTrue(inRam || reserved, r.toString());
        }
    }

    @Test
    void smallGuestHasNoHighRam() {
        List<E820Entry> map = LowMemoryMap.e820(64L << 20, 0);
        assertEquals(4, map.size());
        assertEquals((64L << 20), map.get(3).end());
        assertThrows(IllegalArgumentException.class, () -> LowMemoryMap.e820(0x100000, 0));
        assertThrows(IllegalArgumentException.class, () -> LowMemoryMap.e820((4L << 30) + 1, 0));
        assertThrows(IllegalArgumentException.class, () -> LowMemoryMap.e820(64L << 20, -1));
    }

    /** A q35 machine of 2 GiB: RAM up to 2 GiB, the ECAM window reserved in the hole, nothing else added. */
    @Test
    void addedReservedRangesAreSortedIntoTheHole() {
        List<E820Entry> map = LowMemoryMap.e820(0x8000_0000L, 1L << 30,
                List.of(E820Entry.reserved(0xB000_0000L, 0x1000_0000L)));
        assertEquals(List.of(
                E820Entry.ram(0, 0x9FC00),
                E820Entry.reserved(0x9FC00, 0x400),
                E820Entry.reserved(0xE0000, 0x20000),
                E820Entry.ram(0x100000, 0x8000_0000L - 0x100000),
                E820Entry.reserved(0xB000_0000L, 0x1000_0000L),
                E820Entry.ram(1L << 32, 1L << 30)), map);
        assertEquals(LowMemoryMap.e820(0x8000_0000L, 1L << 30), LowMemoryMap.e820(0x8000_0000L, 1L << 30, List.of()));
    }

    @Test
    void rejectsAddedRangesOnRamOrNotReserved() {
        assertThrows(IllegalArgumentException.class, () -> LowMemoryMap.e820(0xB000_1000L, 0,
                List.of(E820Entry.reserved(0xB000_0000L, 0x1000_0000L))), "ECAM on low RAM");
        assertThrows(IllegalArgumentException.class, () -> LowMemoryMap.e820(0x8000_0000L, 1L << 30,
                List.of(E820Entry.reserved(0xFFFF_0000L, 0x2_0000L))), "reserved range reaching high RAM");
        assertThrows(IllegalArgumentException.class, () -> LowMemoryMap.e820(0x8000_0000L, 0,
                List.of(E820Entry.reserved(0xB000_0000L, 0x1000_0000L), E820Entry.reserved(0xBF00_0000L, 0x1000))),
                "two added ranges overlapping");
        assertThrows(IllegalArgumentException.class, () -> LowMemoryMap.e820(0x8000_0000L, 0,
                List.of(E820Entry.ram(0xB000_0000L, 0x1000_0000L))), "RAM is not an added range");
        assertThrows(IllegalArgumentException.class, () -> LowMemoryMap.e820(0x8000_0000L, 0,
                List.of(new E820Entry(0xB000_0000L, 0x1000_0000L, E820Entry.ACPI))));
    }
}
