package dev.mesovirt.arch.x86_64;

import dev.mesovirt.vmm.snapshot.Section;
import dev.mesovirt.vmm.snapshot.SnapshotException;
import dev.mesovirt.vmm.snapshot.StateReader;
import dev.mesovirt.vmm.snapshot.StateWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * One x86 vCPU's state as KVM gives it, each structure as the kernel's bytes (asm/kvm.h layouts, checked by
 * X86UapiLayoutTest): MP state, regs, sregs, the XSAVE area (x87, SSE, AVX...), XCRs, debug registers, the local
 * APIC page, pending events, the MSRs KVM lists, and the TSC frequency.
 */
record X86VcpuState(int tscKhz, byte[] mpState, byte[] regs, byte[] sregs, byte[] xsave, byte[] xcrs,
                    byte[] debugRegs, byte[] lapic, byte[] events, List<Msr> msrs) {
    static final int VERSION = 1;
    /** No MSR list of KVM comes near this; a bound for reading a section. */
    static final int MAX_MSRS = 4096;
    /** KVM_CAP_XSAVE2 answers at most a few pages (AMX tiles: about 11 KiB). */
    static final int MAX_XSAVE = 1 << 16;

    record Msr(int index, long value) {}

    X86VcpuState {
        msrs = List.copyOf(msrs);
    }

    static String sectionId(int vcpu) {
        return "vcpu" + vcpu;
    }

    Section toSection(int vcpu) {
        StateWriter w = new StateWriter().u32(tscKhz).bytes(mpState).bytes(regs).bytes(sregs).bytes(xsave)
                .bytes(xcrs).bytes(debugRegs).bytes(lapic).bytes(events).u32(msrs.size());
        for (Msr m : msrs) {
            w.u32(m.index()).u64(m.value());
        }
        return new Section(sectionId(vcpu), VERSION, w.toByteArray());
    }

    static X86VcpuState fromSection(Section s) {
        s.requireVersion(VERSION);
        StateReader r = s.reader();
        int tscKhz = r.u32();
        byte[] mp = r.bytes("mp_state", X86Ioctls.MP_STATE_SIZE);
        byte[] regs = r.bytes("kvm_regs", X86Ioctls.REGS_SIZE);
        byte[] sregs = r.bytes("kvm_sregs", X86Ioctls.SREGS_SIZE);
        byte[] xsave = r.bytes();
        if (xsave.length < X86Ioctls.XSAVE_SIZE || xsave.length > MAX_XSAVE) {
            throw new SnapshotException("snapshot: " + s.id() + " has an XSAVE area of " + xsave.length
                    + " bytes, outside " + X86Ioctls.XSAVE_SIZE + ".." + MAX_XSAVE);
        }
        byte[] xcrs = r.bytes("kvm_xcrs", X86Ioctls.XCRS_SIZE);
        byte[] debug = r.bytes("kvm_debugregs", X86Ioctls.DEBUGREGS_SIZE);
        byte[] lapic = r.bytes("kvm_lapic_state", X86Ioctls.LAPIC_SIZE);
        byte[] events = r.bytes("kvm_vcpu_events", X86Ioctls.VCPU_EVENTS_SIZE);
        int n = r.u32In("MSR count", 0, MAX_MSRS);
        List<Msr> msrs = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            msrs.add(new Msr(r.u32(), r.u64()));
        }
        r.end();
        return new X86VcpuState(tscKhz, mp, regs, sregs, xsave, xcrs, debug, lapic, events, msrs);
    }
}
