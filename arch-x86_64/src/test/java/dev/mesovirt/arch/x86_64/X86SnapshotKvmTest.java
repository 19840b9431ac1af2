package dev.mesovirt.arch.x86_64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.Memory;
import dev.mesovirt.vmm.kvm.Kvm;
import dev.mesovirt.vmm.kvm.KvmAvailability;
import dev.mesovirt.vmm.kvm.RequiresKvm;
import dev.mesovirt.vmm.kvm.Vcpu;
import dev.mesovirt.vmm.kvm.VcpuExit;
import dev.mesovirt.vmm.kvm.Vm;
import dev.mesovirt.vmm.memory.GuestMemory;
import dev.mesovirt.vmm.snapshot.Section;
import dev.mesovirt.vmm.snapshot.Snapshot;
import dev.mesovirt.vmm.snapshot.SnapshotFormat;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The x86 state through real KVM: a real-mode guest counts in BX and writes each count to a port; its vCPU and VM
 * state go through the state file format into a second VM, whose vCPU writes the next count.
 */
@RequiresKvm
class X86SnapshotKvmTest {
    private static final long CODE = 0x1000;
    private static final byte[] COUNTER = {
        0x43,                       // loop: inc bx
        (byte) 0x89, (byte) 0xD8,   // mov ax, bx
        (byte) 0xBA, 0x00, 0x05,    // mov dx, 0x500
        (byte) 0xEE,                // out dx, al   -> I/O exit with the count
        (byte) 0xEB, (byte) 0xF7,   // jmp loop
    };

    @BeforeEach
    void needKvm() {
        KvmAvailability.require();
    }

    private static int nextCount(Vcpu vcpu) {
        VcpuExit.Io out = assertInstanceOf(VcpuExit.Io.class, vcpu.run());
        assertTrue(out.write() && out.port() == 0x500, out.toString());
        byte[] b = new byte[1];
        vcpu.readRun(out.dataOffset(), b);
        return b[0] & 0xff;
    }

    @Test
    void aCountingGuestGoesOnInASecondVm() {
        X86_64Architecture arch = new X86_64Architecture();
        List<GuestMemory.Region> ram = List.of(new GuestMemory.Region(0, 0x10000));
        byte[] file;
        byte[] memoryImage;
        try (Kvm kvm = Kvm.open(); Vm vm = kvm.createVm(0); GuestMemory mem = GuestMemory.allocate(ram)) {
            mem.registerWith(vm, 0);
            X86IrqChip chip = new X86IrqChip(vm);
            mem.write(CODE, COUNTER);
            try (Vcpu vcpu = vm.createVcpu(0)) {
                VcpuConfigurator.setCpuid(vcpu, CpuidTable.supported(kvm), 1);
                try (Memory sregs = new Memory(X86Ioctls.SREGS_SIZE); Memory regs = new Memory(X86Ioctls.REGS_SIZE)) {
                    vcpu.ioctl(X86Ioctls.GET_SREGS, sregs, "KVM_GET_SREGS");
                    sregs.setLong(Registers.CS + Registers.SEG_BASE, 0);
                    sregs.setShort(Registers.CS + Registers.SEG_SELECTOR, (short) 0);
                    vcpu.ioctl(X86Ioctls.SET_SREGS, sregs, "KVM_SET_SREGS");
                    regs.clear();
                    regs.setLong(Registers.RIP, CODE);
                    regs.setLong(Registers.RFLAGS, 2);
                    vcpu.ioctl(X86Ioctls.SET_REGS, regs, "KVM_SET_REGS");
                }
                for (int i = 1; i <= 5; i++) {
                    assertEquals(i, nextCount(vcpu));
                }
                // As a pause does (Machine's kick): KVM completes the OUT in progress (RIP past it) on the next
                // KVM_RUN, which immediate_exit then ends before any guest instruction. Saved without this, the
                // second VM would do the OUT again (KVM's API: state is consistent only after that re-entry).
                vcpu.setImmediateExit(true);
                assertInstanceOf(VcpuExit.Interrupted.class, vcpu.run());
                vcpu.setImmediateExit(false);
                List<Section> sections = arch.saveState(vm, List.of(vcpu), mem,
                        dev.mesovirt.vmm.arch.Architecture.PausedClock.NONE, chip);
                assertEquals(arch.stateSections(1), sections.stream().map(Section::id).toList());
                X86VcpuState saved = X86VcpuState.fromSection(sections.get(0));
                assertTrue(saved.msrs().size() > 5, "MSRs saved: " + saved.msrs().size());
                assertTrue(saved.tscKhz() > 0, "TSC kHz " + saved.tscKhz());
                file = SnapshotFormat.encode(Snapshot.of("x86_64", "microvm", 1, mem.totalSize(), sections));
                memoryImage = mem.read(0, 0x10000);
            }
        }
        Snapshot back = SnapshotFormat.decode(file);
        try (Kvm kvm = Kvm.open(); Vm vm = kvm.createVm(0); GuestMemory mem = GuestMemory.allocate(ram)) {
            mem.registerWith(vm, 0);
            X86IrqChip chip = new X86IrqChip(vm);
            mem.write(0, memoryImage);
            try (Vcpu vcpu = vm.createVcpu(0)) {
                arch.restoreState(vm, List.of(vcpu), chip, back.byId());
                for (int i = 6; i <= 8; i++) {
                    assertEquals(i, nextCount(vcpu), "the count goes on in the second VM");
                }
            }
        }
    }
}
