package dev.mesovirt.arch.aarch64;

import dev.mesovirt.vmm.kvm.KvmDevice;
import dev.mesovirt.vmm.snapshot.SnapshotException;
import dev.mesovirt.vmm.sys.ErrnoException;
import java.util.ArrayList;
import java.util.List;

/**
 * Takes and gives back the vGIC's {@link Gicv3State} through KVM. A restore goes: KVM_ARM_VCPU_INIT and every saved
 * register of each vCPU (a {@link dev.mesovirt.vmm.snapshot.RegisterListState}: MPIDR_EL1 among them, by which the
 * vGIC finds its redistributor), its MP state; then the vGIC's CTRL_INIT (KVM takes its registers only once initialised) and the vGIC in QEMU's order:
 * GICD_CTLR; each redistributor (LPI table bases before GICR_CTLR, then group, enable, trigger configuration before
 * line level and pending, active, priorities); the distributor's SPIs (enable, group, routes before pending, so that
 * a pending SPI lands on its CPU interface; configuration before line level and pending); the CPU interfaces last.
 * Set/clear register pairs are cleared first, so a write leaves exactly the saved bits.
 */
final class Arm64StateIo {
    // Distributor register offsets (GICv3 architecture specification, IHI 0069).
    static final int GICD_CTLR = 0x0000;
    static final int GICD_IGROUPR = 0x0080;
    static final int GICD_ISENABLER = 0x0100;
    static final int GICD_ICENABLER = 0x0180;
    static final int GICD_ISPENDR = 0x0200;
    static final int GICD_ICPENDR = 0x0280;
    static final int GICD_ISACTIVER = 0x0300;
    static final int GICD_ICACTIVER = 0x0380;
    static final int GICD_IPRIORITYR = 0x0400;
    static final int GICD_ICFGR = 0x0C00;
    static final int GICD_IROUTER = 0x6000;
    // Redistributor: the RD_base frame, then the SGI_base frame 64 KiB above it.
    static final int GICR_CTLR = 0x0000;
    static final int GICR_TYPER = 0x0008;
    static final int GICR_PROPBASER = 0x0070;
    static final int GICR_PENDBASER = 0x0078;
    static final int SGI_BASE = 0x1_0000;
    static final int GICR_IGROUPR0 = SGI_BASE + 0x0080;
    static final int GICR_ISENABLER0 = SGI_BASE + 0x0100;
    static final int GICR_ICENABLER0 = SGI_BASE + 0x0180;
    static final int GICR_ISPENDR0 = SGI_BASE + 0x0200;
    static final int GICR_ICPENDR0 = SGI_BASE + 0x0280;
    static final int GICR_ISACTIVER0 = SGI_BASE + 0x0300;
    static final int GICR_ICACTIVER0 = SGI_BASE + 0x0380;
    static final int GICR_IPRIORITYR0 = SGI_BASE + 0x0400;
    static final int GICR_ICFGR1 = SGI_BASE + 0x0C04;
    /** GICR_TYPER.PLPIS: the redistributor supports LPIs (only with an ITS). */
    static final long GICR_TYPER_PLPIS = 1;
    // CPU interface registers (op0, op1, CRn, CRm, op2).
    static final long ICC_SRE_EL1 = Arm64Kvm.vgicSysreg(3, 0, 12, 12, 5);
    static final long ICC_CTLR_EL1 = Arm64Kvm.vgicSysreg(3, 0, 12, 12, 4);
    static final long ICC_IGRPEN0_EL1 = Arm64Kvm.vgicSysreg(3, 0, 12, 12, 6);
    static final long ICC_IGRPEN1_EL1 = Arm64Kvm.vgicSysreg(3, 0, 12, 12, 7);
    static final long ICC_PMR_EL1 = Arm64Kvm.vgicSysreg(3, 0, 4, 6, 0);
    static final long ICC_BPR0_EL1 = Arm64Kvm.vgicSysreg(3, 0, 12, 8, 3);
    static final long ICC_BPR1_EL1 = Arm64Kvm.vgicSysreg(3, 0, 12, 12, 3);

