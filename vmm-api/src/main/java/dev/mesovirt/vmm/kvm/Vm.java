package dev.mesovirt.vmm.kvm;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import dev.mesovirt.vmm.sys.EventFd;
import dev.mesovirt.vmm.sys.Sys;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/** A KVM virtual machine: memory slots, interrupt lines, irqfd, ioeventfd, devices and vCPU creation. */
public final class Vm implements AutoCloseable {
    private static final int IRQFD_FLAG_DEASSIGN = 1;
    private static final int IRQFD_FLAG_RESAMPLE = 2;
    private static final int IOEVENTFD_FLAG_DATAMATCH = 1;
    private static final int IOEVENTFD_FLAG_PIO = 2;
    private static final int IOEVENTFD_FLAG_DEASSIGN = 4;
    static final int IRQ_ROUTING_IRQCHIP = 1;
    static final int IRQ_ROUTING_MSI = 2;
    static final int MSI_VALID_DEVID = 1;

    private final Kvm kvm;
    private final int fd;
    /** close() may be reached twice (error paths, shutdown); a second close(2) would hit a reused number. */
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
    private final Memory irqLevel = new Memory(Layouts.IRQ_LEVEL_SIZE);

    Vm(Kvm kvm, int fd) {
        this.kvm = kvm;
        this.fd = fd;
    }

    public Kvm kvm() {
        return kvm;
    }

    public int fd() {
        return fd;
    }

    /** KVM_CHECK_EXTENSION on the VM fd, which answers per-VM (e.g. the arm64 IPA size, vCPU limits). */
    public int checkExtension(KvmCapability capability) {
        return Sys.ioctl(fd, KvmIoctls.CHECK_EXTENSION, capability.number(), "KVM_CHECK_EXTENSION(vm)");
    }

    public void setUserMemoryRegion(int slot, int flags, long guestAddress, long size, long hostAddress) {
        try (Memory m = new Memory(Layouts.USERSPACE_MEMORY_REGION_SIZE)) {
            m.setInt(0, slot);
            m.setInt(4, flags);
            m.setLong(8, guestAddress);
            m.setLong(16, size);
            m.setLong(24, hostAddress);
            Sys.ioctl(fd, KvmIoctls.SET_USER_MEMORY_REGION, m, "KVM_SET_USER_MEMORY_REGION");
        }
    }

    /** KVM_IRQ_LINE: drives an interrupt line; {@code line} is encoded the architecture's way. */
    public void setIrqLine(int line, boolean level) {
        synchronized (irqLevel) {
            irqLevel.setInt(0, line);
            irqLevel.setInt(4, level ? 1 : 0);
            Sys.ioctl(fd, KvmIoctls.IRQ_LINE, irqLevel, "KVM_IRQ_LINE");
        }
    }

    /** KVM_IRQFD: a write to {@code eventFd} injects {@code gsi} without leaving the kernel. */
    public void registerIrqfd(EventFd eventFd, int gsi) {
        irqfd(eventFd, gsi, 0);
    }

    public void unregisterIrqfd(EventFd eventFd, int gsi) {
        irqfd(eventFd, gsi, IRQFD_FLAG_DEASSIGN);
    }

    /**
     * KVM_IRQFD with KVM_IRQFD_FLAG_RESAMPLE, for a level-triggered line: a write to {@code eventFd} asserts
     * {@code gsi} and keeps it asserted until the guest EOIs it; KVM then de-asserts the line and signals
     * {@code resampleFd}, so the device model can re-assert it if its interrupt condition still holds.
     */
    public void registerIrqfdResample(EventFd eventFd, EventFd resampleFd, int gsi) {
        irqfd(eventFd, gsi, IRQFD_FLAG_RESAMPLE, resampleFd.fd());
    }

    private void irqfd(EventFd eventFd, int gsi, int flags) {
        irqfd(eventFd, gsi, flags, 0);
    }

    private void irqfd(EventFd eventFd, int gsi, int flags, int resampleFd) {
        try (Memory m = new Memory(Layouts.IRQFD_SIZE)) {
            m.clear();
            m.setInt(0, eventFd.fd());
            m.setInt(4, gsi);
            m.setInt(8, flags);
            m.setInt(12, resampleFd);
            Sys.ioctl(fd, KvmIoctls.IRQFD, m, "KVM_IRQFD");
        }
    }

    /**
     * KVM_IOEVENTFD: a guest write of {@code length} bytes to {@code address} (port I/O when {@code pio}) signals
     * {@code eventFd} in-kernel, with no exit to the VMM; {@code dataMatch} restricts it to one written value.
     */
    public void registerIoeventfd(EventFd eventFd, long address, int length, boolean pio, Long dataMatch) {
        ioeventfd(eventFd, address, length, pio, dataMatch, 0);
    }

