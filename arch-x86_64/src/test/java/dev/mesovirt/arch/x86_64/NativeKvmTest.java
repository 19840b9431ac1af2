package dev.mesovirt.arch.x86_64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.Memory;
import dev.mesovirt.vmm.kvm.GsiRoute;
import dev.mesovirt.vmm.kvm.Kvm;
import dev.mesovirt.vmm.kvm.KvmAvailability;
import dev.mesovirt.vmm.kvm.KvmCapability;
import dev.mesovirt.vmm.kvm.Layouts;
import dev.mesovirt.vmm.kvm.RequiresKvm;
import dev.mesovirt.vmm.kvm.Vcpu;
import dev.mesovirt.vmm.kvm.VcpuExit;
import dev.mesovirt.vmm.kvm.Vm;
import dev.mesovirt.vmm.memory.GuestMemory;
import dev.mesovirt.vmm.sys.EventFd;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
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

    /**
     * Interrupts reach a guest through the in-kernel chips, each path proven by the guest's handler reporting on port
     * 0x80: an irqfd on GSI 4 through the 8259 (the guest programs it: vector base 8, only IRQ 4 unmasked), the same
     * line through KVM_IRQ_LINE, and an MSI to the local APIC (software-enabled by the guest through FS, whose base
     * the VMM points at 0xFEE00000) through a GSI route set with KVM_SET_GSI_ROUTING; after that table replaced KVM's
     * default, the wired line still works, so {@link X86IrqChip#defaultRoutes()} resent it correctly.
     */
    @Test
    void interruptsReachTheGuestThroughThePicAndAnMsiRoute() throws Exception {
        byte[] main = {
            (byte) 0xB0, 0x11, (byte) 0xE6, 0x20,             // ICW1: edge, cascade, ICW4 follows
            (byte) 0xB0, 0x08, (byte) 0xE6, 0x21,             // ICW2: IRQ 0-7 -> vectors 8-15
            (byte) 0xB0, 0x04, (byte) 0xE6, 0x21,             // ICW3: slave on IRQ 2
            (byte) 0xB0, 0x01, (byte) 0xE6, 0x21,             // ICW4: 8086 mode
            (byte) 0xB0, (byte) 0xEF, (byte) 0xE6, 0x21,      // OCW1: only IRQ 4 unmasked (the PIT's IRQ 0 stays quiet)
            0x64, 0x66, (byte) 0xC7, 0x06, (byte) 0xF0, 0x00, (byte) 0xFF, 0x01, 0x00, 0x00, // LAPIC SVR = 0x1FF
            (byte) 0xB0, READY, (byte) 0xE6, (byte) 0x80,     // report: ready
            (byte) 0xFB,                                       // sti
            (byte) 0xF4, (byte) 0xEB, (byte) 0xFD,             // hlt; jmp back to hlt
        };
        byte[] picHandler = {
            (byte) 0xB0, FROM_PIC, (byte) 0xE6, (byte) 0x80,  // report
            (byte) 0xB0, 0x20, (byte) 0xE6, 0x20,             // EOI to the 8259
            (byte) 0xCF,                                       // iret
        };
        byte[] msiHandler = {
            (byte) 0xB0, FROM_MSI, (byte) 0xE6, (byte) 0x80,  // report
            0x64, 0x66, (byte) 0xC7, 0x06, (byte) 0xB0, 0x00, 0x00, 0x00, 0x00, 0x00, // LAPIC EOI
            (byte) 0xCF,                                       // iret
        };
        int picVector = 8 + 4;
        int msiVector = 0x40;
        try (Kvm kvm = Kvm.open(); Vm vm = kvm.createVm(0);
                GuestMemory mem = GuestMemory.allocate(List.of(new GuestMemory.Region(0, 0x10000)));
                EventFd wired = new EventFd(true); EventFd msi = new EventFd(true)) {
            mem.registerWith(vm, 0);
            mem.write(CODE, main);
            mem.write(PIC_HANDLER, picHandler);
            mem.write(MSI_HANDLER, msiHandler);
            mem.write(picVector * 4L, new byte[] {(byte) PIC_HANDLER, (byte) (PIC_HANDLER >> 8), 0, 0});
            mem.write(msiVector * 4L, new byte[] {(byte) MSI_HANDLER, (byte) (MSI_HANDLER >> 8), 0, 0});
            X86IrqChip chip = new X86IrqChip(vm);
            int gsi = chip.firstMsiGsi();
            try (Vcpu vcpu = vm.createVcpu(0); Memory sregs = new Memory(X86Ioctls.SREGS_SIZE);
                    Memory regs = new Memory(X86Ioctls.REGS_SIZE)) {
                enterRealMode(vcpu);
                vcpu.ioctl(X86Ioctls.GET_SREGS, sregs, "KVM_GET_SREGS");
                sregs.setLong(Registers.FS + Registers.SEG_BASE, 0xFEE0_0000L);
                vcpu.ioctl(X86Ioctls.SET_SREGS, sregs, "KVM_SET_SREGS");
                vcpu.ioctl(X86Ioctls.GET_REGS, regs, "KVM_GET_REGS");
                regs.setLong(Registers.RSP, 0x8000);
                vcpu.ioctl(X86Ioctls.SET_REGS, regs, "KVM_SET_REGS");
                BlockingQueue<Integer> reports = new LinkedBlockingQueue<>();
                AtomicBoolean done = new AtomicBoolean();
                Thread t = new Thread(() -> {
                    vcpu.bindToCurrentThread();
                    while (!done.get()) {
                        VcpuExit exit = vcpu.run();
                        if (exit instanceof VcpuExit.Io io && io.write() && io.port() == 0x80) {
                            byte[] b = new byte[1];
                            vcpu.readRun(io.dataOffset(), b);
                            reports.add(b[0] & 0xFF);
                        } else if (!(exit instanceof VcpuExit.Interrupted)) {
                            reports.add(-1); // anything else is a failure the main thread reports
                            return;
                        }
                    }
                });
                t.setDaemon(true);
                t.start();
                try {
                    assertEquals(READY & 0xFF, next(reports), "the guest programmed the 8259 and enabled its LAPIC");
                    vm.registerIrqfd(wired, 4);
                    wired.signal();
                    assertEquals(FROM_PIC & 0xFF, next(reports), "irqfd on GSI 4 -> 8259 IRQ 4 -> vector 12");
                    vm.setIrqLine(4, true);
                    vm.setIrqLine(4, false);
                    assertEquals(FROM_PIC & 0xFF, next(reports), "KVM_IRQ_LINE on GSI 4");
                    List<GsiRoute> routes = new ArrayList<>(chip.defaultRoutes());
                    // Fixed delivery to APIC ID 0, edge, the vector in the data's low byte.
                    routes.add(chip.msiRoute(gsi, 0xFEE0_0000L, msiVector, 0));
                    vm.setGsiRouting(routes);
                    vm.registerIrqfd(msi, gsi);
                    msi.signal();
                    assertEquals(FROM_MSI & 0xFF, next(reports), "irqfd on an MSI route -> LAPIC vector 0x40");
                    wired.signal();
                    assertEquals(FROM_PIC & 0xFF, next(reports), "the wired line still routed after the new table");
                    assertEquals(null, reports.poll(300, TimeUnit.MILLISECONDS), "no spurious interrupt");
                } finally {
                    done.set(true);
                    vcpu.kick();
                    t.join(5000);
                }
                vm.unregisterIrqfd(msi, gsi);
                vm.unregisterIrqfd(wired, 4);
            }
        }
    }

    private static final long PIC_HANDLER = 0x1100;
    private static final long MSI_HANDLER = 0x1200;
    private static final byte READY = 0x01;
    private static final byte FROM_PIC = (byte) 0xA4;
    private static final byte FROM_MSI = (byte) 0xB0;

    private static Integer next(BlockingQueue<Integer> reports) throws InterruptedException {
        Integer v = reports.poll(10, TimeUnit.SECONDS);
        assertTrue(v != null, "the guest reported nothing within 10 s");
        return v;
    }
}
