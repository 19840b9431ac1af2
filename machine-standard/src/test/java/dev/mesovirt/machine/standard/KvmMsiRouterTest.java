package dev.mesovirt.machine.standard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.mesovirt.vmm.arch.Irq;
import dev.mesovirt.vmm.arch.IrqChip;
import dev.mesovirt.vmm.arch.IrqUse;
import dev.mesovirt.vmm.kvm.GsiRoute;
import dev.mesovirt.vmm.pci.MsiVector;
import dev.mesovirt.vmm.sys.EventFd;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** The routing table and irqfds KvmMsiRouter asks of KVM, recorded instead of sent. */
class KvmMsiRouterTest {
    private static final GsiRoute WIRED = new GsiRoute.IrqchipPin(4, 2, 4);

    /** An interrupt controller with one wired route and MSIs from GSI 24, like x86's. */
    private static final IrqChip CHIP = chip(true);

    private static IrqChip chip(boolean takesMsis) {
        return new IrqChip() {
            @Override
            public Irq allocate(IrqUse use) {
                throw new UnsupportedOperationException();
            }

            @Override
            public void finishAfterVcpus() {}

            @Override
            public String description() {
                return takesMsis ? "test chip" : "wired only";
            }

            @Override
            public boolean supportsMsi() {
                return takesMsis;
            }

            @Override
            public List<GsiRoute> defaultRoutes() {
                return List.of(WIRED);
            }

            @Override
            public int firstMsiGsi() {
                return 24;
            }

            @Override
            public GsiRoute msiRoute(int gsi, long address, int data, int deviceId) {
                return new GsiRoute.Msi(gsi, address, data, OptionalInt.of(deviceId));
            }
        };
    }

    private static final class Recorder implements KvmMsiRouter.Target {
        final List<List<GsiRoute>> tables = new ArrayList<>();
        final List<String> irqfds = new ArrayList<>();

        @Override
        public void setRoutes(List<GsiRoute> routes) {
            tables.add(List.copyOf(routes));
        }

        @Override
        public void attach(EventFd eventFd, int gsi) {
            irqfds.add("+" + gsi);
        }

        @Override
        public void detach(EventFd eventFd, int gsi) {
            irqfds.add("-" + gsi);
        }

        List<GsiRoute> last() {
            return tables.get(tables.size() - 1);
        }
    }

    @Test
    void eachProgrammedVectorHasARouteBesideTheDefaultsAndOneIrqfd() {
        Recorder r = new Recorder();
        KvmMsiRouter router = new KvmMsiRouter(CHIP, 4096, r);
        MsiVector a = router.allocate(0x18);
        MsiVector b = router.allocate(0x20);
        assertEquals(List.of(), r.tables, "nothing is routed before the guest programs a message");
        a.program(0xFEE0_0000L, 0x41);
        assertEquals(List.of(WIRED, new GsiRoute.Msi(24, 0xFEE0_0000L, 0x41, OptionalInt.of(0x18))), r.last());
        b.program(0xFEE0_1000L, 0x42);
        assertEquals(3, r.last().size());
        a.program(0xFEE0_0000L, 0x41);
        assertEquals(2, r.tables.size(), "the same message again changes nothing");
        a.program(0xFEE0_2000L, 0x43);
        assertEquals(new GsiRoute.Msi(24, 0xFEE0_2000L, 0x43, OptionalInt.of(0x18)), r.last().get(1));
        assertEquals(List.of("+24", "+25"), r.irqfds, "one irqfd per vector, attached once");

        a.close();
        assertEquals(List.of(WIRED, new GsiRoute.Msi(25, 0xFEE0_1000L, 0x42, OptionalInt.of(0x20))), r.last());
        assertEquals("-24", r.irqfds.get(r.irqfds.size() - 1));
        a.close();
        assertEquals("-24", r.irqfds.get(r.irqfds.size() - 1), "closing twice detaches once");
        MsiVector c = router.allocate(0x28);
        c.program(0xFEE0_0000L, 0x44);
        assertEquals(24, ((GsiRoute.Msi) r.last().get(2)).gsi(), "a freed GSI is used again");
    }

    @Test
    void aResetMovesTheLiveVectorsToTheNewVm() {
        Recorder old = new Recorder();
        KvmMsiRouter router = new KvmMsiRouter(CHIP, 4096, old);
        router.allocate(8).program(0xFEE0_0000L, 0x51);
        router.allocate(16); // never programmed: nothing to move
        Recorder fresh = new Recorder();
        router.moveTo(fresh);
        assertEquals(List.of(), fresh.tables, "nothing before the new VM's interrupt controller is complete");
        assertEquals(List.of(), fresh.irqfds);
        router.attachLive();
        assertEquals(List.of(List.of(WIRED, new GsiRoute.Msi(24, 0xFEE0_0000L, 0x51, OptionalInt.of(8)))), fresh.tables);
        assertEquals(List.of("+24"), fresh.irqfds);
        router.attachLive();
        assertEquals(List.of("+24"), fresh.irqfds, "once");
    }

    @Test
    void withNoGsiLeftAVectorDropsItsMessagesInsteadOfFailing() {
        Recorder r = new Recorder();
        KvmMsiRouter router = new KvmMsiRouter(CHIP, 25, r);
        router.allocate(0).program(0xFEE0_0000L, 0x41);
        MsiVector none = router.allocate(0);
        none.program(0xFEE0_0000L, 0x42);
        none.signal();
        none.close();
        assertEquals(1, r.tables.size());
        assertEquals(List.of("+24"), r.irqfds);
    }

    @Test
    void aControllerWithoutMsisIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new KvmMsiRouter(chip(false), 4096, new Recorder()));
    }
}
