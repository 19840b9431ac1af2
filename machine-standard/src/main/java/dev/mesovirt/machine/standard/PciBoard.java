package dev.mesovirt.machine.standard;

import dev.mesovirt.vmm.arch.DeviceDescription;
import dev.mesovirt.vmm.arch.Irq;
import dev.mesovirt.vmm.arch.IrqUse;
import dev.mesovirt.vmm.arch.PciLayout;
import dev.mesovirt.vmm.device.IrqLine;
import dev.mesovirt.vmm.event.EventLoop;
import dev.mesovirt.vmm.kvm.KvmCapability;
import dev.mesovirt.vmm.kvm.Vm;
import dev.mesovirt.vmm.machine.Board;
import dev.mesovirt.vmm.machine.BoardContext;
import dev.mesovirt.vmm.machine.DevicePlacement;
import dev.mesovirt.vmm.machine.MachineConfig;
import dev.mesovirt.vmm.machine.VirtioConfig;
import dev.mesovirt.vmm.machine.VirtioDevices;
import dev.mesovirt.vmm.memory.GuestMemory;
import dev.mesovirt.vmm.pci.PciFunction;
import dev.mesovirt.vmm.pci.PciRoot;
import dev.mesovirt.vmm.pci.PcieRootPort;
import dev.mesovirt.vmm.virtio.VirtioDevice;
import dev.mesovirt.vmm.virtio.VirtioPciFunction;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The standard machine's board: a PCI Express root complex (ECAM, and configuration mechanism #1 at 0xCF8 where the
 * architecture has port I/O), the root ports and virtio-pci devices of the command line, and the KVM side of PCI
 * (MSI routes and irqfds, queue-notify ioeventfds, BARs on the buses). There is no BIOS in front of the kernel, so
 * the firmware's part, assigning bus numbers, BARs and bridge windows, is done here before boot and after every
 * reset; Linux keeps those assignments and assigns hot-plugged devices within the root ports' windows itself.
 *
 * <p>Each virtio function's queue work runs on a thread of its own ({@code virtio-ID}), made when the device is
 * plugged in and stopped when it leaves (the guest released its slot) or the board closes; a reset keeps it.
 */
final class PciBoard implements Board {
    private static final Logger LOG = LoggerFactory.getLogger(PciBoard.class);

    /** A virtio device on the PCI hierarchy, the bus it is on, and its thread. */
    private record Plugged(VirtioConfig config, VirtioPciFunction function, String bus, EventLoop thread) {}

    private final MachineConfig config;
    private final PciTopology topology;
    private final dev.mesovirt.vmm.arch.Architecture arch;
    private final List<dev.mesovirt.vmm.firmware.FlashImage> pflash;
    /** Whether the firmware gets the machine's ACPI tables (acpi=on). */
    private final boolean firmwareAcpi;
    private FirmwareFlash flash = FirmwareFlash.none();
    private List<dev.mesovirt.vmm.arch.ChipsetFunction> chipset = List.of();
    private java.util.Optional<dev.mesovirt.vmm.arch.PlatformDevice> firmwareConfig = java.util.Optional.empty();
    private final Map<String, PcieRootPort> rootPorts = new LinkedHashMap<>();
    /** Guarded by this: hot-plug and the guest's release of a slot come from different threads. */
    private final Map<String, Plugged> devices = new LinkedHashMap<>();
    /** device_del callbacks waiting for the guest to power the device's slot off, by device id; guarded by this. */
    private final Map<String, Consumer<VirtioConfig>> unplugging = new HashMap<>();
    private PciLayout pci;
    private List<Irq> intx;
    private PciRoot root;
    private KvmMsiRouter msi;
    private KvmIoEvents ioEvents;
    private BusBarMapper mapper;
    private GuestMemory memory;

    PciBoard(MachineConfig config, PciTopology topology, dev.mesovirt.vmm.arch.Architecture arch,
            List<dev.mesovirt.vmm.firmware.FlashImage> pflash, boolean firmwareAcpi) {
        this.firmwareAcpi = firmwareAcpi;
        this.config = config;
        this.topology = topology;
        this.arch = arch;
        this.pflash = List.copyOf(pflash);
    }