    static long iccAp0r(int n) {
        return Arm64Kvm.vgicSysreg(3, 0, 12, 8, 4 + n);
    }

    static long iccAp1r(int n) {
        return Arm64Kvm.vgicSysreg(3, 0, 12, 9, n);
    }

    private Arm64StateIo() {}

    // ---- the vGIC

    /** The vGIC's state; {@code mpidrs} are the vCPUs' MPIDR_EL1 values, in vCPU order. */
    static Gicv3State saveGic(KvmDevice gic, int nrIrqs, List<Long> mpidrs) {
        int words = Gicv3State.bitmapWords(nrIrqs);
        int ctlr = dist(gic, GICD_CTLR);
        long firstCpu = Arm64Kvm.vgicMpidrAttr(mpidrs.get(0));
        int[] group = distWords(gic, GICD_IGROUPR + 4, words);
        int[] enabled = distWords(gic, GICD_ISENABLER + 4, words);
        int[] level = new int[words];
        for (int i = 0; i < words; i++) {
            level[i] = (int) gic.getAttribute(Arm64Kvm.VGIC_GRP_LEVEL_INFO, firstCpu | (Arm64Kvm.SPI_BASE + 32L * i), 4);
        }
        int[] pending = distWords(gic, GICD_ISPENDR + 4, words);
        int[] active = distWords(gic, GICD_ISACTIVER + 4, words);
        int[] config = distWords(gic, GICD_ICFGR + 8, 2 * words);
        int[] priority = distWords(gic, GICD_IPRIORITYR + Arm64Kvm.SPI_BASE, 8 * words);
        long[] router = new long[32 * words];
        for (int i = 0; i < router.length; i++) {
            int offset = GICD_IROUTER + 8 * (Arm64Kvm.SPI_BASE + i);
            router[i] = Integer.toUnsignedLong(dist(gic, offset)) | (long) dist(gic, offset + 4) << 32;
        }
        List<Gicv3State.Cpu> cpus = new ArrayList<>();
        for (long mpidr : mpidrs) {
            long cpu = Arm64Kvm.vgicMpidrAttr(mpidr);
            boolean lpis = (redist64(gic, cpu, GICR_TYPER) & GICR_TYPER_PLPIS) != 0;
            long propbaser = lpis ? redist64(gic, cpu, GICR_PROPBASER) : 0;
            long pendbaser = lpis ? redist64(gic, cpu, GICR_PENDBASER) : 0;
            int[] prio = new int[Gicv3State.Cpu.PRIORITY_WORDS];
            for (int i = 0; i < prio.length; i++) {
                prio[i] = redist(gic, cpu, GICR_IPRIORITYR0 + 4 * i);
            }
            long iccCtlr = icc(gic, cpu, ICC_CTLR_EL1);
            int aprs = Gicv3State.Cpu.activePriorityRegisters(iccCtlr);
            long[] ap0 = new long[aprs];
            long[] ap1 = new long[aprs];
            for (int i = 0; i < aprs; i++) {
                ap0[i] = icc(gic, cpu, iccAp0r(i));
                ap1[i] = icc(gic, cpu, iccAp1r(i));
            }
            cpus.add(new Gicv3State.Cpu(propbaser, pendbaser, redist(gic, cpu, GICR_CTLR),
                    redist(gic, cpu, GICR_IGROUPR0), redist(gic, cpu, GICR_ISENABLER0), redist(gic, cpu, GICR_ICFGR1),
                    (int) gic.getAttribute(Arm64Kvm.VGIC_GRP_LEVEL_INFO, cpu, 4), redist(gic, cpu, GICR_ISPENDR0),
                    redist(gic, cpu, GICR_ISACTIVER0), prio, icc(gic, cpu, ICC_SRE_EL1), iccCtlr,
                    icc(gic, cpu, ICC_IGRPEN0_EL1), icc(gic, cpu, ICC_IGRPEN1_EL1), icc(gic, cpu, ICC_PMR_EL1),
                    icc(gic, cpu, ICC_BPR0_EL1), icc(gic, cpu, ICC_BPR1_EL1), ap0, ap1));
        }
        return new Gicv3State(nrIrqs, ctlr, group, enabled, pending, active, level, config, priority, router, cpus);
    }

