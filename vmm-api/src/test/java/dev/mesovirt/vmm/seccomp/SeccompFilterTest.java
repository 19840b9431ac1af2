package dev.mesovirt.vmm.seccomp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.mesovirt.vmm.testing.UapiExpectations;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The filter's program, run by a small classic-BPF interpreter over made-up {@code seccomp_data}, and its constants
 * and layouts against linux/filter.h, linux/seccomp.h, linux/audit.h and linux/prctl.h.
 */
class SeccompFilterTest {
    private static final int AUDIT_X86_64 = 0xc000003e;
    private static final SyscallTable TABLE = SyscallTable.parse("""
            arch x86_64
            audit-arch 0xc000003e
            install seccomp 317
            ioctl 16     # hot first
            read 0
            socket 41
            clone 56
            clone3 435
            ioctl-request KVM_RUN            0xae80       # hot first
            ioctl-request KVM_IRQ_LINE       0x4008ae61
            ioctl-request VHOST_GET_FEATURES 0x8008af00
            ioctl-request TUNGETIFF          0x800454d2
            ioctl-request BLKSSZGET          0x1268
            ioctl-request TCGETS             0x5401
            """, "test");
    private static final SeccompFilter FILTER = SeccompFilter.vmm(TABLE);

    @Test
    void allowsListedCallsAndKillsTheRest() {
        List<BpfInstruction> p = FILTER.program(SeccompFilter.Mode.KILL);
        assertEquals(SeccompFilter.RET_ALLOW, run(p, AUDIT_X86_64, 0));
        assertEquals(SeccompFilter.RET_KILL_PROCESS, run(p, AUDIT_X86_64, 59)); // execve
        assertEquals(SeccompFilter.RET_KILL_PROCESS, run(p, AUDIT_X86_64, 1)); // write: not in this table
        // x32's read (bit 30) and another ABI's number 0 are violations
        assertEquals(SeccompFilter.RET_KILL_PROCESS, run(p, AUDIT_X86_64, 0x4000_0000));
        assertEquals(SeccompFilter.RET_KILL_PROCESS, run(p, 0x4000_0003, 0)); // AUDIT_ARCH_I386
        assertEquals(4, FILTER.allowedCount()); // clone3 never runs
    }

    @Test
    void logModeLogsViolationsButStillRefusesOtherAbis() {
        List<BpfInstruction> p = FILTER.program(SeccompFilter.Mode.LOG);
        assertEquals(SeccompFilter.RET_LOG, run(p, AUDIT_X86_64, 59));
        assertEquals(SeccompFilter.RET_ALLOW, run(p, AUDIT_X86_64, 0));
        assertEquals(SeccompFilter.RET_KILL_PROCESS, run(p, 0x4000_0003, 0));
    }

    @Test
    void ioctlOnlyWithTheListedRequestNumbers() {
        List<BpfInstruction> p = FILTER.program(SeccompFilter.Mode.KILL);
        // The kernel takes the request as an unsigned int: the upper half of the register does not matter to it,
        // nor to the filter.
        long[] allowed = {0xae80L /* KVM_RUN */, 0x4008ae61L /* KVM_IRQ_LINE */, 0x8008af00L /* VHOST_GET_FEATURES */,
            0x800454d2L /* TUNGETIFF */, 0x1268L /* BLKSSZGET */, 0x5401L /* TCGETS */,
            0xffff_ffff_0000_ae80L /* KVM_RUN, high bits set */, 0x1_8008_af00L /* VHOST_GET_FEATURES, bit 32 */};
        for (long request : allowed) {
            assertEquals(SeccompFilter.RET_ALLOW, run(p, AUDIT_X86_64, 16, 3, request), Long.toHexString(request));
        }
        // Requests of the same families that are not listed, and others: each one kills.
        long[] refused = {0xae01L /* KVM_CREATE_VM */, 0x4020ae46L /* KVM_SET_USER_MEMORY_REGION */,
            0x4108ae61L /* KVM_IRQ_LINE's number with another size */, 0xaf01L /* VHOST_SET_OWNER */,
            0x400454caL /* TUNSETIFF */, 0x5402L /* TCSETS */, 0x5421L /* FIONBIO */, 0x80081272L /* BLKGETSIZE64 */,
            0x8914L /* SIOCSIFFLAGS */, 0x4c00L /* LOOP_SET_FD */, 0xc0189436L /* BTRFS */, 0L, 0xae80_0000L};
        for (long request : refused) {
            assertEquals(SeccompFilter.RET_KILL_PROCESS, run(p, AUDIT_X86_64, 16, 3, request), Long.toHexString(request));
        }
        assertEquals(SeccompFilter.RET_LOG, run(FILTER.program(SeccompFilter.Mode.LOG), AUDIT_X86_64, 16, 3, 0xae01L));
    }

