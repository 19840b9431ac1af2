package dev.mesovirt.arch.aarch64;

import dev.mesovirt.vmm.snapshot.Section;
import dev.mesovirt.vmm.snapshot.SnapshotException;
import dev.mesovirt.vmm.snapshot.StateReader;
import dev.mesovirt.vmm.snapshot.StateWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * The in-kernel GICv3's state, register by register as QEMU's arm_gicv3_kvm.c keeps it: the distributor's control
 * register and, for the SPIs (INTID 32 up; the distributor's first words are RAZ/WI under affinity routing), their
 * group, enable, pending, active and line-level bitmaps (32 per word), trigger configuration (16 per word), priorities
 * (4 per word) and routes (one 64-bit GICD_IROUTER each); then one {@link Cpu} per vCPU, in vCPU order.
 */
record Gicv3State(int nrIrqs, int distCtlr, int[] spiGroup, int[] spiEnabled, int[] spiPending, int[] spiActive,
                  int[] spiLevel, int[] spiConfig, int[] spiPriority, long[] spiRouter, List<Cpu> cpus) {
    static final String ID = "gic";
    static final int VERSION = 1;

    /**
     * One vCPU's redistributor (its LPI tables' bases, control, and the SGIs' and PPIs' group, enable, trigger
     * configuration of the PPIs (GICR_ICFGR1; the SGIs' is fixed), line level, pending, active and priorities) and its
     * CPU interface (the ICC_* system registers; as many active-priority registers per group as ICC_CTLR_EL1's
     * PRIbits implement: 1, 2 or 4).
     */
    record Cpu(long propbaser, long pendbaser, int ctlr, int group0, int enabled0, int config1, int level0,
               int pending0, int active0, int[] priority, long iccSre, long iccCtlr, long iccIgrpen0, long iccIgrpen1,
               long iccPmr, long iccBpr0, long iccBpr1, long[] iccAp0r, long[] iccAp1r) {
        /** Priority words of the 32 private interrupts. */
        static final int PRIORITY_WORDS = 8;

        /** ICC_CTLR_EL1.PRIbits (bits 10:8) + 1: 5 to 7 priority bits give 1, 2 or 4 active-priority registers. */
        static int activePriorityRegisters(long iccCtlr) {
            int bits = (int) ((iccCtlr >>> 8) & 7) + 1;
            return bits >= 7 ? 4 : bits == 6 ? 2 : 1;
        }
    }

    /** The SPIs' bitmap words for a vGIC of {@code nrIrqs} interrupts. */
    static int bitmapWords(int nrIrqs) {
        return (nrIrqs - Arm64Kvm.SPI_BASE) / 32;
    }

    Section toSection() {
        StateWriter w = new StateWriter().u32(nrIrqs).u32(distCtlr);
        for (int[] words : List.of(spiGroup, spiEnabled, spiPending, spiActive, spiLevel, spiConfig, spiPriority)) {
            ints(w, words);
        }
        longs(w, spiRouter);
        w.u32(cpus.size());
        for (Cpu c : cpus) {
            w.u64(c.propbaser()).u64(c.pendbaser()).u32(c.ctlr()).u32(c.group0()).u32(c.enabled0()).u32(c.config1())
                    .u32(c.level0()).u32(c.pending0()).u32(c.active0());
            ints(w, c.priority());
            w.u64(c.iccSre()).u64(c.iccCtlr()).u64(c.iccIgrpen0()).u64(c.iccIgrpen1()).u64(c.iccPmr())
                    .u64(c.iccBpr0()).u64(c.iccBpr1());
            longs(w, c.iccAp0r());
            longs(w, c.iccAp1r());
        }
        return new Section(ID, VERSION, w.toByteArray());
    }

    /** Reads a section for a vGIC of {@code nrIrqs} interrupts and {@code vcpus} vCPUs: anything else is refused. */
    static Gicv3State fromSection(Section s, int expectedNrIrqs, int vcpus) {
        s.requireVersion(VERSION);
        StateReader r = s.reader();
        int nrIrqs = r.u32();
        if (nrIrqs != expectedNrIrqs) {
            throw new SnapshotException("snapshot: " + s.id() + " is a vGIC of " + Integer.toUnsignedString(nrIrqs)
                    + " interrupts, this machine's has " + expectedNrIrqs);
        }
        int words = bitmapWords(nrIrqs);
        int ctlr = r.u32();
        int[] group = ints(r, s.id(), "group", words);
        int[] enabled = ints(r, s.id(), "enable", words);
        int[] pending = ints(r, s.id(), "pending", words);
        int[] active = ints(r, s.id(), "active", words);
        int[] level = ints(r, s.id(), "level", words);
        int[] config = ints(r, s.id(), "configuration", 2 * words);
        int[] priority = ints(r, s.id(), "priority", 8 * words);
        long[] router = longs(r, s.id(), "router", 32 * words);
        int n = r.u32();
        if (n != vcpus) {
            throw new SnapshotException("snapshot: " + s.id() + " has " + Integer.toUnsignedString(n)
                    + " redistributors for " + vcpus + " vCPUs");
        }
        List<Cpu> cpus = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            long propbaser = r.u64();
            long pendbaser = r.u64();
            int[] v = new int[7];
            for (int j = 0; j < v.length; j++) {
                v[j] = r.u32();
            }
            int[] prio = ints(r, s.id(), "private priority", Cpu.PRIORITY_WORDS);
            long[] icc = new long[7];
            for (int j = 0; j < icc.length; j++) {
                icc[j] = r.u64();
            }
            int aprs = Cpu.activePriorityRegisters(icc[1]);
            long[] ap0 = longs(r, s.id(), "ICC_AP0R", aprs);
            long[] ap1 = longs(r, s.id(), "ICC_AP1R", aprs);
            cpus.add(new Cpu(propbaser, pendbaser, v[0], v[1], v[2], v[3], v[4], v[5], v[6], prio, icc[0], icc[1],
                    icc[2], icc[3], icc[4], icc[5], icc[6], ap0, ap1));
        }
        r.end();
        return new Gicv3State(nrIrqs, ctlr, group, enabled, pending, active, level, config, priority, router, cpus);
    }

    private static void ints(StateWriter w, int[] v) {
        w.u32(v.length);
        for (int x : v) {
            w.u32(x);
        }
    }

    private static void longs(StateWriter w, long[] v) {
        w.u32(v.length);
        for (long x : v) {
            w.u64(x);
        }
    }

    private static int[] ints(StateReader r, String id, String name, int expected) {
        int n = r.u32In(name + " word count", expected, expected);
        int[] v = new int[n];
        for (int i = 0; i < n; i++) {
            v[i] = r.u32();
        }
        return v;
    }

    private static long[] longs(StateReader r, String id, String name, int expected) {
        int n = r.u32In(name + " count", expected, expected);
        long[] v = new long[n];
        for (int i = 0; i < n; i++) {
            v[i] = r.u64();
        }
        return v;
    }
}
