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
import dev.mesovirt.vmm.arch.MemoryLayout;
import dev.mesovirt.vmm.arch.PlatformDevice;
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
    private final List<Vcpu> vcpus = new ArrayList<>();
    private final List<Thread> vcpuThreads = new ArrayList<>();
    private final Bus pio = new Bus("pio");
    private final Bus mmio = new Bus("mmio");
    private volatile boolean paused;
    private volatile boolean started;
    private volatile boolean stopping;
    private Kvm kvm;
    private Vm vm;
    private GuestMemory memory;
    private SerialBackend serial;
    private BootPlan bootPlan;
    private CountDownLatch vcpusRunning;
    private EventLoop deviceLoop;
    private final List<VirtioDevice> virtioDevices = new ArrayList<>();
    private final List<EventFd> irqFds = new ArrayList<>();
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
        vcpusRunning = new CountDownLatch(vcpus.size());
        for (Vcpu vcpu : vcpus) {
            VcpuLoop loop = new VcpuLoop(vcpu, pio, mmio, this::stop, () -> stopping, this::pausePoint,
                    vcpusRunning::countDown);
            Thread t = new Thread(loop, "vcpu-" + vcpu.id());
            t.setDaemon(true);
            vcpuThreads.add(t);
        }
        vcpuThreads.forEach(Thread::start);
        try {
            vcpusRunning.await();
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
        MemoryLayout layout = arch.memoryLayout(config.memoryBytes(), config.vcpus());
        vm = kvm.createVm(arch.vmType(kvm, layout));
        memory = GuestMemory.allocate(layout.ram(), config.dumpGuestCore());
        memory.registerWith(vm, 0);
        IrqChip irqChip = arch.createIrqChip(vm, layout, config.vcpus());
        LOG.info("{} machine: {} MiB, {} vCPUs, {}", arch.name(), config.memoryBytes() >> 20, config.vcpus(),
                irqChip.description());

        GuestPower power = new GuestPower() {
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
        for (PlatformDevice d : arch.platformDevices(layout, irqChip, power)) {
            busFor(d.bus()).insert(d.base(), d.length(), d.device(), d.name());
        }

        List<DeviceDescription> described = new ArrayList<>();
        MemoryLayout.SerialPlacement sp = layout.serial();
        Irq serialIrq = irqChip.allocate(IrqUse.SERIAL);
        serial = SerialBackends.open(config.serial(), () -> stop(new Outcome.Quit("Ctrl-A x")));
        Uart16550 uart = new Uart16550(irqLine(serialIrq), serial, sp.registerShift(), sp.bus() == BusKind.PIO);
        busFor(sp.bus()).insert(sp.base(), 8L << sp.registerShift(), uart, "serial0");
        described.add(new DeviceDescription.Serial(sp.bus(), sp.base(), sp.registerShift(), serialIrq));
        if (!config.devices().isEmpty()) {
            deviceLoop = new EventLoop();
            for (int i = 0; i < config.devices().size(); i++) {
                described.add(addVirtio(i, config.devices().get(i), layout, irqChip));
            }
        }

        BootRequest request = new BootRequest(config.kernel(), config.initrd(), config.commandLine(), config.vcpus(),
                described);
        bootPlan = arch.loadGuest(memory, layout, request);
        LOG.info("kernel loaded at 0x{}, entry 0x{}, command line: {}", Long.toHexString(bootPlan.kernelStart()),
                Long.toHexString(bootPlan.entry()), bootPlan.commandLine());

        for (int i = 0; i < config.vcpus(); i++) {
            vcpus.add(vm.createVcpu(i));
        }
        for (Vcpu v : vcpus) {
            arch.configureVcpu(vm, v, config.vcpus(), bootPlan);
        }
        irqChip.finishAfterVcpus();
        afterIrqChip.forEach(Runnable::run);
        serial.start(uart);
        if (deviceLoop != null) {
            deviceLoop.start("virtio-io");
        }
    }

    /**
     * Wires one virtio device into slot {@code index}: its transport on the MMIO bus, an ioeventfd per queue on
     * QueueNotify (datamatch = queue index) handled by the device thread, and its interrupt through an irqfd. On a
     * level-triggered line (x86 IOAPIC pins) the irqfd has a resample fd: KVM keeps the line asserted until the
     * guest's EOI, then de-asserts it and signals the resample fd, and the device thread re-asserts it while
     * InterruptStatus is still non-zero - the level semantics the DSDT promises. A plain irqfd would only pulse the
     * line, which a level-triggered IOAPIC pin may miss while the previous interrupt is still in service (Remote
     * IRR), losing an interrupt. On edge-triggered lines (arm64 SPIs) a plain irqfd is exactly right.
     */
    private DeviceDescription addVirtio(int index, VirtioConfig dc, MemoryLayout layout, IrqChip irqChip) {
        long base = layout.virtioMmioSlot(index);
        long size = layout.virtioMmioSlotSize();
        VirtioDevice device = openDevice(dc);
        virtioDevices.add(device);
        Irq irq = irqChip.allocate(IrqUse.VIRTIO);
        EventFd irqFd = new EventFd(true);
        irqFds.add(irqFd);
        int queues = device.queueSizes().size();
        EventFd[] notify = new EventFd[queues];
        for (int q = 0; q < queues; q++) {
            notify[q] = new EventFd(true);
        }
        MmioTransport transport = new MmioTransport(dc.id(), device, memory, irqFd::signal, q -> notify[q].signal());
        // irqfds are registered once the interrupt controller is complete (arm64's vGIC refuses them, EAGAIN,
        // before its CTRL_INIT, which needs every vCPU).
        if (irq.levelTriggered()) {
            EventFd resample = new EventFd(true);
            afterIrqChip.add(() -> vm.registerIrqfdResample(irqFd, resample, irq.gsi()));
            deviceLoop.addEventFd(resample, transport::resample);
        } else {
            afterIrqChip.add(() -> vm.registerIrqfd(irqFd, irq.gsi()));
        }
        for (int q = 0; q < queues; q++) {
            int queue = q;
            vm.registerIoeventfd(notify[q], base + MmioTransport.QUEUE_NOTIFY, 4, false, (long) q);
            deviceLoop.addEventFd(notify[q], () -> transport.notifyQueue(queue));
        }
        for (VirtioDevice.Watch w : device.watches()) {
            deviceLoop.addEventFd(w.eventFd(), () -> transport.notifyQueue(w.queue()));
        }
        mmio.insert(base, size, transport, dc.id());
        LOG.info("virtio device {} (type {}) at 0x{}, GSI {}", dc.id(), device.deviceType(), Long.toHexString(base),
                irq.gsi());
        return new DeviceDescription.VirtioMmio(base, size, irq);
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
        return level -> vm.setIrqLine(irq.kvmLine(), level);
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
        for (Vcpu v : vcpus) {
            v.kick();
        }
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

    /** Stops the vCPUs at their next exit and keeps them out of the guest until {@link #resume()}. */
    public void pause() {
        synchronized (pauseLock) {
            paused = true;
        }
        for (Vcpu v : vcpus) {
            v.kick();
        }
    }

    public void resume() {
        synchronized (pauseLock) {
            paused = false;
            pauseLock.notifyAll();
        }
    }

    public boolean isPaused() {
        return paused;
    }

    /** Called by vCPU threads after a kick: waits here while the machine is paused. */
    private void pausePoint() {
        synchronized (pauseLock) {
            while (paused && !stopping) {
                try {
                    pauseLock.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
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
        for (VirtioDevice d : virtioDevices) {
            d.close();
        }
        virtioDevices.clear();
        if (!allJoined) {
            // A vCPU thread still inside a device could touch guest RAM: leave the mappings to process exit.
            LOG.warn("a vCPU thread did not stop; leaving its resources to process exit");
            return;
        }
        for (Vcpu v : vcpus) {
            v.close();
        }
        vcpus.clear();
        if (vm != null) {
            vm.close();
            vm = null;
        }
        for (EventFd e : irqFds) {
            e.close();
        }
        irqFds.clear();
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
