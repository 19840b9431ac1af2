package dev.mesovirt.arch.riscv64;

import dev.mesovirt.vmm.kvm.Kvm;
import dev.mesovirt.vmm.kvm.Vcpu;
import dev.mesovirt.vmm.kvm.Vm;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a KVM vCPU of this host looks like to its guest, read through ONE_REG: the base ISA letters (CONFIG isa, a
 * bitmap with bit {@code c - 'a'} for letter c), the multi-letter ISA extensions KVM enables (ISA_EXT, one register
 * per extension: 1 enabled), the timer frequency (the device tree's {@code timebase-frequency}), the Zicbom/Zicboz
 * block sizes and the satp mode. The device tree is written before the machine's vCPUs exist, so {@link #probe}
 * asks a throw-away VM with one vCPU (KVM gives every vCPU of a host the same defaults).
 *
 * @param isaBitmap CONFIG isa: single-letter extensions
 * @param extensions the multi-letter extensions KVM reports enabled, in KVM's id order
 * @param timebaseFrequency the guest's timer frequency in Hz
 * @param cbomBlockSize Zicbom block size in bytes (0 if unknown)
 * @param cbozBlockSize Zicboz block size in bytes (0 if unknown)
 * @param satpMode the satp MODE KVM's guests may use (8 Sv39, 9 Sv48, 10 Sv57; 0 if unknown)
 */
public record HostCpu(long isaBitmap, List<String> extensions, long timebaseFrequency, long cbomBlockSize,
        long cbozBlockSize, long satpMode) {
    private static final Logger LOG = LoggerFactory.getLogger(HostCpu.class);
    /** The canonical order of single-letter extensions in an ISA string (RISC-V unprivileged spec, naming chapter). */
    static final String CANONICAL_ORDER = "imafdqlcbkjtpvh";

    public HostCpu {
        extensions = List.copyOf(extensions);
        Objects.requireNonNull(extensions);
        if ((isaBitmap & (1L << ('i' - 'a'))) == 0) {
            throw new IllegalArgumentException("the vCPU's ISA lacks the base integer set I: 0x"
                    + Long.toHexString(isaBitmap));
        }
        if (timebaseFrequency <= 0) {
            throw new IllegalArgumentException("the vCPU's timer frequency must be positive: " + timebaseFrequency);
        }
    }

    /** The single letters of {@link #isaBitmap}, lower case, in canonical order (then any others alphabetically). */
    public List<String> letters() {
        List<String> out = new ArrayList<>();
        for (char c : CANONICAL_ORDER.toCharArray()) {
            if ((isaBitmap & (1L << (c - 'a'))) != 0) {
                out.add(String.valueOf(c));
            }
        }
        for (char c = 'a'; c <= 'z'; c++) {
            if (CANONICAL_ORDER.indexOf(c) < 0 && (isaBitmap & (1L << (c - 'a'))) != 0) {
                out.add(String.valueOf(c));
            }
        }
        return out;
    }

    /** The legacy {@code riscv,isa} string, e.g. {@code rv64imafdc_zicsr_zifencei_sstc}. */
    public String isaString() {
        StringBuilder sb = new StringBuilder("rv64");
        letters().forEach(sb::append);
        for (String e : extensions) {
            sb.append('_').append(e);
        }
        return sb.toString();
    }

    /** {@code riscv,isa-extensions}: the letters then the multi-letter extensions. */
    public List<String> isaExtensions() {
        List<String> out = new ArrayList<>(letters());
        out.addAll(extensions);
        return out;
    }

    /** Reads the defaults of a vCPU of a throw-away VM. */
    public static HostCpu probe(Kvm kvm) {
        try (Vm vm = kvm.createVm(0); Vcpu vcpu = vm.createVcpu(0)) {
            return read(vcpu);
        }
    }

    static HostCpu read(Vcpu vcpu) {
        long isa = vcpu.getOneReg(RiscvKvm.CONFIG_ISA);
        List<String> exts = new ArrayList<>();
        for (int id = 0; id < RiscvKvm.ISA_EXTENSIONS.size(); id++) {
            String name = RiscvKvm.ISA_EXTENSIONS.get(id);
            if (RiscvKvm.isSingleLetter(name)) {
                continue; // CONFIG isa has them
            }
            long enabled = optional(vcpu, RiscvKvm.isaExtension(id));
            if (enabled == 1) {
                exts.add(name);
            }
        }
        long freq = vcpu.getOneReg(RiscvKvm.TIMER_FREQUENCY);
        long cbom = exts.contains("zicbom") ? optional(vcpu, RiscvKvm.CONFIG_ZICBOM_BLOCK_SIZE) : 0;
        long cboz = exts.contains("zicboz") ? optional(vcpu, RiscvKvm.CONFIG_ZICBOZ_BLOCK_SIZE) : 0;
        long satp = optional(vcpu, RiscvKvm.CONFIG_SATP_MODE);
        HostCpu cpu = new HostCpu(isa, exts, freq, Math.max(0, cbom), Math.max(0, cboz), Math.max(0, satp));
        LOG.debug("KVM vCPU: {}, timebase {} Hz, satp mode {}", cpu.isaString(), freq, satp);
        return cpu;
    }

    /** A register this host's KVM may not have (older kernels know fewer extensions): -1 when it has not. */
    private static long optional(Vcpu vcpu, long id) {
        try {
            return vcpu.getOneReg(id);
        } catch (RuntimeException e) {
            return -1;
        }
    }
}
