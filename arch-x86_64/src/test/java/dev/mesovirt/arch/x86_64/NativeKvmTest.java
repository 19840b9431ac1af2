package dev.mesovirt.arch.x86_64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.Memory;
import dev.mesovirt.vmm.kvm.Kvm;
import dev.mesovirt.vmm.kvm.KvmAvailability;
import dev.mesovirt.vmm.kvm.RequiresKvm;
import dev.mesovirt.vmm.kvm.KvmCapability;
import dev.mesovirt.vmm.kvm.Layouts;
import dev.mesovirt.vmm.kvm.Vcpu;
import dev.mesovirt.vmm.kvm.VcpuExit;
import dev.mesovirt.vmm.kvm.Vm;
import dev.mesovirt.vmm.memory.GuestMemory;
import dev.mesovirt.vmm.sys.EventFd;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The KVM plumbing on this machine's own /dev/kvm, with tiny real-mode guests: port I/O and MMIO exits in both
 * directions, HLT, guest writes landing in a memory slot, an ioeventfd consuming a write without an exit,
 * register round trips and a kick out of a guest that spins forever.
 */
@RequiresKvm
class NativeKvmTest {
    private static final long CODE = 0x1000;

    @BeforeEach
    void needKvm() {
        KvmAvailability.require();
    }

    /** Starts vCPU 0 in real mode at CS:IP = 0:CODE. */
    private static void enterRealMode(Vcpu vcpu) {
        try (Memory sregs = new Memory(X86Ioctls.SREGS_SIZE); Memory regs = new Memory(X86Ioctls.REGS_SIZE)) {
            vcpu.ioctl(X86Ioctls.GET_SREGS, sregs, "KVM_GET_SREGS");
            sregs.setLong(Registers.CS + Registers.SEG_BASE, 0);
            sregs.setShort(Registers.CS + Registers.SEG_SELECTOR, (short) 0);
            vcpu.ioctl(X86Ioctls.SET_SREGS, sregs, "KVM_SET_SREGS");
            regs.clear();
            regs.setLong(Registers.RIP, CODE);
            regs.setLong(Registers.RFLAGS, 2);
            vcpu.ioctl(X86Ioctls.SET_REGS, regs, "KVM_SET_REGS");
            vcpu.ioctl(X86Ioctls.GET_REGS, regs, "KVM_GET_REGS");
            assertEquals(CODE, regs.getLong(Registers.RIP), "register round trip");
        }
    }

    @Test
    void portIoMmioHaltMemoryAndIoeventfd() {
        byte[] code = {
            (byte) 0xBA, (byte) 0xF8, 0x03,         // mov dx, 0x3f8
            (byte) 0xB0, 0x41,                      // mov al, 'A'
            (byte) 0xEE,                            // out dx, al        -> IO write exit
            (byte) 0xEC,                            // in al, dx         -> IO read exit (VMM answers 0x5a)
            (byte) 0xA2, 0x00, 0x20,                // mov [0x2000], al  -> lands in the memory slot
            (byte) 0xB8, 0x00, 0x20,                // mov ax, 0x2000
            (byte) 0x8E, (byte) 0xC0,               // mov es, ax
            0x26, (byte) 0xC6, 0x06, 0x00, 0x00, 0x77, // mov byte [es:0], 0x77 -> MMIO write at 0x20000
            0x26, (byte) 0xA0, 0x00, 0x00,          // mov al, [es:0]   -> MMIO read (VMM answers 0x33)
            (byte) 0xA2, 0x01, 0x20,                // mov [0x2001], al
            (byte) 0xBA, 0x00, 0x05,                // mov dx, 0x500
            (byte) 0xEE,                            // out dx, al        -> ioeventfd, no exit
            (byte) 0xF4,                            // hlt
        };
        try (Kvm kvm = Kvm.open(); Vm vm = kvm.createVm(0);
                GuestMemory mem = GuestMemory.allocate(List.of(new GuestMemory.Region(0, 0x10000)));
                EventFd doorbell = new EventFd(true)) {
            assertTrue(kvm.checkExtension(KvmCapability.USER_MEMORY) > 0);
            mem.registerWith(vm, 0);
            mem.write(CODE, code);
            vm.registerIoeventfd(doorbell, 0x500, 1, true, null);
            try (Vcpu vcpu = vm.createVcpu(0)) {
                enterRealMode(vcpu);

                VcpuExit.Io out = assertInstanceOf(VcpuExit.Io.class, vcpu.run());
                assertTrue(out.write());
                assertEquals(0x3f8, out.port());
                assertEquals(1, out.size());
                byte[] b = new byte[1];
                vcpu.readRun(out.dataOffset(), b);
                assertEquals('A', b[0]);

                VcpuExit.Io in = assertInstanceOf(VcpuExit.Io.class, vcpu.run());
                assertTrue(!in.write() && in.port() == 0x3f8);
                vcpu.writeRun(in.dataOffset(), new byte[] {0x5a});

                VcpuExit.Mmio w = assertInstanceOf(VcpuExit.Mmio.class, vcpu.run());
                assertTrue(w.write());
                assertEquals(0x20000, w.address());
                assertEquals(1, w.length());
                vcpu.readRun(Layouts.Run.MMIO_DATA, b);
                assertEquals(0x77, b[0]);

                VcpuExit.Mmio r = assertInstanceOf(VcpuExit.Mmio.class, vcpu.run());
                assertTrue(!r.write() && r.address() == 0x20000);
                vcpu.writeRun(Layouts.Run.MMIO_DATA, new byte[] {0x33});

                assertInstanceOf(VcpuExit.Halt.class, vcpu.run(), "the OUT to 0x500 must not exit");
                assertEquals(0x5a, mem.readByte(0x2000));
                assertEquals(0x33, mem.readByte(0x2001));
                assertEquals(1, doorbell.consume(), "ioeventfd fired");
            }
            vm.unregisterIoeventfd(doorbell, 0x500, 1, true, null);
        }
    }

