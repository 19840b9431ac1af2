package dev.mesovirt.arch.x86_64.boot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Parses real distribution kernels when the machine has any: {@code /boot/vmlinuz-*}, the guest kernels
 * {@code ci/guest-image.sh} builds under {@code ${MESOVIRT_CACHE:-~/.cache/mesovirt}/guest/x86_64/vmlinuz-*},
 * and a file named by the {@code MESOVIRT_TEST_BZIMAGE} environment variable. Skipped when there are none.
 */
class RealKernelTest {

    static List<Path> realKernels() throws IOException {
        List<Path> found = new ArrayList<>();
        String cache = System.getenv("MESOVIRT_CACHE");
        Path cacheDir = cache != null && !cache.isEmpty() ? Path.of(cache)
                : Path.of(System.getProperty("user.home"), ".cache", "mesovirt");
        for (Path dir : List.of(Path.of("/boot"), cacheDir.resolve("guest").resolve("x86_64"))) {
            if (!Files.isDirectory(dir)) {
                continue;
            }
            try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "vmlinuz-*")) {
                for (Path f : files) {
                    if (Files.isRegularFile(f) && Files.isReadable(f)) {
                        found.add(f);
                    }
                }
            }
        }
        String explicit = System.getenv("MESOVIRT_TEST_BZIMAGE");
        if (explicit != null && !explicit.isEmpty()) {
            found.add(Path.of(explicit));
        }
        return found;
    }

    @Test
    void realKernelsParseWithSaneValues() throws Exception {
        List<Path> kernels = realKernels();
        if ("true".equals(System.getenv("CI"))) {
            // ci/test.sh builds the test guest's kernels before the unit tests: a skip here would hide a broken cache.
            assertFalse(kernels.isEmpty(), "no real bzImage: ci/guest-image.sh x86_64 builds them (CI=true)");
        }
        Assumptions.assumeFalse(kernels.isEmpty(), "no real bzImage on this machine");
        for (Path path : kernels) {
            BzImage k = BzImage.parse(path);
            SetupHeader h = k.header();
            String what = path + " " + h;
            assertTrue(h.protocolVersion() >= 0x020C, what);
            assertTrue(h.relocatable(), what);
            assertTrue(h.hasXloadflag(BootProtocol.XLF_KERNEL_64), what);
            assertTrue((h.loadflags() & BootProtocol.LOADED_HIGH) != 0, what);
            assertEquals(1, Long.bitCount(h.kernelAlignment()), what);
            assertTrue(h.kernelAlignment() >= 0x1000, what);
            assertTrue(h.prefAddress() >= LowMemoryMap.HIMEM_START, what);
            assertTrue(h.cmdlineSize() >= 255, what);
            assertTrue(h.initSize() > h.payloadLength(), what);
            assertTrue(h.initrdAddrMax() >= 0x37FF_FFFFL, what);
            assertTrue(h.kernelVersion().matches("\\d+\\.\\d+.*"), what);
            assertTrue(k.protectedModeLength() >= h.syssize() * 16, what);

            // The whole pipeline: 512 MiB guest, 20 MiB initrd.
            long lowRamEnd = 512L << 20;
            KernelPlacement p = KernelPlacement.compute(k, lowRamEnd, 20L << 20);
            assertEquals(0, p.kernelLoadAddress() % h.kernelAlignment(), what);
            assertTrue(p.initrdAddress() >= p.kernelEnd(), what);
            assertTrue(p.initrdAddress() + p.initrdSize() <= lowRamEnd, what);
            KernelCommandLine cmdline = KernelCommandLine.forKernel(h).param("console", "ttyS0").flag("quiet");
            byte[] zp = BootParams.builder(k).placement(p).commandLine(LowMemoryMap.CMDLINE_ADDR)
                    .acpiRsdp(LowMemoryMap.ACPI_TABLES_ADDR).e820(LowMemoryMap.e820(lowRamEnd, 0)).build();
            ByteBuffer b = ByteBuffer.wrap(zp).order(ByteOrder.LITTLE_ENDIAN);
            assertEquals(0xAA55, b.getShort(BootProtocol.HDR_BOOT_FLAG) & 0xFFFF, what);
            assertEquals(BootProtocol.HDRS_MAGIC, b.getInt(BootProtocol.HDR_HEADER), what);
            assertEquals(p.kernelLoadAddress(), b.getInt(BootProtocol.HDR_CODE32_START) & 0xFFFF_FFFFL, what);
            assertEquals(0, zp[BootProtocol.ZP_SENTINEL], what);
            // Fields the loader does not write are the kernel's, byte for byte.
            byte[] header = k.setupHeader();
            for (int offset : new int[] {BootProtocol.HDR_VERSION, BootProtocol.HDR_XLOADFLAGS,
                    BootProtocol.HDR_KERNEL_ALIGNMENT, BootProtocol.HDR_CMDLINE_SIZE, BootProtocol.HDR_PREF_ADDRESS,
                    BootProtocol.HDR_INIT_SIZE}) {
                int from = offset - BootProtocol.HDR_START;
                assertArrayEquals(Arrays.copyOfRange(header, from, from + 2), Arrays.copyOfRange(zp, offset, offset + 2),
                        what + " at 0x" + Integer.toHexString(offset));
            }

            // Too little memory is reported in MiB.
            KernelPlacementException e = assertThrows(KernelPlacementException.class,
                    () -> KernelPlacement.compute(k, 20L << 20, 0));
            assertTrue(e.getMessage().startsWith("kernel needs "), e.getMessage());
            assertTrue(cmdline.length() > 0);
        }
    }
}
