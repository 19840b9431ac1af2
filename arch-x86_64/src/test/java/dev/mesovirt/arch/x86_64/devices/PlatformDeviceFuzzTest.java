package dev.mesovirt.arch.x86_64.devices;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.arch.x86_64.acpi.AcpiTables;
import dev.mesovirt.vmm.arch.Irq;
import dev.mesovirt.vmm.bus.BusDevice;
import dev.mesovirt.vmm.device.IrqLine;
import dev.mesovirt.vmm.device.SerialBackend;
import dev.mesovirt.vmm.device.Uart16550;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Random guest accesses must never throw, and device registers must read back as sane bytes. */
class PlatformDeviceFuzzTest {
    private static final int ACCESSES = 100_000;
    private static final int[] WIDTHS = {1, 1, 1, 1, 2, 4, 8};

    private static byte[] value(Random random) {
        byte[] data = new byte[WIDTHS[random.nextInt(WIDTHS.length)]];
        random.nextBytes(data);
        return data;
    }

    @Test
    void uart() {
        Random random = new Random(0x5EED_0001L);
        boolean[] level = new boolean[1];
        IrqLine line = l -> {
            assertTrue(l != level[0], "irq line set to its current level");
            level[0] = l;
        };
        try (SerialBackend backend = SerialBackend.none()) {
            Uart16550 uart = new Uart16550(line, backend, 0, random.nextBoolean());
            Set<Integer> interruptIds = Set.of(0x0, 0x2, 0x4, 0x6);
            for (int i = 0; i < ACCESSES; i++) {
                long offset = random.nextInt(10);
                uart.write(offset, value(random));
                if (random.nextInt(16) == 0) {
                    byte[] in = new byte[random.nextInt(80)];
                    random.nextBoolean();
                    uart.receive(in);
                }
                byte[] data = new byte[WIDTHS[random.nextInt(WIDTHS.length)]];
                uart.read(random.nextInt(10), data);
                for (int j = 1; j < data.length; j++) {
                    assertEquals(0, data[j], "only the low byte carries data");
                }
                byte[] lsr = new byte[1];
                uart.read(5, lsr);
                assertEquals(0x60, lsr[0] & 0xE0, "THRE|TEMT always, no FIFO error");
                byte[] iir = new byte[1];
                uart.read(2, iir);
                int id = iir[0] & 0xFF;
                assertEquals(0, id & 0x30, "reserved IIR bits");
                assertTrue((id & 0xC0) == 0 || (id & 0xC0) == 0xC0, "FIFO bits together");
                assertTrue((id & 1) == 1 || interruptIds.contains(id & 0x0E), "IIR id 0x" + Integer.toHexString(id));
            }
        }
    }

    @Test
    void rtc() {
        Random random = new Random(0x5EED_0002L);
        CmosRtc rtc = new CmosRtc();
        for (int i = 0; i < ACCESSES; i++) {
            rtc.write(random.nextInt(3), value(random));
            byte[] data = new byte[WIDTHS[random.nextInt(WIDTHS.length)]];
            rtc.read(random.nextInt(3), data);
            rtc.write(0, new byte[] {0x0D});
            byte[] d = new byte[1];
            rtc.read(1, d);
            assertEquals((byte) 0x80, d[0]);
            rtc.write(0, new byte[] {0x0A});
            rtc.read(1, d);
            assertEquals(0, d[0] & 0x80, "UIP never set");
        }
    }

    @Test
    void i8042AndPowerDevices() {
        Random random = new Random(0x5EED_0003L);
        RecordingPower power = new RecordingPower();
        boolean[] level = new boolean[1];
        I8042 kbc = new I8042(power, l -> {
            assertTrue(l != level[0], "irq line set to its current level");
            level[0] = l;
        });
        BusDevice[] devices = {kbc, new AcpiSleepRegisters(power), new PvPanic(power)};
        for (int i = 0; i < ACCESSES; i++) {
            BusDevice device = devices[random.nextInt(devices.length)];
            int span = device == kbc ? I8042.LENGTH : 3;
            device.write(random.nextInt(span), value(random));
            byte[] data = new byte[WIDTHS[random.nextInt(WIDTHS.length)]];
            device.read(random.nextInt(span), data);
            byte[] status = new byte[1];
            kbc.read(I8042.COMMAND_OFFSET, status);
            assertEquals(0x10, status[0] & 0xD2, "unlocked, input buffer empty, no timeout/parity errors");
        }
        assertTrue(power.events.stream().allMatch(e -> e.equals("off") || e.equals("reset") || e.startsWith("panic")));
    }

    @Test
    void gedPowerButton() {
        Random random = new Random(0x5EED_0004L);
        boolean[] level = new boolean[1];
        GedPowerButton ged = new GedPowerButton(new Irq(9, 9, 9, true), l -> {
            assertTrue(l != level[0], "irq line set to its current level");
            level[0] = l;
        });
        for (int i = 0; i < ACCESSES; i++) {
            switch (random.nextInt(8)) {
                case 0 -> ged.press();
                case 1 -> ged.reset();
                default -> {
                    ged.write(random.nextInt(8), value(random));
                    byte[] data = new byte[WIDTHS[random.nextInt(WIDTHS.length)]];
                    ged.read(random.nextInt(8), data);
                    for (byte b : data) {
                        assertEquals(0, b & ~AcpiTables.GED_POWER_BUTTON_EVENT, "only the power-button bit is defined");
                    }
                }
            }
            assertEquals(ged.pendingEvents() != 0, level[0], "the line is high exactly while an event is pending");
        }
    }
}
