package dev.mesovirt.arch.x86_64.boot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class E820EntryTest {

    @Test
    void typeConstantsMatchE820h() {
        assertEquals(1, E820Entry.RAM);
        assertEquals(2, E820Entry.RESERVED);
        assertEquals(3, E820Entry.ACPI);
        assertEquals(4, E820Entry.NVS);
        assertEquals(5, E820Entry.UNUSABLE);
    }

    @Test
    void encodesTwentyLittleEndianBytes() {
        byte[] bytes = new E820Entry(0x0102_0304_0506_0708L, 0x1112_1314_1516_1718L, E820Entry.ACPI).encode();
        assertArrayEquals(new byte[] {
                0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
                0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11,
                0x03, 0x00, 0x00, 0x00}, bytes);
    }

    @Test
    void writeToAdvancesTheBufferPosition() {
        ByteBuffer b = ByteBuffer.allocate(40); // big-endian buffer: the entry must still be little-endian
        E820Entry.ram(0x100000, 0x200000).writeTo(b);
        E820Entry.reserved(0x9FC00, 0x400).writeTo(b);
        assertEquals(40, b.position());
        assertEquals(0x00, b.get(0));
        assertEquals(0x00, b.get(1));
        assertEquals(0x10, b.get(2));
        assertEquals(1, b.get(16));
        assertEquals(0x00, b.get(20));
        assertEquals((byte) 0xFC, b.get(21));
        assertEquals(0x09, b.get(22));
        assertEquals(2, b.get(36));
    }

    @Test
    void rejectsBadEntries() {
        assertThrows(IllegalArgumentException.class, () -> E820Entry.ram(-1, 10));
        assertThrows(IllegalArgumentException.class, () -> E820Entry.ram(0, 0));
        assertThrows(IllegalArgumentException.class, () -> E820Entry.ram(0, -5));
        assertThrows(IllegalArgumentException.class, () -> E820Entry.ram(Long.MAX_VALUE - 10, 100));
        assertThrows(IllegalArgumentException.class, () -> new E820Entry(0, 10, 0));
    }

    @Test
    void overlapIsHalfOpen() {
        E820Entry a = E820Entry.ram(0x1000, 0x1000);
        assertFalse(a.overlaps(E820Entry.ram(0x2000, 0x1000)));
        assertFalse(a.overlaps(E820Entry.ram(0, 0x1000)));
        assertTrue(a.overlaps(E820Entry.ram(0x1FFF, 1)));
        assertTrue(a.overlaps(E820Entry.ram(0, 0x1001)));
        assertTrue(a.overlaps(E820Entry.ram(0, 0x10000)));
    }

    /** An accepted map comes back as the zero page gets it: the same entries in the same order, unmodifiable. */
    @Test
    void validateAcceptsSortedDisjointMaps() {
        List<E820Entry> adjacent = new ArrayList<>(List.of(E820Entry.ram(0, 0x9FC00),
                E820Entry.reserved(0x9FC00, 0x400), E820Entry.ram(0x100000, 0x1000000)));
        List<E820Entry> validated = E820Entry.validate(adjacent);
        assertEquals(adjacent, validated);
        adjacent.clear();
        assertEquals(3, validated.size(), "a copy: the caller's list may change afterwards");
        assertEquals(E820Entry.reserved(0x9FC00, 0x400), validated.get(1));
        assertThrows(UnsupportedOperationException.class, () -> validated.add(E820Entry.ram(0x2000000, 1)));
        assertEquals(List.of(E820Entry.ram(0, 1)), E820Entry.validate(List.of(E820Entry.ram(0, 1))));
    }

    @Test
    void validateRejectsUnsortedOverlappingEmptyAndOversizedMaps() {
        IllegalArgumentException unsorted = assertThrows(IllegalArgumentException.class, () -> E820Entry.validate(
                List.of(E820Entry.ram(0x100000, 0x1000), E820Entry.ram(0, 0x1000))));
        assertTrue(unsorted.getMessage().contains("not sorted"));
        IllegalArgumentException overlap = assertThrows(IllegalArgumentException.class, () -> E820Entry.validate(
                List.of(E820Entry.ram(0, 0x2000), E820Entry.reserved(0x1000, 0x1000))));
        assertTrue(overlap.getMessage().contains("overlap"));
        assertThrows(IllegalArgumentException.class, () -> E820Entry.validate(List.of()));

        List<E820Entry> many = new ArrayList<>();
        for (int i = 0; i < 129; i++) {
            many.add(E820Entry.ram(i * 0x2000L, 0x1000));
        }
        IllegalArgumentException tooMany = assertThrows(IllegalArgumentException.class,
                () -> E820Entry.validate(many));
        assertTrue(tooMany.getMessage().contains("129"));
        assertEquals(many.subList(0, 128), E820Entry.validate(many.subList(0, 128)), "128 entries fit");
    }

    @Test
    void readableToString() {
        assertEquals("[0x9FC00-0xA0000) RESERVED", E820Entry.reserved(0x9FC00, 0x400).toString());
        assertEquals("type 7", E820Entry.typeName(7));
    }
}
