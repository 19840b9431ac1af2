package dev.mesovirt.arch.riscv64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.mesovirt.vmm.seccomp.SyscallTable;
import dev.mesovirt.vmm.testing.CProbe;
import dev.mesovirt.vmm.testing.HostRequirement;
import dev.mesovirt.vmm.testing.SyscallTableProbe;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** riscv64's seccomp allow-list (seccomp.txt): its numbers against riscv64's asm/unistd.h (ci/uapi-headers.sh). */
class SeccompTableTest {
    private final SyscallTable table = new Riscv64Architecture().seccompTable().orElseThrow();

    @Test
    void numbersMatchTheKernelHeaders() throws Exception {
        String env = System.getenv("MESOVIRT_RISCV64_UAPI");
        Optional<CProbe.ForeignHeaders> headers = CProbe.ForeignHeaders.find("riscv64-linux-gnu",
                List.of(Path.of(env != null ? env : "/usr/include")));
        // Under CI the headers are there (ci/test.sh fetches them): never skip this check there.
        HostRequirement.require(headers.isPresent(), "no riscv64 uapi headers (export $(bash ci/uapi-headers.sh))");
        SyscallTableProbe.assertMatchesHeaders(table, "AUDIT_ARCH_RISCV64", headers);
    }

    @Test
    void neverAllowsProcessCreationOrTracing() {
        assertEquals("riscv64", table.arch());
        for (String name : new String[] {"execve", "execveat", "ptrace", "process_vm_writev", "mount", "kexec_load",
                "init_module", "bpf", "seccomp"}) {
            assertFalse(table.allowed().containsKey(name), name);
        }
    }
}
