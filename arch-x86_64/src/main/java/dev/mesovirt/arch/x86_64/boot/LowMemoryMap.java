package dev.mesovirt.arch.x86_64.boot;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Where the VMM puts boot data in guest-physical memory below 1 MiB, and the standard E820 map that goes with
 * it. This is the one place these addresses are chosen.
 *
 * <pre>
 *   0x00000 - 0x004FF  real-mode IVT and BIOS data area (left zero, RAM in the e820 map)
 *   0x00500 - 0x0052F  GDT: null, null, __BOOT_CS 0x10, __BOOT_DS 0x18, 16-byte TSS descriptor 0x20
 *   0x00530            IDT base (empty: limit 0, nothing is stored)
 *   0x07000 - 0x07FFF  zero page (struct boot_params), %rsi at entry
 *   0x08000 - 0x08FEF  boot stack, %rsp = 0x8FF0 at entry
 *   0x09000 - 0x09FFF  PML4
 *   0x0A000 - 0x0AFFF  PDPT
 *   0x0B000 - 0x0EFFF  4 page directories, 2 MiB pages, identity map of 0 - 4 GiB
 *   0x20000 - 0x2FFFF  kernel command line (NUL-terminated)
 *   0x9FC00 - 0x9FFFF  EBDA (reserved in e820)
 *   0xA0000 - 0xDFFFF  VGA / option ROM hole (not in the e820 map)
 *   0xE0000 - 0xFFFFF  ACPI tables incl. the RSDP, found by the legacy scan (reserved in e820)
 *   0x100000 -          protected-mode kernel (pref_address, usually 16 MiB, aligned to kernel_alignment)
 * </pre>
 *
 * <p>The GDT takes 48 bytes (the 64-bit TSS descriptor is 16 bytes wide), so the IDT base is 0x530 rather than
 * the 0x520 Firecracker uses with its 32-byte GDT; with limit 0 no IDT byte is ever read.
 */
public final class LowMemoryMap {

    /** GDT base ({@link LongModeSetup#gdt()}). */
    public static final long GDT_ADDR = 0x500;
    /** Bytes reserved for the GDT. */
    public static final long GDT_SIZE = 0x30;
    /** IDT base; the IDT is empty (limit 0), so nothing needs to be written here. */
    public static final long IDT_ADDR = 0x530;
    /** Zero page ({@code struct boot_params}), passed in {@code %rsi}. */
    public static final long ZERO_PAGE_ADDR = 0x7000;
    /** Initial {@code %rsp} and {@code %rbp}; the stack grows down into 0x8000-0x8FEF. */
    public static final long BOOT_STACK_TOP = 0x8FF0;
    /** Lowest byte the boot stack may use. */
    public static final long BOOT_STACK_BOTTOM = 0x8000;
    /** PML4 of the boot page tables; {@code CR3}. */
    public static final long PML4_ADDR = 0x9000;
    /** PDPT, right after the PML4. */
    public static final long PDPT_ADDR = 0xA000;
    /** First of the four page directories (0xB000-0xEFFF). */
    public static final long PD_ADDR = 0xB000;
    /** Number of page directories: 4 x 1 GiB of 2 MiB pages. */
    public static final int PD_COUNT = 4;
    /** Kernel command line. */
    public static final long CMDLINE_ADDR = 0x20000;
    /** Bytes reserved for the command line, NUL included (kernels accept at most cmdline_size + 1). */
    public static final long CMDLINE_MAX_SIZE = 0x10000;
    /** Start of the extended BIOS data area: the last KiB below 640 KiB. */
    public static final long EBDA_ADDR = 0x9FC00;
    /** End of conventional memory (640 KiB). */
    public static final long LOW_MEMORY_END = 0xA0000;
    /** ACPI tables (RSDP first, on a 16-byte boundary, where the legacy BIOS-area scan finds it). */
    public static final long ACPI_TABLES_ADDR = 0xE0000;
    /** Bytes reserved for ACPI tables: 128 KiB, up to 1 MiB. */
    public static final long ACPI_TABLES_SIZE = 0x20000;
    /** Start of "high" memory, the lowest address a bzImage's protected-mode part is loaded at. */
    public static final long HIMEM_START = 0x100000;
    /** Start of RAM above the 32-bit hole. */
    public static final long HIGH_RAM_START = 1L << 32;

