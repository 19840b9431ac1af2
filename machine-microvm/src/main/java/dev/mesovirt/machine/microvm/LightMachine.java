package dev.mesovirt.machine.microvm;

import dev.mesovirt.vmm.arch.Architecture;
import dev.mesovirt.vmm.arch.Architectures;
import dev.mesovirt.vmm.arch.BootException;
import dev.mesovirt.vmm.arch.BootPlan;
import dev.mesovirt.vmm.arch.BootRequest;
import dev.mesovirt.vmm.arch.BusKind;
import dev.mesovirt.vmm.arch.DeviceDescription;
import dev.mesovirt.vmm.arch.GuestPower;
import dev.mesovirt.vmm.arch.Irq;
import dev.mesovirt.vmm.arch.IrqChip;
import dev.mesovirt.vmm.arch.IrqUse;
import dev.mesovirt.vmm.arch.MachineType;
import dev.mesovirt.vmm.arch.MemoryLayout;
import dev.mesovirt.vmm.arch.PlatformDevice;
import dev.mesovirt.vmm.arch.PowerButton;
import dev.mesovirt.vmm.bus.Bus;
import dev.mesovirt.vmm.bus.BusDevice;
import dev.mesovirt.vmm.device.IrqLine;
import dev.mesovirt.vmm.device.SerialBackend;
import dev.mesovirt.vmm.device.Uart16550;
import dev.mesovirt.vmm.kvm.Kvm;
import dev.mesovirt.vmm.kvm.KvmCapability;
import dev.mesovirt.vmm.kvm.KvmException;
import dev.mesovirt.vmm.kvm.Vcpu;
import dev.mesovirt.vmm.kvm.Vm;
import dev.mesovirt.vmm.machine.MachineConfig;
import dev.mesovirt.vmm.machine.MachineException;
import dev.mesovirt.vmm.machine.Outcome;
import dev.mesovirt.vmm.machine.RunState;
import dev.mesovirt.vmm.machine.VirtioConfig;
import dev.mesovirt.vmm.memory.GuestMemory;
import dev.mesovirt.vmm.sys.ErrnoException;
import dev.mesovirt.vmm.sys.EventFd;
import dev.mesovirt.vmm.virtio.BlockDevice;
import dev.mesovirt.vmm.virtio.ConsoleBackend;
import dev.mesovirt.vmm.virtio.ConsoleDevice;
import dev.mesovirt.vmm.virtio.EventLoop;
import dev.mesovirt.vmm.virtio.MmioTransport;
import dev.mesovirt.vmm.virtio.NetDevice;
import dev.mesovirt.vmm.virtio.RngDevice;
import dev.mesovirt.vmm.virtio.VirtioDevice;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The architecture-neutral microVM, StratoVirt's "LightMachine": KVM VM, guest RAM, in-kernel interrupt
 * controller, a 16550 UART, the architecture's platform devices, the guest kernel, and one thread per vCPU.
 * It never learns which ISA it runs on: everything ISA-specific comes from the {@link Architecture} SPI as data.
 *
 * <p>Use: {@code int code = new LightMachine(config).run();} boots and blocks until the guest powers off, reboots
 * (which stops the VM, as in StratoVirt's microvm), panics, or fails. {@link #start()}, {@link #awaitOutcome()},
 * {@link #pause()}, {@link #resume()} and {@link #stop(Outcome)} give a program finer control.
 */
public final class LightMachine implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LightMachine.class);
    /** Capabilities every architecture's machine relies on. */
    private static final List<KvmCapability> COMMON_CAPABILITIES = List.of(KvmCapability.USER_MEMORY,
            KvmCapability.IRQFD, KvmCapability.IOEVENTFD, KvmCapability.IMMEDIATE_EXIT);
    private static final long JOIN_TIMEOUT_MS = 2000;

    private final MachineConfig config;
    private final Architecture arch;
    private final String kvmPath;
    private final AtomicReference<Outcome> outcome = new AtomicReference<>();
    private final CountDownLatch finished = new CountDownLatch(1);
    private final Object pauseLock = new Object();
    /** Guards {@link #vcpus} between kicks (any thread) and their closing by {@link #reset()}. */
    private final Object vcpuLock = new Object();
    private final List<Vcpu> vcpus = new ArrayList<>();
    private final List<Thread> vcpuThreads = new ArrayList<>();
    /**
     * Interrupt injections from host threads (UART input) hold the read lock, {@link #reset()} holds the write lock
     * while it replaces and closes the VM, so that no KVM_IRQ_LINE reaches a closed (or reused) VM fd.
     */
    private final ReentrantReadWriteLock vmLock = new ReentrantReadWriteLock();
    /** The buses of the current VM: {@link #reset()} builds new ones with fresh platform devices. */
    private Bus pio;
    private Bus mmio;
    /** Bumped by {@link #reset()}: vCPU threads of an older generation leave their loop. */
    private volatile int generation;
    private volatile boolean paused;
    /** vCPU threads waiting in {@link #pausePoint}. */
    private int parked;
    private int[] vcpuThreadIds = new int[0];
    private Architecture.PausedClock pausedClock = Architecture.PausedClock.NONE;
    private volatile boolean started;
    private volatile boolean stopping;
    private Kvm kvm;
    private Vm vm;
    private GuestMemory memory;
    private SerialBackend serial;
    private MemoryLayout layout;
    private GuestPower power;
    private IrqChip irqChip;
    private Uart16550 uart;
    private volatile PowerButton powerButton;
    /** What the firmware tables say about the machine's devices, in the order the interrupts were allocated. */
    private BootRequest bootRequest;
    private BootPlan bootPlan;
    private CountDownLatch vcpusRunning;
    private EventLoop deviceLoop;
    private final List<VirtioSlot> slots = new ArrayList<>();
    /** The replaceable slots (StratoVirt's hot-plug model), by device kind; index = QMP device_add's addr. */
    private final List<VirtioSlot> blockSlots = new ArrayList<>();
    private final List<VirtioSlot> netSlots = new ArrayList<>();
    private final List<Runnable> afterIrqChip = new ArrayList<>();

    public LightMachine(MachineConfig config) {
        this(config, Architectures.host(), Kvm.DEFAULT_PATH);
    }

    public LightMachine(MachineConfig config, Architecture arch, String kvmPath) {
        this.config = config;
        this.arch = arch;
        this.kvmPath = kvmPath;
    }

    /** Boots the guest and waits for it to stop; returns the process exit code of the {@link Outcome}. */
    public int run() {
        try {
            start();
            Outcome o = awaitOutcome();
            return o.exitCode();
        } finally {
            close();
        }
    }

    /** Builds the machine and starts its vCPUs; returns once every vCPU thread is about to enter the guest. */
    public synchronized void start() {
        if (started) {
            throw new IllegalStateException("machine already started");
        }
        started = true;
        try {
            build();
        } catch (KvmException | ErrnoException e) {
            close();
            throw new MachineException(e.getMessage(), e);
        } catch (BootException e) {
            close();
            throw new MachineException(e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            close();
            throw new MachineException(e.getMessage(), e);
        }
        startVcpuThreads();
    }

    /** One thread per vCPU of the current generation; returns once each is about to enter the guest (or parked). */
    private void startVcpuThreads() {
        int g = generation;
        CountDownLatch running = new CountDownLatch(vcpus.size());
        vcpusRunning = running;
        vcpuThreadIds = new int[vcpus.size()];
        List<Thread> threads = new ArrayList<>();
        for (int index = 0; index < vcpus.size(); index++) {
            Vcpu vcpu = vcpus.get(index);
            int i = index;
            VcpuLoop loop = new VcpuLoop(vcpu, pio, mmio, this::stop, () -> stopping || generation != g,
                    () -> pausePoint(g), () -> {
                        vcpuThreadIds[i] = dev.mesovirt.vmm.sys.Sys.gettid();
                        running.countDown();
                        pausePoint(g); // a reset of a paused machine leaves it paused, as QEMU's does
                    });
            Thread t = new Thread(loop, "vcpu-" + vcpu.id());
            t.setDaemon(true);
            threads.add(t);
        }
        vcpuThreads.clear();
        vcpuThreads.addAll(threads);
        threads.forEach(Thread::start);
        try {
            running.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void build() throws BootException {
        kvm = Kvm.open(kvmPath);
        for (KvmCapability c : COMMON_CAPABILITIES) {
            kvm.requireExtension(c);
        }
        for (KvmCapability c : arch.requiredCapabilities()) {
            kvm.requireExtension(c);
        }
        int maxVcpus = Math.max(kvm.checkExtension(KvmCapability.MAX_VCPUS), kvm.checkExtension(KvmCapability.NR_VCPUS));
        if (maxVcpus > 0 && config.vcpus() > maxVcpus) {
            throw new IllegalArgumentException("-smp " + config.vcpus() + " exceeds the host KVM's limit of " + maxVcpus + " vCPUs");
        }
        layout = arch.memoryLayout(MachineType.MICROVM, config.memoryBytes(), config.vcpus());
        memory = GuestMemory.allocate(layout.ram(), config.dumpGuestCore());
        power = new GuestPower() {
            @Override
            public void powerOff() {
                stop(new Outcome.PoweredOff());
            }

            @Override
            public void reset() {
                stop(new Outcome.Rebooted());
            }

            @Override
            public void panic(String detail) {
                stop(new Outcome.Panicked(detail));
            }
        };
        List<DeviceDescription> described = new ArrayList<>();
        createVm(described);
        LOG.info("{} machine: {} MiB, {} vCPUs, {}", arch.name(), config.memoryBytes() >> 20, config.vcpus(),
                irqChip.description());
        MemoryLayout.SerialPlacement sp = layout.serial();
        Irq serialIrq = irqChip.allocate(IrqUse.SERIAL);
        serial = SerialBackends.open(config.serial(), () -> stop(new Outcome.Quit("Ctrl-A x")));
        uart = new Uart16550(irqLine(serialIrq), serial, sp.registerShift(), sp.out2Gated());
        placeUart(serialIrq, described);
        int hotSlots = config.hotplug().block() + config.hotplug().net();
        int slotCount = config.devices().size() + hotSlots;
        if (slotCount > layout.virtioMmioSlots()) {
            throw new IllegalArgumentException(config.devices().size() + " virtio devices and " + hotSlots
                    + " hot-plug slots exceed the machine's " + layout.virtioMmioSlots() + " virtio-mmio slots");
        }
        if (slotCount > 0) {
            deviceLoop = new EventLoop();
            for (int i = 0; i < slotCount; i++) {
                VirtioSlot slot = addSlot(i, layout, irqChip);
                placeSlot(slot, described);
                if (i < config.devices().size()) {
                    plug(slot, config.devices().get(i));
                } else {
                    (i - config.devices().size() < config.hotplug().block() ? blockSlots : netSlots).add(slot);
                }
            }
        }

        bootRequest = new BootRequest(config.kernel(), config.initrd(), config.commandLine(), config.vcpus(),
                described);
        loadGuestAndCreateVcpus();
        serial.start(uart);
        if (deviceLoop != null) {
            deviceLoop.start("virtio-io");
        }
    }

    /**
     * The VM with its memory, interrupt controller and platform devices on fresh buses; adds the power button's
     * description (if the architecture has one) to {@code described}. The rest of the device set is wired by the
     * caller: {@link #build} the first time, {@link #reset} on a machine reset.
     */
    private void createVm(List<DeviceDescription> described) {
        vm = kvm.createVm(arch.vmType(kvm, layout));
        memory.registerWith(vm, 0);
        irqChip = arch.createIrqChip(vm, layout, config.vcpus());
        pio = new Bus("pio");
        mmio = new Bus("mmio");
        PowerButton button = null;
        for (PlatformDevice d : arch.platformDevices(vm, layout, irqChip, power)) {
            busFor(d.bus()).insert(d.base(), d.length(), d.device(), d.name());
            if (d.device() instanceof PowerButton b) {
                button = b;
                described.add(new DeviceDescription.PowerButton(d.bus(), d.base(), d.length(), b.irq()));
            }
        }
        powerButton = button;
    }

    /** Loads kernel, initrd and firmware tables, then creates and sets up the vCPUs and completes the irqchip. */
    private void loadGuestAndCreateVcpus() throws BootException {
        bootPlan = arch.loadGuest(memory, layout, bootRequest);
        LOG.info("kernel loaded at 0x{}, entry 0x{}, command line: {}", Long.toHexString(bootPlan.kernelStart()),
                Long.toHexString(bootPlan.entry()), bootPlan.commandLine());
        List<Vcpu> created = new ArrayList<>();
        for (int i = 0; i < config.vcpus(); i++) {
            created.add(vm.createVcpu(i));
        }
        synchronized (vcpuLock) {
            vcpus.addAll(created);
        }
        for (Vcpu v : created) {
            arch.configureVcpu(vm, v, config.vcpus(), bootPlan);
        }
        irqChip.finishAfterVcpus();
        afterIrqChip.forEach(Runnable::run);
    }

    /**
     * Resets the machine in place (QMP system_reset), as a power cycle would while the VMM process, its devices'
     * backends (disk files, TAPs, the console) and QMP connections stay: the vCPUs stop, the KVM VM is replaced by a
     * new one (so every vCPU, the in-kernel interrupt controller and the clock start from their power-on state on
     * every architecture without per-ISA reset code), guest RAM is zeroed and handed back to the host, platform
     * devices are new, the UART and every virtio device are reset, and the kernel, initrd and firmware tables are
     * loaded again from their files. A paused machine stays paused. If the new VM cannot be built (e.g. the kernel
     * file has gone), the machine stops with {@link Outcome.Failed} and this throws.
     */
    public synchronized void reset() {
        requireStarted();
        int next = generation + 1;
        synchronized (pauseLock) {
            generation = next;
            pauseLock.notifyAll();
        }
        kickAll();
        for (Thread t : vcpuThreads) {
            try {
                t.join(JOIN_TIMEOUT_MS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (t.isAlive()) {
                stop(new Outcome.Failed("system_reset: " + t.getName() + " did not leave the guest"));
                throw new MachineException("system_reset: " + t.getName() + " did not leave the guest");
            }
        }
        if (outcome.get() != null) {
            throw new IllegalStateException("the machine stopped");
        }
        PowerButton oldButton = powerButton;
        if (oldButton != null) {
            oldButton.reset();
        }
        // Before the VM lock: a UART interrupt is raised holding the UART's monitor (see irqLine). Reset leaves its
        // interrupt enables clear, so it raises nothing until the rebooted guest programs it.
        uart.reset();
        Vm oldVm = vm;
        vmLock.writeLock().lock();
        try {
            synchronized (vcpuLock) {
                for (Vcpu v : vcpus) {
                    v.close();
                }
                vcpus.clear();
            }
            pausedClock = Architecture.PausedClock.NONE;
            List<DeviceDescription> described = new ArrayList<>();
            createVm(described);
            memory.discard();
            placeUart(irqChip.allocate(IrqUse.SERIAL), described);
            for (VirtioSlot slot : slots) {
                Irq irq = irqChip.allocate(IrqUse.VIRTIO);
                if (!irq.equals(slot.irq())) {
                    throw new IllegalStateException("the new VM gave virtio slot " + slot.index() + " interrupt "
                            + irq + " instead of " + slot.irq());
                }
                slot.moveTo(vm);
                placeSlot(slot, described);
            }
            if (!described.equals(bootRequest.devices())) {
                throw new IllegalStateException("the new VM's devices differ from the old: " + described + " vs "
                        + bootRequest.devices());
            }
            loadGuestAndCreateVcpus();
            oldVm.close();
        } catch (BootException | RuntimeException e) {
            String why = "system_reset failed: " + e.getMessage();
            stop(new Outcome.Failed(why));
            throw new MachineException(why, e);
        } finally {
            vmLock.writeLock().unlock();
        }
        LOG.info("machine reset: new VM, {} vCPUs restart at 0x{}", vcpus.size(), Long.toHexString(bootPlan.entry()));
        startVcpuThreads();
    }

    /**
     * Presses the machine's power button (QMP system_powerdown): the guest is asked to shut down and decides what
     * to do. Throws IllegalStateException where the architecture has no power button (riscv64) or the machine does
     * not run. Synchronized with {@link #reset()}, which resets (and so disarms) the old button before its VM goes.
     */
    public synchronized void powerDown() {
        requireStarted();
        PowerButton b = powerButton;
        if (b == null) {
            throw new IllegalStateException("the " + arch.name() + " machine has no power button");
        }
        LOG.info("power button pressed");
        b.press();
    }

    /**
     * Makes virtio-mmio slot {@code index}: its register window on the MMIO bus and its interrupt, wired through an
     * irqfd once the interrupt controller is complete. On a level-triggered line (x86 IOAPIC pins) the irqfd has a
     * resample fd: KVM keeps the line asserted until the guest's EOI, then de-asserts it and signals the resample
     * fd, and the device thread re-asserts it while InterruptStatus is still non-zero - the level semantics the DSDT
     * promises. A plain irqfd would only pulse the line, which a level-triggered IOAPIC pin may miss while the
     * previous interrupt is still in service (Remote IRR), losing an interrupt. On edge-triggered lines (arm64 SPIs,
     * riscv64 APLIC MSIs) a plain irqfd is exactly right. Queue notifications come through one ioeventfd per queue
     * on QueueNotify (datamatch = queue index), handled on the device thread.
     */
    private VirtioSlot addSlot(int index, MemoryLayout layout, IrqChip irqChip) {
        long base = layout.virtioMmioSlot(index);
        long size = layout.virtioMmioSlotSize();
        Irq irq = irqChip.allocate(IrqUse.VIRTIO);
        VirtioSlot slot = new VirtioSlot(index, base, size, irq, irqChip.irqfdPulsesEdges(), vm, memory, deviceLoop);
        slots.add(slot);
        // irqfds are registered once the interrupt controller is complete (arm64's vGIC refuses them, EAGAIN,
        // before its CTRL_INIT, which needs every vCPU).
        afterIrqChip.add(slot::connectInterrupt);
        return slot;
    }

    /** Puts the UART on the current VM's bus and describes it, with interrupt {@code irq}, to the firmware tables. */
    private void placeUart(Irq irq, List<DeviceDescription> described) {
        MemoryLayout.SerialPlacement sp = layout.serial();
        busFor(sp.bus()).insert(sp.base(), 8L << sp.registerShift(), uart, "serial0");
        described.add(new DeviceDescription.Serial(sp.bus(), sp.base(), sp.registerShift(), irq));
    }

    /** Puts a virtio-mmio slot on the current VM's bus and describes it to the firmware tables. */
    private void placeSlot(VirtioSlot slot, List<DeviceDescription> described) {
        mmio.insert(slot.base(), slot.size(), slot, "virtio-mmio@" + Long.toHexString(slot.base()));
        described.add(new DeviceDescription.VirtioMmio(slot.base(), slot.size(), slot.irq()));
    }

    private void plug(VirtioSlot slot, VirtioConfig dc) {
        VirtioDevice device = openDevice(dc);
        try {
            slot.plug(dc, device);
        } catch (RuntimeException e) {
            device.close();
            throw e;
        }
        LOG.info("virtio device {} (type {}) at 0x{}, GSI {}", dc.id(), device.deviceType(),
                Long.toHexString(slot.base()), slot.irq().gsi());
    }

    private static VirtioDevice openDevice(VirtioConfig dc) {
        try {
            return switch (dc) {
                case VirtioConfig.Block b -> new BlockDevice(b.id(), b.file(), b.readOnly(), b.direct(),
                        b.serial().orElse(null));
                case VirtioConfig.Rng r -> new RngDevice(r.id(), r.source());
                case VirtioConfig.Net n -> {
                    byte[] mac = new byte[6];
                    for (int i = 0; i < 6; i++) {
                        mac[i] = n.mac().get(i);
                    }
                    int fd = n.ifname().isPresent() ? NetDevice.openTap(n.ifname().get()) : n.fd();
                    yield new NetDevice(n.id(), fd, mac);
                }
                case VirtioConfig.Console c -> new ConsoleDevice(c.id(), c.socketPath().isPresent()
                        ? ConsoleBackend.socketServer(c.socketPath().get()) : ConsoleBackend.stdio());
            };
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("device " + dc.id() + ": " + e.getFile() + ": no such file");
        } catch (AccessDeniedException e) {
            throw new IllegalArgumentException("device " + dc.id() + ": " + e.getFile() + ": permission denied");
        } catch (IOException e) {
            throw new IllegalArgumentException("device " + dc.id() + ": " + e.getMessage());
        }
    }

    private Bus busFor(BusKind kind) {
        return kind == BusKind.PIO ? pio : mmio;
    }

    private IrqLine irqLine(Irq irq) {
        return level -> {
            vmLock.readLock().lock();
            try {
                vm.setIrqLine(irq.kvmLine(), level);
            } finally {
                vmLock.readLock().unlock();
            }
        };
    }

    private void kickAll() {
        synchronized (vcpuLock) {
            for (Vcpu v : vcpus) {
                v.kick();
            }
        }
    }

    /** Records how the run ended (first caller wins) and stops every vCPU. */
    public void stop(Outcome o) {
        if (!outcome.compareAndSet(null, o)) {
            return;
        }
        switch (o) {
            case Outcome.Failed f -> LOG.error("machine stopped: {}", f.message());
            case Outcome.Panicked p -> LOG.warn("guest panicked: {}", p.detail());
            default -> LOG.info("machine stopped: {}", o);
        }
        stopping = true;
        synchronized (pauseLock) {
            paused = false;
            pauseLock.notifyAll();
        }
        kickAll();
        finished.countDown();
    }

    /** Blocks until the machine stops; returns how. */
    public Outcome awaitOutcome() {
        try {
            finished.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stop(new Outcome.Quit("interrupted"));
        }
        return outcome.get();
    }

    /**
     * Stops the vCPUs at their next exit and keeps them out of the guest until {@link #resume()}; returns once every
     * running vCPU thread is parked (as QEMU's stop does), or after 5 s with a warning.
     */
    public void pause() {
        synchronized (pauseLock) {
            if (paused || stopping) {
                return;
            }
            paused = true;
        }
        kickAll();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        synchronized (pauseLock) {
            while (parked < liveVcpuThreads() && !stopping) {
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (left <= 0) {
                    LOG.warn("pause: only {} of {} vCPUs parked after 5 s", parked, liveVcpuThreads());
                    break;
                }
                try {
                    pauseLock.wait(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            if (!stopping) {
                try {
                    pausedClock = arch.pauseClock(vm, vcpus, memory);
                } catch (RuntimeException e) {
                    LOG.warn("pause: cannot freeze the guest clock: {}", e.getMessage());
                }
            }
        }
    }

    private int liveVcpuThreads() {
        int n = 0;
        for (Thread t : vcpuThreads) {
            n += t.isAlive() ? 1 : 0;
        }
        return n;
    }

    public void resume() {
        synchronized (pauseLock) {
            if (!paused) {
                return;
            }
            try {
                pausedClock.resume();
            } catch (RuntimeException e) {
                LOG.warn("resume: cannot restore the guest clock: {}", e.getMessage());
            }
            pausedClock = Architecture.PausedClock.NONE;
            paused = false;
            pauseLock.notifyAll();
        }
    }

    /** Whether the machine is running, paused, or has stopped (its outcome is then known). */
    public RunState runState() {
        if (outcome.get() != null) {
            return RunState.SHUTDOWN;
        }
        if (!started || vcpusRunning == null || vcpusRunning.getCount() > 0) {
            return RunState.PRELAUNCH;
        }
        return paused ? RunState.PAUSED : RunState.RUNNING;
    }

    /** The host thread IDs of the vCPU threads, by vCPU index (0 until a thread has started). */
    public int[] vcpuThreadIds() {
        return vcpuThreadIds.clone();
    }

    public MachineConfig config() {
        return config;
    }

    /** Every virtio-mmio slot, in address order: what it holds and whether QMP may fill or empty it. */
    public List<DeviceSlot> deviceSlots() {
        List<DeviceSlot> out = new ArrayList<>();
        for (VirtioSlot s : slots) {
            DeviceSlot.Kind kind = blockSlots.contains(s) ? DeviceSlot.Kind.HOTPLUG_BLOCK
                    : netSlots.contains(s) ? DeviceSlot.Kind.HOTPLUG_NET : DeviceSlot.Kind.FIXED;
            int addr = kind == DeviceSlot.Kind.HOTPLUG_BLOCK ? blockSlots.indexOf(s)
                    : kind == DeviceSlot.Kind.HOTPLUG_NET ? netSlots.indexOf(s) : -1;
            out.add(new DeviceSlot(s.index(), s.base(), s.irq().gsi(), kind, addr, s.config()));
        }
        return out;
    }

    /**
     * Fills replaceable slot {@code addr} of the device's kind (virtio-blk: 0..3, virtio-net: 0..1 by default) with
     * {@code device}: opens its backend, wires its queues, and leaves it for the guest to find by re-probing the
     * slot's platform device (see the README's QMP section). Throws IllegalArgumentException with a message for
     * QMP when the slot does not exist or is taken, the id is in use, or the backend cannot be opened.
     */
    public synchronized void hotplug(VirtioConfig device, int addr) {
        requireRunning();
        List<VirtioSlot> pool = switch (device) {
            case VirtioConfig.Block b -> blockSlots;
            case VirtioConfig.Net n -> netSlots;
            default -> throw new IllegalArgumentException("only virtio-blk and virtio-net devices can be hot-plugged");
        };
        for (VirtioSlot s : slots) {
            if (s.config().map(c -> c.id().equals(device.id())).orElse(false)) {
                throw new IllegalArgumentException("Duplicate device ID '" + device.id() + "'");
            }
        }
        if (addr < 0 || addr >= pool.size()) {
            throw new IllegalArgumentException("no hot-plug slot at addr " + addr + " for this device (the machine has "
                    + pool.size() + ": 0.." + (pool.size() - 1) + ")");
        }
        VirtioSlot slot = pool.get(addr);
        if (slot.config().isPresent()) {
            throw new IllegalArgumentException("hot-plug slot " + addr + " is in use by '" + slot.config().get().id() + "'");
        }
        plug(slot, device);
    }

    /**
     * Empties the replaceable slot holding device {@code id} and closes its backend; returns what it held. The guest
     * should have unbound its driver first (QEMU's device_del asks the guest; a virtio-mmio slot cannot).
     */
    public synchronized VirtioConfig hotUnplug(String id) {
        requireRunning();
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
        throw new java.util.NoSuchElementException("Device '" + id + "' not found");
    }

    private void requireRunning() {
        if (!started || deviceLoop == null && slots.isEmpty() || outcome.get() != null) {
            throw new IllegalStateException("the machine is not running");
        }
    }

    private void requireStarted() {
        if (!started || vm == null || outcome.get() != null) {
            throw new IllegalStateException("the machine is not running");
        }
    }

    public boolean isPaused() {
        return paused;
    }

    /** Called by vCPU threads of generation {@code g} after a kick: waits here while the machine is paused. */
    private void pausePoint(int g) {
        synchronized (pauseLock) {
            if (!paused || stopping || generation != g) {
                return;
            }
            parked++;
            pauseLock.notifyAll();
            try {
                while (paused && !stopping && generation == g) {
                    pauseLock.wait();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                parked--;
            }
        }
    }

    public BootPlan bootPlan() {
        return bootPlan;
    }

    public Architecture architecture() {
        return arch;
    }

    /** Stops the vCPUs if they run and releases KVM, guest memory and the serial backend. */
    @Override
    public synchronized void close() {
        if (outcome.get() == null && started) {
            stop(new Outcome.Quit("closed"));
        }
        boolean allJoined = true;
        for (Thread t : vcpuThreads) {
            try {
                t.join(JOIN_TIMEOUT_MS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            allJoined &= !t.isAlive();
        }
        if (serial != null) {
            serial.close();
            serial = null;
        }
        if (deviceLoop != null) {
            deviceLoop.close();
            deviceLoop = null;
        }
        for (VirtioSlot slot : slots) {
            slot.close();
        }
        if (!allJoined) {
            // A vCPU thread still inside a device could touch guest RAM: leave the mappings to process exit.
            LOG.warn("a vCPU thread did not stop; leaving its resources to process exit");
            return;
        }
        synchronized (vcpuLock) {
            for (Vcpu v : vcpus) {
                v.close();
            }
            vcpus.clear();
        }
        if (vm != null) {
            vm.close();
            vm = null;
        }
        slots.clear();
        if (memory != null) {
            memory.close();
            memory = null;
        }
        if (kvm != null) {
            kvm.close();
            kvm = null;
        }
    }
}
