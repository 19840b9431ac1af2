package dev.mesovirt.arch.x86_64;

import dev.mesovirt.vmm.snapshot.Section;
import dev.mesovirt.vmm.snapshot.StateReader;
import dev.mesovirt.vmm.snapshot.StateWriter;

/**
 * The VM-wide x86 state: the two 8259 PICs and the IOAPIC (KVM_GET_IRQCHIP, as the kernel's struct kvm_irqchip),
 * the i8254 PIT (struct kvm_pit_state2) and the guest's kvmclock in nanoseconds.
 */
record X86VmState(byte[] picMaster, byte[] picSlave, byte[] ioapic, byte[] pit, long clockNanos) {
    static final String ID = "irqchip";
    static final int VERSION = 1;

    Section toSection() {
        return new Section(ID, VERSION, new StateWriter().bytes(picMaster).bytes(picSlave).bytes(ioapic).bytes(pit)
                .u64(clockNanos).toByteArray());
    }

    static X86VmState fromSection(Section s) {
        s.requireVersion(VERSION);
        StateReader r = s.reader();
        X86VmState v = new X86VmState(r.bytes("PIC master", X86Ioctls.IRQCHIP_SIZE),
                r.bytes("PIC slave", X86Ioctls.IRQCHIP_SIZE), r.bytes("IOAPIC", X86Ioctls.IRQCHIP_SIZE),
                r.bytes("kvm_pit_state2", X86Ioctls.PIT_STATE2_SIZE), r.u64());
        r.end();
        return v;
    }
}
