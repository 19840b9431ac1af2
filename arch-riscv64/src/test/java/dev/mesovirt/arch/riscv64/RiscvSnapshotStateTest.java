package dev.mesovirt.arch.riscv64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.vmm.snapshot.RegisterListState;
import dev.mesovirt.vmm.snapshot.Section;
import dev.mesovirt.vmm.snapshot.SnapshotException;
import dev.mesovirt.vmm.snapshot.StateWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The riscv64 snapshot sections without KVM: what is written is read back, malformed data is refused in one line. */
class RiscvSnapshotStateTest {
    static AiaState aia(int sources, int ids, int harts) {
        int words = AiaState.aplicWords(sources);
        int[] sourcecfg = new int[sources];
        int[] target = new int[sources];
        for (int i = 0; i < sources; i++) {
            sourcecfg[i] = i < 2 ? 4 : 6; // level-high for the UART's, edge-rising for the rest
            target[i] = i + 32;
        }
        List<AiaState.Imsic> files = new ArrayList<>();
        int regs = AiaState.imsicRegisters(ids);
        for (int h = 0; h < harts; h++) {
            long[] eie = new long[regs];
            eie[0] = ~1L;
            files.add(new AiaState.Imsic(1, 0, new long[regs], eie));
        }
        int[] enabled = new int[words];
        enabled[0] = 0b110;
        return new AiaState(sources, ids, 0x100, sourcecfg, target, new int[words], enabled, files);
    }

    @Test
    void aiaStateRoundTrips() {
        AiaState s = aia(96, 255, 2);
        assertEquals(4, AiaState.aplicWords(96));
        assertEquals(4, AiaState.imsicRegisters(255));
        assertEquals(1, AiaState.imsicRegisters(63));
        Section section = s.toSection();
        assertEquals("aia", section.id());
        assertEquals(section, AiaState.fromSection(section, 96, 255, 2).toSection());
    }

    @Test
    void anAiaOfAnotherShapeIsRefused() {
        Section s = aia(96, 255, 2).toSection();
        assertMessage("an AIA of 96 APLIC sources and 255 IMSIC identities, this machine's has 96 and 511",
                () -> AiaState.fromSection(s, 96, 511, 2));
        assertMessage("2 IMSIC files for 4 vCPUs", () -> AiaState.fromSection(s, 96, 255, 4));
        assertMessage("has version 2", () -> AiaState.fromSection(new Section("aia", 2, s.data()), 96, 255, 2));
        byte[] d = s.data();
        assertMessage("truncated", () -> AiaState.fromSection(new Section("aia", 1, Arrays.copyOf(d, d.length - 1)),
                96, 255, 2));
        byte[] bad = s.data();
        bad[12] = 95; // sourcecfg's count
        assertMessage("sourcecfg count 95", () -> AiaState.fromSection(new Section("aia", 1, bad), 96, 255, 2));
    }

    @Test
    void vcpuSectionsHoldRiscvRegistersOnly() {
        RegisterListState s = new RegisterListState(RiscvKvm.MP_STATE_STOPPED, List.of(
                new RegisterListState.Register(RiscvKvm.CORE_PC, new byte[8]),
                new RegisterListState.Register(RiscvKvm.TIMER_TIME, new byte[8])));
        RegisterListState back = Riscv64Architecture.vcpuState(s.withRegister(RiscvKvm.TIMER_TIME, 77).toSection(1));
        assertEquals(77, back.register(RiscvKvm.TIMER_TIME).getAsLong());
        // An arm64 (KVM_REG_ARM64) register in a riscv64 section, and an MP state riscv64's KVM does not take.
        byte[] arm = new StateWriter().u32(0).u32(1).u64(0x6030_0000_0010_0040L).bytes(new byte[8]).toByteArray();
        assertMessage("not one of riscv64's registers", () -> Riscv64Architecture.vcpuState(new Section("vcpu0", 1, arm)));
        byte[] mp = new StateWriter().u32(10).u32(1).u64(RiscvKvm.CORE_PC).bytes(new byte[8]).toByteArray();
        assertMessage("MP state 10, not one riscv64's KVM takes [0, 5]",
                () -> Riscv64Architecture.vcpuState(new Section("vcpu0", 1, mp)));
    }

    @Test
    void aTimerThatIsOffIsNotWrittenBack() {
        byte[] on = {1, 0, 0, 0, 0, 0, 0, 0};
        assertTrue(!Riscv64Architecture.written(new RegisterListState.Register(RiscvKvm.TIMER_STATE, new byte[8])));
        assertTrue(Riscv64Architecture.written(new RegisterListState.Register(RiscvKvm.TIMER_STATE, on)));
        assertTrue(Riscv64Architecture.written(new RegisterListState.Register(RiscvKvm.TIMER_TIME, new byte[8])));
    }

    @Test
    void sectionsAreTheHartsThenTheAia() {
        assertEquals(List.of("vcpu0", "vcpu1", "aia"), new Riscv64Architecture().stateSections(2));
    }

    private static void assertMessage(String part, org.junit.jupiter.api.function.Executable e) {
        SnapshotException x = assertThrows(SnapshotException.class, e);
        assertTrue(x.getMessage().startsWith("snapshot: ") && x.getMessage().contains(part)
                && !x.getMessage().contains("\n"), x.getMessage());
    }
}
