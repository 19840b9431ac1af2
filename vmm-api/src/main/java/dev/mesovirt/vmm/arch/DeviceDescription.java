package dev.mesovirt.vmm.arch;

/** A device as the firmware tables announce it to the guest. */
public sealed interface DeviceDescription {
    /** The console UART, a 16550 or a PL011 ({@code model}). */
    record Serial(BusKind bus, long base, int registerShift, Irq irq, UartModel model) implements DeviceDescription {
        public Serial {
            java.util.Objects.requireNonNull(model, "model");
        }

        /** A 16550-compatible UART. */
        public Serial(BusKind bus, long base, int registerShift, Irq irq) {
            this(bus, base, registerShift, irq, UartModel.NS16550);
        }
    }

    /**
     * A firmware flash unit (pflash), for firmware that finds its variable store in a device tree ({@code
     * cfi-flash}): unit {@code unit} at {@code base}, {@code size} bytes, in banks {@code bankWidth} bytes wide.
     */
    record Flash(int unit, long base, long size, int bankWidth) implements DeviceDescription {}

    /** QEMU's firmware configuration device (fw_cfg), where the firmware finds it: its registers and their bus. */
    record FirmwareConfig(BusKind bus, long base, long length) implements DeviceDescription {}

    /** A virtio-mmio transport slot (possibly empty, for hot-plug). */
    record VirtioMmio(long base, long size, Irq irq) implements DeviceDescription {}

    /** The architecture's {@link dev.mesovirt.vmm.arch.PowerButton}: its register window and interrupt. */
    record PowerButton(BusKind bus, long base, long size, Irq irq) implements DeviceDescription {}

    /**
     * A PCI Express host bridge (the standard machine's). Its devices are found by enumeration, not described; the
     * firmware tables give its ECAM window, its address windows and how legacy INTx interrupts reach the interrupt
     * controller.
     *
     * @param intx the four interrupts INTA..INTD of bus 0: device {@code d}'s pin {@code p} (0 = INTA) raises
     *     {@code intx.get((d + p) % 4)}, the usual swizzle; devices behind bridges are swizzled on by the guest
     */
    record PciHostBridge(PciLayout layout, java.util.List<Irq> intx) implements DeviceDescription {
        public PciHostBridge {
            intx = java.util.List.copyOf(intx);
            if (intx.size() != 4) {
                throw new IllegalArgumentException("a PCI host bridge has four INTx interrupts, not " + intx.size());
            }
        }

        /** The interrupt that pin {@code pin} (0 = INTA .. 3 = INTD) of device {@code device} on bus 0 raises. */
        public Irq intxOf(int device, int pin) {
            return intx.get((device + pin) & 3);
        }
    }
}
