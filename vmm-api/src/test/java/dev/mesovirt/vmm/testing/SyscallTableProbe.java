package dev.mesovirt.vmm.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.mesovirt.vmm.seccomp.SyscallTable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Checks an architecture's seccomp {@link SyscallTable} against that architecture's asm/unistd.h and linux/audit.h. */
public final class SyscallTableProbe {
    private SyscallTableProbe() {}

    /**
     * Every number in {@code table}, its audit arch (the macro {@code auditMacro}) and seccomp's number, as the C
     * compiler reads them from the headers: this host's ({@code foreign} empty) or another architecture's.
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
        List<String> includes = List.of("asm/unistd.h", "linux/audit.h");
        Map<String, Long> kernel = foreign.isPresent()
                ? CProbe.evaluate(foreign.get(), List.of(), includes, expr)
                : CProbe.evaluate(includes, expr);
        assertEquals(ours, kernel, table.arch() + ": seccomp.txt against the kernel headers");
    }
}
