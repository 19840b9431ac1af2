package dev.mesovirt.vmm.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.mesovirt.vmm.seccomp.SyscallTable;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Checks an architecture's seccomp {@link SyscallTable} against that architecture's asm/unistd.h and linux/audit.h. */
public final class SyscallTableProbe {
    private SyscallTableProbe() {}

    /**
     * Every number in {@code table}, its audit arch (the macro {@code auditMacro}) and seccomp's number, as the C
     * compiler reads them from the headers: this host's ({@code foreign} empty) or another architecture's; and every
     * ioctl request under its name (the kernel's macro: KVM_RUN from linux/kvm.h, VHOST_* from linux/vhost.h, TUN*
     * from linux/if_tun.h, BLK* from linux/fs.h, TC* and FIONREAD from asm/ioctls.h), as the kernel compares it (an
     * unsigned int).
     */
    public static void assertMatchesHeaders(SyscallTable table, String auditMacro,
            Optional<CProbe.ForeignHeaders> foreign) throws Exception {
        Map<String, String> expr = new LinkedHashMap<>();
        Map<String, Long> ours = new LinkedHashMap<>();
        expr.put("audit", auditMacro);
        ours.put("audit", Integer.toUnsignedLong(table.auditArch()));
        expr.put("seccomp", "__NR_seccomp");
        ours.put("seccomp", (long) table.seccompNumber());
        table.allowed().forEach((name, nr) -> {
            expr.put(name, "__NR_" + name);
            ours.put(name, (long) nr);
        });
        table.ioctlRequests().forEach((name, request) -> {
            expr.put("ioctl:" + name, "(unsigned int) " + name);
            ours.put("ioctl:" + name, Integer.toUnsignedLong(request));
        });
        List<String> includes = List.of("asm/unistd.h", "linux/audit.h", "linux/kvm.h", "linux/vhost.h",
                "linux/if_tun.h", "linux/fs.h", "asm/ioctls.h");
        // riscv64's asm/ptrace.h (through linux/kvm.h) sizes its registers by __riscv_xlen, which only its compiler sets
        List<String> options = foreign.isPresent() && foreign.get().triplet().startsWith("riscv64")
                ? List.of("-D__riscv_xlen=64") : List.of();
        Map<String, Long> kernel = foreign.isPresent()
                ? CProbe.evaluate(foreign.get(), options, includes, expr)
                : CProbe.evaluate(includes, expr);
        assertEquals(ours, kernel, table.arch() + ": seccomp.txt against the kernel headers");
    }

    /**
     * As {@link #assertMatchesHeaders}, against another architecture's headers: those of GNU triplet {@code triplet}
     * under $ENV_VAR (ci/uapi-headers.sh exports it) or /usr/include. Under CI the headers are there (ci/test.sh
     * fetches them), so this never skips there.
     */
    public static void assertMatchesForeignHeaders(SyscallTable table, String auditMacro, String triplet,
            String envVar) throws Exception {
        String env = System.getenv(envVar);
        Optional<CProbe.ForeignHeaders> headers = CProbe.ForeignHeaders.find(triplet,
                List.of(Path.of(env != null ? env : "/usr/include")));
        HostRequirement.require(headers.isPresent(), "no " + table.arch()
                + " uapi headers (export $(bash ci/uapi-headers.sh))");
        assertMatchesHeaders(table, auditMacro, headers);
    }

    /** The calls no VMM thread may make, on every architecture: new programs, tracing, modules, mounts, filters. */
    public static void assertForbidsProcessCreationAndTracing(SyscallTable table, String arch) {
        assertEquals(arch, table.arch());
        for (String name : new String[] {"execve", "execveat", "fork", "vfork", "ptrace", "process_vm_writev",
                "mount", "kexec_load", "init_module", "bpf", "seccomp"}) {
            assertFalse(table.allowed().containsKey(name), name);
        }
    }
}
