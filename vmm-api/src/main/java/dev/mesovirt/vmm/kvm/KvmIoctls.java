package dev.mesovirt.vmm.kvm;

import static dev.mesovirt.vmm.sys.Ioctls.io;
import static dev.mesovirt.vmm.sys.Ioctls.ior;
import static dev.mesovirt.vmm.sys.Ioctls.iow;
import static dev.mesovirt.vmm.sys.Ioctls.iowr;

/** Architecture-neutral KVM ioctl numbers (linux/kvm.h), computed from the {@code _IOC} encoding. */
public final class KvmIoctls {
    /** KVMIO, the ioctl type byte of every KVM request. */
    public static final int KVMIO = 0xAE;

    // System ioctls.
    public static final long GET_API_VERSION = io(KVMIO, 0x00);
    public static final long CREATE_VM = io(KVMIO, 0x01);
    public static final long CHECK_EXTENSION = io(KVMIO, 0x03);
    public static final long GET_VCPU_MMAP_SIZE = io(KVMIO, 0x04);

    // VM ioctls.
    public static final long CREATE_VCPU = io(KVMIO, 0x41);
    public static final long SET_USER_MEMORY_REGION = iow(KVMIO, 0x46, Layouts.USERSPACE_MEMORY_REGION_SIZE);
    public static final long IRQ_LINE = iow(KVMIO, 0x61, Layouts.IRQ_LEVEL_SIZE);
    public static final long SET_GSI_ROUTING = iow(KVMIO, 0x6a, Layouts.IRQ_ROUTING_HEADER_SIZE);
    public static final long IRQFD = iow(KVMIO, 0x76, Layouts.IRQFD_SIZE);
    public static final long IOEVENTFD = iow(KVMIO, 0x79, Layouts.IOEVENTFD_SIZE);
    public static final long SIGNAL_MSI = iow(KVMIO, 0xa5, Layouts.MSI_SIZE);
    public static final long ENABLE_CAP = iow(KVMIO, 0xa3, Layouts.ENABLE_CAP_SIZE);
    public static final long CREATE_DEVICE = iowr(KVMIO, 0xe0, Layouts.CREATE_DEVICE_SIZE);
    public static final long SET_DEVICE_ATTR = iow(KVMIO, 0xe1, Layouts.DEVICE_ATTR_SIZE);
    public static final long GET_DEVICE_ATTR = iow(KVMIO, 0xe2, Layouts.DEVICE_ATTR_SIZE);
    public static final long HAS_DEVICE_ATTR = iow(KVMIO, 0xe3, Layouts.DEVICE_ATTR_SIZE);

    // vCPU ioctls.
    public static final long RUN = io(KVMIO, 0x80);
    public static final long GET_ONE_REG = iow(KVMIO, 0xab, Layouts.ONE_REG_SIZE);
    public static final long SET_ONE_REG = iow(KVMIO, 0xac, Layouts.ONE_REG_SIZE);
    public static final long GET_MP_STATE = ior(KVMIO, 0x98, 4);
    public static final long SET_MP_STATE = iow(KVMIO, 0x99, 4);
    /** KVM_GET_REG_LIST = _IOWR(KVMIO, 0xb0, struct kvm_reg_list): {@code __u64 n; __u64 reg[];} (arm64, riscv64). */
    public static final long GET_REG_LIST = iowr(KVMIO, 0xb0, 8);

    private KvmIoctls() {}
}
