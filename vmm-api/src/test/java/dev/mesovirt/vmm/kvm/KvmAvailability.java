package dev.mesovirt.vmm.kvm;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/** Tests that need /dev/kvm skip without it on a developer machine, but fail under CI (CI=true). */
public final class KvmAvailability {
    private KvmAvailability() {}

    public static void require() {
        boolean present = Files.isReadable(Path.of(Kvm.DEFAULT_PATH)) && Files.isWritable(Path.of(Kvm.DEFAULT_PATH));
        if ("true".equals(System.getenv("CI"))) {
            assertTrue(present, "CI=true but /dev/kvm is not usable: KVM tests must run in CI");
        } else {
            assumeTrue(present, "/dev/kvm is not usable here");
        }
    }
}
