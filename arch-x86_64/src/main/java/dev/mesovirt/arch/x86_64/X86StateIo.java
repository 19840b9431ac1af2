package dev.mesovirt.arch.x86_64;

import com.sun.jna.Memory;
import dev.mesovirt.vmm.kvm.Kvm;
import dev.mesovirt.vmm.kvm.KvmCapability;
import dev.mesovirt.vmm.kvm.Vcpu;
import dev.mesovirt.vmm.kvm.Vm;
import dev.mesovirt.vmm.memory.GuestMemory;
import dev.mesovirt.vmm.snapshot.SnapshotException;
import dev.mesovirt.vmm.sys.ErrnoException;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes and gives back {@link X86VcpuState} and {@link X86VmState} through KVM. The restore follows the order KVM
 * needs (as Firecracker and QEMU do): CPUID first (KVM checks XSAVE features and MSRs against it), MP state, regs,
 * sregs (which carry the APIC base, so before the LAPIC), XSAVE, XCRs, debug registers, LAPIC (before the MSRs: KVM
 * only takes the TSC deadline MSR in TSC-deadline mode), MSRs, then events (pending exceptions, NMI, SIPI).
 */
final class X86StateIo {
    private static final Logger LOG = LoggerFactory.getLogger(X86StateIo.class);
    /** IA32_MCG_CTL: listed by KVM but refused by it on write unless MCG_CTL_P; Firecracker leaves it out too. */
    static final int MSR_IA32_MCG_CTL = 0x17b;
    /** KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR: KVM_GET_VCPU_EVENTS leaves these out. */
    static final int EVENTS_VALID_NMI_SIPI = 3;
    /** offsetof(struct kvm_vcpu_events, flags). */
    static final int EVENTS_FLAGS = 20;
    private static final int MAX_LISTED_MSRS = 1024;

    private X86StateIo() {}

