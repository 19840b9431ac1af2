package dev.mesovirt.arch.riscv64;

import dev.mesovirt.vmm.arch.Irq;
import dev.mesovirt.vmm.arch.IrqChip;
import dev.mesovirt.vmm.arch.IrqUse;
import dev.mesovirt.vmm.kvm.GsiRoute;
import dev.mesovirt.vmm.kvm.KvmDevice;
import dev.mesovirt.vmm.kvm.Vm;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * KVM's in-kernel AIA ({@code KVM_CREATE_DEVICE} type {@code KVM_DEV_TYPE_RISCV_AIA}): one APLIC in MSI mode whose
 * wired sources become MSIs to one IMSIC per hart. Set-up as kvmtool and Cloud Hypervisor do it: create the device,
 * read its mode and number of interrupt identities (IDS), set the mode, IDS, the number of sources, the hart index
 * bits and the APLIC address; once every vCPU exists ({@link #finishAfterVcpus}), one IMSIC address per vCPU (KVM
 * keeps it in the vCPU, so the vCPU must exist) and {@code CTRL_INIT}.
 *
 * <p>Interrupt numbering: APLIC source {@code n} (1..sources) is KVM_IRQ_LINE {@code n}, and KVM's default irq
 * routing (installed by CTRL_INIT) maps irqfd GSI {@code n} to it; the device tree names it {@code <n type>}. The
 * UART has source 1 (level-high: it holds its line while it wants service); virtio devices get 2, 3, ...
 * (edge-rising: an irqfd injects a pulse).
 *
 * <p>PCI MSIs (the standard machine's) need no translation: a device writes the interrupt identity straight into a
 * hart's IMSIC file, and KVM's MSI routes ({@code kvm_riscv_aia_inject_msi}) find the hart by that address. They are
 * numbered after the wired sources' default routes (GSI n = source n).
 */
final class Aia implements IrqChip {
    private static final Logger LOG = LoggerFactory.getLogger(Aia.class);
    static final int SERIAL_SOURCE = 1;
    static final int FIRST_VIRTIO_SOURCE = 2;

    private final KvmDevice device;
    private final AiaConfig config;
    private int nextSource = FIRST_VIRTIO_SOURCE;
    private boolean initialised;
    private volatile String description;

    /** Everything the AIA is configured with, and the device tree describes. */
    record AiaConfig(AiaMode requestedMode, int ids, int sources, int hartBits, long aplicBase, long imsicBase,
            int vcpus) {
        long imsicAddress(int vcpu) {
            return imsicBase + vcpu * RiscvKvm.IMSIC_SIZE;
        }
    }

    private Aia(KvmDevice device, AiaConfig config) {
        this.device = device;
        this.config = config;
        this.description = describe(config.requestedMode().label() + " requested");
    }

    /** The hart index bits for {@code vcpus} harts: enough to number them, at least 1 (as kvmtool). */
    static int hartBits(int vcpus) {
        int bits = vcpus <= 1 ? 0 : 32 - Integer.numberOfLeadingZeros(vcpus - 1);
        return Math.max(1, bits);
    }

    static Aia create(Vm vm, AiaMode mode, int sources, long aplicBase, long imsicBase, int vcpus) {
        if (sources < 1 || sources > RiscvKvm.AIA_SRCS_MAX) {
            throw new IllegalArgumentException("APLIC sources must be 1.." + RiscvKvm.AIA_SRCS_MAX + ": " + sources);
        }
        KvmDevice aia = vm.createDevice(RiscvKvm.DEV_TYPE_RISCV_AIA);
        long kvmMode = aia.getAttribute(RiscvKvm.AIA_GRP_CONFIG, RiscvKvm.AIA_CONFIG_MODE, 4);
        int ids = (int) aia.getAttribute(RiscvKvm.AIA_GRP_CONFIG, RiscvKvm.AIA_CONFIG_IDS, 4);
        LOG.debug("KVM AIA defaults: mode {}, {} interrupt identities", kvmMode, ids);
        try {
            aia.setAttribute(RiscvKvm.AIA_GRP_CONFIG, RiscvKvm.AIA_CONFIG_MODE, mode.kvmValue(), 4);
        } catch (RuntimeException e) {
            aia.close();
            throw new IllegalArgumentException("the host's KVM refuses AIA mode " + mode.label()
                    + (mode == AiaMode.HWACCEL ? " (the host harts have no guest interrupt files)" : "") + ": "
                    + e.getMessage(), e);
        }
        aia.setAttribute(RiscvKvm.AIA_GRP_CONFIG, RiscvKvm.AIA_CONFIG_IDS, ids, 4);
        aia.setAttribute(RiscvKvm.AIA_GRP_CONFIG, RiscvKvm.AIA_CONFIG_SRCS, sources, 4);
        int hartBits = hartBits(vcpus);
        aia.setAttribute(RiscvKvm.AIA_GRP_CONFIG, RiscvKvm.AIA_CONFIG_HART_BITS, hartBits, 4);
        aia.setAttribute(RiscvKvm.AIA_GRP_ADDR, RiscvKvm.AIA_ADDR_APLIC, aplicBase, 8);
        return new Aia(aia, new AiaConfig(mode, ids, sources, hartBits, aplicBase, imsicBase, vcpus));
    }

    /** An allocator without a KVM device (unit tests; {@link #finishAfterVcpus} must not be called). */
    static Aia forTests(AiaConfig config) {
        return new Aia(null, config);
    }

    AiaConfig config() {
        return config;
    }

    static Irq source(int n, boolean levelTriggered) {
        return new Irq(n, n, n, levelTriggered);
    }

    @Override
    public synchronized Irq allocate(IrqUse use) {
        return switch (use) {
            case SERIAL -> source(SERIAL_SOURCE, true);
            // PCI INTx lines are level-triggered wired sources, as on QEMU's virt board.
            case VIRTIO, PCI_INTX -> {
                if (nextSource > config.sources()) {
                    throw new IllegalArgumentException("the APLIC has no source left for another device ("
                            + config.sources() + " sources, all in use)");
                }
                yield source(nextSource++, use == IrqUse.PCI_INTX);
            }
            // QEMU's riscv64 virt board has no power button either: the guest powers off through SBI.
            case POWER_BUTTON -> throw new IllegalArgumentException("the riscv64 machine has no power button");
        };
    }

    /** The AIA's device, for a snapshot's register accesses. */
    KvmDevice device() {
        return device;
    }

    /**
     * IMSIC addresses and CTRL_INIT, once: a restore initialises the AIA itself (KVM takes its registers only then)
     * before the machine's own call, which then does nothing (KVM refuses addresses after CTRL_INIT).
     */
    @Override
    public synchronized void finishAfterVcpus() {
        if (initialised) {
            return;
        }
        initialised = true;
        for (int i = 0; i < config.vcpus(); i++) {
            device.setAttribute(RiscvKvm.AIA_GRP_ADDR, RiscvKvm.aiaAddrImsic(i), config.imsicAddress(i), 8);
        }
        device.setAttribute(RiscvKvm.AIA_GRP_CTRL, RiscvKvm.AIA_CTRL_INIT);
        String actual;
        try {
            actual = AiaMode.ofKvm(device.getAttribute(RiscvKvm.AIA_GRP_CONFIG, RiscvKvm.AIA_CONFIG_MODE, 4)).label();
        } catch (RuntimeException e) {
            actual = "?";
        }
        // KVM keeps the mode as set (auto stays auto: it picks hardware IMSIC files per hart when a vCPU loads).
        description = describe(config.requestedMode().label() + " requested, KVM reports " + actual);
        LOG.info("KVM AIA initialised: {}", description);
    }

    private String describe(String mode) {
        return String.format("KVM in-kernel AIA (APLIC 0x%x with %d sources, %d IMSICs from 0x%x with %d IDs, "
                + "hart bits %d; mode %s)", config.aplicBase(), config.sources(), config.vcpus(), config.imsicBase(),
                config.ids(), config.hartBits(), mode);
    }

    @Override
    public boolean supportsMsi() {
        return true;
    }

    /** KVM's default routing, which CTRL_INIT installs and a routing table must repeat: GSI n is APLIC source n. */
    @Override
    public List<GsiRoute> defaultRoutes() {
        List<GsiRoute> routes = new ArrayList<>();
        for (int source = 0; source <= config.sources(); source++) {
            routes.add(new GsiRoute.IrqchipPin(source, 0, source));
        }
        return routes;
    }

    @Override
    public int firstMsiGsi() {
        return config.sources() + 1;
    }

    /** The message as the guest programmed it: an IMSIC file's address and an interrupt identity; no device ID. */
    @Override
    public GsiRoute msiRoute(int gsi, long address, int data, int deviceId) {
        return new GsiRoute.Msi(gsi, address, data, OptionalInt.empty());
    }

    /**
     * No: kvm_arch_set_irq_inatomic (arch/riscv/kvm/vm.c) injects an irqfd's level 1 into the APLIC and never the
     * level 0, so an edge-triggered source saw its first virtio interrupt only (the guest then hung on its disk).
     */
    @Override
    public boolean irqfdPulsesEdges() {
        return false;
    }

    @Override
    public String description() {
        return description;
    }
}
