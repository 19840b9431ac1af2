package dev.mesovirt.vmm.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** The bytes of KVM_SET_GSI_ROUTING's argument (offsets checked against linux/kvm.h in UapiLayoutTest). */
class GsiRoutingEncodingTest {
    @Test
    void headerThenOneFortyEightByteEntryPerRoute() {
        ByteBuffer b = Vm.encodeRouting(List.of(new GsiRoute.IrqchipPin(3, 2, 3),
                new GsiRoute.Msi(24, 0x1_FEE0_1000L, 0x4041, OptionalInt.empty()),
                new GsiRoute.Msi(25, 0x0800_0040L, 7, OptionalInt.of(0x0108))));
        assertEquals(8 + 3 * 48, b.capacity());
        assertEquals(3, b.getInt(0));
        assertEquals(0, b.getInt(4));
        // irqchip entry: gsi, type 1, flags 0, pad, then irqchip and pin
        assertEquals(3, b.getInt(8));
        assertEquals(1, b.getInt(12));
        assertEquals(0, b.getInt(16));
        assertEquals(2, b.getInt(24));
        assertEquals(3, b.getInt(28));
        // MSI entry without a device ID: address split in two halves, data
        int e = 8 + 48;
        assertEquals(24, b.getInt(e));
        assertEquals(2, b.getInt(e + 4));
        assertEquals(0, b.getInt(e + 8));
        assertEquals(0xFEE0_1000, b.getInt(e + 16));
        assertEquals(1, b.getInt(e + 20));
        assertEquals(0x4041, b.getInt(e + 24));
        assertEquals(0, b.getInt(e + 28));
        // MSI entry with KVM_MSI_VALID_DEVID
        e += 48;
        assertEquals(25, b.getInt(e));
        assertEquals(1, b.getInt(e + 8));
        assertEquals(0x0108, b.getInt(e + 28));
        for (int i = e + 32; i < e + 48; i++) {
            assertEquals(0, b.get(i), "the rest of the union is zero");
        }
    }
}
