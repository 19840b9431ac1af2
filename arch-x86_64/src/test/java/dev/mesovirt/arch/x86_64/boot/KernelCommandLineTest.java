package dev.mesovirt.arch.x86_64.boot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class KernelCommandLineTest {

    @Test
    void buildsSpaceSeparatedNulTerminatedLine() {
        KernelCommandLine c = new KernelCommandLine(2047)
                .param("console", "ttyS0")
                .flag("quiet")
                .param("root", "/dev/vda")
                .param("mem", 512)
                .append("  init=/bin/sh panic=-1  ");
        assertEquals("console=ttyS0 quiet root=/dev/vda mem=512 init=/bin/sh panic=-1", c.toString());
        byte[] bytes = c.toBytes();
        assertEquals(c.length() + 1, bytes.length);
        assertEquals(0, bytes[bytes.length - 1]);
        assertArrayEquals((c + "\0").getBytes(StandardCharsets.US_ASCII), bytes);
    }

    @Test
    void emptyLineIsJustNul() {
        KernelCommandLine c = new KernelCommandLine(10).append("   ");
        assertArrayEquals(new byte[] {0}, c.toBytes());
        assertEquals(0, c.length());
    }

    @Test
    void quotesValuesWithSpaces() {
        KernelCommandLine c = new KernelCommandLine(255).param("dyndbg", "file foo.c +p").param("x", "");
        assertEquals("dyndbg=\"file foo.c +p\" x=", c.toString());
        assertThrows(IllegalArgumentException.class,
                () -> new KernelCommandLine(255).param("bad", "a \"b\""));
        new KernelCommandLine(255).param("ok", "a\"b"); // a quote without spaces is passed through
    }

    @Test
    void rejectsNul() {
        KernelCommandLine c = new KernelCommandLine(255);
        assertThrows(IllegalArgumentException.class, () -> c.flag("a\0b"));
        assertThrows(IllegalArgumentException.class, () -> c.param("a", "b\0"));
        assertThrows(IllegalArgumentException.class, () -> c.append("x\0"));
        assertEquals(0, c.length());
    }

    @Test
    void rejectsMalformedKeys() {
        KernelCommandLine c = new KernelCommandLine(255);
        assertThrows(IllegalArgumentException.class, () -> c.flag(""));
        assertThrows(IllegalArgumentException.class, () -> c.flag("a b"));
        assertThrows(IllegalArgumentException.class, () -> c.flag("a=b"));
        assertThrows(IllegalArgumentException.class, () -> c.param("a=b", "c"));
        assertThrows(IllegalArgumentException.class, () -> c.param("a\nb", "c"));
        assertThrows(IllegalArgumentException.class, () -> c.param(null, "c"));
        assertThrows(IllegalArgumentException.class, () -> c.param("a", (String) null));
        assertThrows(IllegalArgumentException.class, () -> c.append(null));
    }

    @Test
    void lengthLimitIsExclusiveOfTheNul() {
        KernelCommandLine c = new KernelCommandLine(9).flag("abcd").flag("efgh"); // "abcd efgh" = 9
        assertEquals(9, c.length());
        assertEquals(10, c.toBytes().length);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> c.flag("i"));
        assertTrue(e.getMessage().contains("too long"), e.getMessage());
        assertTrue(e.getMessage().contains("11 bytes"), e.getMessage());
        assertTrue(e.getMessage().contains("at most 9"), e.getMessage());
        // A rejected append changes nothing.
        assertEquals("abcd efgh", c.toString());
    }

    @Test
    void zeroLimitAllowsOnlyEmpty() {
        KernelCommandLine c = new KernelCommandLine(0).append("");
        assertThrows(IllegalArgumentException.class, () -> c.flag("a"));
        assertThrows(IllegalArgumentException.class, () -> new KernelCommandLine(-1));
    }

    @Test
    void lengthCountsUtf8Bytes() {
        KernelCommandLine c = new KernelCommandLine(4).param("a", "é"); // "a=é" = 4 bytes
        assertEquals(4, c.length());
        assertThrows(IllegalArgumentException.class, () -> new KernelCommandLine(3).param("a", "é"));
    }

    @Test
    void forKernelUsesCmdlineSize() {
        SetupHeader h = SyntheticBzImage.parsed().header();
        assertEquals(2047, KernelCommandLine.forKernel(h).maxLength());
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 2047; i++) {
            sb.append('x');
        }
        KernelCommandLine full = KernelCommandLine.forKernel(h).append(sb.toString());
        assertEquals(2048, full.toBytes().length);
        assertThrows(IllegalArgumentException.class, () -> full.flag("y"));
    }

    @Test
    void forKernelIsCappedByTheCommandLineRegion() throws Exception {
        BzImage k = BzImage.parse(SyntheticBzImage.create().u32(BootProtocol.HDR_CMDLINE_SIZE, 0xFFFF_FFFFL).build());
        assertEquals(LowMemoryMap.CMDLINE_MAX_SIZE - 1, KernelCommandLine.forKernel(k.header()).maxLength());
    }
}