    public void unregisterIoeventfd(EventFd eventFd, long address, int length, boolean pio, Long dataMatch) {
        ioeventfd(eventFd, address, length, pio, dataMatch, IOEVENTFD_FLAG_DEASSIGN);
    }

    private void ioeventfd(EventFd eventFd, long address, int length, boolean pio, Long dataMatch, int extra) {
        try (Memory m = new Memory(Layouts.IOEVENTFD_SIZE)) {
            m.clear();
            int flags = extra | (pio ? IOEVENTFD_FLAG_PIO : 0) | (dataMatch != null ? IOEVENTFD_FLAG_DATAMATCH : 0);
            m.setLong(0, dataMatch == null ? 0 : dataMatch);
            m.setLong(8, address);
            m.setInt(16, length);
            m.setInt(20, eventFd.fd());
            m.setInt(24, flags);
            Sys.ioctl(fd, KvmIoctls.IOEVENTFD, m, "KVM_IOEVENTFD");
        }
    }

    /**
     * KVM_SET_GSI_ROUTING: replaces the VM's whole GSI routing table (the in-kernel controller's default routes
     * included, so a caller that adds MSI routes passes those too; see {@code IrqChip.defaultRoutes}).
     */
    public void setGsiRouting(List<GsiRoute> routes) {
        ByteBuffer table = encodeRouting(routes);
        try (Memory m = new Memory(table.capacity())) {
            m.write(0, table.array(), 0, table.capacity());
            Sys.ioctl(fd, KvmIoctls.SET_GSI_ROUTING, m, "KVM_SET_GSI_ROUTING(" + routes.size() + " routes)");
        }
    }

    /** {@code struct kvm_irq_routing} with its entries, as the kernel reads it (offsets: linux/kvm.h). */
    static ByteBuffer encodeRouting(List<GsiRoute> routes) {
        ByteBuffer b = ByteBuffer.allocate(Layouts.IRQ_ROUTING_HEADER_SIZE + routes.size() * Layouts.IRQ_ROUTING_ENTRY_SIZE)
                .order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, routes.size()); // nr; flags 0
        int at = Layouts.IRQ_ROUTING_HEADER_SIZE;
        for (GsiRoute r : routes) {
            b.putInt(at, r.gsi());
            int u = at + Layouts.IRQ_ROUTING_ENTRY_UNION;
            switch (r) {
                case GsiRoute.IrqchipPin p -> {
                    b.putInt(at + 4, IRQ_ROUTING_IRQCHIP);
                    b.putInt(u, p.irqchip());
                    b.putInt(u + 4, p.pin());
                }
                case GsiRoute.Msi msi -> {
                    b.putInt(at + 4, IRQ_ROUTING_MSI);
                    b.putInt(at + 8, msi.deviceId().isPresent() ? MSI_VALID_DEVID : 0);
                    b.putInt(u, (int) msi.address());
                    b.putInt(u + 4, (int) (msi.address() >>> 32));
                    b.putInt(u + 8, msi.data());
                    b.putInt(u + 12, msi.deviceId().orElse(0));
                }
            }
            at += Layouts.IRQ_ROUTING_ENTRY_SIZE;
        }
        return b;
    }

    /** KVM_CREATE_DEVICE: an in-kernel device such as the arm64 vGIC or the riscv64 AIA. */
    public KvmDevice createDevice(int type) {
        try (Memory m = new Memory(Layouts.CREATE_DEVICE_SIZE)) {
            m.clear();
            m.setInt(0, type);
            Sys.ioctl(fd, KvmIoctls.CREATE_DEVICE, m, "KVM_CREATE_DEVICE(type " + type + ")");
            return new KvmDevice(type, m.getInt(4));
        }
    }

    public Vcpu createVcpu(int id) {
        int vcpuFd = Sys.ioctl(fd, KvmIoctls.CREATE_VCPU, id, "KVM_CREATE_VCPU(" + id + ")");
        return new Vcpu(id, vcpuFd, kvm.vcpuMmapSize());
    }

    /** A VM ioctl with a pointer argument, for architecture modules. */
    public int ioctl(long request, Pointer argument, String name) {
        return Sys.ioctl(fd, request, argument, name);
    }

    /** A VM ioctl with an integer argument, for architecture modules. */
    public int ioctl(long request, long argument, String name) {
        return Sys.ioctl(fd, request, argument, name);
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            Sys.close(fd);
        }
    }
}
