package dev.mesovirt.arch.x86_64;

import com.sun.jna.Memory;
import dev.mesovirt.vmm.kvm.Kvm;
import dev.mesovirt.vmm.sys.ErrnoException;
import java.util.ArrayList;
import java.util.List;

/**
 * The CPUID a vCPU sees: what KVM supports on this host (KVM_GET_SUPPORTED_CPUID), adjusted per vCPU for its APIC
 * ID and the machine's topology (one socket, one thread per core, {@code count} cores), with the hypervisor bit
 * set. The adjustment is plain data in, plain data out, so it is unit-tested without KVM.
 */
public final class CpuidTable {
    private static final int E2BIG = 7;
    private static final int MAX_ENTRIES = 1024;

    private CpuidTable() {}

    /** Reads KVM_GET_SUPPORTED_CPUID, growing the buffer until the kernel's list fits. */
    public static List<CpuidEntry> supported(Kvm kvm) {
        for (int n = 128; n <= MAX_ENTRIES; n *= 2) {
            try (Memory m = new Memory(X86Ioctls.CPUID2_HEADER_SIZE + (long) n * X86Ioctls.CPUID_ENTRY2_SIZE)) {
                m.clear();
                m.setInt(0, n);
                try {
                    kvm.ioctl(X86Ioctls.GET_SUPPORTED_CPUID, m, "KVM_GET_SUPPORTED_CPUID");
                } catch (ErrnoException e) {
                    if (e.errno() == E2BIG) {
                        continue;
                    }
                    throw e;
                }
                int count = m.getInt(0);
                List<CpuidEntry> entries = new ArrayList<>(count);
                for (int i = 0; i < count; i++) {
                    long o = X86Ioctls.CPUID2_HEADER_SIZE + (long) i * X86Ioctls.CPUID_ENTRY2_SIZE;
                    entries.add(new CpuidEntry(m.getInt(o), m.getInt(o + 4), m.getInt(o + 8), m.getInt(o + 12),
                            m.getInt(o + 16), m.getInt(o + 20), m.getInt(o + 24)));
                }
                return entries;
            }
        }
        throw new IllegalStateException("KVM_GET_SUPPORTED_CPUID returned more than " + MAX_ENTRIES + " entries");
    }

    /** The entries for vCPU {@code apicId} of a machine with {@code count} vCPUs. */
    public static List<CpuidEntry> forVcpu(List<CpuidEntry> supported, int apicId, int count) {
        int coreBits = 32 - Integer.numberOfLeadingZeros(Math.max(count - 1, 0));
        List<CpuidEntry> out = new ArrayList<>(supported.size() + 3);
        java.util.Set<Integer> topologyLeaves = new java.util.TreeSet<>();
        for (CpuidEntry e : supported) {
            switch (e.function()) {
                case 0x1 -> {
                    // EBX: APIC ID in 31:24, logical processors per package in 23:16, CLFLUSH line (8 qwords).
                    int ebx = (e.ebx() & 0xff) | (8 << 8) | (Math.min(count, 255) << 16) | (apicId << 24);
                    int ecx = e.ecx() | (1 << 31); // running under a hypervisor
                    int edx = count > 1 ? e.edx() | (1 << 28) : e.edx() & ~(1 << 28); // HTT: multi-core package
                    out.add(e.withRegisters(e.eax(), ebx, ecx, edx));
                }
                case 0x4 -> {
                    // Deterministic cache parameters: cores per package - 1 in EAX 31:26; caches private per core.
                    if ((e.eax() & 0x1f) == 0) {
                        out.add(e);
                    } else {
                        int eax = (e.eax() & 0x3fff) | ((count - 1) << 26);
                        out.add(e.withRegisters(eax, e.ebx(), e.ecx(), e.edx()));
                    }
                }
                case 0xb, 0x1f -> topologyLeaves.add(e.function()); // rebuilt below from our topology
                case 0x80000008 -> {
                    // AMD: NC (cores - 1) in ECX 7:0, ApicIdCoreIdSize in 15:12.
                    int ecx = (e.ecx() & ~0xf0ff) | ((count - 1) & 0xff) | (coreBits << 12);
                    out.add(e.withRegisters(e.eax(), e.ebx(), ecx, e.edx()));
                }
                case 0x8000001e -> out.add(e.withRegisters(apicId, apicId & 0xff, 0, 0)); // AMD extended APIC ID
                default -> out.add(e);
            }
        }
        for (int leaf : topologyLeaves) {
            // Leaves 0xB/0x1F: level 0 is SMT (one thread per core), level 1 the cores of the package; EDX is the
            // x2APIC ID. A third, invalid level ends the enumeration.
            int f = CpuidEntry.FLAG_SIGNIFICANT_INDEX;
            out.add(new CpuidEntry(leaf, 0, f, 0, 1, (1 << 8), apicId));
            out.add(new CpuidEntry(leaf, 1, f, coreBits, count, (2 << 8) | 1, apicId));
            out.add(new CpuidEntry(leaf, 2, f, 0, 0, 2, apicId));
        }
        return out;
    }

    /** Writes a struct kvm_cpuid2 with these entries. */
    static Memory toNative(List<CpuidEntry> entries) {
        Memory m = new Memory(X86Ioctls.CPUID2_HEADER_SIZE + (long) entries.size() * X86Ioctls.CPUID_ENTRY2_SIZE);
        m.clear();
        m.setInt(0, entries.size());
        for (int i = 0; i < entries.size(); i++) {
            CpuidEntry e = entries.get(i);
            long o = X86Ioctls.CPUID2_HEADER_SIZE + (long) i * X86Ioctls.CPUID_ENTRY2_SIZE;
            m.setInt(o, e.function());
            m.setInt(o + 4, e.index());
            m.setInt(o + 8, e.flags());
            m.setInt(o + 12, e.eax());
            m.setInt(o + 16, e.ebx());
            m.setInt(o + 20, e.ecx());
            m.setInt(o + 24, e.edx());
        }
        return m;
    }
}
