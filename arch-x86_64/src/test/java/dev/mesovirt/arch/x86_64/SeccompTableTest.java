package dev.mesovirt.arch.x86_64;

import dev.mesovirt.vmm.seccomp.SyscallTable;
import dev.mesovirt.vmm.testing.SyscallTableProbe;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** x86_64's seccomp allow-list (seccomp.txt): its numbers against this host's asm/unistd_64.h. */
class SeccompTableTest {
    private final SyscallTable table = new X86_64Architecture().seccompTable().orElseThrow();

    @Test
    void numbersMatchTheKernelHeaders() throws Exception {
        SyscallTableProbe.assertMatchesHeaders(table, "AUDIT_ARCH_X86_64", Optional.empty());
    }

    @Test
    void neverAllowsProcessCreationOrTracing() {
        SyscallTableProbe.assertForbidsProcessCreationAndTracing(table, "x86_64");
    }
}
