package dev.mesovirt.vmm.pci;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;

/**
 * The PCI configuration space as the guest reaches it: ECAM and 0xCF8/0xCFC accesses of any size and offset
 * (headers, BARs, bridge windows, capabilities: MSI, MSI-X, PCI Express, root port slot control), accesses to
 * whatever the guest mapped (BARs, MSI-X tables), and hot-plug between them; the same topology as
 * {@link PciFuzzTest}. Nothing may throw but the hot-plug requests' own refusals.
 *
 * <p>The topology is built once (building it for every input cost most of the time an input took) and every input
 * starts with a machine reset, so each input must leave nothing behind that a reset does not clear: at the end of
 * every input, after putting back the device the slot held when it was built, a reset must return every function's
 * whole configuration space to what it was when built, unmap every BAR, release every MSI vector and leave no INTx
 * line asserted; then the firmware's assignment must bring back the host bridge and a mapped BAR.
 */
class PciConfigFuzzTarget {
    private static final Fakes.Region REGION = new Fakes.Region();
    private static final List<PciFunction> REMOVED = new ArrayList<>();
    private static Fakes.Root r;
    private static PciFunction endpoint;
    private static PcieRootPort p1;
    /** The device in p1's slot at power-on. */
    private static PciFunction slotted;
    /** Every function's configuration space as built (power-on): host bridge, endpoint, port, slot device. */
    private static byte[][] powerOn;

    @BeforeAll
    static void build() {
        r = new Fakes.Root();
        endpoint = new Fakes.Endpoint(1, Map.of(0, Bar.io(0x20, REGION), 1, Bar.memory32(0x1000, REGION), 2,
                Bar.memory64(0x4000, true, REGION, Bar.Listener.NONE)));
        r.root.bus().attach(1, 0, endpoint);
        p1 = new PcieRootPort(r.root, 1, PcieRootPort.Reserve.DEFAULT, REMOVED::add);
        r.root.bus().attach(2, 0, p1);
        slotted = slotDevice();
        p1.insert(slotted);
        powerOn = configSpaces();
    }

    private static PciFunction slotDevice() {
        return new Fakes.Endpoint(1, Map.of(4, Bar.memory64(0x4000, true, REGION, Bar.Listener.NONE)));
    }

    private static List<PciFunction> functions() {
        return List.of(r.root.bus().function(0, 0).orElseThrow(), endpoint, p1, slotted);
    }

    private static byte[][] configSpaces() {
        List<PciFunction> fs = functions();
        byte[][] out = new byte[fs.size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = fs.get(i).header().config().contents();
        }
        return out;
    }

    @FuzzTest(maxDuration = "5s")
    void guest(FuzzedDataProvider data) {
        r.root.reset();
        r.root.legacyConfigPorts().write(0, new byte[4]); // 0xCF8 as a guest finds it (the reset keeps the latch)
        if (data.consumeBoolean()) {
            r.root.assignResources();
        }
        int steps = 0;
        while (data.remainingBytes() > 0 && steps++ < 200) {
            byte[] bytes = new byte[data.pickValue(new int[] {1, 2, 4, 8, 3})];
            int op = data.consumeInt(0, 7);
            switch (op) {
                case 0, 1 -> {
                    // bus 0..2, device 0..4, function 0..1, any register (ECAM's 4 KiB)
                    long offset = data.consumeBoolean() ? data.consumeLong(0, 0x0fff_ffffL)
                            : (long) data.consumeInt(0, 2) << 20 | (long) data.consumeInt(0, 4) << 15
                                    | (long) data.consumeInt(0, 1) << 12 | data.consumeInt(0, 0xfff);
                    if (op == 0) {
                        fill(bytes, data);
                        r.root.ecam().write(offset, bytes);
                    } else {
                        r.root.ecam().read(offset, bytes);
                    }
                }
                case 2 -> {
                    byte[] address = {(byte) data.consumeInt(0, 0xfc), (byte) data.consumeInt(0, 0x27),
                        (byte) data.consumeInt(0, 2), (byte) (data.consumeBoolean() ? 0x80 : data.consumeInt())};
                    r.root.legacyConfigPorts().write(0, address);
                    if (data.consumeBoolean()) {
                        fill(bytes, data);
                        r.root.legacyConfigPorts().write(data.consumeInt(0, 7), bytes);
                    } else {
                        r.root.legacyConfigPorts().read(data.consumeInt(0, 7), bytes);
                    }
                }
                case 3 -> {
                    long address = 0xc000_0000L + data.consumeInt(0, 0x03ff_ffff);
                    if (data.consumeBoolean()) {
                        fill(bytes, data);
                        r.mapper.mmio.write(address, bytes);
                    } else {
                        r.mapper.mmio.read(address, bytes);
                    }
                }
                case 4 -> {
                    fill(bytes, data);
                    r.mapper.pio.write(0xc000 + data.consumeInt(0, 0x3fff), bytes);
                }
                case 5 -> {
                    try {
                        if (data.consumeBoolean()) {
                            p1.hotPlug(new Fakes.Endpoint(1, Map.of(1, Bar.memory32(0x1000, REGION))));
                        } else {
                            p1.requestUnplug();
                        }
                    } catch (IllegalArgumentException | IllegalStateException e) {
                        // occupied, empty or busy: QMP's error to the user, not something the guest sees
                        assertTrue(e.getMessage() != null && !e.getMessage().isBlank());
                    }
                }
                case 6 -> p1.msi().signal();
                default -> {
                    r.root.reset();
                    r.root.assignResources();
                }
            }
        }
        // The slot as built (hot-plug may have emptied it or put another device there): the host's doing, not the
        // guest's, so it is done behind the guest's back, like building the topology.
        if (p1.device().orElse(null) != slotted) {
            p1.secondaryBus().detach(0, 0);
            slotted = slotDevice();
            p1.insert(slotted);
        }
        REMOVED.clear();
        r.root.reset();
        for (Fakes.Line l : r.lines) {
            assertTrue(!l.level, "a line stays asserted after reset");
        }
        assertTrue(r.mapper.live.isEmpty(), () -> "mapped after reset: " + r.mapper.live);
        for (Fakes.Msi.Vector v : r.msi.vectors) {
            assertTrue(v.closed, () -> "MSI vector " + v.id + " still routed after reset");
        }
        r.msi.vectors.clear();
        r.msi.log.clear();
        r.mapper.log.clear();
        byte[][] now = configSpaces();
        List<PciFunction> fs = functions();
        for (int i = 0; i < now.length; i++) {
            PciFunction f = fs.get(i);
            assertArrayEquals(powerOn[i], now[i], () -> "configuration space of " + f.header().place().address()
                    + " after reset differs from power-on");
        }
        r.root.assignResources();
        assertEquals(0x29c0_8086, r.read(0, 0, 0, 0, 4));
        assertTrue(endpoint.header().mappedAddress(1) >= 0xc000_0000L);
    }

    private static void fill(byte[] bytes, FuzzedDataProvider data) {
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = data.consumeByte();
        }
    }
}
