package dev.mesovirt.vmm.arch;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * A kernel the firmware boots instead of the VMM ({@code -kernel} with pflash): the architecture hands it over as its
 * firmware expects (x86 OVMF: QEMU's fw_cfg kernel, initrd and command-line items).
 *
 * @param commandLine the kernel command line as the user gave it
 */
public record FirmwareKernel(Path kernel, Optional<Path> initrd, String commandLine) {
    public FirmwareKernel {
        Objects.requireNonNull(kernel, "kernel");
        Objects.requireNonNull(initrd, "initrd");
        Objects.requireNonNull(commandLine, "commandLine");
    }
}
