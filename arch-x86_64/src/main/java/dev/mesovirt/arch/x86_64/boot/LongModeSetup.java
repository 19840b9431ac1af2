package dev.mesovirt.arch.x86_64.boot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Collections;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Plain data for starting the boot vCPU directly in 64-bit mode at the kernel's 64-bit entry point
 * (boot.rst, "64-bit Boot Protocol"): a GDT with flat {@code __BOOT_CS} (0x10) and {@code __BOOT_DS} (0x18),
 * identity-mapped page tables, and the control and segment register values. Nothing here touches KVM; the
 * caller writes {@link #memoryImage()} into guest memory and copies {@link #specialRegisters()} and
 * {@link #generalRegisters(long, long)} into {@code kvm_sregs} / {@code kvm_regs}.
 *
 * <h2>GDT</h2>
 * Six 8-byte slots at {@link LowMemoryMap#GDT_ADDR}: 0 null, 1 null (unused, so that the selectors match the
 * boot protocol's {@code __BOOT_CS = 0x10}, {@code __BOOT_DS = 0x18}), 2 64-bit code, 3 data, 4-5 a 16-byte
 * 64-bit TSS descriptor ({@code TR = 0x20}). VMX refuses to enter a guest in IA-32e mode without a usable TR of
 * type "busy 64-bit TSS", so TR is loaded with a minimal 104-byte TSS at base 0; the kernel replaces GDT, TR and
 * IDT before it could ever use them.
 *
 * <h2>Control registers</h2>
 * <ul>
 *   <li>{@code CR0 = PE | ET | NE | PG} (0x80000031). PE and PG are what IA-32e mode needs (EFER.LMA =
 *       LME and PG). ET is hard-wired to 1 on every CPU since the 486 and is in KVM's reset value. NE (native
 *       x87 error reporting) is set by the kernel itself ({@code CR0_STATE}) and is a fixed-1 bit of VMX
 *       non-root operation that KVM otherwise has to emulate. Firecracker instead ORs PE|PG into KVM's reset
 *       value 0x60000010 and thus also leaves CD and NW set (caches nominally disabled until the kernel writes
 *       CR0); we start from a clean value with caching enabled.</li>
 *   <li>{@code CR4 = PAE} (0x20): required for long-mode paging; everything else is the kernel's choice.</li>
 *   <li>{@code EFER = LME | LMA} (0x500): long mode enabled and active, consistent with CR0.PG and CR4.PAE as
 *       {@code KVM_SET_SREGS} checks. NXE stays clear: the boot page tables use no NX bits.</li>
 *   <li>{@code CR3} = the PML4 address.</li>
 * </ul>
 *
 * <h2>Page tables</h2>
 * PML4 + PDPT + 4 page directories of 2 MiB pages map guest-physical 0-4 GiB 1:1, which covers the kernel's
 * {@code init_size} range, the zero page and the command line as the protocol demands (Firecracker maps only
 * the first GiB, too little for a kernel loaded high or a large guest).
 */
public final class LongModeSetup {

    /** {@code __BOOT_CS}: selector of the 64-bit code segment. */
    public static final int BOOT_CS = 0x10;
    /** {@code __BOOT_DS}: selector of the data segment (DS, ES, FS, GS, SS). */
    public static final int BOOT_DS = 0x18;
    /** Selector of the TSS loaded into TR. */
    public static final int BOOT_TSS = 0x20;
    /** Number of 8-byte GDT slots (the TSS descriptor takes two). */
    public static final int GDT_SLOTS = 6;

    /** Descriptor flags (bits 40-55 of a descriptor, as in Linux's {@code GDT_ENTRY}): G, L, P, S, type 0xB. */
    public static final int CODE64_FLAGS = 0xA09B;
    /** Descriptor flags: G, D/B, P, S, type 0x3 (read/write, accessed). */
    public static final int DATA_FLAGS = 0xC093;
    /** Descriptor flags: P, system, type 0xB (busy 64-bit TSS), byte granularity. */
    public static final int TSS_FLAGS = 0x008B;
    /** Limit of the boot TSS: the 104-byte 64-bit TSS, minus 1. */
    public static final int TSS_LIMIT = 0x67;

    /** Flat 64-bit code descriptor: base 0, limit 0xFFFFF pages, {@link #CODE64_FLAGS}. */
    public static final long CODE64_DESCRIPTOR = descriptor(CODE64_FLAGS, 0, 0xFFFFF);
    /** Flat data descriptor: base 0, limit 0xFFFFF pages, {@link #DATA_FLAGS}. */
    public static final long DATA_DESCRIPTOR = descriptor(DATA_FLAGS, 0, 0xFFFFF);
    /** Low half of the TSS descriptor (base 0, limit {@link #TSS_LIMIT}); the high half (base 63:32) is 0. */
    public static final long TSS_DESCRIPTOR_LOW = descriptor(TSS_FLAGS, 0, TSS_LIMIT);

    public static final long CR0_PE = 1L;
    public static final long CR0_ET = 1L << 4;
    public static final long CR0_NE = 1L << 5;
    public static final long CR0_PG = 1L << 31;
    public static final long CR4_PAE = 1L << 5;
    public static final long EFER_LME = 1L << 8;
    public static final long EFER_LMA = 1L << 10;

    /** CR0 at the 64-bit entry. */
    public static final long CR0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
    /** CR4 at the 64-bit entry. */
    public static final long CR4 = CR4_PAE;
    /** EFER at the 64-bit entry. */
    public static final long EFER = EFER_LME | EFER_LMA;
    /** RFLAGS at entry: only the always-one bit 1, interrupts disabled. */
    public static final long RFLAGS = 0x2;

    /** Page-table entry bits. */
    public static final long PTE_PRESENT = 1L;
    public static final long PTE_WRITABLE = 1L << 1;
    /** PS: in a page-directory entry, maps a 2 MiB page. */
    public static final long PTE_PAGE_SIZE = 1L << 7;
    /** Bytes mapped by {@link #identityPageTables(long)}. */
    public static final long IDENTITY_MAPPED_BYTES = 4L << 30;

    private static final int PAGE = 0x1000;
    private static final int ENTRIES = 512;

    /**
     * The special registers at the 64-bit entry.
     *
     * @param gdtBase  GDTR base
     * @param gdtLimit GDTR limit (size - 1)
     * @param idtBase  IDTR base
     * @param idtLimit IDTR limit; 0 = empty IDT
     */
    public record SpecialRegisters(Segment cs, Segment ds, Segment es, Segment fs, Segment gs, Segment ss,
            Segment tr, long gdtBase, int gdtLimit, long idtBase, int idtLimit, long cr0, long cr3, long cr4,
            long efer) {
    }

    /**
     * The general registers at the 64-bit entry that are not zero. Per boot.rst {@code %rsi} holds the zero
     * page address; all other general-purpose registers are 0.
     */
    public record GeneralRegisters(long rip, long rsp, long rbp, long rsi, long rflags) {
    }

    private LongModeSetup() {
    }

    /**
     * A segment descriptor in Linux's {@code GDT_ENTRY(flags, base, limit)} layout: {@code flags} holds
     * descriptor bits 40-47 (type, S, DPL, P) in its low byte and bits 52-55 (AVL, L, D/B, G) in its top
     * nibble; {@code limit} is 20 bits.
     */
    public static long descriptor(int flags, long base, long limit) {
        return ((base & 0xFF00_0000L) << 32)
                | (((long) flags & 0xF0FFL) << 40)
                | ((limit & 0xF_0000L) << 32)
                | ((base & 0x00FF_FFFFL) << 16)
                | (limit & 0xFFFFL);
    }

    /** The GDT bytes to store at {@link LowMemoryMap#GDT_ADDR} ({@value #GDT_SLOTS} little-endian u64). */
    public static byte[] gdt() {
        ByteBuffer b = ByteBuffer.allocate(GDT_SLOTS * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0).putLong(0).putLong(CODE64_DESCRIPTOR).putLong(DATA_DESCRIPTOR)
                .putLong(TSS_DESCRIPTOR_LOW).putLong(0);
        return b.array();
    }

    /** GDTR limit: size of {@link #gdt()} minus 1. */
    public static int gdtLimit() {
        return GDT_SLOTS * 8 - 1;
    }

    /** CS at entry: {@code __BOOT_CS}, 64-bit, execute/read. */
    public static Segment codeSegment() {
        return Segment.fromDescriptor(CODE64_DESCRIPTOR, BOOT_CS);
    }

    /** DS, ES, FS, GS and SS at entry: {@code __BOOT_DS}, flat read/write. */
    public static Segment dataSegment() {
        return Segment.fromDescriptor(DATA_DESCRIPTOR, BOOT_DS);
    }

    /** TR at entry: busy 64-bit TSS. */
    public static Segment taskSegment() {
        return Segment.fromDescriptor(TSS_DESCRIPTOR_LOW, BOOT_TSS);
    }

    /**
     * Identity page tables for guest-physical 0-4 GiB with 2 MiB pages: PML4 at {@code pml4Address}, PDPT at
     * +0x1000, page directories at +0x2000 .. +0x5FFF. Returned as page address to 4096-byte page, in address
     * order (an unmodifiable map of fresh arrays).
     *
     * @throws IllegalArgumentException if the address is negative, not 4 KiB aligned, or the six pages would
     *                                  not lie below 4 GiB
     */
    public static SortedMap<Long, byte[]> identityPageTables(long pml4Address) {
        if (pml4Address < 0 || (pml4Address & (PAGE - 1)) != 0
                || pml4Address + (2L + LowMemoryMap.PD_COUNT) * PAGE > IDENTITY_MAPPED_BYTES) {
            throw new IllegalArgumentException(String.format(
                    "PML4 address 0x%X must be 4 KiB aligned and the page tables below 4 GiB", pml4Address));
        }
        long pdptAddress = pml4Address + PAGE;
        long pdAddress = pdptAddress + PAGE;
        SortedMap<Long, byte[]> pages = new TreeMap<>();

        ByteBuffer pml4 = page();
        pml4.putLong(0, pdptAddress | PTE_PRESENT | PTE_WRITABLE);
        pages.put(pml4Address, pml4.array());

        ByteBuffer pdpt = page();
        for (int i = 0; i < LowMemoryMap.PD_COUNT; i++) {
            pdpt.putLong(i * 8, (pdAddress + (long) i * PAGE) | PTE_PRESENT | PTE_WRITABLE);
        }
        pages.put(pdptAddress, pdpt.array());

        for (int i = 0; i < LowMemoryMap.PD_COUNT; i++) {
            ByteBuffer pd = page();
            for (int j = 0; j < ENTRIES; j++) {
                long physical = ((long) i << 30) | ((long) j << 21);
                pd.putLong(j * 8, physical | PTE_PRESENT | PTE_WRITABLE | PTE_PAGE_SIZE);
            }
            pages.put(pdAddress + (long) i * PAGE, pd.array());
        }
        return Collections.unmodifiableSortedMap(pages);
    }

    /**
     * Everything this class needs in guest memory, at the {@link LowMemoryMap} addresses: the GDT and the six
     * page-table pages. (The IDT is empty and needs no bytes.)
     */
    public static SortedMap<Long, byte[]> memoryImage() {
        SortedMap<Long, byte[]> image = new TreeMap<>(identityPageTables(LowMemoryMap.PML4_ADDR));
        image.put(LowMemoryMap.GDT_ADDR, gdt());
        return Collections.unmodifiableSortedMap(image);
    }

    /** Segment, descriptor-table and control registers for the 64-bit entry, at the {@link LowMemoryMap} addresses. */
    public static SpecialRegisters specialRegisters() {
        Segment data = dataSegment();
        return new SpecialRegisters(codeSegment(), data, data, data, data, data, taskSegment(),
                LowMemoryMap.GDT_ADDR, gdtLimit(), LowMemoryMap.IDT_ADDR, 0,
                CR0, LowMemoryMap.PML4_ADDR, CR4, EFER);
    }

    /**
     * General registers for the 64-bit entry: {@code rip = entry64} (kernel load address + 0x200),
     * {@code rsi = zeroPage}, {@code rsp = rbp =} {@link LowMemoryMap#BOOT_STACK_TOP}, {@code rflags = 0x2}.
     */
    public static GeneralRegisters generalRegisters(long entry64, long zeroPage) {
        return new GeneralRegisters(entry64, LowMemoryMap.BOOT_STACK_TOP, LowMemoryMap.BOOT_STACK_TOP, zeroPage,
                RFLAGS);
    }

    private static ByteBuffer page() {
        return ByteBuffer.allocate(PAGE).order(ByteOrder.LITTLE_ENDIAN);
    }
}