    @Test
    void theResetVectorStubPulsesTheI8042ResetLine() {
        try (Kvm kvm = Kvm.open(); Vm vm = kvm.createVm(0);
                GuestMemory mem = GuestMemory.allocate(List.of(new GuestMemory.Region(0, 0x100000)))) {
            mem.registerWith(vm, 0);
            mem.write(X86_64Architecture.RESET_VECTOR, X86_64Architecture.RESET_STUB);
            try (Vcpu vcpu = vm.createVcpu(0); Memory sregs = new Memory(X86Ioctls.SREGS_SIZE);
                    Memory regs = new Memory(X86Ioctls.REGS_SIZE)) {
                // Where Linux's machine_real_restart() jumps: F000:FFF0.
                vcpu.ioctl(X86Ioctls.GET_SREGS, sregs, "KVM_GET_SREGS");
                sregs.setLong(Registers.CS + Registers.SEG_BASE, 0xF0000);
                sregs.setShort(Registers.CS + Registers.SEG_SELECTOR, (short) 0xF000);
                vcpu.ioctl(X86Ioctls.SET_SREGS, sregs, "KVM_SET_SREGS");
                regs.clear();
                regs.setLong(Registers.RIP, 0xFFF0);
                regs.setLong(Registers.RFLAGS, 2);
                vcpu.ioctl(X86Ioctls.SET_REGS, regs, "KVM_SET_REGS");
                VcpuExit.Io out = assertInstanceOf(VcpuExit.Io.class, vcpu.run());
                assertTrue(out.write());
                assertEquals(0x64, out.port());
                byte[] b = new byte[1];
                vcpu.readRun(out.dataOffset(), b);
                assertEquals((byte) 0xFE, b[0]);
                assertInstanceOf(VcpuExit.Halt.class, vcpu.run());
            }
        }
    }

    @Test
    void kickInterruptsAGuestThatNeverExits() throws Exception {
        try (Kvm kvm = Kvm.open(); Vm vm = kvm.createVm(0);
                GuestMemory mem = GuestMemory.allocate(List.of(new GuestMemory.Region(0, 0x10000)))) {
            mem.registerWith(vm, 0);
            mem.write(CODE, new byte[] {(byte) 0xEB, (byte) 0xFE}); // jmp $
            try (Vcpu vcpu = vm.createVcpu(0)) {
                enterRealMode(vcpu);
                CompletableFuture<VcpuExit> exit = new CompletableFuture<>();
                Thread t = new Thread(() -> {
                    vcpu.bindToCurrentThread();
                    exit.complete(vcpu.run());
                });
                t.start();
                Thread.sleep(100);
                vcpu.kick();
                assertInstanceOf(VcpuExit.Interrupted.class, exit.get(10, TimeUnit.SECONDS));
                t.join();
            }
        }
    }

    @Test
    void irqChipPitAndIrqfdCanBeSetUp() {
        try (Kvm kvm = Kvm.open(); Vm vm = kvm.createVm(0); EventFd fd = new EventFd(true)) {
            new X86IrqChip(vm);
            vm.registerIrqfd(fd, 16);
            fd.signal();
            vm.setIrqLine(4, true);
            vm.setIrqLine(4, false);
            vm.unregisterIrqfd(fd, 16);
        }
    }
}
