package dev.mesovirt.vmm.vhost.user;

import dev.mesovirt.vmm.vhost.VhostDevice;
import dev.mesovirt.vmm.vhost.VhostDeviceModel;
import dev.mesovirt.vmm.vhost.VhostException;
import dev.mesovirt.vmm.virtio.VirtioIds;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * virtio-fs (virtio 1.2 section 5.11) served by a vhost-user back-end such as virtiofsd, QEMU's vhost-user-fs-device:
 * the configuration space is the tag the guest mounts and the number of request queues, and the back-end serves every
 * queue, the high-priority one (0) and the request queues (1..n). No device feature is offered (the notification
 * queue of VIRTIO_FS_F_NOTIFICATION and the DAX window are not supported, as in QEMU).
 */
public final class VhostUserFs implements VhostDeviceModel {
    /** struct virtio_fs_config: u8 tag[36], le32 num_request_queues. */
    static final int TAG_SIZE = 36;
    static final int CONFIG_SIZE = TAG_SIZE + 4;

    private final byte[] config = new byte[CONFIG_SIZE];
    private final int queueSize;
    private final int requestQueues;

    /**
     * @param tag 1 to 36 bytes of UTF-8 (NUL-padded in the configuration space, not NUL-terminated when it has 36)
     */
    public VhostUserFs(String tag, int queueSize, int requestQueues) {
        byte[] t = tag.getBytes(StandardCharsets.UTF_8);
        if (t.length == 0 || t.length > TAG_SIZE) {
            throw new IllegalArgumentException("a virtio-fs tag has 1 to " + TAG_SIZE + " bytes, not " + t.length);
        }
        if (queueSize < 1 || Integer.bitCount(queueSize) != 1 || queueSize > 32768) {
            throw new IllegalArgumentException("queue size " + queueSize + " is not a power of two up to 32768");
        }
        if (requestQueues < 1 || requestQueues > 0xfe) {
            throw new IllegalArgumentException(requestQueues + " request queues (1 to 254 with vhost-user)");
        }
        System.arraycopy(t, 0, config, 0, t.length);
        for (int i = 0; i < 4; i++) {
            config[TAG_SIZE + i] = (byte) (requestQueues >>> (8 * i));
        }
        this.queueSize = queueSize;
        this.requestQueues = requestQueues;
    }

    /**
     * The virtio-fs device {@code id} on the back-end at {@code socket}: connects to it (with {@code server}, listens
     * there and waits for it unless it is there already: {@link VhostUserFrontend#open}), agrees on the protocol, and
     * checks that it serves the device's queues.
     * IllegalArgumentException with a message for the user when it cannot.
     */
    public static VhostDevice open(String id, Path socket, boolean server, String tag, int queueSize, int requestQueues,
            Duration timeout) {
        VhostUserFs model = new VhostUserFs(tag, queueSize, requestQueues);
        VhostUserFrontend frontend;
        try {
            frontend = VhostUserFrontend.open(socket, server, timeout);
        } catch (VhostException e) {
            throw new IllegalArgumentException("device " + id + ": " + e.getMessage(), e);
        }
        try {
            frontend.negotiate(model.queueSizes().size());
            return new VhostDevice(id, frontend, model);
        } catch (VhostException e) {
            frontend.close();
            throw new IllegalArgumentException("device " + id + ": " + e.getMessage(), e);
        }
    }

    @Override
    public int deviceType() {
        return VirtioIds.TYPE_FS;
    }

    @Override
    public long features(long backendFeatures) {
        return 0;
    }

    /** The high-priority queue, then the request queues, all of {@code queue-size}. */
    @Override
    public List<Integer> queueSizes() {
        return Collections.nCopies(1 + requestQueues, queueSize);
    }

    @Override
    public boolean backendQueue(int index) {
        return true;
    }

    @Override
    public void readConfig(long offset, byte[] data) {
        Arrays.fill(data, (byte) 0);
        for (int i = 0; i < data.length; i++) {
            long at = offset + i;
            if (at >= 0 && at < CONFIG_SIZE) {
                data[i] = config[(int) at];
            }
        }
    }
}
