package dev.mesovirt.vmm.virtio;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.mesovirt.vmm.testing.CProbe;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The TUN/TAP and block-device requests and flags the devices use, against linux/if_tun.h and linux/fs.h. */
class HostIoctlsTest {
    @Test
    void requestsAndFlagsMatchTheKernelHeaders() throws Exception {
        Map<String, Long> ours = new LinkedHashMap<>();
        ours.put("TUNSETIFF", NetDevice.TUNSETIFF);
        ours.put("TUNGETIFF", NetDevice.TUNGETIFF);
        ours.put("TUNSETOFFLOAD", NetDevice.TUNSETOFFLOAD);
        ours.put("TUNGETVNETHDRSZ", NetDevice.TUNGETVNETHDRSZ);
        ours.put("IFF_TAP", (long) NetDevice.IFF_TAP);
        ours.put("IFF_NO_PI", (long) NetDevice.IFF_NO_PI);
        ours.put("IFF_VNET_HDR", (long) NetDevice.IFF_VNET_HDR);
        ours.put("IFF_MULTI_QUEUE", (long) NetDevice.IFF_MULTI_QUEUE);
        ours.put("BLKSSZGET", BlockDevice.BLKSSZGET);
        Map<String, String> c = new LinkedHashMap<>();
        for (String name : ours.keySet()) {
            c.put(name, name);
        }
        Map<String, Long> kernel = CProbe.evaluate(List.of("sys/ioctl.h", "linux/if_tun.h", "linux/fs.h"), c);
        for (Map.Entry<String, Long> e : ours.entrySet()) {
            assertEquals(kernel.get(e.getKey()), e.getValue(), e.getKey());
        }
    }
}
