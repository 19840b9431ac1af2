package dev.mesovirt.arch.riscv64;

import dev.mesovirt.vmm.snapshot.Section;
import dev.mesovirt.vmm.snapshot.SnapshotException;
import dev.mesovirt.vmm.snapshot.StateReader;
import dev.mesovirt.vmm.snapshot.StateWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * The in-kernel AIA's state: the APLIC's domain configuration, each source's configuration and target, the pending
 * and enable bitmaps (32 sources a word, bit 0 of word 0 being the non-existent source 0); then one {@link Imsic}
 * interrupt file per hart, in vCPU order.
 */
record AiaState(int sources, int ids, int domaincfg, int[] sourcecfg, int[] target, int[] pending, int[] enabled,
                List<Imsic> harts) {
    static final String ID = "aia";
    static final int VERSION = 1;

    /** A hart's IMSIC file: delivery enable, threshold, and its pending and enabled identities, 64 a register. */
    record Imsic(long eidelivery, long eithreshold, long[] eip, long[] eie) {}

    /** The APLIC's bitmap words: sources 0..sources, 32 a word. */
    static int aplicWords(int sources) {
        return (sources + 1 + 31) / 32;
    }

    /** The IMSIC's EIP/EIE registers: identities 0..ids, 64 a register (KVM's nr_eix). */
    static int imsicRegisters(int ids) {
        return (ids + 1 + 63) / 64;
    }

    Section toSection() {
        StateWriter w = new StateWriter().u32(sources).u32(ids).u32(domaincfg);
        for (int[] words : List.of(sourcecfg, target, pending, enabled)) {
            w.u32(words.length);
            for (int x : words) {
                w.u32(x);
            }
        }
        w.u32(harts.size());
        for (Imsic h : harts) {
            w.u64(h.eidelivery()).u64(h.eithreshold());
            for (long[] regs : List.of(h.eip(), h.eie())) {
                w.u32(regs.length);
                for (long x : regs) {
                    w.u64(x);
                }
            }
        }
        return new Section(ID, VERSION, w.toByteArray());
    }

    /** Reads a section for an AIA of {@code sources} APLIC sources, {@code ids} IMSIC identities and {@code vcpus} harts. */
    static AiaState fromSection(Section s, int sources, int ids, int vcpus) {
        s.requireVersion(VERSION);
        StateReader r = s.reader();
        int savedSources = r.u32();
        int savedIds = r.u32();
        if (savedSources != sources || savedIds != ids) {
            throw new SnapshotException("snapshot: " + s.id() + " is an AIA of " + Integer.toUnsignedString(savedSources)
                    + " APLIC sources and " + Integer.toUnsignedString(savedIds) + " IMSIC identities, this machine's has "
                    + sources + " and " + ids);
        }
        int domaincfg = r.u32();
        int words = aplicWords(sources);
        int[] sourcecfg = ints(r, "sourcecfg", sources);
        int[] target = ints(r, "target", sources);
        int[] pending = ints(r, "pending", words);
        int[] enabled = ints(r, "enabled", words);
        int n = r.u32();
        if (n != vcpus) {
            throw new SnapshotException("snapshot: " + s.id() + " has " + Integer.toUnsignedString(n)
                    + " IMSIC files for " + vcpus + " vCPUs");
        }
        int regs = imsicRegisters(ids);
        List<Imsic> harts = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            long delivery = r.u64();
            long threshold = r.u64();
            harts.add(new Imsic(delivery, threshold, longs(r, "eip", regs), longs(r, "eie", regs)));
        }
        r.end();
        return new AiaState(sources, ids, domaincfg, sourcecfg, target, pending, enabled, harts);
    }

    private static int[] ints(StateReader r, String name, int expected) {
        int[] v = new int[r.u32In(name + " count", expected, expected)];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.u32();
        }
        return v;
    }

    private static long[] longs(StateReader r, String name, int expected) {
        long[] v = new long[r.u32In(name + " count", expected, expected)];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.u64();
        }
        return v;
    }
}
