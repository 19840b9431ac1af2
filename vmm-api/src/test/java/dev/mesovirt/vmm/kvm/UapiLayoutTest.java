package dev.mesovirt.vmm.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.mesovirt.vmm.testing.CProbe;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Our byte layouts and request numbers against linux/kvm.h, as the C compiler sees it. */
class UapiLayoutTest {
    @Test
    void layoutsAndRequestsMatchTheKernelHeaders() throws Exception {
        Map<String, String> c = new LinkedHashMap<>();
        Map<String, Long> ours = new LinkedHashMap<>();
        expect(c, ours, "sizeof(struct kvm_userspace_memory_region)", Layouts.USERSPACE_MEMORY_REGION_SIZE);
        expect(c, ours, "sizeof(struct kvm_irq_level)", Layouts.IRQ_LEVEL_SIZE);
        expect(c, ours, "sizeof(struct kvm_irq_routing)", Layouts.IRQ_ROUTING_HEADER_SIZE);
        expect(c, ours, "sizeof(struct kvm_irq_routing_entry)", Layouts.IRQ_ROUTING_ENTRY_SIZE);
        expect(c, ours, "offsetof(struct kvm_irq_routing_entry, u)", Layouts.IRQ_ROUTING_ENTRY_UNION);
        expect(c, ours, "offsetof(struct kvm_irq_routing_entry, type)", 4);
        expect(c, ours, "offsetof(struct kvm_irq_routing_entry, flags)", 8);
        expect(c, ours, "offsetof(struct kvm_irq_routing_entry, u.irqchip.pin)", Layouts.IRQ_ROUTING_ENTRY_UNION + 4);
        expect(c, ours, "offsetof(struct kvm_irq_routing_entry, u.msi.address_hi)", Layouts.IRQ_ROUTING_ENTRY_UNION + 4);
        expect(c, ours, "offsetof(struct kvm_irq_routing_entry, u.msi.data)", Layouts.IRQ_ROUTING_ENTRY_UNION + 8);
        expect(c, ours, "offsetof(struct kvm_irq_routing_entry, u.msi.devid)", Layouts.IRQ_ROUTING_ENTRY_UNION + 12);
        expect(c, ours, "offsetof(struct kvm_irq_routing, entries)", Layouts.IRQ_ROUTING_HEADER_SIZE);
        expect(c, ours, "KVM_IRQ_ROUTING_IRQCHIP", Vm.IRQ_ROUTING_IRQCHIP);
        expect(c, ours, "KVM_IRQ_ROUTING_MSI", Vm.IRQ_ROUTING_MSI);
        expect(c, ours, "KVM_MSI_VALID_DEVID", Vm.MSI_VALID_DEVID);
        expect(c, ours, "sizeof(struct kvm_irqfd)", Layouts.IRQFD_SIZE);
        expect(c, ours, "sizeof(struct kvm_ioeventfd)", Layouts.IOEVENTFD_SIZE);
        expect(c, ours, "offsetof(struct kvm_ioeventfd, fd)", 20);
        expect(c, ours, "offsetof(struct kvm_ioeventfd, flags)", 24);
        expect(c, ours, "sizeof(struct kvm_msi)", Layouts.MSI_SIZE);
        expect(c, ours, "sizeof(struct kvm_enable_cap)", Layouts.ENABLE_CAP_SIZE);
        expect(c, ours, "sizeof(struct kvm_create_device)", Layouts.CREATE_DEVICE_SIZE);
        expect(c, ours, "sizeof(struct kvm_device_attr)", Layouts.DEVICE_ATTR_SIZE);
        expect(c, ours, "offsetof(struct kvm_device_attr, addr)", 16);
        expect(c, ours, "sizeof(struct kvm_one_reg)", Layouts.ONE_REG_SIZE);
        expect(c, ours, "offsetof(struct kvm_run, immediate_exit)", Layouts.Run.IMMEDIATE_EXIT);
        expect(c, ours, "offsetof(struct kvm_run, exit_reason)", Layouts.Run.EXIT_REASON);
        expect(c, ours, "offsetof(struct kvm_run, io.direction)", Layouts.Run.IO_DIRECTION);
        expect(c, ours, "offsetof(struct kvm_run, io.size)", Layouts.Run.IO_SIZE);
        expect(c, ours, "offsetof(struct kvm_run, io.port)", Layouts.Run.IO_PORT);
        expect(c, ours, "offsetof(struct kvm_run, io.count)", Layouts.Run.IO_COUNT);
        expect(c, ours, "offsetof(struct kvm_run, io.data_offset)", Layouts.Run.IO_DATA_OFFSET);
        expect(c, ours, "offsetof(struct kvm_run, mmio.phys_addr)", Layouts.Run.MMIO_PHYS_ADDR);
        expect(c, ours, "offsetof(struct kvm_run, mmio.data)", Layouts.Run.MMIO_DATA);
        expect(c, ours, "offsetof(struct kvm_run, mmio.len)", Layouts.Run.MMIO_LEN);
        expect(c, ours, "offsetof(struct kvm_run, mmio.is_write)", Layouts.Run.MMIO_IS_WRITE);
        expect(c, ours, "offsetof(struct kvm_run, fail_entry.hardware_entry_failure_reason)", Layouts.Run.FAIL_ENTRY_REASON);
        expect(c, ours, "offsetof(struct kvm_run, fail_entry.cpu)", Layouts.Run.FAIL_ENTRY_CPU);
        expect(c, ours, "offsetof(struct kvm_run, internal.suberror)", Layouts.Run.INTERNAL_SUBERROR);
        expect(c, ours, "offsetof(struct kvm_run, internal.ndata)", Layouts.Run.INTERNAL_NDATA);
        expect(c, ours, "offsetof(struct kvm_run, internal.data)", Layouts.Run.INTERNAL_DATA);
        expect(c, ours, "offsetof(struct kvm_run, system_event.type)", Layouts.Run.SYSTEM_EVENT_TYPE);
        expect(c, ours, "offsetof(struct kvm_run, system_event.ndata)", Layouts.Run.SYSTEM_EVENT_NDATA);
        expect(c, ours, "offsetof(struct kvm_run, system_event.data)", Layouts.Run.SYSTEM_EVENT_DATA);
        expect(c, ours, "KVM_GET_API_VERSION", KvmIoctls.GET_API_VERSION);
        expect(c, ours, "KVM_CREATE_VM", KvmIoctls.CREATE_VM);
        expect(c, ours, "KVM_CHECK_EXTENSION", KvmIoctls.CHECK_EXTENSION);
        expect(c, ours, "KVM_GET_VCPU_MMAP_SIZE", KvmIoctls.GET_VCPU_MMAP_SIZE);
        expect(c, ours, "KVM_CREATE_VCPU", KvmIoctls.CREATE_VCPU);
        expect(c, ours, "KVM_SET_USER_MEMORY_REGION", KvmIoctls.SET_USER_MEMORY_REGION);
        expect(c, ours, "KVM_IRQ_LINE", KvmIoctls.IRQ_LINE);
        expect(c, ours, "KVM_SET_GSI_ROUTING", KvmIoctls.SET_GSI_ROUTING);
        expect(c, ours, "KVM_IRQFD", KvmIoctls.IRQFD);
        expect(c, ours, "KVM_IOEVENTFD", KvmIoctls.IOEVENTFD);
        expect(c, ours, "KVM_SIGNAL_MSI", KvmIoctls.SIGNAL_MSI);
        expect(c, ours, "KVM_ENABLE_CAP", KvmIoctls.ENABLE_CAP);
        expect(c, ours, "KVM_CREATE_DEVICE", KvmIoctls.CREATE_DEVICE);
        expect(c, ours, "KVM_SET_DEVICE_ATTR", KvmIoctls.SET_DEVICE_ATTR);
        expect(c, ours, "KVM_GET_DEVICE_ATTR", KvmIoctls.GET_DEVICE_ATTR);
        expect(c, ours, "KVM_HAS_DEVICE_ATTR", KvmIoctls.HAS_DEVICE_ATTR);
        expect(c, ours, "KVM_RUN", KvmIoctls.RUN);
        expect(c, ours, "KVM_GET_ONE_REG", KvmIoctls.GET_ONE_REG);
        expect(c, ours, "KVM_SET_ONE_REG", KvmIoctls.SET_ONE_REG);
        expect(c, ours, "KVM_GET_MP_STATE", KvmIoctls.GET_MP_STATE);
        expect(c, ours, "KVM_SET_MP_STATE", KvmIoctls.SET_MP_STATE);
        for (KvmCapability cap : KvmCapability.values()) {
            expect(c, ours, "KVM_CAP_" + cap.name(), cap.number());
        }
        for (int[] exit : new int[][] {{VcpuExit.KVM_EXIT_IO, 2}, {VcpuExit.KVM_EXIT_MMIO, 6}}) {
            assertEquals(exit[1], exit[0]);
        }
        expect(c, ours, "KVM_EXIT_HLT", VcpuExit.KVM_EXIT_HLT);
        expect(c, ours, "KVM_EXIT_SHUTDOWN", VcpuExit.KVM_EXIT_SHUTDOWN);
        expect(c, ours, "KVM_EXIT_FAIL_ENTRY", VcpuExit.KVM_EXIT_FAIL_ENTRY);
        expect(c, ours, "KVM_EXIT_INTR", VcpuExit.KVM_EXIT_INTR);
        expect(c, ours, "KVM_EXIT_INTERNAL_ERROR", VcpuExit.KVM_EXIT_INTERNAL_ERROR);
        expect(c, ours, "KVM_EXIT_SYSTEM_EVENT", VcpuExit.KVM_EXIT_SYSTEM_EVENT);
        expect(c, ours, "KVM_SYSTEM_EVENT_SHUTDOWN", VcpuExit.SystemEvent.SHUTDOWN);
        expect(c, ours, "KVM_SYSTEM_EVENT_RESET", VcpuExit.SystemEvent.RESET);
        expect(c, ours, "KVM_SYSTEM_EVENT_CRASH", VcpuExit.SystemEvent.CRASH);

        Map<String, Long> kernel = CProbe.evaluate(List.of("linux/kvm.h"), c);
        for (Map.Entry<String, Long> e : ours.entrySet()) {
            assertEquals(kernel.get(e.getKey()), e.getValue(), e.getKey());
        }
    }

    private static void expect(Map<String, String> c, Map<String, Long> ours, String expression, long value) {
        String key = "v" + c.size();
        c.put(key, expression);
        ours.put(key, value);
    }
}
