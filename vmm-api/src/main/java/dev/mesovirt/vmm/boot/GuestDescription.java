package dev.mesovirt.vmm.boot;

import dev.mesovirt.vmm.arch.BootRequest;
import dev.mesovirt.vmm.arch.BusKind;
import dev.mesovirt.vmm.arch.DeviceDescription;
import dev.mesovirt.vmm.arch.Irq;
import dev.mesovirt.vmm.arch.MemoryLayout;
import dev.mesovirt.vmm.memory.GuestMemory;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What a device tree tells Linux about a machine whatever the architecture: its RAM, its UART, virtio-mmio slots
 * (a microVM's) or PCI host bridge (a standard machine's), power button (all on MMIO), and what goes into
 * {@code /chosen}. The architecture adds its CPUs and interrupt controller, and writes the interrupt numbers in its
 * controller's binding.
 *
 * @param serial the console UART (a 16550, or the PL011 of an arm64 machine that starts firmware)
 * @param pci the PCI Express host bridge, on a standard machine
 * @param rngSeed bytes for {@code /chosen/rng-seed}; empty for none
 */
public record GuestDescription(List<GuestMemory.Region> ram, DeviceDescription.Serial serial,
        List<DeviceDescription.VirtioMmio> virtio, Optional<DeviceDescription.PciHostBridge> pci,
        Optional<DeviceDescription.PowerButton> powerButton, String bootargs, Optional<Long> initrdStart,
        long initrdSize, byte[] rngSeed) {
    public GuestDescription {
        ram = List.copyOf(ram);
        virtio = List.copyOf(virtio);
        Objects.requireNonNull(serial, "serial");
        Objects.requireNonNull(pci, "pci");
        Objects.requireNonNull(powerButton, "powerButton");
        Objects.requireNonNull(bootargs, "bootargs");
        Objects.requireNonNull(initrdStart, "initrdStart");
        rngSeed = rngSeed.clone();
    }

    /**
     * The description of the machine {@code request} boots with its files at {@code placement}.
     *
     * @param arch the architecture's name, for errors about devices it cannot have
     * @param serialIrq the UART's interrupt when the request describes no UART (it sits where the layout says)
     * @throws IllegalArgumentException for a UART on port I/O (device-tree machines have none), or a second PCI host
     *     bridge
     */
    public static GuestDescription of(String arch, MemoryLayout layout, BootRequest request, BootPlacement placement,
            byte[] rngSeed, Irq serialIrq) {
        Optional<Long> initrd = placement.initrdSize() > 0 ? Optional.of(placement.initrdAddress()) : Optional.empty();
        return describe(arch, layout, request.devices(), serialIrq, request.commandLine(), initrd,
                placement.initrdSize(), rngSeed);
    }

    /**
     * The description of a machine that starts firmware, which boots the kernel itself: no command line, initrd or
     * seed. Exceptions as {@link #of}.
     */
    public static GuestDescription ofFirmware(String arch, MemoryLayout layout, List<DeviceDescription> devices,
            Irq serialIrq) {
        return describe(arch, layout, devices, serialIrq, "", Optional.empty(), 0, new byte[0]);
    }

    private static GuestDescription describe(String arch, MemoryLayout layout, List<DeviceDescription> devices,
            Irq serialIrq, String bootargs, Optional<Long> initrd, long initrdSize, byte[] rngSeed) {
        MemoryLayout.SerialPlacement sp = layout.serial();
        DeviceDescription.Serial serial = new DeviceDescription.Serial(sp.bus(), sp.base(), sp.registerShift(),
                serialIrq);
        List<DeviceDescription.VirtioMmio> virtio = new ArrayList<>();
        Optional<DeviceDescription.PowerButton> powerButton = Optional.empty();
        Optional<DeviceDescription.PciHostBridge> pci = Optional.empty();
        for (DeviceDescription d : devices) {
            switch (d) {
                case DeviceDescription.Serial s -> {
                    if (s.bus() != BusKind.MMIO) {
                        throw new IllegalArgumentException(arch + " has no port I/O: the UART must be on MMIO");
                    }
                    serial = s;
                }
                case DeviceDescription.VirtioMmio v -> virtio.add(v);
                case DeviceDescription.PowerButton b -> powerButton = Optional.of(b);
                case DeviceDescription.PciHostBridge p -> {
                    if (pci.isPresent()) {
                        throw new IllegalArgumentException(arch + ": one PCI host bridge per machine");
                    }
                    pci = Optional.of(p);
                }
                // What only firmware reads (its flash and fw_cfg): the architecture's firmware path takes them.
                case DeviceDescription.Flash f -> { }
                case DeviceDescription.FirmwareConfig c -> { }
            }
        }
        return new GuestDescription(layout.ram(), serial, virtio, pci, powerButton, bootargs, initrd, initrdSize,
                rngSeed);
    }

    /** The UART's register window: a 16550's 8 registers, {@code 1 << registerShift} bytes apart; a PL011's 4 KiB. */
    public long serialSize() {
        return serial.model() == dev.mesovirt.vmm.arch.UartModel.PL011 ? dev.mesovirt.vmm.device.Pl011.SIZE
                : 8L << serial.registerShift();
    }
}
