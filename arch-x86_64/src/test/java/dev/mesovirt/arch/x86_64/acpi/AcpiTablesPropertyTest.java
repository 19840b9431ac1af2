package dev.mesovirt.arch.x86_64.acpi;

import dev.mesovirt.acpi.AcpiImage;
import dev.mesovirt.acpi.testing.AmlWalker;
import dev.mesovirt.acpi.testing.ImageReader;

import static dev.mesovirt.acpi.testing.ImageReader.sum;
import static dev.mesovirt.acpi.testing.ImageReader.u16;
import static dev.mesovirt.acpi.testing.ImageReader.u32;
import static dev.mesovirt.acpi.testing.ImageReader.u64;
import static dev.mesovirt.acpi.testing.ImageReader.u8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.acpi.testing.ImageReader.Table;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Seeded property test: random valid platforms (1..64 vCPUs, 0..8 virtio slots, random addresses,
 * optional RTC, pvpanic and power button; or a random PCI host bridge) always yield self-consistent tables.
 * Everything is re-derived from the bytes, without iasl; a failure message carries the iteration's seed for replay.
 */
class AcpiTablesPropertyTest {

    private static final long SEED = 0x4D45_534F_5654L; // "MESOVT"
    private static final int ITERATIONS = 500;

    @Test
    void randomPlatformsProduceConsistentTables() {
        Random seeds = new Random(SEED);
        for (int i = 0; i < ITERATIONS; i++) {
            long seed = seeds.nextLong();
            Random rnd = new Random(seed);
            long base = Platforms.randomBase(rnd);
            AcpiPlatform platform = Platforms.random(rnd);
            try {
                check(base, platform);
            } catch (AssertionError | RuntimeException e) {
                throw new AssertionError("iteration " + i + ", seed " + seed + ", " + platform, e);
            }
        }
    }

    /** The same properties for random q35 platforms, whose tables add an MCFG and the host bridge's devices. */
    @Test
    void randomQ35PlatformsProduceConsistentTables() {
        Random seeds = new Random(SEED + 35);
        for (int i = 0; i < ITERATIONS; i++) {
            long seed = seeds.nextLong();
            Random rnd = new Random(seed);
            long base = Platforms.randomBase(rnd);
            AcpiPlatform platform = Platforms.randomQ35(rnd);
            try {
                check(base, platform);
            } catch (AssertionError | RuntimeException e) {
                throw new AssertionError("iteration " + i + ", seed " + seed + ", " + platform, e);
            }
        }
    }

