package dev.mesovirt.vmm.kvm;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import dev.mesovirt.vmm.sys.ErrnoException;
import dev.mesovirt.vmm.sys.LibC;
import dev.mesovirt.vmm.sys.Sys;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A KVM vCPU with its shared {@code kvm_run} page. {@link #run()} is called by the one thread that owns the vCPU;
 * {@link #kick()} may be called from any thread to make that thread's {@code KVM_RUN} return.
 */
public final class Vcpu implements AutoCloseable {
    private static final VcpuExit HALT = new VcpuExit.Halt();
    private static final VcpuExit SHUTDOWN = new VcpuExit.Shutdown();
    private static final VcpuExit INTERRUPTED = new VcpuExit.Interrupted();

    private final int id;
    private final int fd;
    /** close() may be reached twice (error paths, shutdown); a second close(2) would hit a reused number. */
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
    private final Pointer runPointer;
    private final long runSize;
    private final ByteBuffer run;
    private final Memory oneReg = new Memory(Layouts.ONE_REG_SIZE);
    private final Memory oneRegValue = new Memory(16);
    private volatile long thread;

    Vcpu(int id, int fd, int mmapSize) {
        this.id = id;
        this.fd = fd;
        this.runSize = mmapSize;
        this.runPointer = Sys.mmap(mmapSize, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED, fd, 0,
                "kvm_run of vCPU " + id);
        this.run = runPointer.getByteBuffer(0, mmapSize).order(ByteOrder.nativeOrder());
    }

    public int id() {
        return id;
    }

    public int fd() {
        return fd;
    }

    /** Enters the guest until the next exit and decodes it. */
    public VcpuExit run() {
        try {
            LibC.ioctl(fd, KvmIoctls.RUN, 0L);
        } catch (LastErrorException e) {
            if (e.getErrorCode() == LibC.EINTR || e.getErrorCode() == LibC.EAGAIN) {
                return INTERRUPTED;
            }
            throw new ErrnoException("KVM_RUN(vCPU " + id + ")", e.getErrorCode());
        }
        return decode();
    }

    private VcpuExit decode() {
        int reason = run.getInt(Layouts.Run.EXIT_REASON);
        return switch (reason) {
            case VcpuExit.KVM_EXIT_IO -> new VcpuExit.Io(
                    run.get(Layouts.Run.IO_DIRECTION) == 1,
                    Short.toUnsignedInt(run.getShort(Layouts.Run.IO_PORT)),
                    Byte.toUnsignedInt(run.get(Layouts.Run.IO_SIZE)),
                    run.getInt(Layouts.Run.IO_COUNT),
                    (int) run.getLong(Layouts.Run.IO_DATA_OFFSET));
            case VcpuExit.KVM_EXIT_MMIO -> new VcpuExit.Mmio(
                    run.getLong(Layouts.Run.MMIO_PHYS_ADDR),
                    run.getInt(Layouts.Run.MMIO_LEN),
                    run.get(Layouts.Run.MMIO_IS_WRITE) != 0);
            case VcpuExit.KVM_EXIT_HLT -> HALT;
            case VcpuExit.KVM_EXIT_SHUTDOWN -> SHUTDOWN;
            case VcpuExit.KVM_EXIT_INTR -> INTERRUPTED;
            case VcpuExit.KVM_EXIT_SYSTEM_EVENT -> new VcpuExit.SystemEvent(
                    run.getInt(Layouts.Run.SYSTEM_EVENT_TYPE),
                    run.getInt(Layouts.Run.SYSTEM_EVENT_NDATA) > 0 ? run.getLong(Layouts.Run.SYSTEM_EVENT_DATA) : 0);
            case VcpuExit.KVM_EXIT_INTERNAL_ERROR -> {
                int n = Math.min(Math.max(run.getInt(Layouts.Run.INTERNAL_NDATA), 0), 16);
                long[] data = new long[n];
                for (int i = 0; i < n; i++) {
                    data[i] = run.getLong(Layouts.Run.INTERNAL_DATA + 8 * i);
                }
                yield new VcpuExit.InternalError(run.getInt(Layouts.Run.INTERNAL_SUBERROR), data);
            }
            case VcpuExit.KVM_EXIT_FAIL_ENTRY -> new VcpuExit.FailEntry(
                    run.getLong(Layouts.Run.FAIL_ENTRY_REASON), run.getInt(Layouts.Run.FAIL_ENTRY_CPU));
            default -> new VcpuExit.Other(reason);
        };
    }

    /** Human-readable name of a KVM exit reason number. */
    public static String exitReasonName(int reason) {
        return VcpuExit.reasonName(reason);
    }

    /** Copies bytes out of the kvm_run page (I/O OUT and MMIO write data). */
    public void readRun(int offset, byte[] destination) {
        run.get(offset, destination);
    }

    /** Copies bytes into the kvm_run page (I/O IN and MMIO read results). */
    public void writeRun(int offset, byte[] source) {
        run.put(offset, source);
    }

    /** Makes the next (or current) KVM_RUN return at once with EINTR while set. */
    public void setImmediateExit(boolean exit) {
        run.put(Layouts.Run.IMMEDIATE_EXIT, (byte) (exit ? 1 : 0));
    }

    /** Records the calling thread as the one that runs this vCPU, so that {@link #kick()} can reach it. */
    public void bindToCurrentThread() {
        VcpuKickSignal.install();
        thread = LibC.pthread_self();
    }

    /** Forces the running thread out of KVM_RUN: immediate_exit covers the window before it enters the kernel. */
    public void kick() {
        setImmediateExit(true);
        long t = thread;
        if (t != 0) {
            LibC.pthread_kill(t, VcpuKickSignal.number());
        }
    }

    public long getOneReg(long registerId) {
        synchronized (oneReg) {
            oneReg.setLong(0, registerId);
            oneReg.setLong(8, Pointer.nativeValue(oneRegValue));
            oneRegValue.setLong(0, 0);
            Sys.ioctl(fd, KvmIoctls.GET_ONE_REG, oneReg, "KVM_GET_ONE_REG(0x" + Long.toHexString(registerId) + ")");
            return oneRegSize(registerId) == 4 ? Integer.toUnsignedLong(oneRegValue.getInt(0)) : oneRegValue.getLong(0);
        }
    }

    public void setOneReg(long registerId, long value) {
        synchronized (oneReg) {
            oneRegValue.setLong(0, 0);
            if (oneRegSize(registerId) == 4) {
                oneRegValue.setInt(0, (int) value);
            } else {
                oneRegValue.setLong(0, value);
            }
            oneReg.setLong(0, registerId);
            oneReg.setLong(8, Pointer.nativeValue(oneRegValue));
            Sys.ioctl(fd, KvmIoctls.SET_ONE_REG, oneReg, "KVM_SET_ONE_REG(0x" + Long.toHexString(registerId) + ")");
        }
    }

    /** The largest ONE_REG register KVM defines: KVM_REG_SIZE_U2048 (arm64's SVE Z registers). */
    public static final int MAX_ONE_REG_BYTES = 256;

    /** The size in bytes of any ONE_REG register: 1 << bits 52-55 of its id (KVM_REG_SIZE_MASK). */
    public static int oneRegBytes(long registerId) {
        return 1 << (int) ((registerId >>> 52) & 0xf);
    }

    /** A ONE_REG register of any size (vector and 128-bit registers included), as the kernel's bytes. */
    public byte[] getOneRegBytes(long registerId) {
        int size = oneRegBytes(registerId);
        if (size > MAX_ONE_REG_BYTES) {
            throw new IllegalArgumentException("ONE_REG register 0x" + Long.toHexString(registerId) + " has "
                    + size + " bytes, more than KVM defines");
        }
        try (Memory value = new Memory(size); Memory reg = new Memory(Layouts.ONE_REG_SIZE)) {
            value.clear();
            reg.setLong(0, registerId);
            reg.setLong(8, Pointer.nativeValue(value));
            Sys.ioctl(fd, KvmIoctls.GET_ONE_REG, reg, "KVM_GET_ONE_REG(0x" + Long.toHexString(registerId) + ")");
            return value.getByteArray(0, size);
        }
    }

    /** Sets a ONE_REG register of any size; {@code value} must have exactly the size its id encodes. */
    public void setOneRegBytes(long registerId, byte[] value) {
        if (value.length != oneRegBytes(registerId) || value.length > MAX_ONE_REG_BYTES) {
            throw new IllegalArgumentException("ONE_REG register 0x" + Long.toHexString(registerId) + " takes "
                    + oneRegBytes(registerId) + " bytes, not " + value.length);
        }
        try (Memory v = new Memory(value.length); Memory reg = new Memory(Layouts.ONE_REG_SIZE)) {
            v.write(0, value, 0, value.length);
            reg.setLong(0, registerId);
            reg.setLong(8, Pointer.nativeValue(v));
            Sys.ioctl(fd, KvmIoctls.SET_ONE_REG, reg, "KVM_SET_ONE_REG(0x" + Long.toHexString(registerId) + ")");
        }
    }

    /**
     * The ids of every ONE_REG register this vCPU has (KVM_GET_REG_LIST, arm64 and riscv64), in KVM's order: asked
     * once with room for none, which fails with E2BIG and gives the count, then with room for them all.
     */
    public long[] registerList() {
        long n;
        try (Memory probe = new Memory(8)) {
            probe.setLong(0, 0);
            try {
                Sys.ioctl(fd, KvmIoctls.GET_REG_LIST, probe, "KVM_GET_REG_LIST(vCPU " + id + ")");
                return new long[0];
            } catch (ErrnoException e) {
                if (e.errno() != E2BIG) {
                    throw e;
                }
            }
            n = probe.getLong(0);
        }
        if (n < 0 || n > MAX_LISTED_REGISTERS) {
            throw new IllegalStateException("KVM_GET_REG_LIST(vCPU " + id + ") reports " + n + " registers");
        }
        try (Memory list = new Memory(8 + 8 * n)) {
            list.setLong(0, n);
            Sys.ioctl(fd, KvmIoctls.GET_REG_LIST, list, "KVM_GET_REG_LIST(vCPU " + id + ")");
            long[] ids = new long[(int) list.getLong(0)];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = list.getLong(8 + 8L * i);
            }
            return ids;
        }
    }

    private static final int E2BIG = 7;
    /** Far above any list KVM gives (a few hundred on arm64, about 200 on riscv64). */
    public static final int MAX_LISTED_REGISTERS = 1 << 16;

    /** The register size encoded in a ONE_REG id (bits 52-55: log2 of the size in bytes). */
    static int oneRegSize(long registerId) {
        int log2 = (int) ((registerId >>> 52) & 0xf);
        if (log2 != 2 && log2 != 3) {
            throw new IllegalArgumentException("only 32- and 64-bit ONE_REG registers are supported: 0x"
                    + Long.toHexString(registerId));
        }
        return 1 << log2;
    }

    /** A vCPU ioctl with a pointer argument, for architecture modules (registers, CPUID, MSRs...). */
    public int ioctl(long request, Pointer argument, String name) {
        return Sys.ioctl(fd, request, argument, name + "(vCPU " + id + ")");
    }

    /** A vCPU ioctl with an integer argument (or none); returns its result. */
    public int ioctl(long request, long argument, String name) {
        return Sys.ioctl(fd, request, argument, name + "(vCPU " + id + ")");
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            Sys.munmap(runPointer, runSize);
            Sys.close(fd);
        }
    }
}
