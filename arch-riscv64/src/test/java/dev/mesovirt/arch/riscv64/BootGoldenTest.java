package dev.mesovirt.arch.riscv64;

import static dev.mesovirt.arch.riscv64.Fixtures.MIB;

import dev.mesovirt.fdt.DeviceTree;
import dev.mesovirt.vmm.arch.BootRequest;
import dev.mesovirt.vmm.arch.MachineType;
import dev.mesovirt.vmm.arch.MemoryLayout;
import dev.mesovirt.vmm.testing.BootFixtures;
import dev.mesovirt.vmm.testing.Golden;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the riscv64 boot produces, pinned in boot-golden.txt: the device trees byte for byte, the boot plans, and the
 * outcome (fields or message) of the header parser and the placement over a corpus of good and bad inputs.
 */
class BootGoldenTest {
    @TempDir
    Path dir;

    @Test
    void bootOutputsAreUnchanged() throws Exception {
        List<String> lines = new ArrayList<>();
        for (int harts : new int[] {1, 2, 8, 64}) {
            byte[] dtb = Riscv64DeviceTreeTest.dtb(harts, Math.min(32, harts / 2), harts % 3 * MIB, "console=" + harts);
            lines.add("dtb of " + harts + " harts: " + dtb.length + " bytes sha256 " + Golden.sha256(dtb));
        }
        byte[] initrd = new byte[300_000];
        new Random(1).nextBytes(initrd);
        String[][] loads = {
            {"standard", "128", "2", "standard", "none", "console=ttyS0"},
            {"initrd", "128", "1", "standard", "initrd", ""},
            {"many harts", "2048", "64", "standard", "initrd", "x".repeat(1023)},
            {"little memory", "32", "1", "40 MiB image", "none", ""},
            {"initrd too big", "16", "1", "standard", "10 MiB", ""},
            {"empty initrd", "128", "1", "standard", "empty", ""},
            {"long line", "128", "1", "standard", "none", "x".repeat(1024)},
            {"not a kernel", "128", "1", "zeros", "none", ""},
        };
        for (String[] l : loads) {
            byte[] kernel = switch (l[3]) {
                case "standard" -> Fixtures.standard();
                case "40 MiB image" -> Fixtures.image(2 * MIB, 40 * MIB, 4096);
                default -> new byte[4096];
            };
            byte[] rd = switch (l[4]) {
                case "initrd" -> initrd;
                case "empty" -> new byte[0];
                case "10 MiB" -> new byte[10 * (int) MIB];
                default -> null;
            };
            long ram = Long.parseLong(l[1]) * MIB;
            lines.add("load " + l[0] + ": " + load(ram, Integer.parseInt(l[2]), kernel, rd, l[5]));
        }
        lines.addAll(Golden.summary("headers",
                Golden.headerOutcomes(RiscvImageHeader.FORMAT, BootGoldenTest::image, 2 * MIB, 0x644d5241)));
        lines.addAll(Golden.summary("placements",
                Golden.placementOutcomes(Riscv64Architecture.RAM_BASE, Riscv64Architecture.PLACEMENT)));
        Golden.assertMatches(BootGoldenTest.class, "boot-golden.txt", lines);
    }

    private String load(long ram, int vcpus, byte[] kernel, byte[] initrd, String cmdline) throws Exception {
        Riscv64Architecture arch = Fixtures.arch(vcpus);
        MemoryLayout layout = arch.memoryLayout(MachineType.MICROVM, ram, vcpus);
        BootRequest request = BootFixtures.request(dir, kernel, initrd, cmdline, vcpus, Fixtures.devices(layout, 2));
        return Golden.loadOutcome(arch, layout, request, dir,
                dtb -> DeviceTree.parse(dtb).node("/chosen").property("rng-seed").orElseThrow().value());
    }

    private static byte[] image(long textOffset, long imageSize, long flags, int length) {
        byte[] b = Fixtures.image(textOffset, imageSize, length);
        for (int i = 0; i < 8 && 24 + i < length; i++) {
            b[24 + i] = (byte) (flags >>> (8 * i));
        }
        return b;
    }
}
