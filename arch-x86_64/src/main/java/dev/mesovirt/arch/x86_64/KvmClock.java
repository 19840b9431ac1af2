package dev.mesovirt.arch.x86_64;

import com.sun.jna.Memory;
import dev.mesovirt.vmm.arch.Architecture.PausedClock;
import dev.mesovirt.vmm.kvm.Vcpu;
import dev.mesovirt.vmm.kvm.Vm;
import dev.mesovirt.vmm.memory.GuestMemory;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The guest's kvmclock across a pause, as QEMU's kvmclock device keeps it: the value read at stop is written back at
 * cont (KVM_SET_CLOCK), so the guest's clock does not count the paused time.
 *
 * <p>The value must be the one the guest itself has computed. KVM_GET_CLOCK gives that only when KVM reports
 * KVM_CLOCK_TSC_STABLE; otherwise it is host time plus an offset, which drifts from the guest's TSC-based reading
 * (under nested virtualization, by seconds). Setting a clock behind what the guest has already seen makes the
 * guest's clock stand still until it catches up, and its timers stop with it. So, like QEMU's
 * kvmclock_current_nsec, this reads vCPU 0's pvclock page from guest memory and the vCPU's TSC, and computes the
 * guest's clock from them; the later of the two values is kept.
 */
final class KvmClock {
    private static final Logger LOG = LoggerFactory.getLogger(KvmClock.class);
    /** KVM_CLOCK_TSC_STABLE in struct kvm_clock_data's flags. */
    static final int CLOCK_TSC_STABLE = 2;
    static final int MSR_KVM_SYSTEM_TIME_NEW = 0x4b564d01;
    static final int MSR_KVM_SYSTEM_TIME = 0x12;
    static final int MSR_IA32_TSC = 0x10;
    /** struct pvclock_vcpu_time_info: version u32, pad u32, tsc_timestamp u64, system_time u64, mul u32, shift s8. */
    static final int PVCLOCK_SIZE = 32;

    private KvmClock() {}

    static PausedClock pause(Vm vm, List<Vcpu> vcpus, GuestMemory memory) {
        return new Frozen(vm, current(vm, vcpus, memory));
    }

    /** The clock as {@link #pause} froze it: set back by {@link #resume}, and what a snapshot stores. */
    record Frozen(Vm vm, long nanos) implements PausedClock {
        @Override
        public void resume() {
            set(vm, nanos);
        }
    }

    /** The guest's clock now, as {@link #pause} freezes it (a snapshot stores it). */
    static long current(Vm vm, List<Vcpu> vcpus, GuestMemory memory) {
        long clock;
        int flags;
        try (Memory data = new Memory(X86Ioctls.CLOCK_DATA_SIZE)) {
            data.clear();
            vm.ioctl(X86Ioctls.GET_CLOCK, data, "KVM_GET_CLOCK");
            clock = data.getLong(0);
            flags = data.getInt(8);
        }
        if ((flags & CLOCK_TSC_STABLE) == 0 && !vcpus.isEmpty()) {
            long guest = guestView(vcpus.get(0), memory);
            LOG.info("kvmclock at pause: KVM_GET_CLOCK {} ns, the guest's pvclock {} ns", clock, guest);
            clock = Math.max(clock, guest);
        }
        return clock;
    }

    static void set(Vm vm, long nanos) {
        try (Memory data = new Memory(X86Ioctls.CLOCK_DATA_SIZE)) {
            data.clear();
            data.setLong(0, nanos);
            vm.ioctl(X86Ioctls.SET_CLOCK, data, "KVM_SET_CLOCK");
        }
    }

    /** The guest's kvmclock as vCPU 0 computes it now; 0 if the guest has not enabled kvmclock. */
    static long guestView(Vcpu vcpu, GuestMemory memory) {
        long msr = readMsr(vcpu, MSR_KVM_SYSTEM_TIME_NEW);
        if ((msr & 1) == 0) {
            msr = readMsr(vcpu, MSR_KVM_SYSTEM_TIME);
        }
        if ((msr & 1) == 0) {
            return 0;
        }
        long address = msr & ~1L;
        byte[] info;
        try {
            info = memory.read(address, PVCLOCK_SIZE);
        } catch (RuntimeException e) {
            return 0; // the guest pointed the MSR outside its RAM: nothing to read
        }
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(info).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        return pvclockNanos(b.getLong(8), b.getLong(16), b.getInt(24), b.get(28), readMsr(vcpu, MSR_IA32_TSC));
    }

    /** pvclock_scale_delta: system_time + ((tsc - tsc_timestamp) shifted by shift) * mul / 2^32. */
    static long pvclockNanos(long tscTimestamp, long systemTime, int mul, int shift, long tsc) {
        long delta = tsc - tscTimestamp;
        if (Long.compareUnsigned(tsc, tscTimestamp) < 0) {
            delta = 0;
        }
        delta = shift < 0 ? delta >>> -shift : delta << shift;
        long unsignedMul = Integer.toUnsignedLong(mul);
        // The 96-bit product's bits 32..95: (high64 << 32) | (low64 >>> 32).
        long lo = delta * unsignedMul;
        long hi = Math.unsignedMultiplyHigh(delta, unsignedMul);
        return systemTime + ((hi << 32) | (lo >>> 32));
    }

    private static long readMsr(Vcpu vcpu, int index) {
        try (Memory m = new Memory(X86Ioctls.MSRS_HEADER_SIZE + X86Ioctls.MSR_ENTRY_SIZE)) {
            m.clear();
            m.setInt(0, 1);
            m.setInt(X86Ioctls.MSRS_HEADER_SIZE, index);
            int read = vcpu.ioctl(X86Ioctls.GET_MSRS, m, "KVM_GET_MSRS");
            return read == 1 ? m.getLong(X86Ioctls.MSRS_HEADER_SIZE + 8) : 0;
        }
    }
}
