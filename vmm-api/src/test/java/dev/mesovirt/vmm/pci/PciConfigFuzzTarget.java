package dev.mesovirt.vmm.pci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The PCI configuration space as the guest reaches it: ECAM and 0xCF8/0xCFC accesses of any size and offset
 * (headers, BARs, bridge windows, capabilities: MSI, MSI-X, PCI Express, root port slot control), accesses to
 * whatever the guest mapped (BARs, MSI-X tables), and hot-plug between them; the same topology as
 * {@link PciFuzzTest}. Nothing may throw but the hot-plug requests' own refusals, and a reset followed by the
 * firmware's assignment must bring back the host bridge and a mapped BAR.
 */
class PciConfigFuzzTarget {
    @FuzzTest(maxDuration = "5s")
    void guest(FuzzedDataProvider data) {
        Fakes.Root r = new Fakes.Root();
        List<PciFunction> removed = new ArrayList<>();
        Fakes.Region region = new Fakes.Region();
        r.root.bus().attach(1, 0, new Fakes.Endpoint(1, Map.of(0, Bar.io(0x20, region), 1, Bar.memory32(0x1000,
                region), 2, Bar.memory64(0x4000, true, region, Bar.Listener.NONE))));
        PcieRootPort p1 = new PcieRootPort(r.root, 1, PcieRootPort.Reserve.DEFAULT, removed::add);
        r.root.bus().attach(2, 0, p1);
        p1.insert(new Fakes.Endpoint(1, Map.of(4, Bar.memory64(0x4000, true, region, Bar.Listener.NONE))));
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
                            p1.hotPlug(new Fakes.Endpoint(1, Map.of(1, Bar.memory32(0x1000, region))));
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
        r.root.reset();
        for (Fakes.Line l : r.lines) {
            assertTrue(!l.level, "a line stays asserted after reset");
        }
        r.root.assignResources();
        assertEquals(0x29c0_8086, r.read(0, 0, 0, 0, 4));
        assertTrue(r.root.bus().function(1, 0).orElseThrow().header().mappedAddress(1) >= 0xc000_0000L);
    }

    private static void fill(byte[] bytes, FuzzedDataProvider data) {
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = data.consumeByte();
        }
    }
}
