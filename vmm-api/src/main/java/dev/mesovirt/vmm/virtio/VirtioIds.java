package dev.mesovirt.vmm.virtio;

/** Virtio constants shared by the transport and the devices (virtio 1.2, sections 2, 4.2, 5 and 6). */
public final class VirtioIds {
    public static final int TYPE_NET = 1;
    public static final int TYPE_BLOCK = 2;
    public static final int TYPE_CONSOLE = 3;
    public static final int TYPE_RNG = 4;
    public static final int TYPE_VSOCK = 19;
    public static final int TYPE_FS = 26;

    public static final int F_INDIRECT_DESC = 28;
    public static final int F_EVENT_IDX = 29;
    public static final int F_VERSION_1 = 32;

    public static final int STATUS_ACKNOWLEDGE = 1;
    public static final int STATUS_DRIVER = 2;
    public static final int STATUS_DRIVER_OK = 4;
    public static final int STATUS_FEATURES_OK = 8;
    public static final int STATUS_DEVICE_NEEDS_RESET = 0x40;
    public static final int STATUS_FAILED = 0x80;

    public static final int INT_USED_RING = 1;
    public static final int INT_CONFIG = 2;

    private VirtioIds() {}
}
