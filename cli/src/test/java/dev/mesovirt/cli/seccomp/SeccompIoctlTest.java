package dev.mesovirt.cli.seccomp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.vmm.arch.Architecture;
import dev.mesovirt.vmm.arch.Architectures;
import dev.mesovirt.vmm.seccomp.SeccompFilter;
import dev.mesovirt.vmm.seccomp.SyscallTable;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Each architecture's {@code ioctl-request} lines (seccomp.txt) against the code: the requests the VMM's classes can
 * issue on that architecture once the filter is in ({@link IoctlRequests}: the call graph from Main, each ioctl's
 * request traced to its constant, and what glibc and the JDK issue for it) are exactly the ones listed. A new ioctl
 * in the code without its line fails here, and so does a line no code issues any more. The names are checked against
 * the kernel's headers by each architecture module's SeccompTableTest.
 */
class SeccompIoctlTest {
    private static IoctlRequests analysis;

    @BeforeAll
    static void readClasses() throws Exception {
        analysis = new IoctlRequests();
        // Guards against a vacuous pass: the machine core, every architecture and the CLI must be there.
        assertTrue(analysis.classCount() > 300, "classes read: " + analysis.classCount());
    }

    @ParameterizedTest
    @ValueSource(strings = {"x86_64", "aarch64", "riscv64"})
    void listedRequestsAreExactlyTheOnesTheCodeIssues(String arch) throws Exception {
        SyscallTable table = table(arch);
        IoctlRequests.Result code = analysis.analyse(arch);
        assertEquals(List.of(), code.unresolved(), arch + ": ioctl requests that are no constant");
        assertEquals(List.of(IoctlRequests.START), code.buildCallers(), "Machine.build's callers");
        assertTrue(code.buildBeforeFilter(), "Machine.start builds the machine before it installs the filter");
        assertTrue(code.requests().containsKey(0xae80L) && code.sites() > 40, arch + ": found only "
                + code.requests().size() + " requests at " + code.sites() + " calls");

        Map<Integer, String> names = new HashMap<>();
        table.ioctlRequests().forEach((name, request) -> names.put(request, name));
        System.out.println("ioctl requests of the " + arch + " VMM (" + code.sites() + " call sites):"
                + IoctlRequests.describe(code.requests(), names));
        Map<Long, String> unlisted = new TreeMap<>(code.requests());
        unlisted.keySet().removeIf(r -> names.containsKey((int) (long) r));
        Map<Long, String> unused = new TreeMap<>();
        names.forEach((r, name) -> {
            if (!code.requests().containsKey(Integer.toUnsignedLong(r))) {
                unused.put(Integer.toUnsignedLong(r), "listed, issued by nothing");
            }
        });
        assertEquals("", IoctlRequests.describe(unlisted, names),
                arch + ": requests the code issues that seccomp.txt does not list (the filter would kill the VMM)");
        assertEquals("", IoctlRequests.describe(unused, names),
                arch + ": seccomp.txt lists requests no code issues");
    }

    @ParameterizedTest
    @ValueSource(strings = {"x86_64", "aarch64", "riscv64"})
    void kvmRunIsTestedFirst(String arch) {
        SyscallTable table = table(arch);
        assertEquals("KVM_RUN", table.ioctlRequests().keySet().iterator().next());
        assertEquals(0xae80, table.ioctlRequests().get("KVM_RUN"));
        assertEquals("ioctl", table.allowed().keySet().iterator().next());
        int instructions = SeccompFilter.vmm(table).program(SeccompFilter.Mode.KILL).size();
        System.out.printf("seccomp %s: %d system calls, %d ioctl requests, %d BPF instructions%n", arch,
                SeccompFilter.vmm(table).allowedCount(), table.ioctlRequests().size(), instructions);
    }

    private static SyscallTable table(String arch) {
        Architecture a = Architectures.available().stream().filter(x -> x.name().equals(arch)).findFirst()
                .orElseThrow();
        return a.seccompTable().orElseThrow();
    }
}
