package dev.mesovirt.arch.aarch64;

import dev.mesovirt.vmm.arch.Irq;
import dev.mesovirt.vmm.arch.IrqChip;
import dev.mesovirt.vmm.arch.IrqUse;
import dev.mesovirt.vmm.kvm.GsiRoute;
import dev.mesovirt.vmm.kvm.KvmDevice;
import dev.mesovirt.vmm.kvm.Vm;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * KVM's in-kernel GICv3 ({@code KVM_CREATE_DEVICE} type 7): distributor and redistributor addresses and the number
 * of interrupts are set when the chip is created, before any vCPU exists; {@code CTRL_INIT} follows once every vCPU
 * has been created and initialised ({@link #finishAfterVcpus}).
 *
 * <p>Interrupt numbering: SPI {@code n} (counted from 0, the device tree's GIC_SPI number) is INTID {@code 32 + n}.
 * KVM_IRQ_LINE takes {@code KVM_ARM_IRQ_TYPE_SPI << 24 | INTID}; irqfd's default routing, which KVM installs with
 * the vGIC, maps GSI {@code n} to SPI {@code n}. The UART always has SPI 0; virtio devices get SPIs 1, 2, ...; the
 * PL061 power button has SPI {@value #POWER_BUTTON_SPI}, the first after every virtio-mmio slot's.
 *
 * <p>Trigger modes: the UART drives its line with KVM_IRQ_LINE and holds it high while it wants service, so it is
 * level-high. Virtio devices are signalled through irqfd, which injects a pulse (assert and de-assert at once):
 * that is only reliable on an edge-triggered line (on a level one the vGIC may drop an interrupt whose line fell
 * before a vCPU took it), and edge-rising is what QEMU's virt, Firecracker and kvmtool declare for virtio-mmio.
 * The PL061 holds its GPIOINTR high while an enabled interrupt is pending (KVM_IRQ_LINE too): level-high.
 *
 * <p>On the standard machine the GIC has an ITS ({@code KVM_DEV_TYPE_ARM_VGIC_ITS}): PCI MSIs are writes of an event
 * ID to its GITS_TRANSLATER, which KVM turns into LPIs by the requester's device ID, so every MSI route carries
 * {@code KVM_MSI_VALID_DEVID}. MSI routes are numbered after the SPIs' default routes (GSI n = SPI n).
 */
final class Gicv3 implements IrqChip {
    /** The UART's SPI number. */
    static final int SERIAL_SPI = 0;
    static final int FIRST_VIRTIO_SPI = 1;
    /** The PL061's SPI: fixed, after the virtio-mmio slots' (which the allocator skips should it get that far). */
    static final int POWER_BUTTON_SPI = FIRST_VIRTIO_SPI + Aarch64Architecture.VIRTIO_MMIO_SLOTS;
    /** The standard machine's PL031 RTC: fixed, after the power button's (the allocator skips it too). */
    static final int RTC_SPI = POWER_BUTTON_SPI + 1;

    private final KvmDevice device;
    private final int nrIrqs;
    private final String description;
    /** The ITS and the guest address of its frame, on the standard machine. */
    private final Optional<KvmDevice> its;
    private final OptionalLong itsBase;
    private int nextSpi = FIRST_VIRTIO_SPI;

    Gicv3(KvmDevice device, int nrIrqs, String description) {
        this(device, nrIrqs, description, Optional.empty(), OptionalLong.empty());
    }

    Gicv3(KvmDevice device, int nrIrqs, String description, Optional<KvmDevice> its, OptionalLong itsBase) {
        this.device = device;
        this.nrIrqs = nrIrqs;
        this.description = description;
        this.its = its;
        this.itsBase = itsBase;
    }

    /**
     * Creates the vGIC and, with {@code itsBase}, its ITS. The ITS must exist before the GIC's CTRL_INIT, which is
     * when KVM decides whether the redistributors support LPIs.
     */
    static Gicv3 create(Vm vm, long distributor, long redistributor, int nrIrqs, OptionalLong itsBase) {
        validateNrIrqs(nrIrqs);
        KvmDevice gic = vm.createDevice(Arm64Kvm.DEV_TYPE_ARM_VGIC_V3);
        gic.setAttribute(Arm64Kvm.VGIC_GRP_ADDR, Arm64Kvm.VGIC_V3_ADDR_TYPE_DIST, distributor, 8);
        gic.setAttribute(Arm64Kvm.VGIC_GRP_ADDR, Arm64Kvm.VGIC_V3_ADDR_TYPE_REDIST, redistributor, 8);
        gic.setAttribute(Arm64Kvm.VGIC_GRP_NR_IRQS, 0, nrIrqs, 4);
        Optional<KvmDevice> its = Optional.empty();
        if (itsBase.isPresent()) {
            KvmDevice d = vm.createDevice(Arm64Kvm.DEV_TYPE_ARM_VGIC_ITS);
            d.setAttribute(Arm64Kvm.VGIC_GRP_ADDR, Arm64Kvm.VGIC_ITS_ADDR_TYPE, itsBase.getAsLong(), 8);
            its = Optional.of(d);
        }
        return new Gicv3(gic, nrIrqs, String.format("KVM in-kernel vGICv3 (GICD 0x%x, GICR 0x%x, %d SPIs%s)",
                distributor, redistributor, nrIrqs - Arm64Kvm.SPI_BASE,
                itsBase.isPresent() ? String.format(", ITS 0x%x", itsBase.getAsLong()) : ""), its, itsBase);
    }

    /** KVM accepts 64..1024 interrupts in multiples of 32 (the first 32 being SGIs and PPIs). */
    static void validateNrIrqs(int nrIrqs) {
        if (nrIrqs < 64 || nrIrqs > 1024 || nrIrqs % 32 != 0) {
            throw new IllegalArgumentException("the vGIC's interrupt count must be 64..1024 and a multiple of 32: "
                    + nrIrqs);
        }
    }

    /** The three numbers of SPI {@code spi}. */
    static Irq spi(int spi, boolean levelTriggered) {
        int intid = Arm64Kvm.SPI_BASE + spi;
        return new Irq(spi, Arm64Kvm.spiIrqLine(intid), spi, levelTriggered);
    }

    @Override
    public synchronized Irq allocate(IrqUse use) {
        return switch (use) {
            case SERIAL -> spi(SERIAL_SPI, true);
            // PCI INTx lines are level-triggered SPIs, as on QEMU's virt board.
            case VIRTIO, PCI_INTX -> {
                while (nextSpi == POWER_BUTTON_SPI || nextSpi == RTC_SPI) {
                    nextSpi++;
                }
                if (Arm64Kvm.SPI_BASE + nextSpi >= nrIrqs) {
                    throw new IllegalArgumentException("the vGIC has no SPI left for another device ("
                            + (nrIrqs - Arm64Kvm.SPI_BASE) + " SPIs, all in use)");
                }
                yield spi(nextSpi++, use == IrqUse.PCI_INTX);
            }
            case POWER_BUTTON -> {
                if (Arm64Kvm.SPI_BASE + POWER_BUTTON_SPI >= nrIrqs) {
                    throw new IllegalArgumentException("the vGIC has no SPI " + POWER_BUTTON_SPI
                            + " for the power button (" + (nrIrqs - Arm64Kvm.SPI_BASE) + " SPIs)");
                }
                yield spi(POWER_BUTTON_SPI, true);
            }
        };
    }

    @Override
    public void finishAfterVcpus() {
        device.setAttribute(Arm64Kvm.VGIC_GRP_CTRL, Arm64Kvm.VGIC_CTRL_INIT);
        its.ifPresent(d -> d.setAttribute(Arm64Kvm.VGIC_GRP_CTRL, Arm64Kvm.VGIC_CTRL_INIT));
    }

    /** The vGIC's device, for a snapshot's register accesses. */
    KvmDevice device() {
        return device;
    }

    int nrIrqs() {
        return nrIrqs;
    }

    boolean hasIts() {
        return itsBase.isPresent();
    }

    @Override
    public boolean supportsMsi() {
        return itsBase.isPresent();
    }

    /** KVM's default routing, which a routing table must repeat: GSI n is SPI n, for every SPI. */
    @Override
    public List<GsiRoute> defaultRoutes() {
        List<GsiRoute> routes = new ArrayList<>();
        for (int spi = 0; spi < nrIrqs - Arm64Kvm.SPI_BASE; spi++) {
            routes.add(new GsiRoute.IrqchipPin(spi, 0, spi));
        }
        return routes;
    }

    @Override
    public int firstMsiGsi() {
        requireIts();
        return nrIrqs - Arm64Kvm.SPI_BASE;
    }

    /**
     * The message as the guest programmed it, for the ITS to translate by {@code deviceId} (the requester ID, which
     * the device tree's msi-map passes through unchanged). A message to another address is KVM's to refuse.
     */
    @Override
    public GsiRoute msiRoute(int gsi, long address, int data, int deviceId) {
        requireIts();
        return new GsiRoute.Msi(gsi, address, data, OptionalInt.of(deviceId));
    }

    private void requireIts() {
        if (itsBase.isEmpty()) {
            throw new IllegalStateException(description + " takes no MSIs: it has no ITS");
        }
    }

    @Override
    public String description() {
        return description;
    }
}
