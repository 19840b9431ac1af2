package dev.mesovirt.vmm.firmware;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The unit's host side without a VM: its contents come from the file and a writable unit's changes go back. */
class FlashUnitTest {
    @TempDir
    Path dir;

    private static int read(CfiFlash f, long offset) {
        byte[] b = new byte[1];
        f.read(offset, b);
        return b[0] & 0xFF;
    }

    private static void write(CfiFlash f, long offset, int value) {
        f.write(offset, new byte[] {(byte) value});
    }

    @Test
    void variableStoreWritesPersistToTheFile() throws IOException {
        Path vars = FlashImageTest.volume(dir.resolve("vars.fd"), 0x84000, new byte[16]);
        byte[] original = Files.readAllBytes(vars);
        try (FlashUnit unit = new FlashUnit(FlashImage.open(1, vars, false), 0xFFC00000L, 33)) {
            CfiFlash f = unit.flash();
            assertEquals(original[0x1234] & 0xFF, read(f, 0x1234));
            write(f, 0x2000, 0x20);
            write(f, 0x2000, 0xD0);
            write(f, 0x3000, 0x10);
            write(f, 0x3000, 0x5A);
            write(f, 0x3000, 0xFF);
        }
        byte[] now = Files.readAllBytes(vars);
        byte[] expected = original.clone();
        Arrays.fill(expected, 0x2000, 0x3000, (byte) 0xFF);
        expected[0x3000] = 0x5A;
        assertArrayEquals(expected, now);
    }

    @Test
    void codeUnitLeavesTheFileAlone() throws IOException {
        Path code = FlashImageTest.volume(dir.resolve("code.fd"), 0x10000, new byte[16]);
        byte[] original = Files.readAllBytes(code);
        try (FlashUnit unit = new FlashUnit(FlashImage.open(0, code, true), 0xFFFF0000L, 32)) {
            write(unit.flash(), 0x100, 0x20);
            write(unit.flash(), 0x100, 0xD0);
            assertEquals(0xA0, read(unit.flash(), 0x100), "ready + erase error");
        }
        assertArrayEquals(original, Files.readAllBytes(code));
    }
}
