package dev.mesovirt.acpi.testing;

import dev.mesovirt.acpi.AcpiImage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Test-side reader that walks an {@link AcpiImage} the way a guest does (RSDP → XSDT → tables,
 * FADT → DSDT), asserting on the way that every pointer lands inside the image.
 */
public final class ImageReader {

    /** One table inside the image, by offset from the image base. */
    public record Table(String signature, int offset, int length) {
        public int end() {
            return offset + length;
        }
    }

    private ImageReader() {
    }

    public static int u8(byte[] b, int off) {
        return b[off] & 0xFF;
    }

    public static int u16(byte[] b, int off) {
        return u8(b, off) | u8(b, off + 1) << 8;
    }

    public static long u32(byte[] b, int off) {
        return (u16(b, off) | (long) u16(b, off + 2) << 16) & 0xFFFF_FFFFL;
    }

    public static long u64(byte[] b, int off) {
        return u32(b, off) | u32(b, off + 4) << 32;
    }

    public static String ascii(byte[] b, int off, int len) {
        return new String(b, off, len, StandardCharsets.US_ASCII);
    }

    public static int sum(byte[] b, int off, int len) {
        int s = 0;
        for (int i = off; i < off + len; i++) {
            s += b[i];
        }
        return s & 0xFF;
    }

    public static byte[] slice(byte[] b, Table t) {
        return Arrays.copyOfRange(b, t.offset(), t.end());
    }

    /** Offset of a guest-physical address inside the image, asserting it lies within it. */
    public static int offsetOf(AcpiImage image, long address, int minLength) {
        long off = address - image.baseAddress();
        assertTrue(off >= 0 && off + minLength <= image.size(),
                "address 0x" + Long.toHexString(address) + " is outside the image");
        return (int) off;
    }

    /** Finds RSDP, XSDT, the XSDT's tables and the FADT's DSDT, keyed by signature. */
    public static Map<String, Table> tables(AcpiImage image) {
        byte[] b = image.bytes();
        Map<String, Table> out = new LinkedHashMap<>();
        int rsdp = offsetOf(image, image.rsdpAddress(), dev.mesovirt.acpi.Sdt.RSDP_LENGTH);
        assertEquals("RSD PTR ", ascii(b, rsdp, 8));
        out.put("RSDP", new Table("RSDP", rsdp, (int) u32(b, rsdp + 20)));
        Table xsdt = header(image, b, u64(b, rsdp + 24));
        assertEquals("XSDT", xsdt.signature());
        out.put("XSDT", xsdt);
        for (int e = xsdt.offset() + 36; e < xsdt.end(); e += 8) {
            Table t = header(image, b, u64(b, e));
            assertTrue(out.putIfAbsent(t.signature(), t) == null, "duplicate table " + t.signature());
        }
        Table fadt = out.get("FACP");
        assertTrue(fadt != null, "XSDT lacks the FADT");
        Table dsdt = header(image, b, u64(b, fadt.offset() + 140));
        assertEquals("DSDT", dsdt.signature());
        out.put("DSDT", dsdt);
        return out;
    }

    private static Table header(AcpiImage image, byte[] b, long address) {
        int off = offsetOf(image, address, 36);
        int length = (int) u32(b, off + 4);
        offsetOf(image, address, length);
        return new Table(ascii(b, off, 4), off, length);
    }
}