    @Override
    public void build(BoardContext context, List<DeviceDescription> described) {
        pci = context.layout().pci().orElseThrow(() ->
                new IllegalArgumentException("the architecture laid out no PCI host bridge for the standard machine"));
        intx = allocateIntx(context);
        List<IrqLine> lines = intx.stream().map(context::irqLine).toList();
        msi = new KvmMsiRouter(context.irqChip(), routeLimit(context.vm()), KvmMsiRouter.Target.of(context.vm()));
        ioEvents = new KvmIoEvents(context.vm());
        mapper = new BusBarMapper(context.pio(), context.mmio());
        root = new PciRoot(pci, lines, mapper, msi);
        memory = context.memory();
        placeRoot(context);
        flash = FirmwareFlash.load(arch, pflash);
        flash.requireReadOnlySlots(context.vm());
        flash.attach(context.vm(), context.mmio());
        if (flash.present()) {
            // Firmware programs the chipset; a kernel booted directly does not need it (and keeps its PCI view).
            chipset = arch.chipsetFunctions(context.power());
            for (dev.mesovirt.vmm.arch.ChipsetFunction f : chipset) {
                root.bus().attach(f.slot(), f.function(), f.device());
                f.placePorts(context.pio());
            }
        }
        for (PciTopology.RootPort p : topology.rootPorts()) {
            PcieRootPort port = new PcieRootPort(root, p.port(), PcieRootPort.Reserve.DEFAULT,
                    f -> released(p.id(), f));
            try {
                root.bus().attach(p.slot(), p.function(), port);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("pcie-root-port " + p.id() + ": " + e.getMessage(), e);
            }
            rootPorts.put(p.id(), port);
        }
        for (VirtioConfig d : config.devices()) {
            plug(d, false);
        }
        root.assignResources();
        described.add(new DeviceDescription.PciHostBridge(pci, intx));
        if (flash.present()) {
            // After the description is complete: the firmware gets the ACPI tables that describe it.
            // A -kernel goes to the firmware, which boots it (QEMU's x86 way with pflash).
            firmwareConfig = arch.firmwareConfig(context.layout(), config.vcpus(), context.memory(), described,
                    new dev.mesovirt.vmm.arch.FirmwareHandover(config.kernel().map(k ->
                            new dev.mesovirt.vmm.arch.FirmwareKernel(k, config.initrd(), config.commandLine())),
                            firmwareAcpi));
            firmwareConfig.ifPresent(d -> context.bus(d.bus()).insert(d.base(), d.length(), d.device(), d.name()));
        }
        describeFirmware(described);
    }

    /** The flash units and fw_cfg, for firmware that finds them in a device tree (arm64's EDK2). */
    private void describeFirmware(List<DeviceDescription> described) {
        described.addAll(flash.describe());
        firmwareConfig.ifPresent(d -> described.add(new DeviceDescription.FirmwareConfig(d.bus(), d.base(),
                d.length())));
    }

    @Override
    public void reattach(BoardContext context, List<DeviceDescription> described) {
        List<Irq> again = allocateIntx(context);
        if (!again.equals(intx)) {
            throw new IllegalStateException("the new VM gave the PCI host bridge INTx lines " + again + " instead of "
                    + intx);
        }
        msi.moveTo(KvmMsiRouter.Target.of(context.vm()));
        ioEvents.moveTo(context.vm());
        mapper.moveTo(context.pio(), context.mmio());
        placeRoot(context);
        flash.attach(context.vm(), context.mmio());
        resetHoldingTheDeviceThreads();
        for (dev.mesovirt.vmm.arch.ChipsetFunction f : chipset) {
            f.placePorts(context.pio());
        }
        firmwareConfig.ifPresent(d -> {
            if (d.device() instanceof dev.mesovirt.vmm.firmware.FwCfg fw) {
                fw.reset();
            } else if (d.device() instanceof dev.mesovirt.vmm.firmware.FwCfgMmio fw) {
                fw.core().reset();
            }
            context.bus(d.bus()).insert(d.base(), d.length(), d.device(), d.name());
        });
        synchronized (this) {
            if (!unplugging.isEmpty()) {
                // As QEMU: a reset ends the guest's part of a pending device_del; the device stays, device_del again.
                LOG.info("machine reset: the pending device_del of {} is dropped; the devices stay", unplugging.keySet());
                unplugging.clear();
            }
        }
        root.assignResources();
        described.add(new DeviceDescription.PciHostBridge(pci, intx));
        describeFirmware(described);
    }