    private static void check(long base, AcpiPlatform platform) {
        AcpiImage image = AcpiTables.build(base, platform);
        byte[] b = image.bytes();
        Map<String, Table> tables = ImageReader.tables(image);
        Optional<AcpiPlatform.PciHostBridge> bridge = platform.pciHostBridge();
        assertEquals(bridge.isPresent() ? Set.of("RSDP", "XSDT", "FACP", "APIC", "MCFG", "DSDT")
                : Set.of("RSDP", "XSDT", "FACP", "APIC", "DSDT"), tables.keySet());

        // Checksums: RSDP's two, every other table's one.
        assertEquals(0, sum(b, 0, 20));
        assertEquals(0, sum(b, 0, 36));
        for (Table t : tables.values()) {
            if (!t.signature().equals("RSDP")) {
                assertEquals(0, sum(b, t.offset(), t.length()), t.signature() + " checksum");
                assertEquals(t.length(), u32(b, t.offset() + 4));
            }
        }

        // Layout: aligned, disjoint, contiguous up to padding, image ends at the last table.
        List<Table> ordered = new ArrayList<>(tables.values());
        ordered.sort(Comparator.comparingInt(Table::offset));
        assertEquals(0, ordered.get(0).offset());
        for (int i = 0; i < ordered.size(); i++) {
            Table t = ordered.get(i);
            assertEquals(0, (base + t.offset()) % 16, t.signature() + " alignment");
            if (i > 0) {
                int gap = t.offset() - ordered.get(i - 1).end();
                assertTrue(gap >= 0 && gap < 16, "gap before " + t.signature() + ": " + gap);
            }
        }
        assertEquals(image.size(), ordered.get(ordered.size() - 1).end());

        // FADT: fixed size, both DSDT pointers agree, sleep/reset registers as configured.
        Table fadt = tables.get("FACP");
        assertEquals(276, fadt.length());
        long dsdtAddress = base + tables.get("DSDT").offset();
        assertEquals(dsdtAddress, u32(b, fadt.offset() + 40));
        assertEquals(dsdtAddress, u64(b, fadt.offset() + 140));
        assertEquals(platform.sleep().resetAddress(), u64(b, fadt.offset() + 120));
        assertEquals(platform.sleep().resetValue(), u8(b, fadt.offset() + 128));
        assertEquals(platform.sleep().controlAddress(), u64(b, fadt.offset() + 248));
        assertEquals(platform.sleep().statusAddress(), u64(b, fadt.offset() + 260));
        assertEquals(platform.rtcPresent() ? 0 : 0x20, u8(b, fadt.offset() + 109) & 0x20);
        assertEquals(bridge.isPresent() ? 0 : 0x08, u8(b, fadt.offset() + 109) & 0x08, "MSI not supported");

        // MCFG: one allocation covering the bridge's buses from its ECAM base.
        bridge.ifPresent(pci -> {
            Table mcfg = tables.get("MCFG");
            assertEquals(60, mcfg.length());
            assertEquals(pci.ecamBase(), u64(b, mcfg.offset() + 44));
            assertEquals(0, u16(b, mcfg.offset() + 52));
            assertEquals(0, u8(b, mcfg.offset() + 54));
            assertEquals(pci.buses() - 1, u8(b, mcfg.offset() + 55));
        });

        // MADT: entries tile the table; one LAPIC per vCPU with UID = APIC ID = index.
        Table madt = tables.get("APIC");
        int at = madt.offset() + 44;
        List<Integer> types = new ArrayList<>();
        int lapic = 0;
        while (at < madt.end()) {
            int type = u8(b, at);
            int length = u8(b, at + 1);
            assertTrue(length >= 2 && at + length <= madt.end(), "MADT entry overruns");
            if (type == 0) {
                assertEquals(lapic, u8(b, at + 2));
                assertEquals(lapic, u8(b, at + 3));
                lapic++;
            } else if (type == 1) {
                assertEquals(platform.ioapicId(), u8(b, at + 2));
                assertEquals(platform.ioapicAddress(), u32(b, at + 4));
            }
            types.add(type);
            at += length;
        }
        assertEquals(madt.end(), at);
        assertEquals(platform.vcpus(), lapic);
        assertEquals(platform.vcpus() + 3, types.size());

        // DSDT: an independent walk re-derives every PkgLength and finds exactly the expected devices.
        byte[] dsdt = ImageReader.slice(b, tables.get("DSDT"));
        List<String> devices = AmlWalker.walkTable(dsdt).stream()
                .filter(n -> n.kind().equals("Device")).map(AmlWalker.Named::path).collect(Collectors.toList());
        List<String> expected = new ArrayList<>(List.of("\\_SB_.COM1"));
        if (platform.rtcPresent()) {
            expected.add("\\_SB_.RTC_");
        }
        if (platform.pvpanicPort().isPresent()) {
            expected.add("\\_SB_.PEVT");
        }
        for (int i = 0; i < platform.virtioSlots().size(); i++) {
            expected.add(String.format("\\_SB_.VR%02X", i));
        }
        int crs = expected.size();
        if (platform.powerButton().isPresent()) {
            expected.add("\\_SB_.GED_");
            expected.add("\\_SB_.PWRB"); // no _CRS: it has no resources of its own
            crs++;
        }
        if (bridge.isPresent()) {
            expected.addAll(List.of("\\_SB_.GSIA", "\\_SB_.GSIB", "\\_SB_.GSIC", "\\_SB_.GSID", "\\_SB_.PCI0",
                    "\\_SB_.ECAM"));
            crs += 6;
            Map<String, Object> values = AmlWalker.values(dsdt);
            List<?> prt = (List<?>) values.get("\\_SB_.PCI0._PRT");
            assertEquals(128, prt.size());
            for (int i = 0; i < prt.size(); i++) {
                List<?> entry = (List<?>) prt.get(i);
                int device = i / 4;
                int pin = i % 4;
                assertEquals(((long) device << 16) | 0xFFFF, entry.get(0));
                assertEquals((long) pin, entry.get(1));
                byte[] link = (byte[]) values.get("\\_SB_." + ((AmlWalker.Reference) entry.get(2)).name() + "._CRS");
                assertEquals(bridge.get().intxGsiOf(device, pin), u32(link, 5), "device " + device + " pin " + pin);
            }
        }
        assertEquals(expected, devices);
        assertEquals(crs, AmlWalker.resourceTemplateCount(dsdt));

        // Determinism.
        assertEquals(image, AcpiTables.build(base, platform));
    }
}