    /** A named range of {@link LowMemoryMap}, for documentation and overlap checks. */
    public record Region(String name, long start, long size) {
        public long end() {
            return start + size;
        }
    }

    private LowMemoryMap() {
    }

    /** The fixed regions, in address order. */
    public static List<Region> regions() {
        return List.of(
                new Region("GDT", GDT_ADDR, GDT_SIZE),
                new Region("zero page", ZERO_PAGE_ADDR, BootProtocol.ZERO_PAGE_SIZE),
                new Region("boot stack", BOOT_STACK_BOTTOM, BOOT_STACK_TOP - BOOT_STACK_BOTTOM),
                new Region("PML4", PML4_ADDR, 0x1000),
                new Region("PDPT", PDPT_ADDR, 0x1000),
                new Region("page directories", PD_ADDR, PD_COUNT * 0x1000L),
                new Region("command line", CMDLINE_ADDR, CMDLINE_MAX_SIZE),
                new Region("EBDA", EBDA_ADDR, LOW_MEMORY_END - EBDA_ADDR),
                new Region("ACPI tables", ACPI_TABLES_ADDR, ACPI_TABLES_SIZE));
    }

    /**
     * The standard memory map: RAM [0, EBDA), EBDA reserved, ACPI area [0xE0000, 1 MiB) reserved, RAM
     * [1 MiB, lowRamEnd) and, if {@code highRamSize > 0}, RAM [4 GiB, 4 GiB + highRamSize). [0xA0000, 0xE0000)
     * and [lowRamEnd, 4 GiB) (the 32-bit MMIO hole) are left out.
     *
     * @param lowRamEnd   end of the RAM below the 32-bit hole, above 1 MiB and at most 4 GiB
     * @param highRamSize bytes of RAM from 4 GiB on, 0 for none
     */
    public static List<E820Entry> e820(long lowRamEnd, long highRamSize) {
        return e820(lowRamEnd, highRamSize, List.of());
    }

    /**
     * The standard memory map with {@code reserved} ranges of the MMIO holes added, such as a PCI Express ECAM
     * window (Linux uses MMCONFIG early only where the E820 map reserves it). They must be {@link E820Entry#RESERVED}
     * and overlap neither RAM nor one another.
     *
     * @throws IllegalArgumentException naming the range that is not reserved or overlaps
     */
    public static List<E820Entry> e820(long lowRamEnd, long highRamSize, List<E820Entry> reserved) {
        if (lowRamEnd <= HIMEM_START || lowRamEnd > HIGH_RAM_START) {
            throw new IllegalArgumentException(String.format(
                    "low RAM end 0x%X must be above 1 MiB and at most 4 GiB", lowRamEnd));
        }
        if (highRamSize < 0) {
            throw new IllegalArgumentException("negative high RAM size " + highRamSize);
        }
        List<E820Entry> map = new ArrayList<>();
        map.add(E820Entry.ram(0, EBDA_ADDR));
        map.add(E820Entry.reserved(EBDA_ADDR, LOW_MEMORY_END - EBDA_ADDR));
        map.add(E820Entry.reserved(ACPI_TABLES_ADDR, ACPI_TABLES_SIZE));
        map.add(E820Entry.ram(HIMEM_START, lowRamEnd - HIMEM_START));
        if (highRamSize > 0) {
            map.add(E820Entry.ram(HIGH_RAM_START, highRamSize));
        }
        for (E820Entry e : reserved) {
            if (e.type() != E820Entry.RESERVED) {
                throw new IllegalArgumentException("an added e820 range must be reserved, not " + e);
            }
            map.add(e);
        }
        map.sort(Comparator.comparingLong(E820Entry::addr));
        return E820Entry.validate(map); // rejects a reserved range on RAM or on another range
    }
}
