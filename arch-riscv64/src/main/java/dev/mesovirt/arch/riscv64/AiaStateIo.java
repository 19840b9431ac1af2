package dev.mesovirt.arch.riscv64;

import dev.mesovirt.vmm.kvm.KvmDevice;
import dev.mesovirt.vmm.snapshot.SnapshotException;
import dev.mesovirt.vmm.sys.ErrnoException;
import java.util.ArrayList;
import java.util.List;

/**
 * Takes and gives back {@link AiaState} through the AIA device's APLIC and IMSIC attribute groups (KVM reads and
 * writes them as the guest's MMIO and iselect accesses would; the IMSIC's wherever its file lives, in a hardware
 * guest file or in KVM's software file). A restore, on an initialised AIA: every hart's IMSIC file first, then the
 * APLIC's sources (configuration before target, enable and pending, since a source's mode decides what pending means),
 * its domain configuration last, so that no source is delivered before the IMSIC files hold what they held.
 */
final class AiaStateIo {
    private AiaStateIo() {}

    static AiaState save(KvmDevice aia, int sources, int ids, int vcpus) {
        int[] sourcecfg = new int[sources];
        int[] target = new int[sources];
        for (int i = 0; i < sources; i++) {
            sourcecfg[i] = aplic(aia, RiscvKvm.APLIC_SOURCECFG_BASE + 4 * i);
            target[i] = aplic(aia, RiscvKvm.APLIC_TARGET_BASE + 4 * i);
        }
        int words = AiaState.aplicWords(sources);
        int[] pending = new int[words];
        int[] enabled = new int[words];
        for (int i = 0; i < words; i++) {
            pending[i] = aplic(aia, RiscvKvm.APLIC_SETIP_BASE + 4 * i);
            enabled[i] = aplic(aia, RiscvKvm.APLIC_SETIE_BASE + 4 * i);
        }
        int regs = AiaState.imsicRegisters(ids);
        List<AiaState.Imsic> harts = new ArrayList<>(vcpus);
        for (int h = 0; h < vcpus; h++) {
            long[] eip = new long[regs];
            long[] eie = new long[regs];
            for (int i = 0; i < regs; i++) {
                eip[i] = imsic(aia, h, RiscvKvm.IMSIC_EIP0 + 2 * i);
                eie[i] = imsic(aia, h, RiscvKvm.IMSIC_EIE0 + 2 * i);
            }
            harts.add(new AiaState.Imsic(imsic(aia, h, RiscvKvm.IMSIC_EIDELIVERY),
                    imsic(aia, h, RiscvKvm.IMSIC_EITHRESHOLD), eip, eie));
        }
        return new AiaState(sources, ids, aplic(aia, RiscvKvm.APLIC_DOMAINCFG), sourcecfg, target, pending, enabled,
                harts);
    }

    static void restore(KvmDevice aia, AiaState s) {
        try {
            for (int h = 0; h < s.harts().size(); h++) {
                AiaState.Imsic f = s.harts().get(h);
                for (int i = 0; i < f.eip().length; i++) {
                    setImsic(aia, h, RiscvKvm.IMSIC_EIE0 + 2 * i, f.eie()[i]);
                    setImsic(aia, h, RiscvKvm.IMSIC_EIP0 + 2 * i, f.eip()[i]);
                }
                setImsic(aia, h, RiscvKvm.IMSIC_EITHRESHOLD, f.eithreshold());
                setImsic(aia, h, RiscvKvm.IMSIC_EIDELIVERY, f.eidelivery());
            }
            for (int i = 0; i < s.sources(); i++) {
                setAplic(aia, RiscvKvm.APLIC_SOURCECFG_BASE + 4 * i, s.sourcecfg()[i]);
                setAplic(aia, RiscvKvm.APLIC_TARGET_BASE + 4 * i, s.target()[i]);
            }
            for (int i = 0; i < s.enabled().length; i++) {
                setAplic(aia, RiscvKvm.APLIC_CLRIE_BASE + 4 * i, ~0);
                setAplic(aia, RiscvKvm.APLIC_SETIE_BASE + 4 * i, s.enabled()[i]);
                setAplic(aia, RiscvKvm.APLIC_CLRIP_BASE + 4 * i, ~0);
                setAplic(aia, RiscvKvm.APLIC_SETIP_BASE + 4 * i, s.pending()[i]);
            }
            setAplic(aia, RiscvKvm.APLIC_DOMAINCFG, s.domaincfg());
        } catch (ErrnoException e) {
            throw new SnapshotException("snapshot: restoring the AIA: " + e.getMessage(), e);
        }
    }

    private static int aplic(KvmDevice aia, int offset) {
        return (int) aia.getAttribute(RiscvKvm.AIA_GRP_APLIC, offset, 4);
    }

    private static void setAplic(KvmDevice aia, int offset, int value) {
        aia.setAttribute(RiscvKvm.AIA_GRP_APLIC, offset, Integer.toUnsignedLong(value), 4);
    }

    private static long imsic(KvmDevice aia, int hart, int isel) {
        return aia.getAttribute(RiscvKvm.AIA_GRP_IMSIC, RiscvKvm.imsicAttr(hart, isel), 8);
    }

    private static void setImsic(KvmDevice aia, int hart, int isel, long value) {
        aia.setAttribute(RiscvKvm.AIA_GRP_IMSIC, RiscvKvm.imsicAttr(hart, isel), value, 8);
    }
}
