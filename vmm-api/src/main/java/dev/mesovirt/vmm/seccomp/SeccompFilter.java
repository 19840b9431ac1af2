package dev.mesovirt.vmm.seccomp;

import dev.mesovirt.vmm.seccomp.SyscallRule.Verdict;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The VMM's seccomp filter as data: the argument rules that hold on every architecture applied to one
 * architecture's {@link SyscallTable}, and the classic-BPF program they compile to.
 *
 * <p>The program: a call from another ABI ({@code seccomp_data.arch}, e.g. a 32-bit one) is a violation; then each
 * rule in the table's order is one {@code jeq} on the number followed by its body (a {@code ret}, or an argument test
 * that ends in {@code ret}s); anything else is a violation. x86_64's x32 calls (bit 30 set) share the native audit
 * arch but match no number here, so they are violations too. A linear list costs at most ~2 instructions per listed
 * call (and one per listed ioctl request); the hot ones (ioctl for KVM_RUN, read, write, futex...) come first in each
 * table, and KVM_RUN first among the ioctl requests, so that a vCPU's KVM_RUN is allowed after 7 instructions.
 *
 * <p>Argument rules (what seccomp can check: integer arguments, never the memory a pointer points at, so paths are
 * the jailer's business):
 * <ul>
 *   <li>ioctl: only the exact request numbers of the table's {@code ioctl-request} lines (the KVM, vhost, TUN,
 *       block-device and terminal requests the VMM and its JVM issue once the filter is in), compared as the kernel
 *       compares them: the low 32 bits of the argument (the kernel takes the request as an unsigned int and ignores
 *       the upper half, so the filter does too). Any other request, another KVM request or a TUN, network (SIOC*),
 *       loop, dm or filesystem one, is a violation.</li>
 *   <li>socket and socketpair: AF_UNIX only (QMP, vhost-user); other domains fail with EAFNOSUPPORT rather than
 *       kill, because the JDK probes IPv4/IPv6 with socket() when its networking classes first load and treats a
 *       failure as "not available".</li>
 *   <li>clone: only with CLONE_THREAD, i.e. new threads, never a new process (no fork, vfork or posix_spawn).</li>
 *   <li>clone3: fails with ENOSYS (its flags are behind a pointer, which BPF cannot read), so glibc's pthread_create
 *       falls back to clone, whose flags the rule above checks. That is how glibc copes with kernels before 5.3.</li>
 * </ul>
 */
public final class SeccompFilter {
    /** What a violation does. */
    public enum Mode {
        /** SECCOMP_RET_KILL_PROCESS: the whole VMM dies with SIGSYS; the kernel logs the call (audit type 1326). */
        KILL,
        /** SECCOMP_RET_LOG: the call runs and the kernel logs it; for measuring the list (MESOVIRT_SECCOMP=log). */
        LOG
    }

    public static final int RET_KILL_PROCESS = 0x8000_0000;
    public static final int RET_ERRNO = 0x0005_0000;
    public static final int RET_LOG = 0x7ffc_0000;
    public static final int RET_ALLOW = 0x7fff_0000;

    /** offsetof(struct seccomp_data, nr / arch / args). */
    static final int DATA_NR = 0;
    static final int DATA_ARCH = 4;
    static final int DATA_ARGS = 16;

    static final int AF_UNIX = 1;
    static final int EAFNOSUPPORT = 97;
    static final int ENOSYS = 38;
    static final int CLONE_THREAD = 0x10000;

    private final SyscallTable table;
    private final List<SyscallRule> rules;

    private SeccompFilter(SyscallTable table, List<SyscallRule> rules) {
        this.table = table;
        this.rules = List.copyOf(rules);
    }