    /** The MSRs KVM lists (KVM_GET_MSR_INDEX_LIST) that this vCPU can read, MCG_CTL aside. */
    static List<Integer> msrIndices(Kvm kvm) {
        try (Memory m = new Memory(X86Ioctls.MSR_LIST_HEADER_SIZE + 4L * MAX_LISTED_MSRS)) {
            m.setInt(0, MAX_LISTED_MSRS);
            kvm.ioctl(X86Ioctls.GET_MSR_INDEX_LIST, m, "KVM_GET_MSR_INDEX_LIST");
            int n = m.getInt(0);
            List<Integer> out = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                int index = m.getInt(X86Ioctls.MSR_LIST_HEADER_SIZE + 4L * i);
                if (index != MSR_IA32_MCG_CTL) {
                    out.add(index);
                }
            }
            return out;
        }
    }

    static X86VcpuState save(Vm vm, Vcpu vcpu, List<Integer> msrIndices) {
        int tscKhz = vcpu.ioctl(X86Ioctls.GET_TSC_KHZ, 0L, "KVM_GET_TSC_KHZ");
        byte[] mp = get(vcpu, X86Ioctls.GET_MP_STATE, X86Ioctls.MP_STATE_SIZE, "KVM_GET_MP_STATE");
        byte[] regs = get(vcpu, X86Ioctls.GET_REGS, X86Ioctls.REGS_SIZE, "KVM_GET_REGS");
        byte[] sregs = get(vcpu, X86Ioctls.GET_SREGS, X86Ioctls.SREGS_SIZE, "KVM_GET_SREGS");
        int xsaveSize = Math.max(X86Ioctls.XSAVE_SIZE, vm.checkExtension(KvmCapability.XSAVE2));
        byte[] xsave = xsaveSize > X86Ioctls.XSAVE_SIZE
                ? get(vcpu, X86Ioctls.GET_XSAVE2, xsaveSize, "KVM_GET_XSAVE2")
                : get(vcpu, X86Ioctls.GET_XSAVE, xsaveSize, "KVM_GET_XSAVE");
        byte[] xcrs = get(vcpu, X86Ioctls.GET_XCRS, X86Ioctls.XCRS_SIZE, "KVM_GET_XCRS");
        byte[] debug = get(vcpu, X86Ioctls.GET_DEBUGREGS, X86Ioctls.DEBUGREGS_SIZE, "KVM_GET_DEBUGREGS");
        byte[] lapic = get(vcpu, X86Ioctls.GET_LAPIC, X86Ioctls.LAPIC_SIZE, "KVM_GET_LAPIC");
        List<X86VcpuState.Msr> msrs = readMsrs(vcpu, msrIndices);
        byte[] events = get(vcpu, X86Ioctls.GET_VCPU_EVENTS, X86Ioctls.VCPU_EVENTS_SIZE, "KVM_GET_VCPU_EVENTS");
        return new X86VcpuState(tscKhz, mp, regs, sregs, xsave, xcrs, debug, lapic, events, msrs);
    }

    /**
     * KVM_GET_MSRS stops at the first MSR it cannot read (one the vCPU's CPUID does not offer): that one is dropped
     * and the rest read again, so the state holds every MSR this vCPU has.
     */
    static List<X86VcpuState.Msr> readMsrs(Vcpu vcpu, List<Integer> indices) {
        List<Integer> left = new ArrayList<>(indices);
        List<X86VcpuState.Msr> out = new ArrayList<>();
        while (!left.isEmpty()) {
            try (Memory m = new Memory(X86Ioctls.MSRS_HEADER_SIZE + (long) left.size() * X86Ioctls.MSR_ENTRY_SIZE)) {
                m.clear();
                m.setInt(0, left.size());
                for (int i = 0; i < left.size(); i++) {
                    m.setInt(X86Ioctls.MSRS_HEADER_SIZE + (long) i * X86Ioctls.MSR_ENTRY_SIZE, left.get(i));
                }
                int read = vcpu.ioctl(X86Ioctls.GET_MSRS, m, "KVM_GET_MSRS");
                for (int i = 0; i < read; i++) {
                    out.add(new X86VcpuState.Msr(left.get(i),
                            m.getLong(X86Ioctls.MSRS_HEADER_SIZE + (long) i * X86Ioctls.MSR_ENTRY_SIZE + 8)));
                }
                left = new ArrayList<>(left.subList(Math.min(read + 1, left.size()), left.size()));
            }
        }
        return out;
    }

    static void restore(Vcpu vcpu, X86VcpuState s) {
        int khz = vcpu.ioctl(X86Ioctls.GET_TSC_KHZ, 0L, "KVM_GET_TSC_KHZ");
        if (s.tscKhz() != 0 && khz != s.tscKhz()) {
            try {
                vcpu.ioctl(X86Ioctls.SET_TSC_KHZ, Integer.toUnsignedLong(s.tscKhz()), "KVM_SET_TSC_KHZ");
            } catch (ErrnoException e) {
                throw new SnapshotException("snapshot: taken with a TSC of " + s.tscKhz() + " kHz, this host's is "
                        + khz + " kHz and KVM cannot scale it (" + e.getMessage() + ")");
            }
        }
        set(vcpu, X86Ioctls.SET_MP_STATE, s.mpState(), "KVM_SET_MP_STATE");
        set(vcpu, X86Ioctls.SET_REGS, s.regs(), "KVM_SET_REGS");
        set(vcpu, X86Ioctls.SET_SREGS, s.sregs(), "KVM_SET_SREGS");
        set(vcpu, X86Ioctls.SET_XSAVE, s.xsave(), "KVM_SET_XSAVE");
        set(vcpu, X86Ioctls.SET_XCRS, s.xcrs(), "KVM_SET_XCRS");
        set(vcpu, X86Ioctls.SET_DEBUGREGS, s.debugRegs(), "KVM_SET_DEBUGREGS");
        set(vcpu, X86Ioctls.SET_LAPIC, s.lapic(), "KVM_SET_LAPIC");
        writeMsrs(vcpu, s.msrs());
        byte[] events = s.events();
        int flags = littleEndianInt(events, EVENTS_FLAGS) | EVENTS_VALID_NMI_SIPI;
        putLittleEndianInt(events, EVENTS_FLAGS, flags);
        set(vcpu, X86Ioctls.SET_VCPU_EVENTS, events, "KVM_SET_VCPU_EVENTS");
    }

    /**
     * KVM_SET_MSRS stops at the first MSR it refuses; the rest are written again after it. A refused MSR (one this
     * host's KVM reads but will not take back) keeps its reset value: logged, as the guest may or may not use it.
     */
    private static void writeMsrs(Vcpu vcpu, List<X86VcpuState.Msr> msrs) {
        List<X86VcpuState.Msr> left = msrs;
        List<String> refused = new ArrayList<>();
        while (!left.isEmpty()) {
            try (Memory m = new Memory(X86Ioctls.MSRS_HEADER_SIZE + (long) left.size() * X86Ioctls.MSR_ENTRY_SIZE)) {
                m.clear();
                m.setInt(0, left.size());
                for (int i = 0; i < left.size(); i++) {
                    long o = X86Ioctls.MSRS_HEADER_SIZE + (long) i * X86Ioctls.MSR_ENTRY_SIZE;
                    m.setInt(o, left.get(i).index());
                    m.setLong(o + 8, left.get(i).value());
                }
                int written;
                try {
                    written = vcpu.ioctl(X86Ioctls.SET_MSRS, m, "KVM_SET_MSRS");
                } catch (ErrnoException e) {
                    throw new SnapshotException("snapshot: " + e.getMessage(), e);
                }
                if (written < left.size()) {
                    refused.add("0x" + Integer.toHexString(left.get(written).index()));
                }
                left = left.subList(Math.min(written + 1, left.size()), left.size());
            }
        }
        if (!refused.isEmpty()) {
            LOG.warn("vCPU {}: KVM refused {} of {} saved MSRs, which keep their reset values: {}", vcpu.id(),
                    refused.size(), msrs.size(), refused);
        }
    }

    /** The clock is the one frozen at pause where there is one: the guest then sees no time pass until restored. */
    static X86VmState saveVm(Vm vm, List<Vcpu> vcpus, GuestMemory memory,
                             dev.mesovirt.vmm.arch.Architecture.PausedClock paused) {
        long clock = paused instanceof KvmClock.Frozen f ? f.nanos() : KvmClock.current(vm, vcpus, memory);
        return new X86VmState(irqchip(vm, X86IrqChip.IRQCHIP_PIC_MASTER), irqchip(vm, X86IrqChip.IRQCHIP_PIC_SLAVE),
                irqchip(vm, X86IrqChip.IRQCHIP_IOAPIC),
                getVm(vm, X86Ioctls.GET_PIT2, X86Ioctls.PIT_STATE2_SIZE, "KVM_GET_PIT2"), clock);
    }

    /** The PICs, IOAPIC and PIT; the clock goes last, after the vCPUs' TSCs ({@link #restoreClock}). */
    static void restoreVm(Vm vm, X86VmState s) {
        for (byte[] chip : List.of(s.picMaster(), s.picSlave(), s.ioapic())) {
            setVm(vm, X86Ioctls.SET_IRQCHIP, chip, "KVM_SET_IRQCHIP");
        }
        setVm(vm, X86Ioctls.SET_PIT2, s.pit(), "KVM_SET_PIT2");
    }

    static void restoreClock(Vm vm, X86VmState s) {
        KvmClock.set(vm, s.clockNanos());
    }

    private static byte[] irqchip(Vm vm, int chipId) {
        try (Memory m = new Memory(X86Ioctls.IRQCHIP_SIZE)) {
            m.clear();
            m.setInt(0, chipId);
            vm.ioctl(X86Ioctls.GET_IRQCHIP, m, "KVM_GET_IRQCHIP");
            return m.getByteArray(0, X86Ioctls.IRQCHIP_SIZE);
        }
    }

    private static byte[] get(Vcpu vcpu, long request, int size, String name) {
        try (Memory m = new Memory(size)) {
            m.clear();
            vcpu.ioctl(request, m, name);
            return m.getByteArray(0, size);
        }
    }

    private static void set(Vcpu vcpu, long request, byte[] data, String name) {
        try (Memory m = new Memory(data.length)) {
            m.write(0, data, 0, data.length);
            vcpu.ioctl(request, m, name);
        } catch (ErrnoException e) {
            throw new SnapshotException("snapshot: " + e.getMessage(), e);
        }
    }

    private static byte[] getVm(Vm vm, long request, int size, String name) {
        try (Memory m = new Memory(size)) {
            m.clear();
            vm.ioctl(request, m, name);
            return m.getByteArray(0, size);
        }
    }

    private static void setVm(Vm vm, long request, byte[] data, String name) {
        try (Memory m = new Memory(data.length)) {
            m.write(0, data, 0, data.length);
            vm.ioctl(request, m, name);
        } catch (ErrnoException e) {
            throw new SnapshotException("snapshot: " + e.getMessage(), e);
        }
    }

    static int littleEndianInt(byte[] b, int offset) {
        return (b[offset] & 0xff) | (b[offset + 1] & 0xff) << 8 | (b[offset + 2] & 0xff) << 16 | (b[offset + 3] & 0xff) << 24;
    }

    static void putLittleEndianInt(byte[] b, int offset, int v) {
        for (int i = 0; i < 4; i++) {
            b[offset + i] = (byte) (v >>> (8 * i));
        }
    }

    static void logSaved(int vcpu, X86VcpuState s) {
        LOG.debug("vCPU {}: {} MSRs, XSAVE {} bytes, TSC {} kHz", vcpu, s.msrs().size(), s.xsave().length, s.tscKhz());
    }
}
