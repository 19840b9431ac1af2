package dev.mesovirt.machine.standard;

import dev.mesovirt.vmm.arch.Architecture;
import dev.mesovirt.vmm.arch.DeviceDescription;
import dev.mesovirt.vmm.bus.Bus;
import dev.mesovirt.vmm.firmware.CfiFlash;
import dev.mesovirt.vmm.firmware.FlashImage;
import dev.mesovirt.vmm.firmware.FlashUnit;
import dev.mesovirt.vmm.kvm.Vm;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The standard machine's firmware flash ({@code -drive if=pflash}): the units placed where the architecture puts
 * them (x86: ending at 4 GiB, unit 0, the code, at the top and unit 1, the variable store, below it, as QEMU does;
 * arm64's virt: unit 0 at address 0, unit 1 at 64 MiB), in the architecture's bank geometry, after checking that
 * they fit there and that unit 0 is firmware for this architecture.
 */
final class FirmwareFlash implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FirmwareFlash.class);
    /** KVM memory slots of the units: above any the machine's RAM regions take (slots 0, 1, ...). */
    static final int FIRST_SLOT = 32;

    private final List<FlashUnit> units;

    private FirmwareFlash(List<FlashUnit> units) {
        this.units = units;
    }

    /** No flash: the kernel is booted directly. */
    static FirmwareFlash none() {
        return new FirmwareFlash(List.of());
    }

    /** Checks and loads {@code images}; IllegalArgumentException with a message for the user. */
    static FirmwareFlash load(Architecture arch, List<FlashImage> images) {
        if (images.isEmpty()) {
            return none();
        }
        List<FlashImage> sorted = FlashImage.checkSet(images, Long.MAX_VALUE);
        Optional<String> wrong = arch.firmwareMismatch(sorted.get(0));
        if (wrong.isPresent()) {
            throw new IllegalArgumentException("pflash unit 0 (" + sorted.get(0).file() + "): " + wrong.get());
        }
        List<Long> bases = arch.flashPlacement(sorted);
        if (bases.size() != sorted.size()) {
            throw new IllegalStateException(arch.name() + " placed " + bases.size() + " of " + sorted.size()
                    + " pflash units");
        }
        CfiFlash.Geometry geometry = arch.flashGeometry();
        List<FlashUnit> units = new ArrayList<>();
        try {
            for (int i = 0; i < sorted.size(); i++) {
                FlashImage image = sorted.get(i);
                long base = bases.get(i);
                units.add(new FlashUnit(image, base, FIRST_SLOT + image.unit(), geometry));
                LOG.info("pflash unit {}: {} ({} KiB{}) at 0x{}", image.unit(), image.file(), image.size() >> 10,
                        image.readOnly() ? ", read-only" : "", Long.toHexString(base));
            }
        } catch (RuntimeException e) {
            units.forEach(FlashUnit::close);
            throw e;
        }
        return new FirmwareFlash(List.copyOf(units));
    }

    /**
     * Checks once, on the first VM (a reset's VM is the same KVM's, and after the first start the seccomp filter
     * allows no KVM_CHECK_EXTENSION), that KVM has read-only memory slots, which the units need.
     */
    void requireReadOnlySlots(Vm vm) {
        if (present() && vm.checkExtension(dev.mesovirt.vmm.kvm.KvmCapability.READONLY_MEM) <= 0) {
            throw new IllegalArgumentException("pflash: this KVM has no read-only memory slots (KVM_CAP_READONLY_MEM)");
        }
    }

    boolean present() {
        return !units.isEmpty();
    }

    List<FlashUnit> units() {
        return units;
    }

    /** The units as the firmware's tables describe them (arm64's device tree: {@code cfi-flash}). */
    List<DeviceDescription.Flash> describe() {
        List<DeviceDescription.Flash> out = new ArrayList<>();
        for (FlashUnit u : units) {
            out.add(new DeviceDescription.Flash(u.image().unit(), u.base(), u.image().size(), u.geometry().bankWidth()));
        }
        return List.copyOf(out);
    }

    /** Maps the units into {@code vm} (the first, or the one a reset made), in Read Array mode. */
    void attach(Vm vm, Bus mmio) {
        for (FlashUnit u : units) {
            u.attach(vm, mmio);
        }
    }

    @Override
    public void close() {
        units.forEach(FlashUnit::close);
    }
}
