package dev.mesovirt.machine.microvm;

import dev.mesovirt.vmm.arch.DeviceDescription;
import dev.mesovirt.vmm.arch.Irq;
import dev.mesovirt.vmm.arch.IrqUse;
import dev.mesovirt.vmm.arch.MemoryLayout;
import dev.mesovirt.vmm.machine.Board;
import dev.mesovirt.vmm.machine.BoardContext;
import dev.mesovirt.vmm.machine.MachineConfig;
import dev.mesovirt.vmm.machine.VirtioConfig;
import dev.mesovirt.vmm.machine.VirtioDevices;
import dev.mesovirt.vmm.virtio.VirtioDevice;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The microVM's board: the layout's window of virtio-mmio slots, one per command-line device in order, then the
 * replaceable slots reserved for QMP hot-plug (StratoVirt's model: virtio-blk ones, then virtio-net ones). No PCI.
 * A virtio-blk hot-plug slot holds an empty disk drive from boot, as StratoVirt's does (see {@link VirtioSlot}); a
 * virtio-net one is empty until device_add, and the guest re-probes it.
 *
 * <p>device_add's {@code addr} numbers a device kind's slots as StratoVirt does: the command-line devices of that kind
 * first (StratoVirt puts them in its replaceable slots), then the empty ones, so that addr N is the guest's Nth disk
 * of the machine (Kata Containers' StratoVirt driver sends addr 1 for /dev/vdb when the root disk is vda). The
 * {@link MachineConfig.HotplugSlots} counts are StratoVirt's totals per kind (4 virtio-blk, 2 virtio-net) including the
 * command-line devices; when the window cannot hold them all after the command-line devices, the free slots go to
 * the two kinds in turn, a virtio-blk one first.
 *
 * <p>Every slot's interrupt is wired through an irqfd once the interrupt controller is complete. On a level-triggered
 * line (x86 IOAPIC pins) the irqfd has a resample fd: KVM keeps the line asserted until the guest's EOI, then
 * de-asserts it and signals the resample fd, and the device's thread re-asserts it while InterruptStatus is still
 * non-zero - the level semantics the DSDT promises. A plain irqfd would only pulse the line, which a level-triggered
 * IOAPIC pin may miss while the previous interrupt is still in service (Remote IRR), losing an interrupt. On
 * edge-triggered lines (arm64 SPIs, riscv64 APLIC MSIs) a plain irqfd is exactly right. Queue notifications come
 * through one ioeventfd per queue on QueueNotify (datamatch = queue index), handled on the device's own thread
 * ({@code virtio-ID}, made when it is plugged in and stopped when it goes: see {@link VirtioSlot}).
 *
 * <p>The hot-plug methods ({@link #plug}, {@link #unplug}) must run under the machine's lock
 * ({@code Machine.whileRunning}), which keeps them apart from a reset moving the slots to a new VM.
 */
final class VirtioMmioBoard implements Board {
    private static final Logger LOG = LoggerFactory.getLogger(VirtioMmioBoard.class);

    private final MachineConfig config;
    private final List<VirtioSlot> slots = new ArrayList<>();
    /** The replaceable slots, by device kind; index + that kind's command-line device count = device_add's addr. */
    private final List<VirtioSlot> blockSlots = new ArrayList<>();
    private final List<VirtioSlot> netSlots = new ArrayList<>();
    /** Command-line devices by kind: the first addrs of their kind. */
    private final List<VirtioSlot> fixedBlock = new ArrayList<>();
    private final List<VirtioSlot> fixedNet = new ArrayList<>();

    VirtioMmioBoard(MachineConfig config) {
        this.config = config;
    }

    @Override
    public void build(BoardContext context, List<DeviceDescription> described) {
        MemoryLayout layout = context.layout();
        int fixed = config.devices().size();
        if (fixed > layout.virtioMmioSlots()) {
            throw new IllegalArgumentException(fixed + " virtio devices exceed the machine's "
                    + layout.virtioMmioSlots() + " virtio-mmio slots");
        }
        for (VirtioConfig d : config.devices()) {
            if (d.placement().isPresent()) {
                throw new IllegalArgumentException("device " + d.id() + ": a microvm device takes the next free"
                        + " virtio-mmio slot; it cannot be placed (" + d.placement().get() + ")");
            }
        }
        long blocks = config.devices().stream().filter(d -> d instanceof VirtioConfig.Block).count();
        long nets = config.devices().stream().filter(d -> d instanceof VirtioConfig.Net).count();
        int free = layout.virtioMmioSlots() - fixed;
        int wantBlock = (int) Math.max(0, config.hotplug().block() - blocks);
        int wantNet = (int) Math.max(0, config.hotplug().net() - nets);
        // A window too small for every reserved slot shares what it has, a disk slot then a NIC slot in turn, so
        // that the first addr of each kind exists (Kata's line with vsock and virtio-fs leaves three).
        int hotBlock = 0;
        int hotNet = 0;
        while (hotBlock + hotNet < free && (hotBlock < wantBlock || hotNet < wantNet)) {
            if (hotBlock < wantBlock && (hotBlock <= hotNet || hotNet >= wantNet)) {
                hotBlock++;
            } else {
                hotNet++;
            }
        }
        if (hotBlock + hotNet < wantBlock + wantNet) {
            LOG.info("{} virtio devices leave {} of the {} virtio-mmio slots: {} virtio-blk and {} virtio-net hot-plug"
                    + " slots", fixed, free, layout.virtioMmioSlots(), hotBlock, hotNet);
        }
        for (int i = 0; i < fixed + hotBlock + hotNet; i++) {
            VirtioSlot slot = addSlot(i, context);
            placeSlot(slot, context, described);
            if (i < fixed) {
                VirtioConfig d = config.devices().get(i);
                plug(slot, d);
                if (d instanceof VirtioConfig.Block) {
                    fixedBlock.add(slot);
                } else if (d instanceof VirtioConfig.Net) {
                    fixedNet.add(slot);
                }
            } else if (i - fixed < hotBlock) {
                slot.holdDiskDrive();
                blockSlots.add(slot);
            } else {
                netSlots.add(slot);
            }
        }
    }

    @Override
    public void reattach(BoardContext context, List<DeviceDescription> described) {
        for (VirtioSlot slot : slots) {
            Irq irq = context.irqChip().allocate(IrqUse.VIRTIO);
            if (!irq.equals(slot.irq())) {
                throw new IllegalStateException("the new VM gave virtio slot " + slot.index() + " interrupt "
                        + irq + " instead of " + slot.irq());
            }
            slot.moveTo(context.vm());
            placeSlot(slot, context, described);
        }
    }

    /**
     * Registers the slots' irqfds (arm64's vGIC refuses them, EAGAIN, before its CTRL_INIT, which needs every vCPU).
     */
    @Override
    public void afterIrqChip(BoardContext context) {
        for (VirtioSlot slot : slots) {
            slot.connectInterrupt();
        }
    }

    @Override
    public List<String> stateSections() {
        List<String> ids = new ArrayList<>();
        for (VirtioSlot slot : slots) {
            slot.stateId().ifPresent(ids::add);
        }
        return ids;
    }

    @Override
    public List<dev.mesovirt.vmm.snapshot.Section> saveState(Runnable whileQuiet) {
        List<VirtioSlot> withDevices = slots.stream().filter(s -> s.stateId().isPresent()).toList();
        List<dev.mesovirt.vmm.snapshot.Section> out = new ArrayList<>();
        quiet(withDevices, 0, () -> {
            for (VirtioSlot slot : withDevices) {
                out.add(new dev.mesovirt.vmm.snapshot.Section(slot.stateId().orElseThrow(),
                        dev.mesovirt.vmm.virtio.MmioTransport.STATE_VERSION, slot.transport().orElseThrow().saveState()));
            }
            whileQuiet.run();
        });
        return out;
    }

    /** Runs {@code action} holding every transport's lock from {@code from} on: no device works meanwhile. */
    private static void quiet(List<VirtioSlot> slots, int from, Runnable action) {
        if (from == slots.size()) {
            action.run();
            return;
        }
        slots.get(from).transport().orElseThrow().whileQuiet(() -> {
            quiet(slots, from + 1, action);
            return null;
        });
    }

    @Override
    public void restoreState(java.util.Map<String, dev.mesovirt.vmm.snapshot.Section> sections) {
        for (VirtioSlot slot : slots) {
            java.util.Optional<String> id = slot.stateId();
            if (id.isPresent()) {
                slot.transport().orElseThrow().restoreState(sections.get(id.get()));
            }
        }
    }

    @Override
    public void close() {
        for (VirtioSlot slot : slots) {
            slot.close();
        }
        slots.clear();
        blockSlots.clear();
        netSlots.clear();
        fixedBlock.clear();
        fixedNet.clear();
    }

    /** Makes virtio-mmio slot {@code index}: its register window and its interrupt. */
    private VirtioSlot addSlot(int index, BoardContext context) {
        MemoryLayout layout = context.layout();
        Irq irq = context.irqChip().allocate(IrqUse.VIRTIO);
        VirtioSlot slot = new VirtioSlot(index, layout.virtioMmioSlot(index), layout.virtioMmioSlotSize(), irq,
                context.irqChip().irqfdPulsesEdges(), context.vm(), context.memory());
        slots.add(slot);
        return slot;
    }

    /** Puts a virtio-mmio slot on the current VM's bus and describes it to the firmware tables. */
    private static void placeSlot(VirtioSlot slot, BoardContext context, List<DeviceDescription> described) {
        context.mmio().insert(slot.base(), slot.size(), slot, "virtio-mmio@" + Long.toHexString(slot.base()));
        described.add(new DeviceDescription.VirtioMmio(slot.base(), slot.size(), slot.irq()));
    }

    /**
     * Every virtio-mmio slot, in address order: what it holds and whether QMP may fill or empty it. Safe from any
     * thread (what a slot holds may change meanwhile).
     */
    List<DeviceSlot> deviceSlots() {
        List<DeviceSlot> out = new ArrayList<>();
        for (VirtioSlot s : slots) {
            DeviceSlot.Kind kind = blockSlots.contains(s) ? DeviceSlot.Kind.HOTPLUG_BLOCK
                    : netSlots.contains(s) ? DeviceSlot.Kind.HOTPLUG_NET : DeviceSlot.Kind.FIXED;
            int addr = kind == DeviceSlot.Kind.HOTPLUG_BLOCK ? fixedBlock.size() + blockSlots.indexOf(s)
                    : kind == DeviceSlot.Kind.HOTPLUG_NET ? fixedNet.size() + netSlots.indexOf(s) : -1;
            out.add(new DeviceSlot(s.index(), s.base(), s.irq().gsi(), kind, addr, s.config()));
        }
        return out;
    }

    /**
     * Fills replaceable slot {@code addr} of the device's kind with {@code device}: opens its backend and wires its
     * queues. The device's passed descriptor (a TAP's) is the board's from this call on: closed if the device is
     * refused. Throws IllegalArgumentException with a message for QMP when the slot does not exist or is taken, the id
     * is in use, or the backend cannot be opened.
     */
    void plug(VirtioConfig device, int addr) {
        VirtioSlot slot;
        try {
            slot = freeSlot(device, addr);
        } catch (IllegalArgumentException e) {
            VirtioDevices.closePassedDescriptor(device);
            throw e;
        }
        plug(slot, device); // the device owns the descriptor from here, and closes it if plugging fails
    }

    /** The empty replaceable slot {@code addr} for {@code device}'s kind, if its id is free. */
    private VirtioSlot freeSlot(VirtioConfig device, int addr) {
        List<VirtioSlot> pool;
        List<VirtioSlot> fixedOfKind;
        switch (device) {
            case VirtioConfig.Block b -> {
                pool = blockSlots;
                fixedOfKind = fixedBlock;
            }
            case VirtioConfig.Net n -> {
                pool = netSlots;
                fixedOfKind = fixedNet;
            }
            default -> throw new IllegalArgumentException("only virtio-blk and virtio-net devices can be hot-plugged");
        }
        for (VirtioSlot s : slots) {
            if (s.config().map(c -> c.id().equals(device.id())).orElse(false)) {
                throw new IllegalArgumentException("Duplicate device ID '" + device.id() + "'");
            }
        }
        if (addr >= 0 && addr < fixedOfKind.size()) {
            throw new IllegalArgumentException("The slot " + addr + " is occupied already: device '"
                    + fixedOfKind.get(addr).config().map(VirtioConfig::id).orElse("?")
                    + "' was given on the command line");
        }
        int first = fixedOfKind.size();
        if (addr < first || addr >= first + pool.size()) {
            throw new IllegalArgumentException("no hot-plug slot at addr " + addr + " for this device (the machine has "
                    + pool.size() + (pool.isEmpty() ? "" : ": " + first + ".." + (first + pool.size() - 1)) + ")");
        }
        VirtioSlot slot = pool.get(addr - first);
        if (slot.config().isPresent()) {
            throw new IllegalArgumentException("hot-plug slot " + addr + " is in use by '" + slot.config().get().id() + "'");
        }
        return slot;
    }

    /**
     * Empties the replaceable slot holding device {@code id} and closes its backend; returns what it held. Throws
     * NoSuchElementException when no slot holds it, IllegalStateException when its slot is not replaceable.
     */
    VirtioConfig unplug(String id) {
        for (VirtioSlot s : slots) {
            if (s.config().map(c -> c.id().equals(id)).orElse(false)) {
                if (!blockSlots.contains(s) && !netSlots.contains(s)) {
                    throw new IllegalStateException("Device '" + id + "' was given on the command line: its "
                            + "virtio-mmio slot is not replaceable");
                }
                VirtioConfig out = s.unplug().orElseThrow();
                LOG.info("virtio device {} unplugged from 0x{}", id, Long.toHexString(s.base()));
                return out;
            }
        }
        throw new NoSuchElementException("Device '" + id + "' not found");
    }

    private void plug(VirtioSlot slot, VirtioConfig dc) {
        VirtioDevice device = VirtioDevices.open(dc);
        try {
            slot.plug(dc, device);
        } catch (RuntimeException e) {
            device.close();
            throw e;
        }
        LOG.info("virtio device {} (type {}) at 0x{}, GSI {}", dc.id(), device.deviceType(),
                Long.toHexString(slot.base()), slot.irq().gsi());
    }
}