    /** The VMM's filter for {@code table}: its calls, with the argument rules above where they apply. */
    public static SeccompFilter vmm(SyscallTable table) {
        List<SyscallRule> rules = new ArrayList<>();
        table.allowed().forEach((name, nr) -> rules.add(switch (name) {
            case "ioctl" -> new SyscallRule.AllowIfMasked(name, nr, 1, 0xffff_ffff,
                    List.copyOf(table.ioctlRequests().values()), new Verdict.Violation());
            case "socket", "socketpair" -> new SyscallRule.AllowIfMasked(name, nr, 0, 0xffff_ffff, List.of(AF_UNIX),
                    new Verdict.Errno(EAFNOSUPPORT));
            case "clone" -> new SyscallRule.AllowIfBits(name, nr, 0, CLONE_THREAD, new Verdict.Violation());
            case "clone3" -> new SyscallRule.Fail(name, nr, ENOSYS);
            default -> new SyscallRule.Allow(name, nr);
        }));
        return new SeccompFilter(table, rules);
    }

    public SyscallTable table() {
        return table;
    }

    public List<SyscallRule> rules() {
        return rules;
    }

    /** The number of calls that can run (every rule but {@link SyscallRule.Fail}). */
    public int allowedCount() {
        return (int) rules.stream().filter(r -> !(r instanceof SyscallRule.Fail)).count();
    }

    /** The classic-BPF program; {@code mode} decides what a violation returns. */
    public List<BpfInstruction> program(Mode mode) {
        int violation = mode == Mode.KILL ? RET_KILL_PROCESS : RET_LOG;
        List<BpfInstruction> p = new ArrayList<>();
        p.add(BpfInstruction.load(DATA_ARCH));
        p.add(BpfInstruction.jeq(table.auditArch(), 1, 0));
        // Another ABI is always fatal: its numbers mean other calls.
        p.add(BpfInstruction.ret(RET_KILL_PROCESS));
        p.add(BpfInstruction.load(DATA_NR));
        for (SyscallRule r : rules) {
            List<BpfInstruction> body = body(r, violation);
            p.add(BpfInstruction.jeq(r.number(), 0, body.size()));
            p.addAll(body);
        }
        p.add(BpfInstruction.ret(violation));
        if (p.size() > 4096) {
            throw new IllegalStateException("seccomp program of " + p.size() + " instructions (BPF_MAXINSNS 4096)");
        }
        return List.copyOf(p);
    }

    private static List<BpfInstruction> body(SyscallRule rule, int violation) {
        List<BpfInstruction> b = new ArrayList<>();
        switch (rule) {
            case SyscallRule.Allow a -> b.add(BpfInstruction.ret(RET_ALLOW));
            case SyscallRule.Fail f -> b.add(BpfInstruction.ret(RET_ERRNO | (f.errno() & 0xffff)));
            case SyscallRule.AllowIfMasked m -> {
                b.add(BpfInstruction.load(argLow(m.arg())));
                if (m.mask() != 0xffff_ffff) {
                    b.add(BpfInstruction.and(m.mask()));
                }
                int n = m.values().size();
                for (int i = 0; i < n; i++) {
                    // taken: past the remaining jeqs and the refusal, to the final ret ALLOW
                    b.add(BpfInstruction.jeq(m.values().get(i), n - i, 0));
                }
                b.add(BpfInstruction.ret(verdict(m.otherwise(), violation)));
                b.add(BpfInstruction.ret(RET_ALLOW));
            }
            case SyscallRule.AllowIfBits m -> {
                b.add(BpfInstruction.load(argLow(m.arg())));
                b.add(BpfInstruction.jset(m.bits(), 1, 0));
                b.add(BpfInstruction.ret(verdict(m.otherwise(), violation)));
                b.add(BpfInstruction.ret(RET_ALLOW));
            }
        }
        return b;
    }

    private static int verdict(Verdict v, int violation) {
        return switch (v) {
            case Verdict.Violation x -> violation;
            case Verdict.Errno e -> RET_ERRNO | (e.errno() & 0xffff);
        };
    }

    /** Offset of the low 32 bits of argument {@code i} in struct seccomp_data (its args are __u64). */
    static int argLow(int i) {
        return DATA_ARGS + 8 * i + (ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? 0 : 4);
    }
}
