package dev.mesovirt.vmm.seccomp;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import dev.mesovirt.vmm.sys.ErrnoException;
import dev.mesovirt.vmm.sys.LibC;
import java.util.List;

/**
 * Installs a {@link SeccompFilter} on every thread of this process: prctl(PR_SET_NO_NEW_PRIVS) (required for an
 * unprivileged filter, and a good idea as root), then seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC).
 * TSYNC puts the JVM's existing threads (GC, JIT compilers, signal dispatcher, the VMM's I/O threads) under the same
 * filter in one step; threads created later inherit it from their creator (clone copies the filter), so no thread of
 * the process escapes it. A filter cannot be removed once installed.
 *
 * <p>SECCOMP_FILTER_FLAG_LOG is not asked for: it would log every allowed-with-errno answer (each clone3 of a new
 * thread); SECCOMP_RET_KILL_PROCESS is logged by the kernel without it, and SECCOMP_RET_LOG is logged by definition.
 */
public final class Seccomp {
    static final int PR_SET_NO_NEW_PRIVS = 38;
    static final int SECCOMP_SET_MODE_FILTER = 1;
    static final int SECCOMP_FILTER_FLAG_TSYNC = 1;
    /** sizeof(struct sock_fprog) and offsetof(struct sock_fprog, filter) on a 64-bit host. */
    static final int FPROG_SIZE = 16;
    static final int FPROG_FILTER = 8;

    private Seccomp() {}

    /** Installs {@code filter} with {@code mode} for every thread; returns the number of BPF instructions. */
    public static int install(SeccompFilter filter, SeccompFilter.Mode mode) {
        if (Native.POINTER_SIZE != 8) {
            throw new IllegalStateException("seccomp: only 64-bit hosts are supported");
        }
        List<BpfInstruction> program = filter.program(mode);
        Memory code = encode(program);
        Memory fprog = new Memory(FPROG_SIZE);
        fprog.clear();
        fprog.setShort(0, (short) program.size());
        fprog.setPointer(FPROG_FILTER, code);
        try {
            LibC.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        } catch (LastErrorException e) {
            throw new ErrnoException("prctl(PR_SET_NO_NEW_PRIVS)", e.getErrorCode());
        }
        long r;
        try {
            r = LibC.syscall(filter.table().seccompNumber(), SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, fprog);
        } catch (LastErrorException e) {
            throw new ErrnoException("seccomp(SECCOMP_SET_MODE_FILTER, TSYNC)", e.getErrorCode());
        }
        if (r != 0) {
            // TSYNC's failure: the ID of a thread that could not be synchronised (it has a diverging filter).
            throw new IllegalStateException("seccomp: thread " + r + " could not take the filter (TSYNC)");
        }
        code.close();
        return program.size();
    }

    /** The program as an array of struct sock_filter (native byte order). */
    static Memory encode(List<BpfInstruction> program) {
        Memory m = new Memory((long) program.size() * BpfInstruction.SIZE);
        for (int i = 0; i < program.size(); i++) {
            BpfInstruction in = program.get(i);
            long o = (long) i * BpfInstruction.SIZE;
            m.setShort(o, (short) in.code());
            m.setByte(o + 2, (byte) in.jt());
            m.setByte(o + 3, (byte) in.jf());
            m.setInt(o + 4, in.k());
        }
        return m;
    }
}
