package dev.mesovirt.arch.x86_64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class CpuidTableTest {
    private static final List<CpuidEntry> HOST = List.of(
            new CpuidEntry(0x0, 0, 0, 0x1f, 0x756e6547, 0x6c65746e, 0x49656e69),
            new CpuidEntry(0x1, 0, 0, 0x806f8, 0xff0800ff, 0x7ffafbff, 0xbfebfbff),
            new CpuidEntry(0x4, 0, 1, 0xfc004121, 0x01c0003f, 0x3f, 0),
            new CpuidEntry(0x4, 4, 1, 0, 0, 0, 0),
            new CpuidEntry(0xb, 0, 1, 1, 2, 0x100, 7),
            new CpuidEntry(0x1f, 0, 1, 1, 2, 0x100, 7),
            new CpuidEntry(0x80000008, 0, 0, 0x3030, 0, 0x0000f0ff, 0),
            new CpuidEntry(0x8000001e, 0, 0, 9, 9, 9, 9));

    private static CpuidEntry find(List<CpuidEntry> t, int function, int index) {
        return t.stream().filter(e -> e.function() == function && e.index() == index).findFirst().orElseThrow();
    }

    @Test
    void leafOneCarriesApicIdCountAndHypervisorBit() {
        List<CpuidEntry> t = CpuidTable.forVcpu(HOST, 3, 4);
        CpuidEntry l1 = find(t, 1, 0);
        assertEquals(3, l1.ebx() >>> 24, "APIC ID");
        assertEquals(4, (l1.ebx() >>> 16) & 0xff, "logical processors");
        assertEquals(8, (l1.ebx() >>> 8) & 0xff, "CLFLUSH line size in qwords");
        assertTrue(l1.ecx() < 0, "hypervisor bit 31");
        assertTrue((l1.edx() & (1 << 28)) != 0, "HTT for a multi-core package");
        assertEquals(0, CpuidTable.forVcpu(HOST, 0, 1).stream().filter(e -> e.function() == 1)
                .findFirst().orElseThrow().edx() & (1 << 28), "no HTT with one vCPU");
    }

    @Test
    void topologyLeavesDescribeOneSocketOfSingleThreadedCores() {
        List<CpuidEntry> t = CpuidTable.forVcpu(HOST, 5, 6);
        for (int leaf : new int[] {0xb, 0x1f}) {
            CpuidEntry smt = find(t, leaf, 0);
            CpuidEntry core = find(t, leaf, 1);
            CpuidEntry end = find(t, leaf, 2);
            assertEquals(0, smt.eax());
            assertEquals(1, smt.ebx());
            assertEquals(3, core.eax(), "ceil(log2(6)) bits of core ID");
            assertEquals(6, core.ebx());
            assertEquals(2, (core.ecx() >>> 8) & 0xff, "level type core");
            assertEquals(0, (end.ecx() >>> 8) & 0xff, "invalid level ends the list");
            assertEquals(5, smt.edx());
            assertEquals(5, core.edx());
            assertEquals(3, t.stream().filter(e -> e.function() == leaf).count(), "host entries replaced");
        }
        assertEquals(5, (find(t, 4, 0).eax() >>> 26) + 0, "cores per package - 1");
        assertEquals(0, find(t, 4, 4).eax(), "null cache descriptor untouched");
        assertEquals(5, find(t, 0x80000008, 0).ecx() & 0xff);
        assertEquals(5, find(t, 0x8000001e, 0).eax());
    }

    @Test
    void everyVcpuCountAndIdKeepsTheTableWellFormed() {
        Random r = new Random(7);
        for (int i = 0; i < 1000; i++) {
            int count = 1 + r.nextInt(254);
            int id = r.nextInt(count);
            List<CpuidEntry> t = CpuidTable.forVcpu(HOST, id, count);
            assertEquals(id, find(t, 1, 0).ebx() >>> 24);
            assertEquals(count, find(t, 0xb, 1).ebx());
            assertTrue(1 << find(t, 0xb, 1).eax() >= count);
        }
    }
}
