package dev.mesovirt.arch.x86_64.devices;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class PvPanicTest {
    private final RecordingPower power = new RecordingPower();
    private final PvPanic pvpanic = new PvPanic(power);

    @Test
    void readsSupportedEvents() {
        byte[] b = new byte[1];
        pvpanic.read(0, b);
        assertEquals(0x03, b[0]);
    }

    @Test
    void panicIsReported() {
        pvpanic.write(0, new byte[] {0});
        pvpanic.write(0, new byte[] {2}); // crash kernel loaded: logged only
        assertEquals(List.of(), power.events);
        pvpanic.write(0, new byte[] {1});
        assertEquals(List.of("panic: guest reported a kernel panic (pvpanic)"), power.events);
        pvpanic.write(0, new byte[] {3});
        assertEquals(2, power.events.size());
    }
}
