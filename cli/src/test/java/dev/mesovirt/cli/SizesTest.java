package dev.mesovirt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SizesTest {
    @ParameterizedTest
    @CsvSource({
        "0, 0",
        "1, 1048576",
        "256, 268435456",
        "256M, 268435456",
        "256m, 268435456",
        "1G, 1073741824",
        "1g, 1073741824",
        "2048K, 2097152",
        "2048k, 2097152",
        "1T, 1099511627776",
        "1t, 1099511627776",
        "512B, 512",
        "512b, 512",
        "0001K, 1024",
        "8388607T, 9223370937343148032",
        "9223372036854775807B, 9223372036854775807",
        "8796093022207, 9223372036853727232",
    })
    void validSizes(String text, long bytes) {
        assertEquals(bytes, Sizes.parseSize(text));
    }

    @ParameterizedTest
    @CsvSource(delimiter = ';', value = {
        "''; -1",
        "K; -1",
        "1KB; -1",
        "1P; -1",
        "1E; -1",
        "1.0; -1",
        "-1; -1",
        "'1 '; -1",
        "1Ki; -1",
        "٣; -1",
        "8388608T; -2",
        "8796093022208; -2",
        "9223372036854775808B; -2",
        "99999999999999999999999; -2",
    })
    void invalidSizes(String text, long result) {
        assertEquals(result, Sizes.parseSize(text));
    }

    @ParameterizedTest
    @CsvSource({"0, 0", "7, 7", "007, 7", "254, 254", "999999999, 999999999", "1000000000, -1", "'', -1", "-1, -1",
        "1a, -1", "+1, -1", "' 1', -1"})
    void counts(String text, int value) {
        assertEquals(value, Sizes.parseCount(text));
    }

    @Test
    void describe() {
        assertEquals("64 MiB", Sizes.describe(64L << 20));
        assertEquals("1536 MiB", Sizes.describe(1536L << 20));
        assertEquals("2 GiB", Sizes.describe(2L << 30));
    }

    @Test
    void meminfo(@TempDir Path dir) throws IOException {
        assertEquals(24576000L << 10, HostMemory.parse(bytes("MemTotal:       24576000 kB\nMemFree: 1 kB\n")));
        assertEquals(1024, HostMemory.parse(bytes("Foo: 3 kB\nMemTotal: 1 kB\n")));
        assertEquals(-1, HostMemory.parse(bytes("MemFree: 1 kB\n")));
        assertEquals(-1, HostMemory.parse(bytes("XMemTotal: 1 kB\n")));
        assertEquals(-1, HostMemory.parse(bytes("MemTotal: 1 MB\n")));
        assertEquals(-1, HostMemory.parse(bytes("MemTotal: kB\n")));
        assertEquals(-1, HostMemory.parse(bytes("MemTotal: 12")));
        assertEquals(-1, HostMemory.parse(bytes("MemTotal: 9999999999999999 kB\n")));
        assertEquals(-1, HostMemory.parse(new byte[0]));
        assertEquals(-1, HostMemory.totalBytes(dir.resolve("missing")));
        Path file = Files.writeString(dir.resolve("meminfo"), "MemTotal:        2048 kB\n");
        assertEquals(2L << 20, HostMemory.totalBytes(file));
    }

    @Test
    void realMeminfo() {
        long total = HostMemory.totalBytes();
        if (Files.isReadable(Path.of("/proc/meminfo"))) {
            assertEquals(0, total & 1023);
            assertEquals(true, total > 64L << 20, "MemTotal " + total);
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
