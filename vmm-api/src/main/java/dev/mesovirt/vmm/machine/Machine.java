package dev.mesovirt.vmm.machine;

import dev.mesovirt.vmm.arch.Architecture;
import dev.mesovirt.vmm.arch.BootException;
import dev.mesovirt.vmm.arch.BootPlan;
import dev.mesovirt.vmm.arch.BootRequest;
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
import dev.mesovirt.vmm.device.ConsoleUart;
import dev.mesovirt.vmm.device.IrqLine;
import dev.mesovirt.vmm.device.Pl011;
import dev.mesovirt.vmm.device.SerialBackend;
import dev.mesovirt.vmm.device.Uart16550;
import dev.mesovirt.vmm.kvm.Kvm;
import dev.mesovirt.vmm.kvm.KvmCapability;
import dev.mesovirt.vmm.kvm.KvmException;
import dev.mesovirt.vmm.kvm.Vcpu;
import dev.mesovirt.vmm.kvm.Vm;
import dev.mesovirt.vmm.memory.GuestMemory;
import dev.mesovirt.vmm.sys.ErrnoException;
import dev.mesovirt.vmm.sys.Sys;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The machine both machine types are built on, architecture-neutral: KVM VM, guest RAM, the in-kernel interrupt
 * controller, the architecture's platform devices and power button, a 16550 UART, the guest kernel, one thread per
 * vCPU, and the life cycle around them: start, pause and resume, reset in place, the power button, stop, close. What
 * a machine type has beyond this is its {@link Board} (the microVM's virtio-mmio slots, the standard machine's PCI
 * host bridge, and their devices' threads, one per device), which the core calls at fixed points. It never learns which ISA it runs on:
 * everything ISA-specific comes from the {@link Architecture} SPI as data.
 *
 * <p>Use: {@link #start()}, then {@link #awaitOutcome()}, which blocks until the guest powers off, reboots (which
 * stops the VM, as in StratoVirt's microvm), panics, or fails; {@link #run()} does both and closes the machine.
 */
public final class Machine implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Machine.class);
    /** Capabilities every architecture's machine relies on. */
    private static final List<KvmCapability> COMMON_CAPABILITIES = List.of(KvmCapability.USER_MEMORY,
            KvmCapability.IRQFD, KvmCapability.IOEVENTFD, KvmCapability.IMMEDIATE_EXIT);
    private static final long JOIN_TIMEOUT_MS = 2000;

    private final MachineConfig config;
    private final Architecture arch;
    private final MachineType type;
    private final String kvmPath;
    private final Board board;
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
    /** The generation whose guest asked for a reset last (one reset per boot, however often it asks). */
    private final java.util.concurrent.atomic.AtomicInteger resetRequestedFor =
            new java.util.concurrent.atomic.AtomicInteger(-1);
    private volatile Runnable guestResetListener;
    private volatile boolean paused;
    /** The seccomp filter's violation action once the machine is built, or null: no filter (the API's default). */
    private dev.mesovirt.vmm.seccomp.SeccompFilter.Mode seccomp;

    /** Started frozen (-S) and not continued since: QMP's "prelaunch", as QEMU reports it. */
    private volatile boolean frozen;
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
    private ConsoleUart uart;
    /** Where the console UART is and which one it is: the layout's, or the one the architecture's firmware drives. */
    private MemoryLayout.SerialPlacement serialPlacement;
    private volatile PowerButton powerButton;
    /** The platform devices a snapshot carries, by section id (the device's name), in the architecture's order. */
    private final Map<String, dev.mesovirt.vmm.snapshot.StatefulDevice> platformState = new java.util.LinkedHashMap<>();
    /** What the firmware tables say about the machine's devices, in the order the interrupts were allocated. */
    private BootRequest bootRequest;
    /** What the firmware tables announce (the board's devices, the power button...), from the first build. */
    private List<DeviceDescription> described = List.of();
    private BootPlan bootPlan;
    private CountDownLatch vcpusRunning;
    private boolean boardClosed;
    /** The board's view of the current VM. */
    private BoardContext boardContext;
    /** The snapshot directory to restore from instead of booting (-incoming file:DIR), or null. */
    private java.nio.file.Path incoming;
    /** The state of the last or current snapshot (QMP query-migrate), as StratoVirt names it. */
    private volatile MigrationStatus migration = MigrationStatus.NONE;

    /** Where a snapshot stands: StratoVirt's {@code query-migrate} states. */
    public enum MigrationStatus {
        NONE, SETUP, ACTIVE, COMPLETED, FAILED;

        public String qmpName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * A machine of {@code type} with {@code board}, on {@code arch} through the KVM device at {@code kvmPath}; nothing
     * happens until {@link #start()}.
     */
    public Machine(MachineConfig config, Architecture arch, MachineType type, String kvmPath, Board board) {
        this.config = Objects.requireNonNull(config, "config");
        this.arch = arch;
        this.type = Objects.requireNonNull(type, "type");
        this.kvmPath = kvmPath;
        this.board = Objects.requireNonNull(board, "board");
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

    /**
     * Asks {@link #start} to put the whole process (every thread, present and future) under the VMM's seccomp filter
     * for this host architecture once the machine is built and before the first guest instruction; {@code null}
     * (the default of this API: an embedding application decides for its own process) installs none. The CLI turns
     * it on unless -disable-seccomp. Irreversible once installed, for the life of the process.
     */
    public synchronized void seccomp(dev.mesovirt.vmm.seccomp.SeccompFilter.Mode mode) {
        if (started) {
            throw new IllegalStateException("seccomp: the machine has already started");
        }
        this.seccomp = mode;
    }

    /**
     * Makes {@link #start} restore the snapshot in {@code dir} (StratoVirt's {@code -incoming file:DIR}) instead of
     * booting the kernel: guest RAM is mapped from its memory file, every vCPU, the interrupt controller and each
     * device get their saved state; the devices themselves (and their backends) are built from this machine's
     * configuration, which must describe the same machine. A snapshot that does not fit fails {@link #start} with a
     * one-line {@link MachineException} before any guest instruction runs.
     */
    public synchronized void incoming(java.nio.file.Path dir) {
        if (started) {
            throw new IllegalStateException("incoming: the machine has already started");
        }
        this.incoming = Objects.requireNonNull(dir, "dir");
    }

    /** Builds the machine and starts its vCPUs; returns once every vCPU thread is about to enter the guest. */
    public void start() {
        start(false);
    }

    /**
     * Builds the machine and starts its vCPU threads; returns once each is about to enter the guest or, when
     * {@code frozen} (QEMU's and StratoVirt's -S), parked before its first instruction until {@link #resume()}.
     */
    public synchronized void start(boolean frozen) {
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
        } catch (IllegalArgumentException | dev.mesovirt.vmm.snapshot.SnapshotException e) {
            close();
            throw new MachineException(e.getMessage(), e);
        }
        if (seccomp != null) {
            installSeccomp(seccomp);
        }
        if (frozen) {
            // Before the threads exist: each parks in its first pausePoint, so no guest instruction runs.
            this.frozen = true;
            paused = true;
        }
        startVcpuThreads();
    }

    private void installSeccomp(dev.mesovirt.vmm.seccomp.SeccompFilter.Mode mode) {
        dev.mesovirt.vmm.seccomp.SyscallTable table = arch.seccompTable().orElse(null);
        if (table == null) {
            close();
            throw new MachineException("seccomp: no allow-list for " + arch.name() + " (run with -disable-seccomp)");
        }
        try {
            dev.mesovirt.vmm.seccomp.SeccompFilter filter = dev.mesovirt.vmm.seccomp.SeccompFilter.vmm(table);
            int size = dev.mesovirt.vmm.seccomp.Seccomp.install(filter, mode);
            LOG.info("seccomp: {} system calls and {} ioctl requests allowed on {} ({} BPF instructions), violations {}",
                    filter.allowedCount(), table.ioctlRequests().size(), table.arch(), size,
                    mode == dev.mesovirt.vmm.seccomp.SeccompFilter.Mode.KILL ? "kill the process" : "are logged");
        } catch (ErrnoException | IllegalStateException e) {
            close();
            throw new MachineException("seccomp: " + e.getMessage(), e);
        }
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
            // A vCPU leaves the guest as soon as its machine is to be reset (resetRequestedFor), so it does not run
            // on into what a guest does when the reset is late (Linux: a triple fault after writing 0xCF9).
            VcpuLoop loop = new VcpuLoop(vcpu, pio, mmio, this::vcpuStopped,
                    () -> stopping || generation != g || resetRequestedFor.get() == g,
                    () -> pausePoint(g), () -> {
                        vcpuThreadIds[i] = Sys.gettid();
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
        layout = arch.memoryLayout(type, config.memoryBytes(), config.vcpus());
        dev.mesovirt.vmm.snapshot.Snapshot snapshot = null;
        if (incoming != null) {
            // Everything about the snapshot that the command line alone decides is checked before anything is built.
            snapshot = dev.mesovirt.vmm.snapshot.SnapshotDirectory.read(incoming);
            snapshot.requireMachine(arch.name(), typeName(), config.vcpus(), totalSize(layout.ram()));
            if (config.sharedMemory()) {
                throw new dev.mesovirt.vmm.snapshot.SnapshotException("snapshot: restoring into shared memory"
                        + " (memory-backend-memfd, mem-share) is not supported");
            }
            memory = GuestMemory.mapFile(layout.ram(), dev.mesovirt.vmm.snapshot.SnapshotDirectory.memoryFile(incoming),
                    config.dumpGuestCore());
        } else {
            memory = config.sharedMemory() ? GuestMemory.allocateShared(layout.ram(), config.dumpGuestCore())
                    : GuestMemory.allocate(layout.ram(), config.dumpGuestCore());
        }
        power = new GuestPower() {
            @Override
            public void powerOff() {
                stop(new Outcome.PoweredOff());
            }

            @Override
            public void reset() {
                guestReset();
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
        MemoryLayout.SerialPlacement sp = board.startsFirmware() ? arch.firmwareSerial(layout) : layout.serial();
        serialPlacement = sp;
        Irq serialIrq = irqChip.allocate(IrqUse.SERIAL);
        serial = SerialBackends.open(config.serial(), () -> stop(new Outcome.Quit("Ctrl-A x")));
        IrqLine serialLine = irqLine(serialIrq);
        uart = switch (sp.model()) {
            case NS16550 -> new Uart16550(serialLine, serial, sp.registerShift(), sp.out2Gated());
            case PL011 -> new Pl011(serialLine, serial);
        };
        placeUart(serialIrq, described);
        board.build(boardContext, described);

        if (config.kernel().isEmpty() && !board.startsFirmware()) {
            throw new IllegalArgumentException("no kernel and no firmware to start: give -kernel or pflash firmware");
        }
        described = List.copyOf(described);
        this.described = described;
        // A machine with firmware starts it; the board has handed any -kernel to it (fw_cfg on x86).
        bootRequest = board.startsFirmware() ? null : config.kernel().map(k -> new BootRequest(k, config.initrd(),
                config.commandLine(), config.vcpus(), this.described)).orElse(null);
        if (snapshot != null) {
            restore(snapshot);
        } else {
            loadGuestAndCreateVcpus();
        }
        serial.start(uart);
    }

    /** The device sections: the UART, the architecture's stateful platform devices, then the board's devices. */
    private List<String> deviceSections() {
        List<String> ids = new ArrayList<>(List.of(SERIAL_SECTION));
        ids.addAll(platformState.keySet());
        return concat(ids, board.stateSections());
    }

    private static final String SERIAL_SECTION = "serial0";

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }

    private static long totalSize(List<GuestMemory.Region> regions) {
        long total = 0;
        for (GuestMemory.Region r : regions) {
            total += r.size();
        }
        return total;
    }

    /**
     * Instead of loading the guest: checks the device set against the snapshot's, creates the vCPUs, gives them,
     * the interrupt controller and the clock their state (through the architecture), completes the interrupt
     * controller and the board's wiring, then gives the UART and each device theirs.
     */
    private void restore(dev.mesovirt.vmm.snapshot.Snapshot snapshot) {
        snapshot.requireSections(concat(arch.stateSections(config.vcpus()), deviceSections()));
        Map<String, dev.mesovirt.vmm.snapshot.Section> sections = snapshot.byId();
        List<Vcpu> created = new ArrayList<>();
        for (int i = 0; i < config.vcpus(); i++) {
            created.add(vm.createVcpu(i));
        }
        synchronized (vcpuLock) {
            vcpus.addAll(created);
        }
        arch.restoreState(vm, created, irqChip, sections);
        irqChip.finishAfterVcpus();
        board.afterIrqChip(boardContext);
        uart.restoreState(sections.get(SERIAL_SECTION));
        platformState.forEach((id, d) -> d.restoreState(sections.get(id)));
        board.restoreState(sections);
        LOG.info("restored from {}: {} vCPUs, {} MiB, {} sections", incoming, config.vcpus(),
                memory.totalSize() >> 20, sections.size());
    }

    /**
     * Writes a snapshot of the paused machine into {@code dir} (QMP {@code migrate} to {@code file:DIR}): the state
     * file with every vCPU, the interrupt controller, the UART and each device, and guest RAM as the memory file,
     * taken with no device work running. The machine stays paused. Throws {@link
     * dev.mesovirt.vmm.snapshot.SnapshotException} (one line) when it is not paused or the snapshot cannot be made.
     */
    public synchronized void snapshot(java.nio.file.Path dir) {
        requireStarted();
        if (runState() != RunState.PAUSED) {
            throw new dev.mesovirt.vmm.snapshot.SnapshotException("snapshot: the VM must be paused (QMP stop) first;"
                    + " it is " + runState().name().toLowerCase(java.util.Locale.ROOT));
        }
        migration = MigrationStatus.SETUP;
        try {
            List<dev.mesovirt.vmm.snapshot.Section> sections;
            Architecture.PausedClock clock;
            synchronized (pauseLock) {
                clock = pausedClock;
            }
            synchronized (vcpuLock) {
                sections = new ArrayList<>(arch.saveState(vm, vcpus, memory, clock, irqChip));
            }
            sections.add(new dev.mesovirt.vmm.snapshot.Section(SERIAL_SECTION, uart.stateVersion(),
                    uart.saveState()));
            for (Map.Entry<String, dev.mesovirt.vmm.snapshot.StatefulDevice> d : platformState.entrySet()) {
                sections.add(new dev.mesovirt.vmm.snapshot.Section(d.getKey(), d.getValue().stateVersion(),
                        d.getValue().saveState()));
            }
            List<dev.mesovirt.vmm.snapshot.Section> devices = new ArrayList<>();
            AtomicReference<RuntimeException> failure = new AtomicReference<>();
            migration = MigrationStatus.ACTIVE;
            long t0 = System.nanoTime();
            devices.addAll(board.saveState(() -> {
                try {
                    // RAM while no device can write it; the state file, which lists the devices, after them.
                    dev.mesovirt.vmm.snapshot.SnapshotDirectory.writeMemory(dir, memory);
                } catch (RuntimeException e) {
                    failure.set(e);
                }
            }));
            if (failure.get() != null) {
                throw failure.get();
            }
            sections.addAll(devices);
            dev.mesovirt.vmm.snapshot.Snapshot snap = dev.mesovirt.vmm.snapshot.Snapshot.of(arch.name(), typeName(),
                    config.vcpus(), memory.totalSize(), sections);
            dev.mesovirt.vmm.snapshot.SnapshotDirectory.writeState(dir, snap);
            LOG.info("snapshot of {} MiB and {} sections written to {} in {} ms", memory.totalSize() >> 20,
                    sections.size(), dir, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
            migration = MigrationStatus.COMPLETED;
        } catch (dev.mesovirt.vmm.snapshot.SnapshotException e) {
            migration = MigrationStatus.FAILED;
            throw e;
        } catch (ErrnoException | KvmException | IllegalArgumentException e) {
            migration = MigrationStatus.FAILED;
            throw new dev.mesovirt.vmm.snapshot.SnapshotException("snapshot: " + e.getMessage(), e);
        }
    }

    /** The state of the last snapshot ({@link MigrationStatus#NONE} before the first). */
    public MigrationStatus migrationStatus() {
        return migration;
    }

    /**
     * The VM with its memory, interrupt controller and platform devices on fresh buses, and the board's context for
     * it; adds the power button's description (if the architecture has one) to {@code described}. The rest of the
     * device set is wired by the caller: {@link #build} the first time, {@link #reset} on a machine reset.
     */
    private void createVm(List<DeviceDescription> described) {
        vm = kvm.createVm(arch.vmType(kvm, layout));
        memory.registerWith(vm, 0);
        irqChip = arch.createIrqChip(vm, layout, config.vcpus());
        pio = new Bus("pio");
        mmio = new Bus("mmio");
        boardContext = new BoardContext(vm, memory, layout, irqChip, pio, mmio, this::irqLine, power);
        PowerButton button = null;
        platformState.clear();
        for (PlatformDevice d : arch.platformDevices(vm, layout, irqChip, power)) {
            boardContext.bus(d.bus()).insert(d.base(), d.length(), d.device(), d.name());
            if (d.device() instanceof dev.mesovirt.vmm.snapshot.StatefulDevice stateful) {
                platformState.put(d.name(), stateful);
            }
            if (d.device() instanceof PowerButton b) {
                button = b;
                described.add(new DeviceDescription.PowerButton(d.bus(), d.base(), d.length(), b.irq()));
            }
        }
        powerButton = button;
    }

    /** Loads kernel, initrd and firmware tables, then creates and sets up the vCPUs and completes the irqchip. */
    private void loadGuestAndCreateVcpus() throws BootException {
        if (bootRequest == null) {
            bootPlan = arch.firmwareBoot(memory, layout, config.vcpus(), described);
            LOG.info("firmware boot: the vCPUs start at their reset state (0x{})", Long.toHexString(bootPlan.entry()));
        } else {
            bootPlan = arch.loadGuest(memory, layout, bootRequest);
            LOG.info("kernel loaded at 0x{}, entry 0x{}, command line: {}", Long.toHexString(bootPlan.kernelStart()),
                    Long.toHexString(bootPlan.entry()), bootPlan.commandLine());
        }
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
        board.afterIrqChip(boardContext);
    }

    /**
     * Resets the machine in place (QMP system_reset), as a power cycle would while the VMM process, its devices'
     * backends (disk files, TAPs, the console) and QMP connections stay: the vCPUs stop, the KVM VM is replaced by a
     * new one (so every vCPU, the in-kernel interrupt controller and the clock start from their power-on state on
     * every architecture without per-ISA reset code), guest RAM is zeroed and handed back to the host, platform
     * devices are new, the UART and the board's devices are reset, and the kernel, initrd and firmware tables are
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
            board.reattach(boardContext, described);
            if (!described.equals(this.described)) {
                throw new IllegalStateException("the new VM's devices differ from the old: " + described + " vs "
                        + this.described);
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
     * Runs {@code change} to the board's devices (hot-plug) while the machine runs, excluded from {@link #start},
     * {@link #reset}, {@link #powerDown} and {@link #close}; returns its result. Throws IllegalStateException "the
     * machine is not running" before the machine has started or once it has stopped.
     */
    public synchronized <T> T whileRunning(Supplier<T> change) {
        requireStarted();
        return change.get();
    }

    /** Puts the UART on the current VM's bus and describes it, with interrupt {@code irq}, to the firmware tables. */
    private void placeUart(Irq irq, List<DeviceDescription> described) {
        MemoryLayout.SerialPlacement sp = serialPlacement;
        boardContext.bus(sp.bus()).insert(sp.base(), uart.length(), uart, "serial0");
        described.add(new DeviceDescription.Serial(sp.bus(), sp.base(), sp.registerShift(), irq, sp.model()));
    }

    /**
     * A KVM_IRQ_LINE line on the current VM. While a reset holds the VM lock (replacing the VM), an interrupt raised
     * from another thread is dropped rather than waited for: every device is being reset to its power-on state, with
     * nothing pending, and waiting could deadlock with a board that resets its devices on their threads (which may be
     * raising one); the reset's own thread, holding the write lock, still gets through.
     */
    private IrqLine irqLine(Irq irq) {
        return level -> {
            if (!vmLock.readLock().tryLock()) {
                return;
            }
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

    /**
     * A vCPU's loop ended the run with {@code o}; a reboot (a reset system event: PSCI's) is a guest reset, and so is
     * a triple fault on a machine that starts firmware (as on hardware and QEMU's q35).
     */
    private void vcpuStopped(Outcome o) {
        if (o instanceof Outcome.Rebooted) {
            guestReset();
        } else if (o instanceof Outcome.TripleFault t && board.startsFirmware()) {
            LOG.warn("vCPU {}: triple fault: the machine resets as hardware does", t.vcpu());
            guestReset();
        } else {
            stop(o);
        }
    }

    /**
     * A reset the guest asked for (x86: the reset control port 0xCF9, the i8042's reset pulse, the ACPI reset
     * register; arm64 and riscv64: the reset system event), from a vCPU thread. A machine that starts firmware
     * (pflash) resets in place, as QMP system_reset does and as QEMU's machines do, so that the firmware runs again
     * from the reset vector; this runs on a thread of its own, since the reset waits for every vCPU thread to leave
     * the guest, this one included. A machine whose kernel the VMM loads stops instead with {@link
     * Outcome.Rebooted} (Firecracker's and StratoVirt's microvm's way: the VMM exits and its owner decides). The
     * requests of one boot (OVMF's ResetCold writes 0xCF9, then pulses the i8042) make one reset.
     */
    private void guestReset() {
        if (!board.startsFirmware()) {
            stop(new Outcome.Rebooted());
            return;
        }
        int g = generation;
        if (resetRequestedFor.getAndSet(g) == g) {
            return;
        }
        Thread t = new Thread(() -> {
            try {
                synchronized (this) {
                    if (generation != g || stopping) {
                        return; // a QMP system_reset, or a stop, came first
                    }
                    LOG.info("the guest asked for a reset: the machine resets in place");
                    reset();
                }
                Runnable listener = guestResetListener;
                if (listener != null) {
                    listener.run();
                }
            } catch (MachineException | IllegalStateException e) {
                LOG.warn("guest reset: {}", e.getMessage());
            }
        }, "machine-reset");
        t.setDaemon(true);
        t.start();
    }

    /**
     * Called after each reset the guest asked for and the machine did in place ({@link #guestReset}), on the thread
     * that did it: QMP's RESET event. One listener; null for none.
     */
    public void onGuestReset(Runnable listener) {
        guestResetListener = listener;
    }

    /** Records how the run ended (first caller wins) and stops every vCPU. */
    public void stop(Outcome o) {
        if (!outcome.compareAndSet(null, o)) {
            return;
        }
        switch (o) {
            case Outcome.Failed f -> LOG.error("machine stopped: {}", f.message());
            case Outcome.TripleFault t -> LOG.error("machine stopped: {}", t.message());
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

    /** Lets paused vCPUs enter the guest again, with the guest's clock going on from where {@link #pause} froze it. */
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
            frozen = false;
            pauseLock.notifyAll();
        }
    }

    /** Whether the machine is running, paused, or has stopped (its outcome is then known). */
    public RunState runState() {
        if (outcome.get() != null) {
            return RunState.SHUTDOWN;
        }
        if (isStarting() || frozen) {
            return RunState.PRELAUNCH;
        }
        return paused ? RunState.PAUSED : RunState.RUNNING;
    }

    /** Whether the machine is still being built, its vCPU threads not yet started (QMP's "prelaunch" too). */
    public boolean isStarting() {
        return !started || vcpusRunning == null || vcpusRunning.getCount() > 0;
    }

    /** The host thread IDs of the vCPU threads, by vCPU index (0 until a thread has started). */
    public int[] vcpuThreadIds() {
        return vcpuThreadIds.clone();
    }

    public MachineConfig config() {
        return config;
    }

    public MachineType type() {
        return type;
    }

    /**
     * The machine type's name as {@code -machine} and QMP's query-machines give it, from the architecture's
     * {@link Architecture#machineTypes()} (the first in alphabetical order where it has several for this type).
     */
    public String typeName() {
        TreeSet<String> names = new TreeSet<>();
        for (Map.Entry<String, MachineType> e : arch.machineTypes().entrySet()) {
            if (e.getValue() == type) {
                names.add(e.getKey());
            }
        }
        if (names.isEmpty()) {
            throw new IllegalStateException(arch.name() + " has no name for machine type " + type);
        }
        return names.first();
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

    /** Stops the vCPUs if they run and releases KVM, guest memory, the serial backend and the board's devices. */
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
        if (!boardClosed) {
            boardClosed = true;
            board.close();
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