    /**
     * Resets the hierarchy (every function, root ports and bridges at once) with every device's thread held between
     * two requests: no request of the old boot is in flight then, and none comes after the reset. (A handler raising
     * an INTx meanwhile is not waited for: the machine drops it during a reset.)
     */
    private void resetHoldingTheDeviceThreads() {
        List<EventLoop> threads = new ArrayList<>();
        synchronized (this) {
            for (Plugged p : devices.values()) {
                threads.add(p.thread());
            }
        }
        List<EventLoop.Hold> held = new ArrayList<>();
        try {
            for (EventLoop t : threads) {
                held.add(t.hold());
            }
            root.reset();
        } finally {
            held.forEach(EventLoop.Hold::close);
        }
    }

    @Override
    public boolean startsFirmware() {
        return !pflash.isEmpty();
    }

    /**
     * MSI routes and irqfds follow the guest's programming of each vector; after a machine reset, the vectors still
     * open go to the new VM now that its interrupt controller is complete. INTx lines need nothing here.
     */
    @Override
    public void afterIrqChip(BoardContext context) {
        msi.attachLive();
    }

    @Override
    public synchronized void close() {
        for (Plugged p : devices.values()) {
            p.thread().close();
            p.function().device().close();
        }
        devices.clear();
        flash.close();
    }

    /** Hot-plugs {@code device} into its root port's slot (QMP device_add); Linux's pciehp finds it. */
    void hotPlug(VirtioConfig device) {
        plug(device, true);
    }

    /**
     * Asks the guest to release device {@code id} (the slot's attention button, as QEMU's device_del): {@code
     * removed} is called once the guest has powered the slot off and the device is gone. NoSuchElementException for
     * an unknown id; IllegalStateException for a device that cannot go (on the root bus, or already going).
     */
    void requestUnplug(String id, Consumer<VirtioConfig> removed) {
        PcieRootPort port;
        synchronized (this) {
            Plugged p = devices.get(id);
            if (p == null) {
                throw new NoSuchElementException("Device '" + id + "' not found");
            }
            if (p.bus().equals(PciTopology.ROOT_BUS)) {
                throw new IllegalStateException("Bus '" + PciTopology.ROOT_BUS + "' does not support hotplugging");
            }
            if (unplugging.containsKey(id)) {
                throw new IllegalStateException("Device '" + id + "' is already being removed");
            }
            port = rootPorts.get(p.bus());
            unplugging.put(id, removed);
        }
        try {
            port.requestUnplug();
        } catch (IllegalStateException e) {
            synchronized (this) {
                unplugging.remove(id);
            }
            throw e;
        }
    }

    synchronized List<VirtioConfig> devices() {
        List<VirtioConfig> out = new ArrayList<>();
        for (Plugged p : devices.values()) {
            out.add(p.config());
        }
        return out;
    }

    /**
     * Puts {@code d} where its placement says (the next free slot of the root bus without one): the backend opened,
     * a virtio-pci function over it on a thread of its own, attached or hot-plugged. Its passed descriptor (a TAP's)
     * is the board's from this call on. IllegalArgumentException with a message for the user.
     */
    private void plug(VirtioConfig d, boolean hot) {
        DevicePlacement.Pci where;
        synchronized (this) {
            try {
                where = placement(d);
                if (devices.containsKey(d.id()) || rootPorts.containsKey(d.id())) {
                    throw new IllegalArgumentException("Duplicate device ID '" + d.id() + "'");
                }
                if (hot && where.bus().equals(PciTopology.ROOT_BUS)) {
                    throw new IllegalArgumentException("Bus '" + PciTopology.ROOT_BUS
                            + "' does not support hotplugging: add a pcie-root-port and plug the device into it");
                }
            } catch (IllegalArgumentException e) {
                VirtioDevices.closePassedDescriptor(d);
                throw e;
            }
        }
        VirtioDevice device = VirtioDevices.open(d);
        VirtioPciFunction f = new VirtioPciFunction(d.id(), device, memory, ioEvents);
        EventLoop thread = new EventLoop();
        f.connect(thread);
        thread.start(VirtioDevices.threadName(d));
        try {
            attach(d, where, f, hot);
        } catch (RuntimeException e) {
            thread.close();
            device.close();
            throw e;
        }
        synchronized (this) {
            devices.put(d.id(), new Plugged(d, f, where.bus(), thread));
        }
        LOG.info("virtio device {} (type {}) at {}{}", d.id(), device.deviceType(), where, hot ? ", hot-plugged" : "");
    }

