package dev.mesovirt.vmm.kvm;

import com.sun.jna.Pointer;
import dev.mesovirt.vmm.sys.ErrnoException;
import dev.mesovirt.vmm.sys.LibC;
import dev.mesovirt.vmm.sys.Sys;

/** The KVM system handle ({@code /dev/kvm}): API version, capabilities and VM creation. */
public final class Kvm implements AutoCloseable {
    public static final String DEFAULT_PATH = "/dev/kvm";
    /** The only stable KVM API version. */
    public static final int API_VERSION = 12;

    private final int fd;
    /** close() may be reached twice (error paths, shutdown); a second close(2) would hit a reused number. */
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
    private final int vcpuMmapSize;

    private Kvm(int fd) {
        this.fd = fd;
        int version = Sys.ioctl(fd, KvmIoctls.GET_API_VERSION, 0L, "KVM_GET_API_VERSION");
        if (version != API_VERSION) {
            Sys.close(fd);
            throw new KvmException("KVM API version " + version + " is not supported (need " + API_VERSION + ")");
        }
        this.vcpuMmapSize = Sys.ioctl(fd, KvmIoctls.GET_VCPU_MMAP_SIZE, 0L, "KVM_GET_VCPU_MMAP_SIZE");
    }

    public static Kvm open() {
        return open(DEFAULT_PATH);
    }

    public static Kvm open(String path) {
        try {
            return new Kvm(Sys.open(path, LibC.O_RDWR));
        } catch (ErrnoException e) {
            throw new KvmException("cannot open " + path + " (" + e.getMessage()
                    + "): is KVM available and are you allowed to use it?", e);
        }
    }

    public int fd() {
        return fd;
    }

    int vcpuMmapSize() {
        return vcpuMmapSize;
    }

    /** KVM_CHECK_EXTENSION: 0 when absent, otherwise a capability-specific positive value. */
    public int checkExtension(KvmCapability capability) {
        return Sys.ioctl(fd, KvmIoctls.CHECK_EXTENSION, capability.number(), "KVM_CHECK_EXTENSION");
    }

    public void requireExtension(KvmCapability capability) {
        if (checkExtension(capability) <= 0) {
            throw new KvmException("the host's KVM lacks the required capability KVM_CAP_" + capability.name());
        }
    }

    /** Creates a VM; {@code type} is architecture specific (0 on x86, the IPA size on arm64). */
    public Vm createVm(long type) {
        int vmFd = Sys.ioctl(fd, KvmIoctls.CREATE_VM, type, "KVM_CREATE_VM");
        return new Vm(this, vmFd);
    }

    /** A system ioctl with a pointer argument, for architecture modules (e.g. KVM_GET_SUPPORTED_CPUID). */
    public int ioctl(long request, Pointer argument, String name) {
        return Sys.ioctl(fd, request, argument, name);
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            Sys.close(fd);
        }
    }
}
