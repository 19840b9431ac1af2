package dev.mesovirt.arch.aarch64;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.vmm.arch.Irq;
import dev.mesovirt.vmm.snapshot.RegisterListState;
import dev.mesovirt.vmm.snapshot.Section;
import dev.mesovirt.vmm.snapshot.SnapshotException;
import dev.mesovirt.vmm.snapshot.StateWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The arm64 snapshot sections without KVM: what is written is read back, and malformed data is refused in one line. */
class Arm64SnapshotStateTest {
    /** A 128-bit FP/SIMD V register (KVM_REG_SIZE_U128, core offset of vregs[0]) and a 32-bit one (FPSR). */
    private static final long V0 = 0x6040_0000_0010_0054L;
    private static final long FPSR = 0x6020_0000_0010_00d4L;

    private static RegisterListState vcpu() {
        byte[] v0 = new byte[16];
        for (int i = 0; i < v0.length; i++) {
            v0[i] = (byte) (i + 1);
        }
        return new RegisterListState(Arm64Kvm.MP_STATE_STOPPED, List.of(
                new RegisterListState.Register(Arm64Kvm.REG_PC, new byte[] {0, 0x10, 0, 0x40, 0, 0, 0, 0}),
                new RegisterListState.Register(V0, v0),
                new RegisterListState.Register(FPSR, new byte[] {1, 2, 3, 4}),
                new RegisterListState.Register(Arm64Kvm.REG_TIMER_CNT, new byte[8])));
    }

    @Test
    void vcpuStateRoundTripsEveryRegisterSize() {
        RegisterListState s = vcpu();
        Section section = s.toSection(1);
        assertEquals("vcpu1", section.id());
        RegisterListState back = Aarch64Architecture.vcpuState(section);
        assertEquals(s, back);
        assertEquals(0x4000_1000L, back.register(Arm64Kvm.REG_PC).getAsLong());
        assertEquals(16, back.registers().get(1).value().length);
    }

    @Test
    void theFrozenCounterReplacesTheSavedOne() {
        RegisterListState s = vcpu().withRegister(Arm64Kvm.REG_TIMER_CNT, 0x1234_5678_9abcL);
        assertEquals(0x1234_5678_9abcL, s.register(Arm64Kvm.REG_TIMER_CNT).getAsLong());
        assertEquals(vcpu().registers().get(0), s.registers().get(0));
        assertFalse(s.register(Arm64Kvm.REG_TIMER_CTL).isPresent());
    }

    private static Section vcpuSection(int mp, long id, byte[] value, int version) {
        return new Section("vcpu0", version, new StateWriter().u32(mp).u32(1).u64(id).bytes(value).toByteArray());
    }

    @Test
    void malformedVcpuSectionsAreRefused() {
        assertMessage("has register 0x6030000000100040 with 4 bytes",
                () -> Aarch64Architecture.vcpuState(vcpuSection(0, Arm64Kvm.REG_PC, new byte[4], 1)));
        // An x86 (KVM_REG_X86) id is no arm64 register.
        assertMessage("not one of arm64's registers", () -> Aarch64Architecture.vcpuState(
                vcpuSection(0, 0x2030_0000_0000_0001L, new byte[8], 1)));
        // KVM_REG_SIZE 2^12 bytes: more than any register.
        assertMessage("not one of arm64's registers", () -> Aarch64Architecture.vcpuState(
                vcpuSection(0, 0x60c0_0000_0010_0000L, new byte[0], 1)));
        assertMessage("MP state 3, not one arm64's KVM takes [0, 5, 10]", () -> Aarch64Architecture.vcpuState(vcpuSection(3, Arm64Kvm.REG_PC, new byte[8], 1)));
        assertMessage("has version 2", () -> Aarch64Architecture.vcpuState(vcpuSection(0, Arm64Kvm.REG_PC, new byte[8], 2)));
        byte[] twice = new StateWriter().u32(0).u32(2).u64(Arm64Kvm.REG_PC).bytes(new byte[8]).u64(Arm64Kvm.REG_PC)
                .bytes(new byte[8]).toByteArray();
        assertMessage("twice", () -> Aarch64Architecture.vcpuState(new Section("vcpu0", 1, twice)));
        byte[] good = vcpu().toSection(0).data();
        assertMessage("truncated", () -> Aarch64Architecture.vcpuState(
                new Section("vcpu0", 1, Arrays.copyOf(good, good.length - 1))));
        assertMessage("after its last field", () -> Aarch64Architecture.vcpuState(
                new Section("vcpu0", 1, Arrays.copyOf(good, good.length + 1))));
        assertMessage("register count 0", () -> Aarch64Architecture.vcpuState(
                new Section("vcpu0", 1, new StateWriter().u32(0).u32(0).toByteArray())));
    }

