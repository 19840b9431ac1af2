package dev.mesovirt.arch.aarch64;

import dev.mesovirt.vmm.arch.BootRequest;
import dev.mesovirt.vmm.arch.BusKind;
import dev.mesovirt.vmm.arch.DeviceDescription;
import dev.mesovirt.vmm.arch.Irq;
import dev.mesovirt.vmm.arch.IrqUse;
import dev.mesovirt.vmm.arch.MemoryLayout;
import dev.mesovirt.vmm.arch.PlatformDevice;
import dev.mesovirt.vmm.arch.PowerButton;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Machines as the neutral LightMachine describes them to the architecture. */
final class Fixtures {
    private Fixtures() {}

    static final Aarch64Architecture ARCH = new Aarch64Architecture();

    /** The serial port and {@code virtioSlots} virtio-mmio slots, with interrupts from a GIC allocator. */
    static List<DeviceDescription> devices(MemoryLayout layout, int virtioSlots) {
        return devices(layout, virtioSlots, false);
    }

    /**
     * As {@link #devices(MemoryLayout, int)}, plus, with {@code powerButton}, the PL061 as the machine describes it:
     * found among {@link Aarch64Architecture#platformDevices}'s results (no Vm: its line is never driven here).
     */
    static List<DeviceDescription> devices(MemoryLayout layout, int virtioSlots, boolean powerButton) {
        Gicv3 gic = new Gicv3(null, Aarch64Architecture.GIC_NR_IRQS, "test");
        List<DeviceDescription> d = new ArrayList<>();
        if (powerButton) {
            for (PlatformDevice p : ARCH.platformDevices(null, layout, gic, null)) {
                if (p.device() instanceof PowerButton b) {
                    d.add(new DeviceDescription.PowerButton(p.bus(), p.base(), p.length(), b.irq()));
                }
            }
        }
        MemoryLayout.SerialPlacement sp = layout.serial();
        d.add(new DeviceDescription.Serial(sp.bus(), sp.base(), sp.registerShift(), gic.allocate(IrqUse.SERIAL)));
        for (int i = 0; i < virtioSlots; i++) {
            Irq irq = gic.allocate(IrqUse.VIRTIO);
            d.add(new DeviceDescription.VirtioMmio(layout.virtioMmioSlot(i), layout.virtioMmioSlotSize(), irq));
        }
        return d;
    }

    static BootRequest request(Path kernel, Optional<Path> initrd, String cmdline, int vcpus, List<DeviceDescription> d) {
        return new BootRequest(kernel, initrd, cmdline, vcpus, d);
    }

    static DeviceDescription.Serial pioSerial() {
        return new DeviceDescription.Serial(BusKind.PIO, 0x3f8, 0, new Irq(4, 4, 4, false));
    }
}
