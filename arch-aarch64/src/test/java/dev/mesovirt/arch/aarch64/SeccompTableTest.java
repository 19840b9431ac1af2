package dev.mesovirt.arch.aarch64;

import dev.mesovirt.vmm.seccomp.SyscallTable;
import dev.mesovirt.vmm.testing.SyscallTableProbe;
import org.junit.jupiter.api.Test;

/** aarch64's seccomp allow-list (seccomp.txt): its numbers against aarch64's asm/unistd.h (ci/uapi-headers.sh). */
class SeccompTableTest {
    private final SyscallTable table = new Aarch64Architecture().seccompTable().orElseThrow();

    @Test
    void numbersMatchTheKernelHeaders() throws Exception {
        SyscallTableProbe.assertMatchesForeignHeaders(table, "AUDIT_ARCH_AARCH64", "aarch64-linux-gnu", "MESOVIRT_ARM64_UAPI");
    }

    @Test
    void neverAllowsProcessCreationOrTracing() {
        SyscallTableProbe.assertForbidsProcessCreationAndTracing(table, "aarch64");
    }
}
