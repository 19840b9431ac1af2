package dev.mesovirt.arch.x86_64;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.mesovirt.vmm.snapshot.Section;
import dev.mesovirt.vmm.snapshot.SnapshotException;
import dev.mesovirt.vmm.snapshot.StateWriter;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The x86 sections without KVM: round trips, and what a restore refuses before touching KVM. */
class X86StateTest {
    private static byte[] filled(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 31 + seed);
        }
        return b;
    }

    static X86VcpuState vcpu(int xsave) {
        return new X86VcpuState(2_500_000, filled(X86Ioctls.MP_STATE_SIZE, 1), filled(X86Ioctls.REGS_SIZE, 2),
                filled(X86Ioctls.SREGS_SIZE, 3), filled(xsave, 4), filled(X86Ioctls.XCRS_SIZE, 5),
                filled(X86Ioctls.DEBUGREGS_SIZE, 6), filled(X86Ioctls.LAPIC_SIZE, 7),
                filled(X86Ioctls.VCPU_EVENTS_SIZE, 8),
                List.of(new X86VcpuState.Msr(0x10, 123456789L), new X86VcpuState.Msr(0x4b564d01, 0x1001)));
    }

    @Test
    void vcpuStateRoundTrips() {
        for (int xsave : new int[] {X86Ioctls.XSAVE_SIZE, 11008}) {
            X86VcpuState s = vcpu(xsave);
            Section section = s.toSection(3);
            assertEquals("vcpu3", section.id());
            X86VcpuState back = X86VcpuState.fromSection(section);
            assertEquals(s.tscKhz(), back.tscKhz());
            assertArrayEquals(s.regs(), back.regs());
            assertArrayEquals(s.sregs(), back.sregs());
            assertArrayEquals(s.xsave(), back.xsave());
            assertArrayEquals(s.lapic(), back.lapic());
            assertArrayEquals(s.events(), back.events());
            assertEquals(s.msrs(), back.msrs());
        }
    }

    @Test
    void wrongSizesAndVersionsAreRefused() {
        Section good = vcpu(X86Ioctls.XSAVE_SIZE).toSection(0);
        assertEquals("snapshot: section vcpu0 has version 2, this VMM reads version 1", assertThrows(
                SnapshotException.class, () -> X86VcpuState.fromSection(new Section("vcpu0", 2, good.data())))
                .getMessage());
        byte[] shortRegs = new StateWriter().u32(1).bytes(new byte[4]).bytes(new byte[100]).toByteArray();
        assertEquals("snapshot: vcpu0 has a kvm_regs of 100 bytes, this VMM's has 144", assertThrows(
                SnapshotException.class, () -> X86VcpuState.fromSection(new Section("vcpu0", 1, shortRegs)))
                .getMessage());
        byte[] data = good.data();
        byte[] cut = java.util.Arrays.copyOf(data, data.length - 1);
        assertThrows(SnapshotException.class, () -> X86VcpuState.fromSection(new Section("vcpu0", 1, cut)));
        byte[] longer = java.util.Arrays.copyOf(data, data.length + 1);
        assertThrows(SnapshotException.class, () -> X86VcpuState.fromSection(new Section("vcpu0", 1, longer)));
    }

    @Test
    void vmStateRoundTrips() {
        X86VmState s = new X86VmState(filled(X86Ioctls.IRQCHIP_SIZE, 1), filled(X86Ioctls.IRQCHIP_SIZE, 2),
                filled(X86Ioctls.IRQCHIP_SIZE, 3), filled(X86Ioctls.PIT_STATE2_SIZE, 4), 987_654_321_000L);
        X86VmState back = X86VmState.fromSection(s.toSection());
        assertArrayEquals(s.ioapic(), back.ioapic());
        assertArrayEquals(s.pit(), back.pit());
        assertEquals(s.clockNanos(), back.clockNanos());
        assertThrows(SnapshotException.class, () -> X86VmState.fromSection(new Section("irqchip", 1, new byte[8])));
    }

    @Test
    void sectionsAreVcpusThenTheIrqchip() {
        assertEquals(List.of("vcpu0", "vcpu1", "irqchip"), new X86_64Architecture().stateSections(2));
    }

    @Test
    void eventsFlagsAreSetLittleEndian() {
        byte[] events = new byte[X86Ioctls.VCPU_EVENTS_SIZE];
        X86StateIo.putLittleEndianInt(events, X86StateIo.EVENTS_FLAGS, 0x0c | X86StateIo.EVENTS_VALID_NMI_SIPI);
        assertEquals(0x0f, events[X86StateIo.EVENTS_FLAGS]);
        assertEquals(0x0f, X86StateIo.littleEndianInt(events, X86StateIo.EVENTS_FLAGS));
    }
}
