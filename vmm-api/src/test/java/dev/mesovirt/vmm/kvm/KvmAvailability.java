package dev.mesovirt.vmm.kvm;

import dev.mesovirt.vmm.testing.HostRequirement;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Tests that need {@code /dev/kvm} ({@link RequiresKvm}) fail without it under CI ({@code CI=true}) and skip on a
 * developer's machine, saying what was found and how to run them anyway.
 */
public final class KvmAvailability {
    private KvmAvailability() {}

    public static void require() {
        Path dev = Path.of(Kvm.DEFAULT_PATH);
        String found = found(dev);
        HostRequirement.require(found == null, found + ": this test needs a usable " + dev
                + "; bash ci/kvm-jobs.sh unit runs the KVM tests here or, without one, in the emulated x86_64 KVM host");
    }

    /** What is wrong with {@code dev} ("no /dev/kvm", ...), or null when it can be opened for reading and writing. */
    static String found(Path dev) {
        if (!Files.exists(dev)) {
            return "no " + dev;
        }
        if (!Files.isReadable(dev) || !Files.isWritable(dev)) {
            return dev + " is not readable and writable by this user";
        }
        return null;
    }
}
