package dev.mesovirt.vmm.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.mesovirt.vmm.kvm.KvmIoctls;
import org.junit.jupiter.api.Test;

class IoctlsTest {
    /** Values as the kernel headers define them (checked with a C compiler against linux/kvm.h). */
    @Test
    void kvmRequestNumbersMatchTheKernelHeaders() {
        assertEquals(0xAE00L, KvmIoctls.GET_API_VERSION);
        assertEquals(0xAE01L, KvmIoctls.CREATE_VM);
        assertEquals(0xAE03L, KvmIoctls.CHECK_EXTENSION);
        assertEquals(0xAE04L, KvmIoctls.GET_VCPU_MMAP_SIZE);
        assertEquals(0xAE41L, KvmIoctls.CREATE_VCPU);
        assertEquals(0x4020AE46L, KvmIoctls.SET_USER_MEMORY_REGION);
        assertEquals(0x4008AE61L, KvmIoctls.IRQ_LINE);
        assertEquals(0x4008AE6AL, KvmIoctls.SET_GSI_ROUTING);
        assertEquals(0x4020AE76L, KvmIoctls.IRQFD);
        assertEquals(0x4040AE79L, KvmIoctls.IOEVENTFD);
        assertEquals(0x4020AEA5L, KvmIoctls.SIGNAL_MSI);
        assertEquals(0x4068AEA3L, KvmIoctls.ENABLE_CAP);
        assertEquals(0xC00CAEE0L, KvmIoctls.CREATE_DEVICE);
        assertEquals(0x4018AEE1L, KvmIoctls.SET_DEVICE_ATTR);
        assertEquals(0x4018AEE2L, KvmIoctls.GET_DEVICE_ATTR);
        assertEquals(0x4018AEE3L, KvmIoctls.HAS_DEVICE_ATTR);
        assertEquals(0xAE80L, KvmIoctls.RUN);
        assertEquals(0x4010AEABL, KvmIoctls.GET_ONE_REG);
        assertEquals(0x4010AEACL, KvmIoctls.SET_ONE_REG);
        assertEquals(0x8004AE98L, KvmIoctls.GET_MP_STATE);
        assertEquals(0x4004AE99L, KvmIoctls.SET_MP_STATE);
    }

    @Test
    void encodingFieldsLandInTheirBits() {
        assertEquals(0xC0FF_12_34L, Ioctls.iowr(0x12, 0x34, 0xFF) & 0xFFFF_FFFFL);
        assertEquals((2L << 30) | (0x3FFFL << 16), Ioctls.ior(0, 0, 0x3FFF));
        assertThrows(IllegalArgumentException.class, () -> Ioctls.ioc(Ioctls.READ, 0, 0, 1 << 14));
        assertThrows(IllegalArgumentException.class, () -> Ioctls.ioc(Ioctls.READ, 0, 0, -1));
    }
}
