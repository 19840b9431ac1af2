package dev.mesovirt.machine.standard;

import dev.mesovirt.vmm.arch.Architecture;
import dev.mesovirt.vmm.arch.Architectures;
import dev.mesovirt.vmm.arch.MachineType;
import dev.mesovirt.vmm.firmware.FlashImage;
import dev.mesovirt.vmm.kvm.Kvm;
import dev.mesovirt.vmm.machine.DeviceHotplug;
import dev.mesovirt.vmm.machine.Machine;
import dev.mesovirt.vmm.machine.MachineConfig;
import dev.mesovirt.vmm.machine.MachineFacade;
import dev.mesovirt.vmm.machine.VirtioConfig;
import java.util.List;

/**
 * The standard machine (StratoVirt's "StandardVM"; QEMU's q35 on x86_64): the architecture-neutral machine core with
 * a PCI Express board instead of the microVM's virtio-mmio slots. Devices are virtio-pci functions on the root bus
 * ({@code pcie.0}) or behind {@code pcie-root-port}s, where QMP can hot-plug them; the architecture lays out the PCI
 * windows and describes the host bridge to the guest (x86_64: ACPI MCFG, DSDT with _CRS, _PRT and _OSC).
 *
 * <p>Use: {@code int code = new StandardMachine(config, topology).run();}, or {@link #start()} etc. as with the
 * microVM's {@code LightMachine}.
 */
public final class StandardMachine implements MachineFacade {
    private final PciBoard board;
    private final Machine core;
    private final PciHotplug hotplug;

    public StandardMachine(MachineConfig config, PciTopology topology) {
        this(config, topology, Architectures.host(), Kvm.DEFAULT_PATH);
    }

    public StandardMachine(MachineConfig config, PciTopology topology, Architecture arch, String kvmPath) {
        this(config, topology, List.of(), arch, kvmPath);
    }

    /**
     * A standard machine with firmware flash units ({@code -drive if=pflash}), checked and mapped when it starts (a
     * wrong image stops {@link #start()} with a MachineException that says why).
     */
    public StandardMachine(MachineConfig config, PciTopology topology, List<FlashImage> pflash, Architecture arch,
            String kvmPath) {
        this(config, topology, pflash, true, arch, kvmPath);
    }

    /**
     * As above, saying whether the firmware gets the machine's ACPI tables to install ({@code firmwareAcpi}; QEMU's
     * acpi=on|off, which arm64 virt's firmware turns into ACPI or a device tree for the guest; q35's always does).
     */
    public StandardMachine(MachineConfig config, PciTopology topology, List<FlashImage> pflash, boolean firmwareAcpi,
            Architecture arch, String kvmPath) {
        this.board = new PciBoard(config, topology, arch, pflash, firmwareAcpi);
        this.core = new Machine(config, arch, MachineType.STANDARD, kvmPath, board);
        this.hotplug = new PciHotplug(core, board);
    }

    @Override
    public Machine core() {
        return core;
    }

    /** The virtio devices on the PCI hierarchy now: from the command line and hot-plugged. */
    public List<VirtioConfig> devices() {
        return board.devices();
    }

    /** QMP's device_add / device_del: virtio-blk-pci and virtio-net-pci into pcie-root-port slots. */
    @Override
    public DeviceHotplug deviceHotplug() {
        return hotplug;
    }
}
