package dev.mesovirt.vmm.machine;

import dev.mesovirt.vmm.sys.Fds;
import dev.mesovirt.vmm.vhost.VhostVsock;
import dev.mesovirt.vmm.vhost.user.VhostUserFrontend;
import dev.mesovirt.vmm.vhost.user.VhostUserFs;
import dev.mesovirt.vmm.virtio.BlockDevice;
import dev.mesovirt.vmm.virtio.ConsoleBackend;
import dev.mesovirt.vmm.virtio.ConsoleDevice;
import dev.mesovirt.vmm.virtio.NetDevice;
import dev.mesovirt.vmm.virtio.RngDevice;
import dev.mesovirt.vmm.virtio.VirtioDevice;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;

/**
 * Opens the backend a {@link VirtioConfig} describes (image file, entropy source, TAP, console socket, vhost-vsock, vhost-user socket) as the virtio
 * device both machines put behind their transport, virtio-mmio or virtio-pci.
 */
public final class VirtioDevices {
    private VirtioDevices() {}

    /** Opens {@code dc}'s backend; IllegalArgumentException with a message for the user when it cannot. */
    public static VirtioDevice open(VirtioConfig dc) {
        try {
            return switch (dc) {
                case VirtioConfig.Block b -> new BlockDevice(b.id(), b.file(), b.readOnly(), b.direct(), b.noFlush(),
                        b.sizes(), b.serial().orElse(null));
                case VirtioConfig.Rng r -> new RngDevice(r.id(), r.source());
                case VirtioConfig.Net n -> {
                    int fd = n.ifname().isPresent() ? NetDevice.openTap(n.ifname().get()) : n.fd();
                    yield new NetDevice(n.id(), fd, n.mac().bytes());
                }
                case VirtioConfig.Console c -> new ConsoleDevice(c.id(), c.socketPath().isPresent()
                        ? ConsoleBackend.socketServer(c.socketPath().get()) : ConsoleBackend.stdio());
                case VirtioConfig.Vsock v -> VhostVsock.open(v.id(), v.guestCid(), v.vhostFd());
                case VirtioConfig.Fs f -> VhostUserFs.open(f.id(), f.socket(), f.server(), f.tag(), f.queueSize(),
                        f.requestQueues(), VhostUserFrontend.DEFAULT_TIMEOUT);
            };
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("device " + dc.id() + ": " + e.getFile() + ": no such file");
        } catch (AccessDeniedException e) {
            throw new IllegalArgumentException("device " + dc.id() + ": " + e.getFile() + ": permission denied");
        } catch (IOException e) {
            throw new IllegalArgumentException("device " + dc.id() + ": " + e.getMessage());
        }
    }

    /**
     * The name of the device's own thread, where its queue work runs: {@code virtio-ID} (virtio-blk0 for a device
     * with id blk0), as {@code ps -L}, thread dumps and the logs show it.
     */
    public static String threadName(VirtioConfig device) {
        return "virtio-" + device.id();
    }

    /** Closes the open descriptor a device config carries (a TAP passed to netdev_add), for a device never opened. */
    public static void closePassedDescriptor(VirtioConfig device) {
        if (device instanceof VirtioConfig.Net n && n.fd() >= 0) {
            Fds.closeQuietly(n.fd());
        }
        if (device instanceof VirtioConfig.Vsock v && v.vhostFd() >= 0) {
            Fds.closeQuietly(v.vhostFd());
        }
    }
}
