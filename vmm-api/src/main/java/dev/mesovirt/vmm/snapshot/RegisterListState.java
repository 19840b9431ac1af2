package dev.mesovirt.vmm.snapshot;

import com.sun.jna.Memory;
import dev.mesovirt.vmm.kvm.KvmIoctls;
import dev.mesovirt.vmm.kvm.Vcpu;
import dev.mesovirt.vmm.sys.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A vCPU's state as the architectures whose KVM describes it by a register list give it (arm64, riscv64): its MP
 * state and every ONE_REG register KVM_GET_REG_LIST names, in KVM's order, each as the kernel's bytes (as QEMU saves
 * its cpreg list). The architecture says which ids and MP states are its own ({@link #fromSection}).
 */
public record RegisterListState(int mpState, List<Register> registers) {
    private static final Logger LOG = LoggerFactory.getLogger(RegisterListState.class);
    public static final int VERSION = 1;
    /** KVM_REG_ARCH_MASK: the architecture field of a ONE_REG id. */
    public static final long REG_ARCH_MASK = 0xff00_0000_0000_0000L;

    /** One ONE_REG register: its id and as many bytes as the id's size field says. */
    public record Register(long id, byte[] value) {
        public Register {
            value = value.clone();
        }

        @Override
        public byte[] value() {
            return value.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Register r && r.id == id && Arrays.equals(r.value, value);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(id) * 31 + Arrays.hashCode(value);
        }
    }

    public RegisterListState {
        registers = List.copyOf(registers);
    }

    public static String sectionId(int vcpu) {
        return "vcpu" + vcpu;
    }

    /** The sections of a machine whose vCPUs are saved this way: {@code vcpu0..}, then the interrupt controller's. */
    public static List<String> sectionIds(int vcpus, String irqChipSection) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < vcpus; i++) {
            ids.add(sectionId(i));
        }
        ids.add(irqChipSection);
        return ids;
    }

    /** The same state with 64-bit register {@code id} (if present) holding {@code value}. */
    public RegisterListState withRegister(long id, long value) {
        List<Register> out = new ArrayList<>(registers.size());
        for (Register r : registers) {
            out.add(r.id() == id && r.value.length == 8
                    ? new Register(id, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(value).array())
                    : r);
        }
        return new RegisterListState(mpState, out);
    }

    /** A 64-bit register's value, if the state has it. */
    public OptionalLong register(long id) {
        for (Register r : registers) {
            if (r.id() == id && r.value.length == 8) {
                return OptionalLong.of(ByteBuffer.wrap(r.value).order(ByteOrder.LITTLE_ENDIAN).getLong());
            }
        }
        return OptionalLong.empty();
    }

    public Section toSection(int vcpu) {
        StateWriter w = new StateWriter().u32(mpState).u32(registers.size());
        for (Register r : registers) {
            w.u64(r.id()).bytes(r.value);
        }
        return new Section(sectionId(vcpu), VERSION, w.toByteArray());
    }

    /**
     * Reads a section whose register ids all carry {@code archField} (KVM_REG_ARM64, KVM_REG_RISCV) and whose MP
     * state is one of {@code mpStates}; anything else, a register twice, or a value of another size than its id
     * says, is refused in one line.
     */
    public static RegisterListState fromSection(Section s, String isa, long archField, Set<Integer> mpStates) {
        s.requireVersion(VERSION);
        StateReader r = s.reader();
        int mp = r.u32();
        if (!mpStates.contains(mp)) {
            throw new SnapshotException("snapshot: " + s.id() + " has MP state " + Integer.toUnsignedString(mp)
                    + ", not one " + isa + "'s KVM takes " + new java.util.TreeSet<>(mpStates));
        }
        int n = r.u32In("register count", 1, Vcpu.MAX_LISTED_REGISTERS);
        List<Register> regs = new ArrayList<>(n);
        Set<Long> seen = new HashSet<>();
        for (int i = 0; i < n; i++) {
            long id = r.u64();
            byte[] value = r.bytes();
            if ((id & REG_ARCH_MASK) != archField || Vcpu.oneRegBytes(id) > Vcpu.MAX_ONE_REG_BYTES
                    || value.length != Vcpu.oneRegBytes(id)) {
                throw new SnapshotException(String.format("snapshot: %s has register 0x%x with %d bytes, not one of"
                        + " %s's registers of that size", s.id(), id, value.length, isa));
            }
            if (!seen.add(id)) {
                throw new SnapshotException(String.format("snapshot: %s has register 0x%x twice", s.id(), id));
            }
            regs.add(new Register(id, value));
        }
        r.end();
        return new RegisterListState(mp, regs);
    }

    /** Every register KVM lists for {@code vcpu}, and its MP state. */
    public static RegisterListState save(Vcpu vcpu) {
        long[] ids = vcpu.registerList();
        List<Register> regs = new ArrayList<>(ids.length);
        for (long id : ids) {
            regs.add(new Register(id, vcpu.getOneRegBytes(id)));
        }
        try (Memory m = new Memory(4)) {
            m.setInt(0, 0);
            vcpu.ioctl(KvmIoctls.GET_MP_STATE, m, "KVM_GET_MP_STATE");
            return new RegisterListState(m.getInt(0), regs);
        }
    }

    /**
     * Writes every saved register into {@code vcpu} in the saved (KVM's) order, then the MP state. A saved register
     * this host's KVM does not list is refused before anything is written; one it lists that the snapshot lacks
     * keeps its reset value (logged).
     */
    public void restoreTo(Vcpu vcpu) {
        restoreTo(vcpu, r -> true);
    }

    /**
     * As {@link #restoreTo(Vcpu)}, writing only the saved registers {@code write} accepts: the others (a value the
     * fresh vCPU already has and KVM refuses to be given, such as riscv64's timer state "off") keep their reset value.
     */
    public void restoreTo(Vcpu vcpu, java.util.function.Predicate<Register> write) {
        Set<Long> here = new HashSet<>();
        for (long id : vcpu.registerList()) {
            here.add(id);
        }
        for (Register r : registers) {
            if (!here.remove(r.id())) {
                throw new SnapshotException(String.format("snapshot: vCPU %d's register 0x%x is not one this host's KVM"
                        + " has (a snapshot of another CPU or kernel)", vcpu.id(), r.id()));
            }
        }
        if (!here.isEmpty()) {
            LOG.warn("vCPU {}: {} registers of this host's KVM are not in the snapshot and keep their reset values",
                    vcpu.id(), here.size());
        }
        try {
            for (Register r : registers) {
                if (write.test(r)) {
                    vcpu.setOneRegBytes(r.id(), r.value);
                }
            }
            try (Memory m = new Memory(4)) {
                m.setInt(0, mpState);
                vcpu.ioctl(KvmIoctls.SET_MP_STATE, m, "KVM_SET_MP_STATE");
            }
        } catch (ErrnoException e) {
            throw new SnapshotException("snapshot: " + e.getMessage(), e);
        }
    }
}