    /** Gives an initialised vGIC the state {@link #saveGic} took, in QEMU's order (see the class comment). */
    static void restoreGic(KvmDevice gic, Gicv3State s, List<Long> mpidrs) {
        try {
            setDist(gic, GICD_CTLR, s.distCtlr());
            for (int n = 0; n < mpidrs.size(); n++) {
                long cpu = Arm64Kvm.vgicMpidrAttr(mpidrs.get(n));
                Gicv3State.Cpu c = s.cpus().get(n);
                if ((redist64(gic, cpu, GICR_TYPER) & GICR_TYPER_PLPIS) != 0) {
                    // The LPI tables' bases before GICR_CTLR, whose EnableLPIs freezes them.
                    setRedist64(gic, cpu, GICR_PROPBASER, c.propbaser());
                    setRedist64(gic, cpu, GICR_PENDBASER, c.pendbaser());
                }
            }
            for (int n = 0; n < mpidrs.size(); n++) {
                long cpu = Arm64Kvm.vgicMpidrAttr(mpidrs.get(n));
                Gicv3State.Cpu c = s.cpus().get(n);
                setRedist(gic, cpu, GICR_CTLR, c.ctlr());
                setRedist(gic, cpu, GICR_IGROUPR0, c.group0());
                setRedist(gic, cpu, GICR_ICENABLER0, ~0);
                setRedist(gic, cpu, GICR_ISENABLER0, c.enabled0());
                setRedist(gic, cpu, GICR_ICFGR1, c.config1());
                gic.setAttribute(Arm64Kvm.VGIC_GRP_LEVEL_INFO, cpu, Integer.toUnsignedLong(c.level0()), 4);
                setRedist(gic, cpu, GICR_ICPENDR0, ~0);
                setRedist(gic, cpu, GICR_ISPENDR0, c.pending0());
                setRedist(gic, cpu, GICR_ICACTIVER0, ~0);
                setRedist(gic, cpu, GICR_ISACTIVER0, c.active0());
                for (int i = 0; i < c.priority().length; i++) {
                    setRedist(gic, cpu, GICR_IPRIORITYR0 + 4 * i, c.priority()[i]);
                }
            }
            long firstCpu = Arm64Kvm.vgicMpidrAttr(mpidrs.get(0));
            putBitmap(gic, GICD_ISENABLER + 4, GICD_ICENABLER + 4, s.spiEnabled());
            putBitmap(gic, GICD_IGROUPR + 4, -1, s.spiGroup());
            for (int i = 0; i < s.spiRouter().length; i++) {
                int offset = GICD_IROUTER + 8 * (Arm64Kvm.SPI_BASE + i);
                setDist(gic, offset, (int) s.spiRouter()[i]);
                setDist(gic, offset + 4, (int) (s.spiRouter()[i] >>> 32));
            }
            putBitmap(gic, GICD_ICFGR + 8, -1, s.spiConfig());
            for (int i = 0; i < s.spiLevel().length; i++) {
                gic.setAttribute(Arm64Kvm.VGIC_GRP_LEVEL_INFO, firstCpu | (Arm64Kvm.SPI_BASE + 32L * i),
                        Integer.toUnsignedLong(s.spiLevel()[i]), 4);
            }
            putBitmap(gic, GICD_ISPENDR + 4, GICD_ICPENDR + 4, s.spiPending());
            putBitmap(gic, GICD_ISACTIVER + 4, GICD_ICACTIVER + 4, s.spiActive());
            putBitmap(gic, GICD_IPRIORITYR + Arm64Kvm.SPI_BASE, -1, s.spiPriority());
            for (int n = 0; n < mpidrs.size(); n++) {
                long cpu = Arm64Kvm.vgicMpidrAttr(mpidrs.get(n));
                Gicv3State.Cpu c = s.cpus().get(n);
                // SRE first: it decides whether the others are reachable as system registers.
                setIcc(gic, cpu, ICC_SRE_EL1, c.iccSre());
                setIcc(gic, cpu, ICC_CTLR_EL1, c.iccCtlr());
                setIcc(gic, cpu, ICC_IGRPEN0_EL1, c.iccIgrpen0());
                setIcc(gic, cpu, ICC_IGRPEN1_EL1, c.iccIgrpen1());
                setIcc(gic, cpu, ICC_PMR_EL1, c.iccPmr());
                setIcc(gic, cpu, ICC_BPR0_EL1, c.iccBpr0());
                setIcc(gic, cpu, ICC_BPR1_EL1, c.iccBpr1());
                int here = Gicv3State.Cpu.activePriorityRegisters(icc(gic, cpu, ICC_CTLR_EL1));
                if (here != c.iccAp0r().length) {
                    throw new SnapshotException("snapshot: vCPU " + n + "'s GIC CPU interface had "
                            + c.iccAp0r().length + " active-priority registers per group, this host's has " + here);
                }
                for (int i = 0; i < c.iccAp0r().length; i++) {
                    setIcc(gic, cpu, iccAp0r(i), c.iccAp0r()[i]);
                    setIcc(gic, cpu, iccAp1r(i), c.iccAp1r()[i]);
                }
            }
        } catch (ErrnoException e) {
            throw new SnapshotException("snapshot: restoring the vGIC: " + e.getMessage(), e);
        }
    }

