package dev.mesovirt.vmm.machine;

import dev.mesovirt.vmm.bus.Bus;
import dev.mesovirt.vmm.kvm.Layouts;
import dev.mesovirt.vmm.kvm.Vcpu;
import dev.mesovirt.vmm.kvm.VcpuExit;
import java.util.Arrays;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one vCPU on its own thread: KVM_RUN, dispatch the exit to the buses, repeat, until the machine stops.
 * Everything the guest controls (ports, addresses, sizes) is validated here or by the bus; nothing a guest does
 * can throw out of this loop except as an {@link Outcome.Failed}.
 */
public final class VcpuLoop implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(VcpuLoop.class);

    private final Vcpu vcpu;
    private final Bus pio;
    private final Bus mmio;
    private final Consumer<Outcome> finish;
    private final Supplier<Boolean> stopping;
    private final Runnable pausePoint;
    private final Runnable onFirstRun;
    /** Reused access buffers indexed by size, so the exit path does not allocate. */
    private final byte[][] buffers = new byte[9][];

    VcpuLoop(Vcpu vcpu, Bus pio, Bus mmio, Consumer<Outcome> finish, Supplier<Boolean> stopping, Runnable pausePoint,
            Runnable onFirstRun) {
        this.vcpu = vcpu;
        this.pio = pio;
        this.mmio = mmio;
        this.finish = finish;
        this.stopping = stopping;
        this.pausePoint = pausePoint;
        this.onFirstRun = onFirstRun;
        for (int i = 1; i <= 8; i++) {
            buffers[i] = new byte[i];
        }
    }

    /**
     * The loop {@link Machine} runs on each vCPU thread, for a vCPU and buses set up elsewhere (benchmarks,
     * tests): it runs the vCPU on the calling thread until {@code stopping} answers true before a KVM_RUN, or the
     * guest ends, which {@code finish} is told.
     */
    public static Runnable on(Vcpu vcpu, Bus pio, Bus mmio, Consumer<Outcome> finish, Supplier<Boolean> stopping) {
        return new VcpuLoop(vcpu, pio, mmio, finish, stopping, () -> { }, () -> { });
    }

    @Override
    public void run() {
        try {
            vcpu.bindToCurrentThread();
            onFirstRun.run();
            loop();
        } catch (RuntimeException | Error e) {
            LOG.error("vCPU {} failed", vcpu.id(), e);
            finish.accept(new Outcome.Failed("vCPU " + vcpu.id() + ": " + e.getMessage()));
        }
    }

    private void loop() {
        while (true) {
            if (stopping.get()) {
                return;
            }
            VcpuExit exit = vcpu.run();
            switch (exit) {
                case VcpuExit.Io io -> handleIo(io);
                case VcpuExit.Mmio m -> handleMmio(m);
                case VcpuExit.Interrupted i -> {
                    vcpu.setImmediateExit(false);
                    pausePoint.run();
                }
                case VcpuExit.Halt h -> {
                    LOG.info("vCPU {} halted", vcpu.id());
                    finish.accept(new Outcome.Halted());
                    return;
                }
                case VcpuExit.SystemEvent e -> {
                    switch (e.type()) {
                        case VcpuExit.SystemEvent.SHUTDOWN -> finish.accept(new Outcome.PoweredOff());
                        case VcpuExit.SystemEvent.RESET -> finish.accept(new Outcome.Rebooted());
                        case VcpuExit.SystemEvent.CRASH -> finish.accept(new Outcome.Panicked("guest crash event"));
                        default -> finish.accept(new Outcome.Failed(
                                "vCPU " + vcpu.id() + ": unhandled KVM_EXIT_SYSTEM_EVENT type " + e.type()));
                    }
                    return;
                }
                case VcpuExit.Shutdown s -> {
                    finish.accept(new Outcome.TripleFault(vcpu.id()));
                    return;
                }
                case VcpuExit.InternalError e -> {
                    finish.accept(new Outcome.Failed("vCPU " + vcpu.id() + ": KVM_EXIT_INTERNAL_ERROR, suberror "
                            + e.suberror() + ", data " + hex(e.data())));
                    return;
                }
                case VcpuExit.FailEntry f -> {
                    finish.accept(new Outcome.Failed("vCPU " + vcpu.id() + ": KVM_EXIT_FAIL_ENTRY, hardware reason 0x"
                            + Long.toHexString(f.hardwareReason()) + " on CPU " + f.cpu()));
                    return;
                }
                case VcpuExit.Other o -> {
                    finish.accept(new Outcome.Failed("vCPU " + vcpu.id() + ": unhandled "
                            + Vcpu.exitReasonName(o.reason())));
                    return;
                }
            }
        }
    }

    private void handleIo(VcpuExit.Io io) {
        int size = io.size();
        if (size != 1 && size != 2 && size != 4) {
            return; // KVM never reports other sizes; ignore rather than trust it blindly
        }
        byte[] data = buffers[size];
        for (int i = 0; i < io.count(); i++) {
            int offset = io.dataOffset() + i * size;
            if (io.write()) {
                vcpu.readRun(offset, data);
                pio.write(io.port(), data);
            } else {
                pio.read(io.port(), data);
                vcpu.writeRun(offset, data);
            }
        }
    }

    private void handleMmio(VcpuExit.Mmio m) {
        int len = m.length();
        if (len < 1 || len > 8) {
            return;
        }
        byte[] data = buffers[len];
        boolean claimed;
        if (m.write()) {
            vcpu.readRun(Layouts.Run.MMIO_DATA, data);
            claimed = mmio.write(m.address(), data);
        } else {
            claimed = mmio.read(m.address(), data);
            vcpu.writeRun(Layouts.Run.MMIO_DATA, data);
        }
        if (!claimed && LOG.isDebugEnabled()) {
            // What firmware or a guest probes that this machine does not have (MESOVIRT_LOG=debug).
            LOG.debug("vCPU {}: MMIO {} of {} bytes at 0x{}: no device", vcpu.id(), m.write() ? "write" : "read", len,
                    Long.toHexString(m.address()));
        }
    }

    private static String hex(long[] data) {
        String[] s = new String[data.length];
        for (int i = 0; i < data.length; i++) {
            s[i] = "0x" + Long.toHexString(data[i]);
        }
        return Arrays.toString(s);
    }
}
