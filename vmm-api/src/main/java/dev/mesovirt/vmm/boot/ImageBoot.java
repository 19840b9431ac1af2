package dev.mesovirt.vmm.boot;

import dev.mesovirt.vmm.arch.BootException;
import dev.mesovirt.vmm.arch.BootFiles;
import dev.mesovirt.vmm.arch.BootPlan;
import dev.mesovirt.vmm.arch.BootRequest;
import dev.mesovirt.vmm.arch.MemoryLayout;
import dev.mesovirt.vmm.memory.GuestMemory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;

/**
 * {@link dev.mesovirt.vmm.arch.Architecture#loadGuest} for the architectures that boot a Linux Image with a device
 * tree: checks the kernel, the initrd and the command line, places them ({@link BootPlacement}), copies the files
 * into RAM and writes the device tree the architecture builds for that placement. Every error is a
 * {@link BootException} whose message names the file and the remedy.
 */
public final class ImageBoot {
    /** Bytes of /chosen/rng-seed, which Linux mixes into its entropy pool. */
    public static final int RNG_SEED_BYTES = 32;
    /** How much of the kernel file the header is read from (its 64 bytes, and an x86 bzImage's signature). */
    static final int HEAD_BYTES = 0x400;

    private ImageBoot() {}

    /** The architecture's device tree for a machine whose boot files lie at {@code placement}. */
    @FunctionalInterface
    public interface DeviceTreeBuilder {
        byte[] build(BootPlacement placement, byte[] rngSeed);
    }

    /** Loads the kernel (and initrd) of {@code request} into the first RAM region, with the device tree. */
    public static BootPlan load(ImageProtocol protocol, GuestMemory memory, MemoryLayout layout, BootRequest request,
            DeviceTreeBuilder deviceTree) throws BootException {
        String isa = protocol.format().isa();
        Path kernelPath = request.kernel();
        long kernelSize = BootFiles.size(kernelPath, "kernel");
        ImageHeader header;
        try {
            header = ImageHeader.parse(BootFiles.head(kernelPath, HEAD_BYTES), kernelSize, protocol.format());
        } catch (InvalidImageException e) {
            throw new BootException("kernel " + kernelPath + " " + e.getMessage(), e);
        }
        long initrdSize = 0;
        if (request.initrd().isPresent()) {
            initrdSize = BootFiles.size(request.initrd().get(), "initrd");
            if (initrdSize == 0) {
                throw new BootException("initrd " + request.initrd().get() + " is empty");
            }
        }
        String commandLine = request.commandLine();
        if (commandLine.getBytes(StandardCharsets.UTF_8).length >= protocol.commandLineSize()) {
            throw new BootException("kernel command line too long: " + isa + " Linux takes at most "
                    + (protocol.commandLineSize() - 1) + " bytes");
        }
        GuestMemory.Region ram = layout.ram().get(0);
        BootPlacement placement;
        try {
            placement = BootPlacement.compute(ram.guestAddress(), ram.size(), header, kernelSize, initrdSize,
                    protocol.placement());
        } catch (BootPlacement.PlacementException e) {
            throw new BootException(e.getMessage(), e);
        }

        BootFiles.load(memory, kernelPath, placement.kernelLoad(), kernelSize);
        if (request.initrd().isPresent()) {
            BootFiles.load(memory, request.initrd().get(), placement.initrdAddress(), initrdSize);
        }
        byte[] seed = new byte[RNG_SEED_BYTES];
        new SecureRandom().nextBytes(seed);
        byte[] dtb = deviceTree.build(placement, seed);
        if (dtb.length > BootPlacement.DTB_MAX_SIZE) {
            throw new BootException("the device tree is " + dtb.length + " bytes; " + isa
                    + " Linux takes at most 2 MiB");
        }
        memory.write(placement.dtbAddress(), dtb);
        return new BootPlan(placement.kernelLoad(), placement.dtbAddress(), placement.kernelLoad(),
                placement.kernelEnd(), placement.initrdAddress(), placement.initrdSize(), commandLine);
    }
}
