package dev.mesovirt.vmm.kvm;

/**
 * Byte layouts of the architecture-neutral KVM structures (linux/kvm.h). Sizes and offsets are checked against
 * the kernel's uapi headers by a unit test that compiles them with the system C compiler.
 */
public final class Layouts {
    private Layouts() {}

    /** struct kvm_userspace_memory_region: slot u32, flags u32, guest_phys_addr u64, memory_size u64, userspace_addr u64. */
    public static final int USERSPACE_MEMORY_REGION_SIZE = 32;
    /** struct kvm_irq_level: irq u32, level u32. */
    public static final int IRQ_LEVEL_SIZE = 8;
    /** struct kvm_irq_routing: nr u32, flags u32, then entries. */
    public static final int IRQ_ROUTING_HEADER_SIZE = 8;
    /** struct kvm_irq_routing_entry: gsi u32, type u32, flags u32, pad u32, union of 32 bytes. */
    public static final int IRQ_ROUTING_ENTRY_SIZE = 48;
    /** Offset of the entry's union u (irqchip, msi, ...). */
    public static final int IRQ_ROUTING_ENTRY_UNION = 16;
    /** struct kvm_irqfd: fd u32, gsi u32, flags u32, resamplefd u32, pad[16]. */
    public static final int IRQFD_SIZE = 32;
    /** struct kvm_ioeventfd: datamatch u64, addr u64, len u32, fd s32, flags u32, pad[36]. */
    public static final int IOEVENTFD_SIZE = 64;
    /** struct kvm_msi: address_lo, address_hi, data, flags, devid u32, pad[12]. */
    public static final int MSI_SIZE = 32;
    /** struct kvm_enable_cap: cap u32, flags u32, args[4] u64, pad[64]. */
    public static final int ENABLE_CAP_SIZE = 104;
    /** struct kvm_create_device: type u32, fd u32, flags u32. */
    public static final int CREATE_DEVICE_SIZE = 12;
    /** struct kvm_device_attr: flags u32, group u32, attr u64, addr u64. */
    public static final int DEVICE_ATTR_SIZE = 24;
    /** struct kvm_one_reg: id u64, addr u64. */
    public static final int ONE_REG_SIZE = 16;

    /** struct kvm_run: offsets of the fields the VMM reads. */
    public static final class Run {
        public static final int REQUEST_INTERRUPT_WINDOW = 0;
        public static final int IMMEDIATE_EXIT = 1;
        public static final int EXIT_REASON = 8;
        public static final int READY_FOR_INTERRUPT_INJECTION = 12;
        public static final int IF_FLAG = 13;
        /** Start of the exit-specific union. */
        public static final int EXIT_UNION = 32;
        // io
        public static final int IO_DIRECTION = 32;
        public static final int IO_SIZE = 33;
        public static final int IO_PORT = 34;
        public static final int IO_COUNT = 36;
        public static final int IO_DATA_OFFSET = 40;
        // mmio
        public static final int MMIO_PHYS_ADDR = 32;
        public static final int MMIO_DATA = 40;
        public static final int MMIO_LEN = 48;
        public static final int MMIO_IS_WRITE = 52;
        // fail_entry
        public static final int FAIL_ENTRY_REASON = 32;
        public static final int FAIL_ENTRY_CPU = 40;
        // internal
        public static final int INTERNAL_SUBERROR = 32;
        public static final int INTERNAL_NDATA = 36;
        public static final int INTERNAL_DATA = 40;
        // system_event
        public static final int SYSTEM_EVENT_TYPE = 32;
        public static final int SYSTEM_EVENT_NDATA = 36;
        public static final int SYSTEM_EVENT_DATA = 40;
        // hw (unknown exit)
        public static final int HW_EXIT_REASON = 32;

        private Run() {}
    }
}
