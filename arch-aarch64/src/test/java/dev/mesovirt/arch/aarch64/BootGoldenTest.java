package dev.mesovirt.arch.aarch64;

import dev.mesovirt.fdt.DeviceTree;
import dev.mesovirt.vmm.arch.BootRequest;
import dev.mesovirt.vmm.arch.MachineType;
import dev.mesovirt.vmm.arch.MemoryLayout;
import dev.mesovirt.vmm.testing.BootFixtures;
import dev.mesovirt.vmm.testing.Golden;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the arm64 boot produces, pinned in boot-golden.txt: the device trees byte for byte, the boot plans, and the
 * outcome (fields or message) of the header parser and the placement over a corpus of good and bad inputs.
 */
class BootGoldenTest {
    private static final long MIB = 1L << 20;

    @TempDir
    Path dir;

    @Test
    void bootOutputsAreUnchanged() throws Exception {
        List<String> lines = new ArrayList<>();
        for (int[] m : new int[][] {{1, 0, 0, 0}, {2, 3, 1, 0}, {17, 8, 5, 1}, {123, 32, 0, 1}}) {
            byte[] dtb = Aarch64DeviceTreeTest.dtb(m[0], m[1], m[2] * MIB + 17 * m[2], "console=ttyS0 x=" + m[0],
                    m[3] == 1);
            lines.add("dtb " + Arrays.toString(m) + ": " + dtb.length + " bytes sha256 " + Golden.sha256(dtb));
        }
        byte[] initrd = new byte[3 * (int) MIB + 5];
        new Random(3).nextBytes(initrd);
        lines.add("load standard: " + load(64 * MIB, 2, SyntheticImage.standard(), null, "console=ttyS0", 2, false));
        lines.add("load initrd: " + load(64 * MIB, 1, SyntheticImage.standard(), initrd, "", 2, false));
        lines.add("load legacy: " + load(64 * MIB, 1, SyntheticImage.image(0x80000, 4 * MIB, 0, 8192), initrd, "", 0,
                false));
        lines.add("load big: " + load(1024 * MIB, 123, SyntheticImage.standard(), initrd, "a".repeat(2047), 32, true));
        lines.add("load gzip: " + load(64 * MIB, 1, new byte[] {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 0, 3}, null, "",
                0, false));
        lines.add("load short: " + load(64 * MIB, 1, new byte[10], null, "", 0, false));
        lines.add("load zeros: " + load(64 * MIB, 1, new byte[200], null, "", 0, false));
        lines.add("load big-endian: " + load(64 * MIB, 1, SyntheticImage.image(0, MIB, 1, 4096), null, "", 0, false));
        lines.add("load little memory: " + load(16 * MIB, 1, SyntheticImage.image(0, 20 * MIB, 0xa, 4096), null, "", 0,
                false));
        lines.add("load initrd too big: " + load(64 * MIB, 1, SyntheticImage.standard(), new byte[61 * (int) MIB + 1],
                "", 0, false));
        lines.add("load empty initrd: " + load(64 * MIB, 1, SyntheticImage.standard(), new byte[0], "", 0, false));
        lines.add("load long line: " + load(64 * MIB, 1, SyntheticImage.standard(), null, "a".repeat(2048), 0, false));
        lines.addAll(Golden.summary("headers",
                Golden.headerOutcomes(ArmImageHeader.FORMAT, SyntheticImage::image, 0, 0x0543_5352)));
        lines.addAll(Golden.summary("placements",
                Golden.placementOutcomes(Aarch64Architecture.RAM_BASE, Aarch64Architecture.PLACEMENT)));
        Golden.assertMatches(BootGoldenTest.class, "boot-golden.txt", lines);
    }

    private String load(long ram, int vcpus, byte[] kernel, byte[] initrd, String cmdline, int slots,
            boolean powerButton) throws Exception {
        MemoryLayout layout = Fixtures.ARCH.memoryLayout(MachineType.MICROVM, ram, vcpus);
        BootRequest request = BootFixtures.request(dir, kernel, initrd, cmdline, vcpus,
                Fixtures.devices(layout, slots, powerButton));
        return Golden.loadOutcome(Fixtures.ARCH, layout, request, dir,
                dtb -> DeviceTree.parse(dtb).node("/chosen").property("rng-seed").orElseThrow().value());
    }
}
