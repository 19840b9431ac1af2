package dev.mesovirt.arch.x86_64.devices;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.arch.x86_64.acpi.AcpiTables;
import dev.mesovirt.vmm.arch.Irq;
import dev.mesovirt.vmm.device.IrqLine;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class GedPowerButtonTest {
    private static final Irq IRQ = new Irq(9, 9, 9, true);

    /** Records every level the device drives, and fails on a redundant one (the line only changes on edges). */
    private static final class Line implements IrqLine {
        final List<Boolean> levels = new ArrayList<>();
        boolean level;

        @Override
        public synchronized void set(boolean l) {
            assertTrue(l != level, "irq line set to its current level " + l);
            level = l;
            levels.add(l);
        }

        synchronized boolean level() {
            return level;
        }
    }

    private final Line line = new Line();
    private final GedPowerButton ged = new GedPowerButton(IRQ, line);

    private int readSelector() {
        byte[] data = {0x5A, 0x5A, 0x5A, 0x5A};
        ged.read(GedPowerButton.SELECTOR_OFFSET, data);
        return (data[0] & 0xFF) | (data[1] & 0xFF) << 8 | (data[2] & 0xFF) << 16 | (data[3] & 0xFF) << 24;
    }

    @Test
    void theEventBitIsQemusPowerDownEvent() {
        assertEquals(0x2, AcpiTables.GED_POWER_BUTTON_EVENT);
        assertEquals(4, GedPowerButton.LENGTH);
        assertSame(IRQ, ged.irq());
    }

    @Test
    void pressRaisesTheLineAndSetsTheBitUntilTheGuestReads() {
        assertEquals(0, readSelector(), "nothing pending at power-on");
        assertEquals(List.of(), line.levels);

        ged.press();
        assertEquals(List.of(true), line.levels);
        assertEquals(AcpiTables.GED_POWER_BUTTON_EVENT, ged.pendingEvents());

        assertEquals(AcpiTables.GED_POWER_BUTTON_EVENT, readSelector(), "the read returns the pending event");
        assertEquals(List.of(true, false), line.levels, "and lowers the line");
        assertEquals(0, readSelector(), "the read cleared it");
        assertEquals(List.of(true, false), line.levels);
    }

    @Test
    void pressesBeforeTheReadCoalesceAndKeepTheLineHigh() {
        ged.press();
        ged.press();
        assertEquals(List.of(true), line.levels, "the line stays high: a level interrupt");
        assertEquals(AcpiTables.GED_POWER_BUTTON_EVENT, readSelector());
        ged.press();
        assertEquals(List.of(true, false, true), line.levels, "a press after the read raises the line again");
    }

    @Test
    void resetClearsThePendingEventAndLowersTheLine() {
        ged.reset();
        assertEquals(List.of(), line.levels, "reset of an idle device drives nothing");
        ged.press();
        ged.reset();
        assertEquals(List.of(true, false), line.levels);
        assertEquals(0, readSelector());
        ged.press();
        assertEquals(AcpiTables.GED_POWER_BUTTON_EVENT, readSelector(), "works again after a reset");
    }

    @Test
    void onlyADwordReadAtOffsetZeroReadsAndClearsTheSelector() {
        ged.press();
        for (int width : new int[] {1, 2, 8}) {
            byte[] data = new byte[width];
            java.util.Arrays.fill(data, (byte) 0x5A);
            ged.read(0, data);
            assertArrayEquals(new byte[width], data, width + "-byte read");
        }
        for (int offset = 1; offset < 8; offset++) {
            byte[] data = {1, 2, 3, 4};
            ged.read(offset, data);
            assertArrayEquals(new byte[4], data, "offset " + offset);
        }
        ged.write(0, new byte[] {0, 0, 0, 0});
        ged.write(0, new byte[] {-1, -1, -1, -1});
        assertEquals(AcpiTables.GED_POWER_BUTTON_EVENT, ged.pendingEvents(), "none of that touched the selector");
        assertTrue(line.level());
        assertEquals(AcpiTables.GED_POWER_BUTTON_EVENT, readSelector());
        assertFalse(line.level());
    }

    @Test
    void rejectsAnEdgeTriggeredInterrupt() {
        assertThrows(IllegalArgumentException.class, () -> new GedPowerButton(new Irq(9, 9, 9, false), line));
        assertThrows(NullPointerException.class, () -> new GedPowerButton(null, line));
        assertThrows(NullPointerException.class, () -> new GedPowerButton(IRQ, null));
    }

    /** A thread doing {@code step} once per round, between the two barriers. */
    private static Thread worker(String name, Runnable step, CyclicBarrier start, CyclicBarrier end, int rounds,
                                 List<Throwable> failures) {
        Thread t = new Thread(() -> {
            try {
                for (int r = 0; r < rounds; r++) {
                    start.await();
                    step.run();
                    end.await();
                }
            } catch (Throwable e) {
                synchronized (failures) {
                    failures.add(e);
                }
                start.reset(); // wake the others: the test fails
                end.reset();
            }
        }, name);
        t.setDaemon(true);
        return t;
    }

    /**
     * A press from the QMP thread racing the guest's read on a vCPU thread must never be lost: in every round
     * some read returns the event (a read that cleared the bit without returning it would lose the press), and
     * the line always ends at the selector's state.
     */
    @Test
    void concurrentPressesAndReadsLoseNothing() throws Exception {
        int rounds = 20_000;
        CyclicBarrier start = new CyclicBarrier(3);
        CyclicBarrier end = new CyclicBarrier(3);
        AtomicBoolean seen = new AtomicBoolean();
        List<Throwable> failures = new ArrayList<>();
        Thread a = worker("qmp", ged::press, start, end, rounds, failures);
        Thread b = worker("vcpu", () -> {
            for (int i = 0; i < 3; i++) {
                if (readSelector() != 0) {
                    seen.set(true);
                }
            }
        }, start, end, rounds, failures);
        a.start();
        b.start();
        try {
            for (int r = 0; r < rounds; r++) {
                try {
                    start.await(10, TimeUnit.SECONDS);
                    end.await(10, TimeUnit.SECONDS);
                } catch (BrokenBarrierException | TimeoutException e) {
                    break;
                }
                // Both threads are parked at the next start barrier: the device is quiescent.
                assertEquals(ged.pendingEvents() != 0, line.level(), "line follows the selector, round " + r);
                if (readSelector() != 0) {
                    seen.set(true);
                }
                assertTrue(seen.getAndSet(false), "round " + r + ": the press was never read");
                assertFalse(line.level(), "round " + r + ": line low after the final read");
            }
        } finally {
            start.reset(); // releases the workers if this thread failed
            end.reset();
        }
        a.join(10_000);
        b.join(10_000);
        synchronized (failures) {
            assertEquals(List.of(), failures);
        }
        assertFalse(start.isBroken() || end.isBroken(), "a thread gave up");
    }
}
