package dev.mesovirt.arch.x86_64.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.SortedMap;
import org.junit.jupiter.api.Test;

class LongModeSetupTest {

    @Test
    void goldenDescriptors() {
        // Same encodings as Linux's GDT_ENTRY(0xa09b, 0, 0xfffff) / GDT_ENTRY(0xc093, 0, 0xfffff).
        assertEquals(0x00AF_9B00_0000_FFFFL, LongModeSetup.CODE64_DESCRIPTOR);
        assertEquals(0x00CF_9300_0000_FFFFL, LongModeSetup.DATA_DESCRIPTOR);
        assertEquals(0x0000_8B00_0000_0067L, LongModeSetup.TSS_DESCRIPTOR_LOW);
        // Firecracker's TSS flags, for the encoder: GDT_ENTRY(0x808b, 0, 0xfffff).
        assertEquals(0x008F_8B00_0000_FFFFL, LongModeSetup.descriptor(0x808B, 0, 0xFFFFF));
        // Base and limit bits land where the SDM puts them.
        assertEquals(0x1200_0034_5678_ABCDL, LongModeSetup.descriptor(0, 0x1234_5678L, 0x0ABCD));
    }

    @Test
    void gdtLayoutFollowsTheBootProtocolSelectors() {
        byte[] gdt = LongModeSetup.gdt();
        assertEquals(48, gdt.length);
        assertEquals(47, LongModeSetup.gdtLimit());
        ByteBuffer b = ByteBuffer.wrap(gdt).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0L, b.getLong(0));
        assertEquals(0L, b.getLong(0x08));
        assertEquals(0x00AF_9B00_0000_FFFFL, b.getLong(LongModeSetup.BOOT_CS));
        assertEquals(0x00CF_9300_0000_FFFFL, b.getLong(LongModeSetup.BOOT_DS));
        assertEquals(LongModeSetup.TSS_DESCRIPTOR_LOW, b.getLong(LongModeSetup.BOOT_TSS));
        assertEquals(0L, b.getLong(LongModeSetup.BOOT_TSS + 8));
        assertEquals(0x10, LongModeSetup.BOOT_CS);
        assertEquals(0x18, LongModeSetup.BOOT_DS);
        // Little-endian bytes of the code descriptor.
        assertEquals((byte) 0xFF, gdt[0x10]);
        assertEquals((byte) 0xFF, gdt[0x11]);
        assertEquals((byte) 0x9B, gdt[0x15]);
        assertEquals((byte) 0xAF, gdt[0x16]);
    }

    @Test
    void codeSegmentIs64BitExecuteRead() {
        Segment cs = LongModeSetup.codeSegment();
        assertEquals(new Segment(0, 0xFFFF_FFFF, 0x10, 0xB, true, 0, false, true, true, true, false), cs);
        assertEquals(0xFFFF_FFFFL, cs.limitUnsigned());
        assertFalse(cs.unusable());
    }

    @Test
    void dataSegmentIsFlatReadWrite() {
        Segment ds = LongModeSetup.dataSegment();
        assertEquals(new Segment(0, 0xFFFF_FFFF, 0x18, 0x3, true, 0, true, true, false, true, false), ds);
    }

    @Test
    void taskSegmentIsBusy64BitTss() {
        Segment tr = LongModeSetup.taskSegment();
        assertEquals(new Segment(0, 0x67, 0x20, 0xB, true, 0, false, false, false, false, false), tr);
    }

    @Test
    void segmentDecodesEveryField() {
        long d = LongModeSetup.descriptor(0x30F5 /* AVL, L, P, DPL 3, S, type 5 */, 0xAB12_3456L, 0x12345);
        Segment s = Segment.fromDescriptor(d, 0x2B);
        assertEquals(0xAB12_3456L, s.base());
        assertEquals(0x12345, s.limit());
        assertEquals(0x2B, s.selector());
        assertEquals(5, s.type());
        assertTrue(s.present());
        assertEquals(3, s.dpl());
        assertFalse(s.db());
        assertTrue(s.s());
        assertTrue(s.l());
        assertFalse(s.g());
        assertTrue(s.avl());
        assertTrue(Segment.fromDescriptor(0, 0).unusable());
        assertThrows(IllegalArgumentException.class, () -> new Segment(0, 0, 0, 16, true, 0, false, true, false,
                false, false));
        assertThrows(IllegalArgumentException.class, () -> new Segment(0, 0, 0, 1, true, 4, false, true, false,
                false, false));
    }

    @Test
    void controlRegisters() {
        assertEquals(0x8000_0031L, LongModeSetup.CR0);
        assertEquals(0x20L, LongModeSetup.CR4);
        assertEquals(0x500L, LongModeSetup.EFER);
        LongModeSetup.SpecialRegisters s = LongModeSetup.specialRegisters();
        assertEquals(LongModeSetup.CR0, s.cr0());
        assertEquals(0x9000L, s.cr3());
        assertEquals(LongModeSetup.CR4, s.cr4());
        assertEquals(LongModeSetup.EFER, s.efer());
        assertEquals(0x500L, s.gdtBase());
        assertEquals(47, s.gdtLimit());
        assertEquals(LowMemoryMap.IDT_ADDR, s.idtBase());
        assertEquals(0, s.idtLimit());
        assertEquals(LongModeSetup.codeSegment(), s.cs());
        for (Segment seg : List.of(s.ds(), s.es(), s.fs(), s.gs(), s.ss())) {
            assertEquals(LongModeSetup.dataSegment(), seg);
        }
        assertEquals(LongModeSetup.taskSegment(), s.tr());
    }

    @Test
    void generalRegisters() {
        LongModeSetup.GeneralRegisters r = LongModeSetup.generalRegisters(0x100_0200, 0x7000);
        assertEquals(0x100_0200L, r.rip());
        assertEquals(0x7000L, r.rsi());
        assertEquals(0x8FF0L, r.rsp());
        assertEquals(0x8FF0L, r.rbp());
        assertEquals(2L, r.rflags());
    }

    @Test
    void identityPageTablesMapFourGiBWith2MiBPages() {
        SortedMap<Long, byte[]> pages = LongModeSetup.identityPageTables(0x9000);
        assertEquals(List.of(0x9000L, 0xA000L, 0xB000L, 0xC000L, 0xD000L, 0xE000L), List.copyOf(pages.keySet()));
        pages.values().forEach(p -> assertEquals(4096, p.length));

        ByteBuffer pml4 = le(pages.get(0x9000L));
        assertEquals(0xA003L, pml4.getLong(0));
        for (int i = 1; i < 512; i++) {
            assertEquals(0L, pml4.getLong(i * 8));
        }
        ByteBuffer pdpt = le(pages.get(0xA000L));
        assertEquals(0xB003L, pdpt.getLong(0));
        assertEquals(0xC003L, pdpt.getLong(8));
        assertEquals(0xD003L, pdpt.getLong(16));
        assertEquals(0xE003L, pdpt.getLong(24));
        for (int i = 4; i < 512; i++) {
            assertEquals(0L, pdpt.getLong(i * 8));
        }
        assertEquals(0x83L, le(pages.get(0xB000L)).getLong(0));
        assertEquals(0x0020_0083L, le(pages.get(0xB000L)).getLong(8));
        assertEquals(0x3FE0_0083L, le(pages.get(0xB000L)).getLong(511 * 8));
        assertEquals(0x4000_0083L, le(pages.get(0xC000L)).getLong(0));
        assertEquals(0xFFE0_0083L, le(pages.get(0xE000L)).getLong(511 * 8));
        // Every PD entry: the identity address of its 2 MiB page, present, writable, PS.
        for (int pd = 0; pd < 4; pd++) {
            ByteBuffer b = le(pages.get(0xB000L + pd * 0x1000L));
            for (int j = 0; j < 512; j++) {
                long expected = ((long) pd << 30) + ((long) j << 21);
                assertEquals(expected | 0x83, b.getLong(j * 8));
            }
        }
        assertThrows(UnsupportedOperationException.class, () -> pages.put(0L, new byte[0]));
    }

    @Test
    void pageTablesFollowTheBaseAddress() {
        SortedMap<Long, byte[]> pages = LongModeSetup.identityPageTables(0x10_0000);
        assertEquals(0x10_0000L, pages.firstKey());
        assertEquals(0x10_5000L, pages.lastKey());
        assertEquals(0x10_1003L, le(pages.get(0x10_0000L)).getLong(0));
        assertEquals(0x10_2003L, le(pages.get(0x10_1000L)).getLong(0));
        assertThrows(IllegalArgumentException.class, () -> LongModeSetup.identityPageTables(0x9001));
        assertThrows(IllegalArgumentException.class, () -> LongModeSetup.identityPageTables(-4096));
        assertThrows(IllegalArgumentException.class, () -> LongModeSetup.identityPageTables((4L << 30) - 0x1000));
    }

    @Test
    void memoryImageMatchesTheLowMemoryMap() {
        SortedMap<Long, byte[]> image = LongModeSetup.memoryImage();
        assertEquals(List.of(LowMemoryMap.GDT_ADDR, LowMemoryMap.PML4_ADDR, LowMemoryMap.PDPT_ADDR,
                LowMemoryMap.PD_ADDR, LowMemoryMap.PD_ADDR + 0x1000, LowMemoryMap.PD_ADDR + 0x2000,
                LowMemoryMap.PD_ADDR + 0x3000), List.copyOf(image.keySet()));
        assertEquals(LowMemoryMap.GDT_SIZE, image.get(LowMemoryMap.GDT_ADDR).length);
        // No two blobs overlap.
        long end = 0;
        for (var e : image.entrySet()) {
            assertTrue(e.getKey() >= end);
            end = e.getKey() + e.getValue().length;
        }
    }

    private static ByteBuffer le(byte[] page) {
        return ByteBuffer.wrap(page).order(ByteOrder.LITTLE_ENDIAN);
    }
}
