package dev.mesovirt.arch.riscv64;

import dev.mesovirt.vmm.seccomp.SyscallTable;
import dev.mesovirt.vmm.testing.SyscallTableProbe;
import org.junit.jupiter.api.Test;

/** riscv64's seccomp allow-list (seccomp.txt): its numbers against riscv64's asm/unistd.h (ci/uapi-headers.sh). */
class SeccompTableTest {
    private final SyscallTable table = new Riscv64Architecture().seccompTable().orElseThrow();

    @Test
    void numbersMatchTheKernelHeaders() throws Exception {
        SyscallTableProbe.assertMatchesForeignHeaders(table, "AUDIT_ARCH_RISCV64", "riscv64-linux-gnu", "MESOVIRT_RISCV64_UAPI");
    }

    @Test
    void neverAllowsProcessCreationOrTracing() {
        SyscallTableProbe.assertForbidsProcessCreationAndTracing(table, "riscv64");
    }
}
