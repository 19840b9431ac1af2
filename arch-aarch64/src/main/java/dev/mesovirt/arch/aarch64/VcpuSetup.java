package dev.mesovirt.arch.aarch64;

import com.sun.jna.Memory;
import dev.mesovirt.vmm.kvm.Vcpu;
import dev.mesovirt.vmm.kvm.Vm;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Initialises an arm64 vCPU: {@code KVM_ARM_PREFERRED_TARGET} gives the target the host's CPUs can run; every
 * vCPU gets the PSCI 0.2 firmware interface, secondaries also start powered off (the guest starts them with PSCI
 * CPU_ON, which KVM handles in-kernel); then {@code KVM_ARM_VCPU_INIT}. The boot vCPU enters the kernel at its
 * load address in EL1h with DAIF masked and the device tree's address in x0 (x1-x3 are zero after reset).
 */
final class VcpuSetup {
    private static final Logger LOG = LoggerFactory.getLogger(VcpuSetup.class);

    private VcpuSetup() {}

    /** features[0] for vCPU {@code id}. */
    static int features(int id) {
        int f = 1 << Arm64Kvm.FEATURE_PSCI_0_2;
        if (id != 0) {
            f |= 1 << Arm64Kvm.FEATURE_POWER_OFF;
        }
        return f;
    }

    /**
     * The MPIDR_EL1 KVM gives vCPU {@code id} at reset (arch/arm64/kvm/sys_regs.c, reset_mpidr): Aff0 = id bits
     * 0-3, Aff1 = id bits 4-11, Aff2 = id bits 12-19, bit 31 (RES1) set. The device tree is written before the
     * vCPUs exist, so its {@code cpu@} nodes use this; {@link #initialise} checks it against the register.
     */
    static long expectedMpidr(int id) {
        long mpidr = (id & 0x0fL);
        mpidr |= ((id >> 4) & 0xffL) << 8;
        mpidr |= ((id >> 12) & 0xffL) << 16;
        return mpidr | (1L << 31);
    }

    static long affinity(long mpidr) {
        return mpidr & Arm64Kvm.MPIDR_AFFINITY_MASK;
    }

    static void initialise(Vm vm, Vcpu vcpu) {
        try (Memory init = new Memory(Arm64Kvm.VCPU_INIT_SIZE)) {
            init.clear();
            vm.ioctl(Arm64Kvm.ARM_PREFERRED_TARGET, init, "KVM_ARM_PREFERRED_TARGET");
            init.setInt(Arm64Kvm.VCPU_INIT_FEATURES, init.getInt(Arm64Kvm.VCPU_INIT_FEATURES) | features(vcpu.id()));
            vcpu.ioctl(Arm64Kvm.ARM_VCPU_INIT, init, "KVM_ARM_VCPU_INIT");
        }
        long mpidr = vcpu.getOneReg(Arm64Kvm.REG_MPIDR_EL1);
        long expected = expectedMpidr(vcpu.id());
        if (affinity(mpidr) != affinity(expected)) {
            // The device tree already names this CPU by the expected affinity: make the register agree with it.
            LOG.warn("vCPU {}: KVM reset MPIDR_EL1 to 0x{}, not 0x{}; setting it to match the device tree",
                    vcpu.id(), Long.toHexString(mpidr), Long.toHexString(expected));
            vcpu.setOneReg(Arm64Kvm.REG_MPIDR_EL1, (mpidr & ~Arm64Kvm.MPIDR_AFFINITY_MASK) | affinity(expected));
        }
    }

    static void setBootRegisters(Vcpu vcpu, long entry, long dtbAddress) {
        vcpu.setOneReg(Arm64Kvm.REG_PSTATE, Arm64Kvm.PSTATE_EL1H_DAIF_MASKED);
        vcpu.setOneReg(Arm64Kvm.REG_X0, dtbAddress);
        for (int i = 1; i <= 3; i++) {
            vcpu.setOneReg(Arm64Kvm.xRegister(i), 0); // booting.rst: x1-x3 reserved, must be 0
        }
        vcpu.setOneReg(Arm64Kvm.REG_PC, entry);
    }
}
