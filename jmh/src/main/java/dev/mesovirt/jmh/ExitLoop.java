package dev.mesovirt.jmh;

import dev.mesovirt.vmm.bus.Bus;
import dev.mesovirt.vmm.bus.BusDevice;
import dev.mesovirt.vmm.kvm.Vcpu;
import dev.mesovirt.vmm.machine.VcpuLoop;

/**
 * Runs a vCPU through Mesovirt's own vCPU loop ({@link VcpuLoop}, the class the machine core runs on every vCPU
 * thread) until a device on its buses has seen a given number of accesses: the loop's {@code stopping} supplier,
 * checked before every KVM_RUN, ends it after exactly the wanted number of exits.
 */
public final class ExitLoop {
    /** Counts the guest's accesses; the loop stops on its count. */
    public static final class CountingDevice implements BusDevice {
        private long count;
        private final byte[] last = new byte[8];

        public long count() {
            return count;
        }

        @Override
        public void read(long offset, byte[] data) {
            count++;
        }

        @Override
        public void write(long offset, byte[] data) {
            System.arraycopy(data, 0, last, 0, Math.min(data.length, last.length));
            count++;
        }
    }

    private final Bus pio = new Bus("pio");
    private final Bus mmio = new Bus("mmio");
    private final CountingDevice device = new CountingDevice();
    private final Runnable loop;
    private long target;
    private volatile String failure;

    private ExitLoop(Vcpu vcpu) {
        pio.insert(RealModeGuest.PORT, 1, device, "counter");
        mmio.insert(RealModeGuest.MMIO_ADDRESS, 0x1000, device, "counter");
        loop = VcpuLoop.on(vcpu, pio, mmio, outcome -> failure = String.valueOf(outcome),
                () -> device.count >= target || failure != null);
    }

    public static ExitLoop open(Vcpu vcpu) {
        return new ExitLoop(vcpu);
    }

    /** Runs the guest until the counting device has seen {@code exits} more accesses. */
    public void run(int exits) {
        target = device.count + exits;
        loop.run();
        if (failure != null) {
            throw new IllegalStateException("the guest stopped: " + failure);
        }
    }

    public String description() {
        return VcpuLoop.class.getName();
    }

    public long count() {
        return device.count;
    }
}
