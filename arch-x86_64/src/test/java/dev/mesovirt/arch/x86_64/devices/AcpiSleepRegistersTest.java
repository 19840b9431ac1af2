package dev.mesovirt.arch.x86_64.devices;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class AcpiSleepRegistersTest {
    private final RecordingPower power = new RecordingPower();
    private final AcpiSleepRegisters regs = new AcpiSleepRegisters(power);

    @Test
    void onlyS5WithSleepEnablePowersOff() {
        for (int v = 0; v < 256; v++) {
            regs.write(AcpiSleepRegisters.SLEEP_CONTROL_OFFSET, new byte[] {(byte) v});
        }
        List<String> expected = new ArrayList<>();
        for (int v = 0; v < 256; v++) {
            if ((v & 0x20) != 0 && ((v >> 2) & 7) == 5) {
                expected.add("off"); // 0x34, 0x35, 0x36, 0x37, 0xB4... (reserved bits are ignored)
            }
        }
        assertEquals(expected, power.events);
        power.events.clear();
        regs.write(0, new byte[] {0x34});
        assertEquals(List.of("off"), power.events);
        power.events.clear();
        regs.write(0, new byte[] {0x14}); // S5 without SLP_EN
        regs.write(0, new byte[] {0x2C}); // S3
        assertEquals(List.of(), power.events);
    }

    @Test
    void resetRegister() {
        regs.write(AcpiSleepRegisters.RESET_OFFSET, new byte[] {0x41});
        assertEquals(List.of(), power.events);
        regs.write(AcpiSleepRegisters.RESET_OFFSET, new byte[] {0x42});
        assertEquals(List.of("reset"), power.events);
        RecordingPower other = new RecordingPower();
        AcpiSleepRegisters custom = new AcpiSleepRegisters(other, 0x06);
        custom.write(2, new byte[] {0x42});
        custom.write(2, new byte[] {0x06});
        assertEquals(List.of("reset"), other.events);
        assertThrows(IllegalArgumentException.class, () -> new AcpiSleepRegisters(other, 0x100));
    }

    @Test
    void statusRegisterAndReads() {
        regs.write(AcpiSleepRegisters.SLEEP_STATUS_OFFSET, new byte[] {(byte) 0xFF});
        assertEquals(List.of(), power.events);
        for (int offset = 0; offset < AcpiSleepRegisters.LENGTH; offset++) {
            byte[] b = {1, 2, 3, 4};
            regs.read(offset, b);
            assertArrayEquals(new byte[4], b);
        }
    }

    @Test
    void wideWriteCoversConsecutiveRegisters() {
        regs.write(0, new byte[] {0, 0, 0x42});
        assertEquals(List.of("reset"), power.events);
    }
}
