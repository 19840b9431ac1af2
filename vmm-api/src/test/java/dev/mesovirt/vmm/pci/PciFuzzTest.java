package dev.mesovirt.vmm.pci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Seeded garbage: random configuration accesses (ECAM and 0xCF8/0xCFC, any size and offset), random BAR and MSI-X
 * table accesses wherever the guest has mapped things, and random hot-plug requests. Nothing may throw, and a reset
 * followed by the firmware's assignment must bring back a working, non-overlapping layout.
 */
class PciFuzzTest {
    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 0x5eed, 0xdecafbad})
    void randomAccessesNeverThrow(long seed) {
        Random rnd = new Random(seed);
        Fakes.Root r = new Fakes.Root();
        List<PciFunction> removed = new ArrayList<>();
        Fakes.Region region = new Fakes.Region();
        r.root.bus().attach(1, 0, new Fakes.Endpoint(1, Map.of(0, Bar.io(0x20, region), 1, Bar.memory32(0x1000,
                region), 2, Bar.memory64(0x4000, true, region, Bar.Listener.NONE))));
        r.root.bus().attach(1, 1, new Fakes.Endpoint(2, Map.of(0, Bar.memory32(0x2000, region))));
        PcieRootPort p1 = new PcieRootPort(r.root, 1, PcieRootPort.Reserve.DEFAULT, removed::add);
        PcieRootPort p2 = new PcieRootPort(r.root, 2, PcieRootPort.Reserve.DEFAULT, removed::add);
        r.root.bus().attach(2, 0, p1);
        r.root.bus().attach(3, 0, p2);
        p1.insert(new Fakes.Endpoint(1, Map.of(4, Bar.memory64(0x4000, true, region, Bar.Listener.NONE))));
        r.root.assignResources();
        int[] sizes = {1, 2, 4, 8, 3};
        for (int i = 0; i < 20_000; i++) {
            int size = sizes[rnd.nextInt(sizes.length)];
            byte[] data = new byte[size];
            rnd.nextBytes(data);
            switch (rnd.nextInt(10)) {
                case 0, 1, 2 -> {
                    // Mostly the buses and devices that exist, sometimes anywhere in the window.
                    long offset = rnd.nextInt(4) == 0 ? (rnd.nextLong() & 0x0fff_ffffL)
                            : (long) rnd.nextInt(3) << 20 | (long) rnd.nextInt(5) << 15 | (long) rnd.nextInt(2) << 12
                                    | rnd.nextInt(0x1000);
                    if (rnd.nextBoolean()) {
                        r.root.ecam().write(offset, data);
                    } else {
                        r.root.ecam().read(offset, data);
                    }
                }
                case 3 -> {
                    byte[] address = new byte[4];
                    rnd.nextBytes(address);
                    address[3] |= (byte) 0x80;
                    address[2] = (byte) rnd.nextInt(3);
                    r.root.legacyConfigPorts().write(0, address);
                    if (rnd.nextBoolean()) {
                        r.root.legacyConfigPorts().write(rnd.nextInt(8), data);
                    } else {
                        r.root.legacyConfigPorts().read(rnd.nextInt(8), data);
                    }
                }
                case 4, 5, 6 -> {
                    // Whatever the guest mapped: BARs, MSI-X tables.
                    long address = 0xc000_0000L + rnd.nextInt(0x0400_0000);
                    if (rnd.nextBoolean()) {
                        r.mapper.mmio.write(address, data);
                    } else {
                        r.mapper.mmio.read(address, data);
                    }
                    r.mapper.pio.write(0xc000 + rnd.nextInt(0x4000), data);
                }
                case 7 -> {
                    PcieRootPort p = rnd.nextBoolean() ? p1 : p2;
                    try {
                        if (rnd.nextBoolean()) {
                            p.hotPlug(new Fakes.Endpoint(1, Map.of(1, Bar.memory32(0x1000, region))));
                        } else {
                            p.requestUnplug();
                        }
                    } catch (IllegalArgumentException | IllegalStateException expected) {
                        // occupied, empty or busy: the machine's QMP error, not a guest-visible fault
                    }
                }
                case 8 -> {
                    PciFunction f = r.root.bus().function(1, 0).orElseThrow();
                    f.header().setIntx(rnd.nextBoolean());
                    p1.msi().signal();
                }
                default -> {
                    if (rnd.nextInt(50) == 0) {
                        r.root.reset();
                        r.root.assignResources();
                    }
                }
            }
        }
        r.root.reset();
        for (Fakes.Line l : r.lines) {
            assertTrue(!l.level, "no line stays asserted after reset");
        }
        r.root.assignResources();
        assertEquals(0x29c0_8086, r.read(0, 0, 0, 0, 4));
        PciFunction f = r.root.bus().function(1, 0).orElseThrow();
        assertTrue(f.header().mappedAddress(1) >= 0xc000_0000L, "re-assigned and mapped after the storm");
    }
}
