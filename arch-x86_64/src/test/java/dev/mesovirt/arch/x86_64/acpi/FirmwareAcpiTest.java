package dev.mesovirt.arch.x86_64.acpi;

import dev.mesovirt.acpi.AcpiImage;
import dev.mesovirt.acpi.FirmwareAcpi;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The table-loader is checked by running it as firmware does (a small interpreter of QEMU's three commands here):
 * the blobs placed at other addresses and patched must be exactly the image the builder makes for those addresses.
 */
class FirmwareAcpiTest {
    /** Runs {@code loader} over the blobs, placed at {@code addresses}; returns the patched blobs. */
    static Map<String, byte[]> load(byte[] loader, Map<String, byte[]> blobs, Map<String, Long> addresses) {
        Map<String, byte[]> out = new java.util.HashMap<>();
        blobs.forEach((k, v) -> out.put(k, v.clone()));
        ByteBuffer l = ByteBuffer.wrap(loader).order(ByteOrder.LITTLE_ENDIAN);
        for (int at = 0; at < loader.length; at += 128) {
            int type = l.getInt(at);
            String file = name(loader, at + 4);
            switch (type) {
                case 1 -> assertEquals(true, addresses.containsKey(file), "allocated " + file);
                case 2 -> {
                    String source = name(loader, at + 4 + 56);
                    int offset = l.getInt(at + 4 + 112);
                    int size = loader[at + 4 + 116];
                    ByteBuffer d = ByteBuffer.wrap(out.get(file)).order(ByteOrder.LITTLE_ENDIAN);
                    if (size == 8) {
                        d.putLong(offset, d.getLong(offset) + addresses.get(source));
                    } else {
                        d.putInt(offset, (int) (d.getInt(offset) + addresses.get(source)));
                    }
                }
                case 3 -> {
                    int result = l.getInt(at + 4 + 56);
                    int start = l.getInt(at + 4 + 60);
                    int length = l.getInt(at + 4 + 64);
                    byte[] b = out.get(file);
                    int sum = 0;
                    for (int i = start; i < start + length; i++) {
                        sum += b[i];
                    }
                    b[result] = (byte) (b[result] - sum);
                }
                default -> throw new AssertionError("command " + type);
            }
        }
        return out;
    }

    private static String name(byte[] b, int at) {
        int end = at;
        while (b[end] != 0) {
            end++;
        }
        return new String(b, at, end - at, StandardCharsets.US_ASCII);
    }

    private static void assertRelocates(AcpiPlatform platform, long tablesAt) {
        AcpiImage image = AcpiTables.build(0xE0000, platform);
        FirmwareAcpi fw = FirmwareAcpi.of(image);
        Map<String, byte[]> loaded = load(fw.loader(),
                Map.of(FirmwareAcpi.RSDP_FILE, fw.rsdp(), FirmwareAcpi.TABLES_FILE, fw.tables()),
                Map.of(FirmwareAcpi.RSDP_FILE, 0xF5A00L, FirmwareAcpi.TABLES_FILE, tablesAt));
        byte[] expected = AcpiTables.build(tablesAt, platform).bytes();
        byte[] tables = loaded.get(FirmwareAcpi.TABLES_FILE);
        // The RSDP's old copy at the start of the tables blob is not pointed to; the rest must be the image at tablesAt.
        assertArrayEquals(Arrays.copyOfRange(expected, 36, expected.length), Arrays.copyOfRange(tables, 36, tables.length));
        assertArrayEquals(Arrays.copyOfRange(expected, 0, 36), loaded.get(FirmwareAcpi.RSDP_FILE),
                "the RSDP (pointer and both checksums) as built for tablesAt");
    }

    @Test
    void q35TablesRelocateToWhereTheFirmwarePutsThem() {
        assertRelocates(Platforms.typical(), 0x7FE0_0000L);
        assertRelocates(Platforms.q35(Platforms.Q35_BRIDGE), 0x7FE0_0000L);
    }

    @Test
    void randomPlatformsAndAddresses() {
        Random rnd = new Random(18);
        for (int i = 0; i < 50; i++) {
            assertRelocates(i % 2 == 0 ? Platforms.random(rnd) : Platforms.randomQ35(rnd), (0x100000L + rnd.nextInt(0x7000_0000)) & ~63L);
        }
    }
}