    static Gicv3State gic(int nrIrqs, int vcpus, long iccCtlr) {
        int words = Gicv3State.bitmapWords(nrIrqs);
        int[] prio = new int[8 * words];
        Arrays.fill(prio, 0xa0a0a0a0);
        long[] router = new long[32 * words];
        router[0] = 1L << 32 | 1;
        List<Gicv3State.Cpu> cpus = new ArrayList<>();
        int aprs = Gicv3State.Cpu.activePriorityRegisters(iccCtlr);
        for (int i = 0; i < vcpus; i++) {
            cpus.add(new Gicv3State.Cpu(0, 0, 0, ~0, 1 << 27, 0, 1 << 27, 0, 1 << 27, new int[] {1, 2, 3, 4, 5, 6, 7, 8},
                    7, iccCtlr, 0, 1, 0xf0, 2, 3, new long[aprs], new long[] {1L << 40, 0, 0, 0}
                    .length == aprs ? new long[] {1L << 40, 0, 0, 0} : new long[aprs]));
        }
        return new Gicv3State(nrIrqs, 0x12, new int[] {~0, ~0, ~0}, new int[] {1, 0, 0}, new int[] {0, 2, 0},
                new int[3], new int[] {1, 0, 0}, new int[] {0x5555_5555, 0, 0, 0, 0, 0}, prio, router, cpus);
    }

    @Test
    void gicStateRoundTrips() {
        // ICC_CTLR_EL1.PRIbits = 4: 5 priority bits, one active-priority register per group; 7 bits: four.
        for (long ctlr : new long[] {4L << 8, 5L << 8, 6L << 8}) {
            Gicv3State s = gic(128, 2, ctlr);
            Section section = s.toSection();
            assertEquals("gic", section.id());
            Gicv3State back = Gicv3State.fromSection(section, 128, 2);
            assertEquals(section, back.toSection());
            assertArrayEquals(s.spiRouter(), back.spiRouter());
            assertEquals(Gicv3State.Cpu.activePriorityRegisters(ctlr), back.cpus().get(1).iccAp1r().length);
        }
        assertEquals(1, Gicv3State.Cpu.activePriorityRegisters(4L << 8));
        assertEquals(2, Gicv3State.Cpu.activePriorityRegisters(5L << 8));
        assertEquals(4, Gicv3State.Cpu.activePriorityRegisters(6L << 8));
    }

    @Test
    void aGicOfAnotherShapeIsRefused() {
        Section s = gic(128, 2, 4L << 8).toSection();
        assertMessage("a vGIC of 128 interrupts, this machine's has 256", () -> Gicv3State.fromSection(s, 256, 2));
        assertMessage("2 redistributors for 1 vCPUs", () -> Gicv3State.fromSection(s, 128, 1));
        assertMessage("has version 9", () -> Gicv3State.fromSection(new Section("gic", 9, s.data()), 128, 2));
        byte[] d = s.data();
        assertMessage("truncated", () -> Gicv3State.fromSection(new Section("gic", 1, Arrays.copyOf(d, d.length - 8)),
                128, 2));
        // The group bitmap's word count (offset 8) must be the SPIs' 3 words.
        byte[] bad = s.data();
        bad[8] = 4;
        assertMessage("group word count 4", () -> Gicv3State.fromSection(new Section("gic", 1, bad), 128, 2));
    }

    @Test
    void sectionsAreTheVcpusThenTheGic() {
        assertEquals(List.of("vcpu0", "vcpu1", "vcpu2", "gic"), new Aarch64Architecture().stateSections(3));
    }

    @Test
    void thePl061ComesBackWithItsInterrupt() {
        List<Boolean> levels = new ArrayList<>();
        Irq irq = Gicv3.spi(Gicv3.POWER_BUTTON_SPI, true);
        Pl061 a = new Pl061(irq, levels::add);
        // Line 3 edge-sensitive on the rising edge, unmasked, as Linux's gpio-keys sets it; then a press.
        a.write(Pl061.GPIOIEV, new byte[] {8});
        a.write(Pl061.GPIOIE, new byte[] {8});
        a.setInput(Pl061.POWER_BUTTON_LINE, true);
        a.setInput(Pl061.POWER_BUTTON_LINE, false);
        assertTrue(a.interruptLine());
        byte[] state = a.saveState();

        List<Boolean> restoredLevels = new ArrayList<>();
        Pl061 b = new Pl061(irq, restoredLevels::add);
        b.restoreState(new Section("pl061", Pl061.STATE_VERSION, state));
        assertEquals(List.of(true), restoredLevels, "the restored GPIOINTR is driven high");
        assertArrayEquals(state, b.saveState());
        byte[] ris = new byte[1];
        b.read(Pl061.GPIOMIS, ris);
        assertEquals(8, ris[0]);
        b.write(Pl061.GPIOIC, new byte[] {8});
        assertFalse(b.interruptLine());

        assertMessage("has version 2", () -> b.restoreState(new Section("pl061", 2, state)));
        assertMessage("after its last field", () -> b.restoreState(new Section("pl061", 1, Arrays.copyOf(state, 11))));
    }

    private static void assertMessage(String part, org.junit.jupiter.api.function.Executable e) {
        SnapshotException x = assertThrows(SnapshotException.class, e);
        assertTrue(x.getMessage().startsWith("snapshot: ") && x.getMessage().contains(part)
                && !x.getMessage().contains("\n"), x.getMessage());
    }
}
