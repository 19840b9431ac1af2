package dev.mesovirt.arch.x86_64.devices;

import dev.mesovirt.vmm.arch.GuestPower;
import dev.mesovirt.vmm.bus.BusDevice;
import java.util.Arrays;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * QEMU's pvpanic ISA device, a one-byte port ({@link #PORT}) through which Linux's pvpanic driver reports a kernel
 * panic. Reads return the events supported; a write with {@link #PANICKED} reports the panic to the machine, while
 * {@link #CRASH_LOADED} (a crash kernel is taking over) is only logged, since the guest carries on.
 */
public final class PvPanic implements BusDevice {
    private static final Logger LOG = LoggerFactory.getLogger(PvPanic.class);

    public static final int PORT = 0x505;
    public static final int LENGTH = 1;
    public static final int PANICKED = 0x01;
    public static final int CRASH_LOADED = 0x02;
    public static final int SUPPORTED_EVENTS = PANICKED | CRASH_LOADED;

    private final GuestPower power;

    public PvPanic(GuestPower power) {
        this.power = Objects.requireNonNull(power, "power");
    }

    @Override
    public void read(long offset, byte[] data) {
        Arrays.fill(data, (byte) 0);
        if (offset == 0 && data.length > 0) {
            data[0] = (byte) SUPPORTED_EVENTS;
        }
    }

    @Override
    public void write(long offset, byte[] data) {
        if (offset != 0 || data.length == 0) {
            return;
        }
        int events = data[0] & 0xFF;
        if ((events & PANICKED) != 0) {
            power.panic("guest reported a kernel panic (pvpanic)");
        } else if ((events & CRASH_LOADED) != 0) {
            LOG.info("guest reports a crash kernel loaded after a panic (pvpanic)");
        }
    }
}
