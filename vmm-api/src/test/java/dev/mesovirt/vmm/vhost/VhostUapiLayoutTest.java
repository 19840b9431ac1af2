package dev.mesovirt.vmm.vhost;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.mesovirt.vmm.testing.CProbe;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** KernelVhostBackend's byte layouts and request numbers against linux/vhost.h and linux/vhost_types.h. */
class VhostUapiLayoutTest {
    @Test
    void layoutsAndRequestsMatchTheKernelHeaders() throws Exception {
        Map<String, String> c = new LinkedHashMap<>();
        Map<String, Long> ours = new LinkedHashMap<>();
        expect(c, ours, "sizeof(struct vhost_vring_state)", KernelVhostBackend.VRING_STATE_SIZE);
        expect(c, ours, "offsetof(struct vhost_vring_state, num)", 4);
        expect(c, ours, "sizeof(struct vhost_vring_file)", KernelVhostBackend.VRING_FILE_SIZE);
        expect(c, ours, "offsetof(struct vhost_vring_file, fd)", 4);
        expect(c, ours, "sizeof(struct vhost_vring_addr)", KernelVhostBackend.VRING_ADDR_SIZE);
        expect(c, ours, "offsetof(struct vhost_vring_addr, flags)", KernelVhostBackend.VRING_ADDR_FLAGS);
        expect(c, ours, "offsetof(struct vhost_vring_addr, desc_user_addr)", KernelVhostBackend.VRING_ADDR_DESC);
        expect(c, ours, "offsetof(struct vhost_vring_addr, used_user_addr)", KernelVhostBackend.VRING_ADDR_USED);
        expect(c, ours, "offsetof(struct vhost_vring_addr, avail_user_addr)", KernelVhostBackend.VRING_ADDR_AVAIL);
        expect(c, ours, "offsetof(struct vhost_vring_addr, log_guest_addr)", KernelVhostBackend.VRING_ADDR_LOG);
        expect(c, ours, "1 << VHOST_VRING_F_LOG", VringAddress.F_LOG);
        expect(c, ours, "sizeof(struct vhost_memory)", KernelVhostBackend.MEMORY_HEADER_SIZE);
        expect(c, ours, "offsetof(struct vhost_memory, regions)", KernelVhostBackend.MEMORY_HEADER_SIZE);
        expect(c, ours, "sizeof(struct vhost_memory_region)", KernelVhostBackend.MEMORY_REGION_SIZE);
        expect(c, ours, "offsetof(struct vhost_memory_region, memory_size)", 8);
        expect(c, ours, "offsetof(struct vhost_memory_region, userspace_addr)", 16);
        expect(c, ours, "offsetof(struct vhost_memory_region, flags_padding)", 24);
        expect(c, ours, "VHOST_VIRTIO", KernelVhostBackend.VHOST_VIRTIO);
        expect(c, ours, "VHOST_GET_FEATURES", KernelVhostBackend.GET_FEATURES);
        expect(c, ours, "VHOST_SET_FEATURES", KernelVhostBackend.SET_FEATURES);
        expect(c, ours, "VHOST_SET_OWNER", KernelVhostBackend.SET_OWNER);
        expect(c, ours, "VHOST_SET_MEM_TABLE", KernelVhostBackend.SET_MEM_TABLE);
        expect(c, ours, "VHOST_SET_VRING_NUM", KernelVhostBackend.SET_VRING_NUM);
        expect(c, ours, "VHOST_SET_VRING_ADDR", KernelVhostBackend.SET_VRING_ADDR);
        expect(c, ours, "VHOST_SET_VRING_BASE", KernelVhostBackend.SET_VRING_BASE);
        expect(c, ours, "VHOST_GET_VRING_BASE", KernelVhostBackend.GET_VRING_BASE);
        expect(c, ours, "VHOST_SET_VRING_KICK", KernelVhostBackend.SET_VRING_KICK);
        expect(c, ours, "VHOST_SET_VRING_CALL", KernelVhostBackend.SET_VRING_CALL);
        expect(c, ours, "VHOST_VSOCK_SET_GUEST_CID", KernelVhostBackend.VSOCK_SET_GUEST_CID);
        expect(c, ours, "VHOST_VSOCK_SET_RUNNING", KernelVhostBackend.VSOCK_SET_RUNNING);

        Map<String, Long> kernel = CProbe.evaluate(List.of("linux/vhost.h"), c);
        for (Map.Entry<String, Long> e : ours.entrySet()) {
            assertEquals(kernel.get(e.getKey()), e.getValue(), c.get(e.getKey()));
        }
    }

    private static void expect(Map<String, String> c, Map<String, Long> ours, String expression, long value) {
        String key = "v" + c.size();
        c.put(key, expression);
        ours.put(key, value);
    }
}