    private void attach(VirtioConfig d, DevicePlacement.Pci where, VirtioPciFunction f, boolean hot) {
        try {
            if (where.bus().equals(PciTopology.ROOT_BUS)) {
                root.bus().attach(where.slot(), where.function(), f);
                return;
            }
            PcieRootPort port = rootPorts.get(where.bus());
            if (port == null) {
                throw new IllegalArgumentException("Bus '" + where.bus() + "' not found (buses: "
                        + String.join(", ", busIds()) + ")");
            }
            if (where.slot() != 0 || where.function() != 0) {
                throw new IllegalArgumentException("a pcie-root-port has one slot: put the device at addr=0x0 of bus "
                        + where.bus() + ", not " + String.format("0x%x.0x%x", where.slot(), where.function()));
            }
            if (hot) {
                port.hotPlug(f);
            } else {
                port.insert(f);
            }
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("device " + d.id() + ": " + e.getMessage(), e);
        }
    }

    /** The device's placement, or the root bus's first free slot (from 1: the host bridge is 00.0), as QEMU does. */
    private DevicePlacement.Pci placement(VirtioConfig d) {
        if (d.placement().isEmpty()) {
            for (int slot = 1; slot < 32; slot++) {
                if (root.bus().function(slot, 0).isEmpty()) {
                    return new DevicePlacement.Pci(PciTopology.ROOT_BUS, slot, 0);
                }
            }
            throw new IllegalArgumentException("device " + d.id() + ": no free slot left on " + PciTopology.ROOT_BUS);
        }
        if (!(d.placement().get() instanceof DevicePlacement.Pci where)) {
            throw new IllegalArgumentException("device " + d.id() + ": a q35 device goes on a PCI bus (bus=, addr=), not "
                    + d.placement().get());
        }
        return where;
    }

    private List<String> busIds() {
        List<String> ids = new ArrayList<>();
        ids.add(PciTopology.ROOT_BUS);
        ids.addAll(rootPorts.keySet());
        return ids;
    }

    /**
     * The root port {@code portId}'s callback: the guest powered its slot off, and {@code f} is gone from the
     * hierarchy (called on the vCPU thread that wrote Slot Control, outside the PCI lock). Stops its thread (after
     * the request it may be serving), closes its backend and reports it to device_del.
     */
    private void released(String portId, PciFunction f) {
        Plugged gone = null;
        Consumer<VirtioConfig> removed;
        synchronized (this) {
            for (Plugged p : devices.values()) {
                if (p.function() == f) {
                    gone = p;
                }
            }
            if (gone == null) {
                return;
            }
            devices.remove(gone.config().id());
            removed = unplugging.remove(gone.config().id());
        }
        gone.thread().close();
        gone.function().device().close();
        LOG.info("virtio device {} left {}: the guest powered the slot off", gone.config().id(), portId);
        if (removed != null) {
            removed.accept(gone.config());
        }
    }

    /** The host bridge's configuration windows on the current VM's buses. */
    private void placeRoot(BoardContext context) {
        context.mmio().insert(pci.ecamBase(), pci.ecamSize(), root.ecam(), "pci-ecam");
        if (pci.legacyConfigPorts()) {
            context.pio().insert(PciRoot.LEGACY_CONFIG_PORT, PciRoot.LEGACY_CONFIG_PORTS, root.legacyConfigPorts(),
                    "pci-config-ports");
        }
    }

    private static List<Irq> allocateIntx(BoardContext context) {
        List<Irq> lines = new ArrayList<>(4);
        for (int i = 0; i < 4; i++) {
            lines.add(context.irqChip().allocate(IrqUse.PCI_INTX));
        }
        return lines;
    }

    /** How many GSIs the VM's routing table takes (KVM_CAP_IRQ_ROUTING: KVM's KVM_MAX_IRQ_ROUTES). */
    private static int routeLimit(Vm vm) {
        return vm.checkExtension(KvmCapability.IRQ_ROUTING);
    }
}
