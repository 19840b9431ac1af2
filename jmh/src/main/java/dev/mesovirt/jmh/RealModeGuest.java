package dev.mesovirt.jmh;

import com.sun.jna.Memory;
import dev.mesovirt.arch.x86_64.X86Ioctls;
import dev.mesovirt.vmm.kvm.Kvm;
import dev.mesovirt.vmm.kvm.Vcpu;
import dev.mesovirt.vmm.kvm.Vm;
import dev.mesovirt.vmm.memory.GuestMemory;
import java.util.List;

/**
 * A one-vCPU x86 VM on the host's /dev/kvm running a hand-assembled real-mode loop at 0:{@value #CODE} that exits
 * to the VMM on every iteration, forever: {@link Kind#PIO} {@code out dx, al} to port {@value #PORT},
 * {@link Kind#MMIO} a byte store to {@value #MMIO_ADDRESS} (no memory slot there). The same loops as
 * {@code src/main/c/exit-loop.c}, the C reference. Guest RAM is the first 64 KiB.
 */
public final class RealModeGuest implements AutoCloseable {
    public enum Kind { PIO, MMIO }

    public static final long CODE = 0x1000;
    public static final int PORT = 0x510;
    public static final long MMIO_ADDRESS = 0x20000;
    static final long RAM = 0x10000;

    // Offsets in struct kvm_regs / kvm_sregs (asm/kvm.h).
    private static final int RIP = 128;
    private static final int RFLAGS = 136;
    private static final int CS_BASE = 0;
    private static final int CS_SELECTOR = 12;

    /** mov dx, 0x510; mov al, 0x41; 1: out dx, al; jmp 1b. */
    static final byte[] PIO_LOOP = {
        (byte) 0xBA, 0x10, 0x05,
        (byte) 0xB0, 0x41,
        (byte) 0xEE,
        (byte) 0xEB, (byte) 0xFD,
    };

    /** mov ax, 0x2000; mov es, ax; mov al, 0x41; 1: mov [es:0], al; jmp 1b. */
    static final byte[] MMIO_LOOP = {
        (byte) 0xB8, 0x00, 0x20,
        (byte) 0x8E, (byte) 0xC0,
        (byte) 0xB0, 0x41,
        0x26, (byte) 0xA2, 0x00, 0x00,
        (byte) 0xEB, (byte) 0xFA,
    };

    private final Kvm kvm;
    private final Vm vm;
    private final GuestMemory memory;
    private final Vcpu vcpu;

    public RealModeGuest(Kind kind) {
        kvm = Kvm.open();
        try {
            vm = kvm.createVm(0);
            memory = GuestMemory.allocate(List.of(new GuestMemory.Region(0, RAM)));
            memory.registerWith(vm, 0);
            memory.write(CODE, kind == Kind.PIO ? PIO_LOOP : MMIO_LOOP);
            vcpu = vm.createVcpu(0);
            try (Memory sregs = new Memory(X86Ioctls.SREGS_SIZE); Memory regs = new Memory(X86Ioctls.REGS_SIZE)) {
                vcpu.ioctl(X86Ioctls.GET_SREGS, sregs, "KVM_GET_SREGS");
                sregs.setLong(CS_BASE, 0);
                sregs.setShort(CS_SELECTOR, (short) 0);
                vcpu.ioctl(X86Ioctls.SET_SREGS, sregs, "KVM_SET_SREGS");
                regs.clear();
                regs.setLong(RIP, CODE);
                regs.setLong(RFLAGS, 2);
                vcpu.ioctl(X86Ioctls.SET_REGS, regs, "KVM_SET_REGS");
            }
        } catch (RuntimeException e) {
            kvm.close();
            throw e;
        }
    }

    public Vcpu vcpu() {
        return vcpu;
    }

    @Override
    public void close() {
        vcpu.close();
        memory.close();
        vm.close();
        kvm.close();
    }
}
