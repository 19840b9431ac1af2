package dev.mesovirt.vmm.testing;

import dev.mesovirt.vmm.arch.BootRequest;
import dev.mesovirt.vmm.arch.DeviceDescription;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** Boot requests for loadGuest tests, with the kernel and initrd bytes written as files. */
public final class BootFixtures {
    private BootFixtures() {}

    /** {@code kernel} as dir/Image and {@code initrd} (null: none) as dir/initrd. */
    public static BootRequest request(Path dir, byte[] kernel, byte[] initrd, String cmdline, int vcpus,
            List<DeviceDescription> devices) throws IOException {
        Path k = Files.write(dir.resolve("Image"), kernel);
        Optional<Path> i = initrd == null ? Optional.empty() : Optional.of(Files.write(dir.resolve("initrd"), initrd));
        return new BootRequest(k, i, cmdline, vcpus, devices);
    }
}