    private static void putBitmap(KvmDevice gic, int setOffset, int clearOffset, int[] words) {
        for (int i = 0; i < words.length; i++) {
            if (clearOffset >= 0) {
                setDist(gic, clearOffset + 4 * i, ~0);
            }
            setDist(gic, setOffset + 4 * i, words[i]);
        }
    }

    private static int[] distWords(KvmDevice gic, int offset, int n) {
        int[] v = new int[n];
        for (int i = 0; i < n; i++) {
            v[i] = dist(gic, offset + 4 * i);
        }
        return v;
    }

    private static int dist(KvmDevice gic, int offset) {
        return (int) gic.getAttribute(Arm64Kvm.VGIC_GRP_DIST_REGS, offset, 4);
    }

    private static void setDist(KvmDevice gic, int offset, int value) {
        gic.setAttribute(Arm64Kvm.VGIC_GRP_DIST_REGS, offset, Integer.toUnsignedLong(value), 4);
    }

    private static int redist(KvmDevice gic, long cpu, int offset) {
        return (int) gic.getAttribute(Arm64Kvm.VGIC_GRP_REDIST_REGS, cpu | offset, 4);
    }

    private static long redist64(KvmDevice gic, long cpu, int offset) {
        return Integer.toUnsignedLong(redist(gic, cpu, offset)) | (long) redist(gic, cpu, offset + 4) << 32;
    }

    private static void setRedist(KvmDevice gic, long cpu, int offset, int value) {
        gic.setAttribute(Arm64Kvm.VGIC_GRP_REDIST_REGS, cpu | offset, Integer.toUnsignedLong(value), 4);
    }

    private static void setRedist64(KvmDevice gic, long cpu, int offset, long value) {
        setRedist(gic, cpu, offset, (int) value);
        setRedist(gic, cpu, offset + 4, (int) (value >>> 32));
    }

    private static long icc(KvmDevice gic, long cpu, long register) {
        return gic.getAttribute(Arm64Kvm.VGIC_GRP_CPU_SYSREGS, cpu | register, 8);
    }

    private static void setIcc(KvmDevice gic, long cpu, long register, long value) {
        gic.setAttribute(Arm64Kvm.VGIC_GRP_CPU_SYSREGS, cpu | register, value, 8);
    }
}
