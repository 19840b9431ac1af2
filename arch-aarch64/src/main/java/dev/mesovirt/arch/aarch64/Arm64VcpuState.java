package dev.mesovirt.arch.aarch64;

import dev.mesovirt.vmm.kvm.Vcpu;
import dev.mesovirt.vmm.snapshot.Section;
import dev.mesovirt.vmm.snapshot.SnapshotException;
import dev.mesovirt.vmm.snapshot.StateReader;
import dev.mesovirt.vmm.snapshot.StateWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One arm64 vCPU's state as KVM gives it: its MP state (running, powered off by PSCI, suspended) and every ONE_REG
 * register KVM_GET_REG_LIST names, in KVM's order, each as the kernel's bytes: the core registers (x0-x30, SP, PC,
 * PSTATE, the EL1 banked registers, the FP/SIMD V registers, FPSR, FPCR), the system registers, the timer's CTL, CNT
 * and CVAL (and the physical timer's where KVM lists them) and the firmware pseudo-registers (PSCI version, the
 * SMCCC workarounds), as QEMU saves its cpreg list.
 */
record Arm64VcpuState(int mpState, List<Register> registers) {
    static final int VERSION = 1;

    /** One ONE_REG register: its id and as many bytes as the id's size field says. */
    record Register(long id, byte[] value) {
        Register {
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

    Arm64VcpuState {
        registers = List.copyOf(registers);
    }

    static String sectionId(int vcpu) {
        return "vcpu" + vcpu;
    }

    /** The same state with register {@code id} (if present) holding {@code value} as a 64-bit register. */
    Arm64VcpuState withRegister(long id, long value) {
        List<Register> out = new ArrayList<>(registers.size());
        for (Register r : registers) {
            out.add(r.id() == id && r.value.length == 8 ? new Register(id, littleEndian(value)) : r);
        }
        return new Arm64VcpuState(mpState, out);
    }

    /** A 64-bit register's value, if the state has it. */
    java.util.OptionalLong register(long id) {
        for (Register r : registers) {
            if (r.id() == id && r.value.length == 8) {
                return java.util.OptionalLong.of(java.nio.ByteBuffer.wrap(r.value).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                        .getLong());
            }
        }
        return java.util.OptionalLong.empty();
    }

    private static byte[] littleEndian(long v) {
        return java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(v).array();
    }

    Section toSection(int vcpu) {
        StateWriter w = new StateWriter().u32(mpState).u32(registers.size());
        for (Register r : registers) {
            w.u64(r.id()).bytes(r.value);
        }
        return new Section(sectionId(vcpu), VERSION, w.toByteArray());
    }

    static Arm64VcpuState fromSection(Section s) {
        if (s.version() != VERSION) {
            throw new SnapshotException("snapshot: section " + s.id() + " has version " + s.version()
                    + ", this VMM reads version " + VERSION);
        }
        StateReader r = s.reader();
        int mp = r.u32();
        if (mp != Arm64Kvm.MP_STATE_RUNNABLE && mp != Arm64Kvm.MP_STATE_STOPPED && mp != Arm64Kvm.MP_STATE_SUSPENDED) {
            throw new SnapshotException("snapshot: " + s.id() + " has MP state " + Integer.toUnsignedString(mp)
                    + ", not one arm64's KVM takes (0, 5 or 10)");
        }
        int n = r.u32In("register count", 1, Vcpu.MAX_LISTED_REGISTERS);
        List<Register> regs = new ArrayList<>(n);
        java.util.Set<Long> seen = new java.util.HashSet<>();
        for (int i = 0; i < n; i++) {
            long id = r.u64();
            byte[] value = r.bytes();
            if ((id & Arm64Kvm.REG_ARCH_MASK) != Arm64Kvm.REG_ARM64 || Vcpu.oneRegBytes(id) > Vcpu.MAX_ONE_REG_BYTES
                    || value.length != Vcpu.oneRegBytes(id)) {
                throw new SnapshotException(String.format("snapshot: %s has register 0x%x with %d bytes, which is not"
                        + " an arm64 register of that size", s.id(), id, value.length));
            }
            if (!seen.add(id)) {
                throw new SnapshotException(String.format("snapshot: %s has register 0x%x twice", s.id(), id));
            }
            regs.add(new Register(id, value));
        }
        r.end();
        return new Arm64VcpuState(mp, regs);
    }
}
