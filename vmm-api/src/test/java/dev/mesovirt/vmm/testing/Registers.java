package dev.mesovirt.vmm.testing;

import dev.mesovirt.vmm.bus.BusDevice;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** 32-bit little-endian register accesses to a device on a bus, as a driver makes them. */
public final class Registers {
    private Registers() {}

    public static int read32(BusDevice device, long offset) {
        byte[] b = new byte[4];
        device.read(offset, b);
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }

    public static void write32(BusDevice device, long offset, int value) {
        device.write(offset, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(value).array());
    }
}
