package dev.mesovirt.fdt.nodes;

import dev.mesovirt.fdt.FdtWriter;
import dev.mesovirt.fdt.OpenNode;
import java.util.Objects;
import java.util.Optional;

/**
 * {@code /chosen}: what the kernel gets besides the hardware.
 *
 * @param bootargs the kernel command line
 * @param stdoutPath the path of the console's node ({@code /uart@9000000})
 * @param initrdStart where the initrd lies; the initrd properties are written only with a start and a size
 * @param initrdSize the initrd's length in bytes
 * @param rngSeed bytes for {@code rng-seed}, which Linux mixes into its entropy pool; empty for none
 */
public record ChosenNode(String bootargs, String stdoutPath, Optional<Long> initrdStart, long initrdSize,
        byte[] rngSeed) {
    public ChosenNode {
        Objects.requireNonNull(bootargs, "bootargs");
        Objects.requireNonNull(stdoutPath, "stdoutPath");
        Objects.requireNonNull(initrdStart, "initrdStart");
        rngSeed = rngSeed.clone();
    }

    public void writeTo(FdtWriter fdt) {
        OpenNode chosen = fdt.beginNode("chosen");
        fdt.propertyString("bootargs", bootargs);
        fdt.propertyString("stdout-path", stdoutPath);
        if (initrdStart.isPresent() && initrdSize > 0) {
            long start = initrdStart.get();
            fdt.propertyU64("linux,initrd-start", start);
            fdt.propertyU64("linux,initrd-end", start + initrdSize);
        }
        if (rngSeed.length > 0) {
            fdt.property("rng-seed", rngSeed);
        }
        fdt.endNode(chosen);
    }
}
