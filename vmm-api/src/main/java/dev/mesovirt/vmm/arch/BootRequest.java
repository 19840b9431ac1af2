package dev.mesovirt.vmm.arch;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * What to boot and which devices the firmware tables must announce.
 *
 * @param kernel the kernel image in the architecture's boot format (bzImage, arm64 Image, riscv64 Image)
 * @param commandLine the kernel command line as the user gave it; the architecture may append to it
 */
public record BootRequest(Path kernel, Optional<Path> initrd, String commandLine, int vcpus, List<DeviceDescription> devices) {
    public BootRequest {
        devices = List.copyOf(devices);
    }
}
