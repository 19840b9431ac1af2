package dev.mesovirt.vmm.kvm;

/** KVM capabilities the VMM checks (linux/kvm.h KVM_CAP_*). */
public enum KvmCapability {
    IRQCHIP(0),
    HLT(1),
    USER_MEMORY(3),
    SET_TSS_ADDR(4),
    EXT_CPUID(7),
    NR_VCPUS(9),
    NR_MEMSLOTS(10),
    MP_STATE(14),
    IRQ_ROUTING(25),
    IRQFD(32),
    PIT2(33),
    IOEVENTFD(36),
    SET_IDENTITY_MAP_ADDR(37),
    TSC_CONTROL(60),
    MAX_VCPUS(66),
    ONE_REG(70),
    TSC_DEADLINE_TIMER(72),
    SIGNAL_MSI(77),
    READONLY_MEM(81),
    DEVICE_CTRL(89),
    ENABLE_CAP_VM(98),
    ARM_PSCI_0_2(102),
    CHECK_EXTENSION_VM(105),
    X2APIC_API(129),
    IMMEDIATE_EXIT(136),
    ARM_VM_IPA_SIZE(165),
    XSAVE2(208);

    private final int number;

    KvmCapability(int number) {
        this.number = number;
    }

    public int number() {
        return number;
    }
}
