package dev.mesovirt.arch.x86_64;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.mesovirt.vmm.testing.CProbe;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The x86 KVM structures and requests against asm/kvm.h as the C compiler sees them. */
class X86UapiLayoutTest {
    @Test
    void layoutsAndRequestsMatchTheKernelHeaders() throws Exception {
        Map<String, Long> ours = new LinkedHashMap<>();
        ours.put("sizeof(struct kvm_regs)", (long) X86Ioctls.REGS_SIZE);
        ours.put("sizeof(struct kvm_sregs)", (long) X86Ioctls.SREGS_SIZE);
        ours.put("sizeof(struct kvm_fpu)", (long) X86Ioctls.FPU_SIZE);
        ours.put("sizeof(struct kvm_lapic_state)", (long) X86Ioctls.LAPIC_SIZE);
        ours.put("sizeof(struct kvm_pit_config)", (long) X86Ioctls.PIT_CONFIG_SIZE);
        ours.put("sizeof(struct kvm_msrs)", (long) X86Ioctls.MSRS_HEADER_SIZE);
        ours.put("sizeof(struct kvm_msr_entry)", (long) X86Ioctls.MSR_ENTRY_SIZE);
        ours.put("sizeof(struct kvm_cpuid2)", (long) X86Ioctls.CPUID2_HEADER_SIZE);
        ours.put("sizeof(struct kvm_cpuid_entry2)", (long) X86Ioctls.CPUID_ENTRY2_SIZE);
        ours.put("sizeof(struct kvm_segment)", (long) Registers.SEGMENT_SIZE);
        ours.put("offsetof(struct kvm_regs, rip)", (long) Registers.RIP);
        ours.put("offsetof(struct kvm_regs, rflags)", (long) Registers.RFLAGS);
        ours.put("offsetof(struct kvm_regs, rsi)", (long) Registers.RSI);
        ours.put("offsetof(struct kvm_regs, rsp)", (long) Registers.RSP);
        ours.put("offsetof(struct kvm_regs, rbp)", (long) Registers.RBP);
        ours.put("offsetof(struct kvm_sregs, cs)", (long) Registers.CS);
        ours.put("offsetof(struct kvm_sregs, ss)", (long) Registers.SS);
        ours.put("offsetof(struct kvm_sregs, tr)", (long) Registers.TR);
        ours.put("offsetof(struct kvm_sregs, gdt)", (long) Registers.GDT);
        ours.put("offsetof(struct kvm_sregs, idt)", (long) Registers.IDT);
        ours.put("offsetof(struct kvm_sregs, cr0)", (long) Registers.CR0);
        ours.put("offsetof(struct kvm_sregs, cr3)", (long) Registers.CR3);
        ours.put("offsetof(struct kvm_sregs, cr4)", (long) Registers.CR4);
        ours.put("offsetof(struct kvm_sregs, efer)", (long) Registers.EFER);
        ours.put("offsetof(struct kvm_sregs, apic_base)", (long) Registers.APIC_BASE);
        ours.put("offsetof(struct kvm_segment, selector)", (long) Registers.SEG_SELECTOR);
        ours.put("offsetof(struct kvm_segment, type)", (long) Registers.SEG_TYPE);
        ours.put("offsetof(struct kvm_segment, unusable)", (long) Registers.SEG_UNUSABLE);
        ours.put("offsetof(struct kvm_dtable, limit)", (long) Registers.DTABLE_LIMIT);
        ours.put("offsetof(struct kvm_fpu, fcw)", (long) Registers.FPU_FCW);
        ours.put("offsetof(struct kvm_fpu, mxcsr)", (long) Registers.FPU_MXCSR);
        ours.put("KVM_GET_SUPPORTED_CPUID", X86Ioctls.GET_SUPPORTED_CPUID);
        ours.put("KVM_SET_TSS_ADDR", X86Ioctls.SET_TSS_ADDR);
        ours.put("KVM_SET_IDENTITY_MAP_ADDR", X86Ioctls.SET_IDENTITY_MAP_ADDR);
        ours.put("KVM_CREATE_IRQCHIP", X86Ioctls.CREATE_IRQCHIP);
        ours.put("KVM_CREATE_PIT2", X86Ioctls.CREATE_PIT2);
        ours.put("KVM_GET_REGS", X86Ioctls.GET_REGS);
        ours.put("KVM_SET_REGS", X86Ioctls.SET_REGS);
        ours.put("KVM_GET_SREGS", X86Ioctls.GET_SREGS);
        ours.put("KVM_SET_SREGS", X86Ioctls.SET_SREGS);
        ours.put("KVM_GET_MSRS", X86Ioctls.GET_MSRS);
        ours.put("KVM_SET_MSRS", X86Ioctls.SET_MSRS);
        ours.put("KVM_SET_FPU", X86Ioctls.SET_FPU);
        ours.put("KVM_GET_LAPIC", X86Ioctls.GET_LAPIC);
        ours.put("KVM_SET_LAPIC", X86Ioctls.SET_LAPIC);
        ours.put("KVM_SET_CPUID2", X86Ioctls.SET_CPUID2);
        ours.put("KVM_PIT_SPEAKER_DUMMY", 1L);
        ours.put("sizeof(struct kvm_clock_data)", (long) X86Ioctls.CLOCK_DATA_SIZE);
        ours.put("KVM_GET_CLOCK", X86Ioctls.GET_CLOCK);
        ours.put("KVM_SET_CLOCK", X86Ioctls.SET_CLOCK);
        ours.put("sizeof(struct kvm_xsave)", (long) X86Ioctls.XSAVE_SIZE);
        ours.put("sizeof(struct kvm_xcrs)", (long) X86Ioctls.XCRS_SIZE);
        ours.put("sizeof(struct kvm_debugregs)", (long) X86Ioctls.DEBUGREGS_SIZE);
        ours.put("sizeof(struct kvm_vcpu_events)", (long) X86Ioctls.VCPU_EVENTS_SIZE);
        ours.put("sizeof(struct kvm_mp_state)", (long) X86Ioctls.MP_STATE_SIZE);
        ours.put("sizeof(struct kvm_irqchip)", (long) X86Ioctls.IRQCHIP_SIZE);
        ours.put("sizeof(struct kvm_pit_state2)", (long) X86Ioctls.PIT_STATE2_SIZE);
        ours.put("sizeof(struct kvm_msr_list)", (long) X86Ioctls.MSR_LIST_HEADER_SIZE);
        ours.put("KVM_GET_MSR_INDEX_LIST", X86Ioctls.GET_MSR_INDEX_LIST);
        ours.put("KVM_GET_IRQCHIP", X86Ioctls.GET_IRQCHIP);
        ours.put("KVM_SET_IRQCHIP", X86Ioctls.SET_IRQCHIP);
        ours.put("KVM_GET_PIT2", X86Ioctls.GET_PIT2);
        ours.put("KVM_SET_PIT2", X86Ioctls.SET_PIT2);
        ours.put("KVM_GET_MP_STATE", X86Ioctls.GET_MP_STATE);
        ours.put("KVM_SET_MP_STATE", X86Ioctls.SET_MP_STATE);
        ours.put("KVM_GET_VCPU_EVENTS", X86Ioctls.GET_VCPU_EVENTS);
        ours.put("KVM_SET_VCPU_EVENTS", X86Ioctls.SET_VCPU_EVENTS);
        ours.put("KVM_GET_DEBUGREGS", X86Ioctls.GET_DEBUGREGS);
        ours.put("KVM_SET_DEBUGREGS", X86Ioctls.SET_DEBUGREGS);
        ours.put("KVM_SET_TSC_KHZ", X86Ioctls.SET_TSC_KHZ);
        ours.put("KVM_GET_TSC_KHZ", X86Ioctls.GET_TSC_KHZ);
        ours.put("KVM_GET_XSAVE", X86Ioctls.GET_XSAVE);
        ours.put("KVM_SET_XSAVE", X86Ioctls.SET_XSAVE);
        ours.put("KVM_GET_XCRS", X86Ioctls.GET_XCRS);
        ours.put("KVM_SET_XCRS", X86Ioctls.SET_XCRS);
        ours.put("KVM_GET_XSAVE2", X86Ioctls.GET_XSAVE2);
        ours.put("KVM_GET_FPU", X86Ioctls.GET_FPU);
        ours.put("KVM_CAP_XSAVE2", (long) dev.mesovirt.vmm.kvm.KvmCapability.XSAVE2.number());
        ours.put("KVM_CAP_TSC_CONTROL", (long) dev.mesovirt.vmm.kvm.KvmCapability.TSC_CONTROL.number());
        ours.put("KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR", (long) X86StateIo.EVENTS_VALID_NMI_SIPI);
        ours.put("offsetof(struct kvm_vcpu_events, flags)", (long) X86StateIo.EVENTS_FLAGS);
        ours.put("KVM_CPUID_FLAG_SIGNIFCANT_INDEX", (long) CpuidEntry.FLAG_SIGNIFICANT_INDEX);

        Map<String, String> c = new LinkedHashMap<>();
        Map<String, String> keys = new LinkedHashMap<>();
        for (String expr : ours.keySet()) {
            String k = "v" + c.size();
            c.put(k, expr);
            keys.put(expr, k);
        }
        Map<String, Long> kernel = CProbe.evaluate(List.of("linux/kvm.h"), c);
        for (Map.Entry<String, Long> e : ours.entrySet()) {
            assertEquals(kernel.get(keys.get(e.getKey())), e.getValue(), e.getKey());
        }
    }
}
