package dev.mesovirt.vmm.firmware;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FlashImageTest {
    @TempDir
    Path dir;

    /** A firmware-volume-shaped image: "_FVH" at 0x28, the rest a pattern ending in {@code tail}. */
    static Path volume(Path file, int size, byte[] tail) throws IOException {
        byte[] b = new byte[size];
        for (int i = 0; i < size; i++) {
            b[i] = (byte) i;
        }
        System.arraycopy("_FVH".getBytes(), 0, b, 0x28, 4);
        System.arraycopy(tail, 0, b, size - tail.length, tail.length);
        return Files.write(file, b);
    }

    private String error(Path file) {
        return assertThrows(IllegalArgumentException.class, () -> FlashImage.open(0, file, true)).getMessage();
    }

    private static void assertContains(String expected, String actual) {
        assertTrue(actual.contains(expected), () -> "expected '" + expected + "' in: " + actual);
    }

    @Test
    void acceptsAFirmwareVolumeOfWholeBlocks() throws IOException {
        byte[] tail = new byte[16];
        tail[0] = (byte) 0x90;
        tail[1] = (byte) 0xE9;
        Path f = volume(dir.resolve("code.fd"), 0x37C000, tail);
        FlashImage image = FlashImage.open(0, f, true);
        assertEquals(0x37C000, image.size());
        assertArrayEquals(tail, image.tail());
    }

    @Test
    void missingFile() {
        assertContains("pflash unit 0 (" + dir.resolve("nope.fd") + "): no such file", error(dir.resolve("nope.fd")));
    }

    @Test
    void truncatedFile() throws IOException {
        Path f = volume(dir.resolve("cut.fd"), 0x37C000, new byte[16]);
        byte[] all = Files.readAllBytes(f);
        Files.write(f, java.util.Arrays.copyOf(all, 0x200000 - 100));
        assertContains("2097052 bytes is not a whole number of 4 KiB flash blocks (truncated?", error(f));
        Files.write(f, new byte[0]);
        assertContains("empty file", error(f));
    }

    @Test
    void notAFirmwareVolume() throws IOException {
        Path f = Files.write(dir.resolve("kernel"), new byte[8192]);
        assertContains("not a UEFI firmware image (no firmware volume signature _FVH at offset 0x28)", error(f));
    }

    @Test
    void tooLarge() throws IOException {
        Path f = volume(dir.resolve("big.fd"), 9 << 20, new byte[16]);
        assertContains("more than the 8 MiB", error(f));
    }

    @Test
    void directory() {
        assertContains("pflash unit 0 (" + dir + ")", error(dir));
    }

    @Test
    void unitsMustBeZeroOneWithinTheLimit() {
        FlashImage a = new FlashImage(0, dir.resolve("a"), true, 4 << 20);
        FlashImage b = new FlashImage(1, dir.resolve("b"), false, 1 << 20);
        assertEquals(List.of(a, b), FlashImage.checkSet(List.of(b, a)));
        assertContains("pflash unit 0 is missing", assertThrows(IllegalArgumentException.class,
                () -> FlashImage.checkSet(List.of(b))).getMessage());
        assertContains("given twice", assertThrows(IllegalArgumentException.class,
                () -> FlashImage.checkSet(List.of(a, new FlashImage(0, dir.resolve("c"), true, 4096)))).getMessage());
        FlashImage big = new FlashImage(1, dir.resolve("b"), false, 5 << 20);
        assertContains("more than the 8 MiB", assertThrows(IllegalArgumentException.class,
                () -> FlashImage.checkSet(List.of(a, big))).getMessage());
    }

    @Test
    void arm64ImagesWithinTheirLimit() throws IOException {
        // AAVMF_CODE: a branch over the first 4 KiB, the volume behind it; 64 MiB, too much for x86's 8.
        byte[] code = new byte[64 << 20];
        code[0] = 0x00;
        code[1] = 0x04;
        code[3] = 0x14;
        System.arraycopy("_FVH".getBytes(), 0, code, 0x1028, 4);
        Path c = Files.write(dir.resolve("AAVMF_CODE.fd"), code);
        FlashImage image = FlashImage.open(0, c, true, FlashImage.ARM_VIRT_UNIT_LIMIT);
        assertEquals(64 << 20, image.size());
        assertEquals(0x14, image.head()[3]);
        assertContains("more than the 8 MiB", error(c));
        // AAVMF_VARS: all zeros, which the firmware formats; blank is fine for the variable store only.
        Path v = Files.write(dir.resolve("AAVMF_VARS.fd"), new byte[1 << 20]);
        assertEquals(1, FlashImage.open(1, v, false, FlashImage.ARM_VIRT_UNIT_LIMIT).unit());
        assertContains("not a UEFI firmware image", assertThrows(IllegalArgumentException.class,
                () -> FlashImage.open(0, v, true, FlashImage.ARM_VIRT_UNIT_LIMIT)).getMessage());
        byte[] mixed = new byte[8192];
        mixed[100] = 1;
        Path m = Files.write(dir.resolve("mixed.fd"), mixed);
        assertContains("not a UEFI firmware image", assertThrows(IllegalArgumentException.class,
                () -> FlashImage.open(1, m, false, FlashImage.ARM_VIRT_UNIT_LIMIT)).getMessage());
    }
}