    @Test
    void kvmRunIsAllowedAfterSevenInstructions() {
        List<BpfInstruction> p = FILTER.program(SeccompFilter.Mode.KILL);
        int[] executed = new int[1];
        assertEquals(SeccompFilter.RET_ALLOW, run(p, executed, AUDIT_X86_64, 16, 3, 0xae80L));
        // ld arch, jeq arch, ld nr, jeq ioctl, ld request, jeq KVM_RUN, ret ALLOW
        assertEquals(7, executed[0]);
        run(p, executed, AUDIT_X86_64, 16, 3, 0x5401L);
        assertEquals(12, executed[0]); // TCGETS, the sixth request: five more comparisons
        // 3 (arch) + 1 (nr); ioctl: jeq, ld, 6 requests, 2 rets; read 2; socket 5; clone 5; clone3 2; violation 1
        assertEquals(3 + 1 + (2 + 6 + 2) + 2 + 5 + 5 + 2 + 1, p.size());
    }

    @Test
    void ioctlRequestLinesAreChecked() {
        String head = "arch x\naudit-arch 1\ninstall seccomp 1\n";
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SyscallTable.parse(head + "ioctl 16\n", "t.txt"));
        assertEquals("x: ioctl is allowed but no 'ioctl-request' is listed", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> SyscallTable.parse(head + "read 0\nioctl-request KVM_RUN 0xae80\n", "t.txt"));
        assertEquals("x: 'ioctl-request' lines without ioctl", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> SyscallTable.parse(head + "ioctl 16\nioctl-request KVM_RUN 0x1ae80\nioctl-request X 0x1ae80\n",
                        "t.txt"));
        assertEquals("x: an ioctl request number appears twice in the allow-list", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> SyscallTable.parse(head + "ioctl 16\nioctl-request KVM_RUN 0x1_0000_ae80\n", "t.txt"));
        assertEquals("t.txt:5: bad number in 'ioctl-request KVM_RUN 0x1_0000_ae80'", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> SyscallTable.parse(head + "ioctl 16\nioctl-request KVM_RUN 0x10000ae80\n", "t.txt"));
        assertEquals("t.txt:5: KVM_RUN: more than 32 bits", e.getMessage());
        SyscallTable t = SyscallTable.parse(head + "ioctl 16\nioctl-request KVM_RUN 0xae80\nioctl-request TCGETS 5401\n",
                "t.txt");
        assertEquals(List.of("KVM_RUN", "TCGETS"), List.copyOf(t.ioctlRequests().keySet()));
        assertEquals(0x5401, t.ioctlRequests().get("TCGETS"));
    }

    @Test
    void socketOnlyUnixOthersFailWithEafnosupport() {
        List<BpfInstruction> p = FILTER.program(SeccompFilter.Mode.KILL);
        assertEquals(SeccompFilter.RET_ALLOW, run(p, AUDIT_X86_64, 41, 1, 1));
        assertEquals(SeccompFilter.RET_ERRNO | 97, run(p, AUDIT_X86_64, 41, 2, 1)); // AF_INET
        assertEquals(SeccompFilter.RET_ERRNO | 97, run(p, AUDIT_X86_64, 41, 10, 1)); // AF_INET6
        assertEquals(SeccompFilter.RET_ERRNO | 97, run(p, AUDIT_X86_64, 41, 16, 1)); // AF_NETLINK
    }

    @Test
    void cloneOnlyForThreadsAndClone3FallsBack() {
        List<BpfInstruction> p = FILTER.program(SeccompFilter.Mode.KILL);
        long pthread = 0x3d0f00L; // glibc's pthread_create flags: CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|...
        assertEquals(SeccompFilter.RET_ALLOW, run(p, AUDIT_X86_64, 56, pthread));
        assertEquals(SeccompFilter.RET_KILL_PROCESS, run(p, AUDIT_X86_64, 56, 0x11L)); // fork: SIGCHLD
        assertEquals(SeccompFilter.RET_KILL_PROCESS, run(p, AUDIT_X86_64, 56, 0x4111L)); // vfork: CLONE_VM|VFORK
        assertEquals(SeccompFilter.RET_ERRNO | 38, run(p, AUDIT_X86_64, 435, 0)); // ENOSYS
    }

    @Test
    void tableFileErrorsAreClear() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SyscallTable.parse("arch x\naudit-arch 1\ninstall seccomp 1\nread zero\n", "t.txt"));
        assertEquals("t.txt:4: bad number in 'read zero'", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SyscallTable.parse("read 0\n", "t.txt"));
        assertEquals("t.txt: needs the lines 'arch', 'audit-arch' and 'install seccomp'", e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> SyscallTable.parse("arch x\naudit-arch 1\ninstall seccomp 1\nread 0\nwrite 0\n", "t.txt"));
    }

    @Test
    void constantsAndLayoutsMatchTheKernelHeaders() throws Exception {
        UapiExpectations u = new UapiExpectations();
        u.expect("sizeof(struct sock_filter)", BpfInstruction.SIZE);
        u.expect("offsetof(struct sock_filter, jt)", 2);
        u.expect("offsetof(struct sock_filter, jf)", 3);
        u.expect("offsetof(struct sock_filter, k)", 4);
        u.expect("sizeof(struct sock_fprog)", Seccomp.FPROG_SIZE);
        u.expect("offsetof(struct sock_fprog, filter)", Seccomp.FPROG_FILTER);
        u.expect("offsetof(struct seccomp_data, nr)", SeccompFilter.DATA_NR);
        u.expect("offsetof(struct seccomp_data, arch)", SeccompFilter.DATA_ARCH);
        u.expect("offsetof(struct seccomp_data, args)", SeccompFilter.DATA_ARGS);
        u.expect("BPF_LD | BPF_W | BPF_ABS", BpfInstruction.LD_W_ABS);
        u.expect("BPF_JMP | BPF_JEQ | BPF_K", BpfInstruction.JEQ_K);
        u.expect("BPF_JMP | BPF_JSET | BPF_K", BpfInstruction.JSET_K);
        u.expect("BPF_ALU | BPF_AND | BPF_K", BpfInstruction.AND_K);
        u.expect("BPF_RET | BPF_K", BpfInstruction.RET_K);
        u.expect("BPF_MAXINSNS", 4096);
        u.expect("SECCOMP_RET_KILL_PROCESS", Integer.toUnsignedLong(SeccompFilter.RET_KILL_PROCESS));
        u.expect("SECCOMP_RET_ERRNO", SeccompFilter.RET_ERRNO);
        u.expect("SECCOMP_RET_LOG", SeccompFilter.RET_LOG);
        u.expect("SECCOMP_RET_ALLOW", SeccompFilter.RET_ALLOW);
        u.expect("SECCOMP_SET_MODE_FILTER", Seccomp.SECCOMP_SET_MODE_FILTER);
        u.expect("SECCOMP_FILTER_FLAG_TSYNC", Seccomp.SECCOMP_FILTER_FLAG_TSYNC);
        u.expect("PR_SET_NO_NEW_PRIVS", Seccomp.PR_SET_NO_NEW_PRIVS);
        u.expect("AUDIT_ARCH_X86_64", Integer.toUnsignedLong(AUDIT_X86_64));
        u.expect("CLONE_THREAD", SeccompFilter.CLONE_THREAD);
        u.expect("EAFNOSUPPORT", SeccompFilter.EAFNOSUPPORT);
        u.expect("ENOSYS", SeccompFilter.ENOSYS);
        u.assertMatch(List.of("linux/filter.h", "linux/seccomp.h", "linux/audit.h", "linux/prctl.h", "linux/sched.h",
                "errno.h"));
    }

    /** Runs {@code p} over a seccomp_data of {@code arch}, {@code nr} and {@code args}; returns the ret value. */
    private static int run(List<BpfInstruction> p, int arch, int nr, long... args) {
        return run(p, new int[1], arch, nr, args);
    }

    /** As above; {@code executed[0]} is set to the number of instructions run. */
    private static int run(List<BpfInstruction> p, int[] executed, int arch, int nr, long... args) {
        Map<Integer, Integer> data = new LinkedHashMap<>();
        data.put(SeccompFilter.DATA_NR, nr);
        data.put(SeccompFilter.DATA_ARCH, arch);
        for (int i = 0; i < 6; i++) {
            long v = i < args.length ? args[i] : 0;
            data.put(SeccompFilter.argLow(i), (int) v);
            data.put(SeccompFilter.argLow(i) ^ 4, (int) (v >>> 32));
        }
        int a = 0;
        executed[0] = 0;
        for (int pc = 0; pc < p.size(); pc++) {
            BpfInstruction in = p.get(pc);
            executed[0]++;
            switch (in.code()) {
                case BpfInstruction.LD_W_ABS -> a = data.get(in.k());
                case BpfInstruction.AND_K -> a &= in.k();
                case BpfInstruction.JEQ_K -> pc += a == in.k() ? in.jt() : in.jf();
                case BpfInstruction.JSET_K -> pc += (a & in.k()) != 0 ? in.jt() : in.jf();
                case BpfInstruction.RET_K -> {
                    return in.k();
                }
                default -> throw new AssertionError("opcode " + in.code());
            }
        }
        throw new AssertionError("fell off the end of the program");
    }
}
