package dev.mesovirt.vmm.vhost;

import dev.mesovirt.vmm.testing.UapiExpectations;
import java.util.List;
import org.junit.jupiter.api.Test;

/** KernelVhostBackend's byte layouts and request numbers against linux/vhost.h and linux/vhost_types.h. */
class VhostUapiLayoutTest {
    @Test
    void layoutsAndRequestsMatchTheKernelHeaders() throws Exception {
        UapiExpectations u = new UapiExpectations();
        u.expect("sizeof(struct vhost_vring_state)", KernelVhostBackend.VRING_STATE_SIZE);
        u.expect("offsetof(struct vhost_vring_state, num)", 4);
        u.expect("sizeof(struct vhost_vring_file)", KernelVhostBackend.VRING_FILE_SIZE);
        u.expect("offsetof(struct vhost_vring_file, fd)", 4);
        u.expect("sizeof(struct vhost_vring_addr)", KernelVhostBackend.VRING_ADDR_SIZE);
        u.expect("offsetof(struct vhost_vring_addr, flags)", KernelVhostBackend.VRING_ADDR_FLAGS);
        u.expect("offsetof(struct vhost_vring_addr, desc_user_addr)", KernelVhostBackend.VRING_ADDR_DESC);
        u.expect("offsetof(struct vhost_vring_addr, used_user_addr)", KernelVhostBackend.VRING_ADDR_USED);
        u.expect("offsetof(struct vhost_vring_addr, avail_user_addr)", KernelVhostBackend.VRING_ADDR_AVAIL);
        u.expect("offsetof(struct vhost_vring_addr, log_guest_addr)", KernelVhostBackend.VRING_ADDR_LOG);
        u.expect("1 << VHOST_VRING_F_LOG", VringAddress.F_LOG);
        u.expect("sizeof(struct vhost_memory)", KernelVhostBackend.MEMORY_HEADER_SIZE);
        u.expect("offsetof(struct vhost_memory, regions)", KernelVhostBackend.MEMORY_HEADER_SIZE);
        u.expect("sizeof(struct vhost_memory_region)", KernelVhostBackend.MEMORY_REGION_SIZE);
        u.expect("offsetof(struct vhost_memory_region, memory_size)", 8);
        u.expect("offsetof(struct vhost_memory_region, userspace_addr)", 16);
        u.expect("offsetof(struct vhost_memory_region, flags_padding)", 24);
        u.expect("VHOST_VIRTIO", KernelVhostBackend.VHOST_VIRTIO);
        u.expect("VHOST_GET_FEATURES", KernelVhostBackend.GET_FEATURES);
        u.expect("VHOST_SET_FEATURES", KernelVhostBackend.SET_FEATURES);
        u.expect("VHOST_SET_OWNER", KernelVhostBackend.SET_OWNER);
        u.expect("VHOST_SET_MEM_TABLE", KernelVhostBackend.SET_MEM_TABLE);
        u.expect("VHOST_SET_VRING_NUM", KernelVhostBackend.SET_VRING_NUM);
        u.expect("VHOST_SET_VRING_ADDR", KernelVhostBackend.SET_VRING_ADDR);
        u.expect("VHOST_SET_VRING_BASE", KernelVhostBackend.SET_VRING_BASE);
        u.expect("VHOST_GET_VRING_BASE", KernelVhostBackend.GET_VRING_BASE);
        u.expect("VHOST_SET_VRING_KICK", KernelVhostBackend.SET_VRING_KICK);
        u.expect("VHOST_SET_VRING_CALL", KernelVhostBackend.SET_VRING_CALL);
        u.expect("VHOST_VSOCK_SET_GUEST_CID", KernelVhostBackend.VSOCK_SET_GUEST_CID);
        u.expect("VHOST_VSOCK_SET_RUNNING", KernelVhostBackend.VSOCK_SET_RUNNING);

        u.assertMatch(List.of("linux/vhost.h"));
    }
}
