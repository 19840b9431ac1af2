package dev.mesovirt.vmm.kvm;

import com.sun.jna.Memory;
import dev.mesovirt.vmm.sys.Sys;

/** An in-kernel device made with KVM_CREATE_DEVICE, configured through device attributes. */
public final class KvmDevice implements AutoCloseable {
    private final int type;
    private final int fd;
    /** close() may be reached twice (error paths, shutdown); a second close(2) would hit a reused number. */
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

    KvmDevice(int type, int fd) {
        this.type = type;
        this.fd = fd;
    }

    public int type() {
        return type;
    }

    public int fd() {
        return fd;
    }

    /** KVM_SET_DEVICE_ATTR with a 64-bit value (the kernel reads as many bytes as the attribute needs). */
    public void setAttribute(int group, long attribute, long value, int valueBytes) {
        try (Memory data = new Memory(8); Memory attr = new Memory(Layouts.DEVICE_ATTR_SIZE)) {
            data.clear();
            if (valueBytes == 4) {
                data.setInt(0, (int) value);
            } else {
                data.setLong(0, value);
            }
            fill(attr, group, attribute, data);
            Sys.ioctl(fd, KvmIoctls.SET_DEVICE_ATTR, attr, attrName("KVM_SET_DEVICE_ATTR", group, attribute));
        }
    }

    /** KVM_SET_DEVICE_ATTR with no payload (e.g. a CTRL_INIT). */
    public void setAttribute(int group, long attribute) {
        try (Memory attr = new Memory(Layouts.DEVICE_ATTR_SIZE)) {
            attr.clear();
            attr.setInt(4, group);
            attr.setLong(8, attribute);
            Sys.ioctl(fd, KvmIoctls.SET_DEVICE_ATTR, attr, attrName("KVM_SET_DEVICE_ATTR", group, attribute));
        }
    }

    public long getAttribute(int group, long attribute, int valueBytes) {
        try (Memory data = new Memory(8); Memory attr = new Memory(Layouts.DEVICE_ATTR_SIZE)) {
            data.clear();
            fill(attr, group, attribute, data);
            Sys.ioctl(fd, KvmIoctls.GET_DEVICE_ATTR, attr, attrName("KVM_GET_DEVICE_ATTR", group, attribute));
            return valueBytes == 4 ? Integer.toUnsignedLong(data.getInt(0)) : data.getLong(0);
        }
    }

    public boolean hasAttribute(int group, long attribute) {
        try (Memory attr = new Memory(Layouts.DEVICE_ATTR_SIZE)) {
            attr.clear();
            attr.setInt(4, group);
            attr.setLong(8, attribute);
            try {
                Sys.ioctl(fd, KvmIoctls.HAS_DEVICE_ATTR, attr, "KVM_HAS_DEVICE_ATTR");
                return true;
            } catch (dev.mesovirt.vmm.sys.ErrnoException e) {
                return false;
            }
        }
    }

    private static void fill(Memory attr, int group, long attribute, Memory data) {
        attr.clear();
        attr.setInt(4, group);
        attr.setLong(8, attribute);
        attr.setLong(16, com.sun.jna.Pointer.nativeValue(data));
    }

    private String attrName(String call, int group, long attribute) {
        return call + "(device type " + type + ", group " + group + ", attr 0x" + Long.toHexString(attribute) + ")";
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            Sys.close(fd);
        }
    }
}
