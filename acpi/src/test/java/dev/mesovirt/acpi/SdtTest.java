package dev.mesovirt.acpi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.mesovirt.acpi.testing.ImageReader;
import dev.mesovirt.acpi.testing.ImageReader.Table;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** The shared pieces on their own: header and checksums, the image layout, the FADT's two shapes. */
class SdtTest {
    private static int u32(byte[] b, int at) {
        return (b[at] & 0xff) | (b[at + 1] & 0xff) << 8 | (b[at + 2] & 0xff) << 16 | (b[at + 3] & 0xff) << 24;
    }

    @Test
    void aTableHasItsLengthAndAZeroSum() {
        byte[] t = Sdt.finish(Sdt.begin("TEST", 3).u32(0xdeadbeefL).u8(7));
        assertEquals(Sdt.HEADER_LENGTH + 5, t.length);
        assertEquals(t.length, u32(t, 4));
        assertEquals(3, t[8]);
        assertEquals(0, ImageReader.sum(t, 0, t.length) & 0xff);
        assertEquals("MESOVTMESOVIRT", new String(t, 10, 14, java.nio.charset.StandardCharsets.US_ASCII));
    }

    @Test
    void theImageLeadsFromTheRsdpToEveryTableAndTheDsdt() {
        byte[] a = Sdt.finish(Sdt.begin("AAAA", 1).zeros(3));
        byte[] b = Sdt.finish(Sdt.begin("BBBB", 1));
        byte[] dsdt = Sdt.finish(Sdt.begin("DSDT", 2));
        Fadt fadt = new Fadt(3, 0, 0, Fadt.ARM_PSCI_COMPLIANT, OptionalLong.empty(), 0, OptionalLong.empty(),
                OptionalLong.empty());
        AcpiImage image = Sdt.image(0x1000, Fadt.LENGTH, fadt::table, List.of(a, b), dsdt);
        Map<String, Table> tables = ImageReader.tables(image);
        assertEquals(List.of("RSDP", "XSDT", "FACP", "AAAA", "BBBB", "DSDT"), List.copyOf(tables.keySet()));
        byte[] bytes = image.bytes();
        for (Table t : tables.values()) {
            assertEquals(0, t.offset() % Sdt.TABLE_ALIGNMENT, t.signature());
            assertEquals(0, ImageReader.sum(bytes, t.offset(), t.signature().equals("RSDP") ? 36 : t.length()) & 0xff,
                    t.signature());
        }
        Table f = tables.get("FACP");
        // DSDT (offset 40) and X_DSDT (offset 140) name the DSDT's address.
        long dsdtAddress = 0x1000 + tables.get("DSDT").offset();
        assertEquals(dsdtAddress, u32(bytes, f.offset() + 40));
        assertEquals(dsdtAddress, u32(bytes, f.offset() + 140));
        assertArrayEquals(dsdt, ImageReader.slice(bytes, tables.get("DSDT")));
    }

    @Test
    void theFadtsFlagsAndRegisters() {
        byte[] arm = new Fadt(3, 0, 0, Fadt.ARM_PSCI_COMPLIANT | Fadt.ARM_PSCI_USE_HVC, OptionalLong.empty(), 0,
                OptionalLong.empty(), OptionalLong.empty()).table(0x2000);
        assertEquals(Fadt.LENGTH, arm.length);
        assertEquals(Fadt.HW_REDUCED_ACPI, u32(arm, 112));
        assertEquals(3, arm[129] & 0xff | (arm[130] & 0xff) << 8); // ARM_BOOT_ARCH
        assertEquals(3, arm[131]); // minor revision
        assertEquals(0, u32(arm, 116 + 4)); // RESET_REG address: none
        byte[] x86 = new Fadt(5, 0, 0x14, 0, OptionalLong.of(0xfea00202L), 0x42, OptionalLong.of(0xfea00200L),
                OptionalLong.of(0xfea00201L)).table(0x2000);
        assertEquals(Fadt.HW_REDUCED_ACPI | Fadt.RESET_REG_SUP, u32(x86, 112));
        assertEquals(0xfea00202L, Integer.toUnsignedLong(u32(x86, 116 + 4)));
        assertEquals(0x42, x86[128] & 0xff);
        assertEquals(0, ImageReader.sum(x86, 0, x86.length) & 0xff);
        assertThrows(IllegalArgumentException.class, () -> new Fadt(3, 0, 0, 0, OptionalLong.empty(), 0,
                OptionalLong.empty(), OptionalLong.empty()).table(0x1_0000_0000L));
    }

    @Test
    void badInputIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> Sdt.mcfg(0x3f00_0000L, 0));
        assertThrows(IllegalArgumentException.class, () -> Sdt.mcfg(0x3f00_0000L, 257));
        byte[] dsdt = Sdt.finish(Sdt.begin("DSDT", 2));
        Fadt fadt = new Fadt(3, 0, 0, 0, OptionalLong.empty(), 0, OptionalLong.empty(), OptionalLong.empty());
        assertThrows(IllegalArgumentException.class, () -> Sdt.image(0x1008, Fadt.LENGTH, fadt::table, List.of(), dsdt));
        assertThrows(IllegalArgumentException.class,
                () -> Sdt.image(0xFFFF_FF00L, Fadt.LENGTH, fadt::table, List.of(), dsdt));
        assertThrows(IllegalStateException.class, () -> Sdt.image(0x1000, 100, fadt::table, List.of(), dsdt));
    }
}
