package dev.mesovirt.vmm.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.mesovirt.vmm.testing.UapiExpectations;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Our byte layouts and request numbers against linux/kvm.h, as the C compiler sees it. */
class UapiLayoutTest {
    @Test
    void layoutsAndRequestsMatchTheKernelHeaders() throws Exception {
        UapiExpectations u = new UapiExpectations();
        u.expect("sizeof(struct kvm_userspace_memory_region)", Layouts.USERSPACE_MEMORY_REGION_SIZE);
        u.expect("sizeof(struct kvm_irq_level)", Layouts.IRQ_LEVEL_SIZE);
        u.expect("sizeof(struct kvm_irq_routing)", Layouts.IRQ_ROUTING_HEADER_SIZE);
        u.expect("sizeof(struct kvm_irq_routing_entry)", Layouts.IRQ_ROUTING_ENTRY_SIZE);
        u.expect("offsetof(struct kvm_irq_routing_entry, u)", Layouts.IRQ_ROUTING_ENTRY_UNION);
        u.expect("offsetof(struct kvm_irq_routing_entry, type)", 4);
        u.expect("offsetof(struct kvm_irq_routing_entry, flags)", 8);
        u.expect("offsetof(struct kvm_irq_routing_entry, u.irqchip.pin)", Layouts.IRQ_ROUTING_ENTRY_UNION + 4);
        u.expect("offsetof(struct kvm_irq_routing_entry, u.msi.address_hi)", Layouts.IRQ_ROUTING_ENTRY_UNION + 4);
        u.expect("offsetof(struct kvm_irq_routing_entry, u.msi.data)", Layouts.IRQ_ROUTING_ENTRY_UNION + 8);
        u.expect("offsetof(struct kvm_irq_routing_entry, u.msi.devid)", Layouts.IRQ_ROUTING_ENTRY_UNION + 12);
        u.expect("offsetof(struct kvm_irq_routing, entries)", Layouts.IRQ_ROUTING_HEADER_SIZE);
        u.expect("KVM_IRQ_ROUTING_IRQCHIP", Vm.IRQ_ROUTING_IRQCHIP);
        u.expect("KVM_IRQ_ROUTING_MSI", Vm.IRQ_ROUTING_MSI);
        u.expect("KVM_MSI_VALID_DEVID", Vm.MSI_VALID_DEVID);
        u.expect("sizeof(struct kvm_irqfd)", Layouts.IRQFD_SIZE);
        u.expect("sizeof(struct kvm_ioeventfd)", Layouts.IOEVENTFD_SIZE);
        u.expect("offsetof(struct kvm_ioeventfd, fd)", 20);
        u.expect("offsetof(struct kvm_ioeventfd, flags)", 24);
        u.expect("sizeof(struct kvm_msi)", Layouts.MSI_SIZE);
        u.expect("sizeof(struct kvm_enable_cap)", Layouts.ENABLE_CAP_SIZE);
        u.expect("sizeof(struct kvm_create_device)", Layouts.CREATE_DEVICE_SIZE);
        u.expect("sizeof(struct kvm_device_attr)", Layouts.DEVICE_ATTR_SIZE);
        u.expect("offsetof(struct kvm_device_attr, addr)", 16);
        u.expect("sizeof(struct kvm_one_reg)", Layouts.ONE_REG_SIZE);
        u.expect("offsetof(struct kvm_run, immediate_exit)", Layouts.Run.IMMEDIATE_EXIT);
        u.expect("offsetof(struct kvm_run, exit_reason)", Layouts.Run.EXIT_REASON);
        u.expect("offsetof(struct kvm_run, io.direction)", Layouts.Run.IO_DIRECTION);
        u.expect("offsetof(struct kvm_run, io.size)", Layouts.Run.IO_SIZE);
        u.expect("offsetof(struct kvm_run, io.port)", Layouts.Run.IO_PORT);
        u.expect("offsetof(struct kvm_run, io.count)", Layouts.Run.IO_COUNT);
        u.expect("offsetof(struct kvm_run, io.data_offset)", Layouts.Run.IO_DATA_OFFSET);
        u.expect("offsetof(struct kvm_run, mmio.phys_addr)", Layouts.Run.MMIO_PHYS_ADDR);
        u.expect("offsetof(struct kvm_run, mmio.data)", Layouts.Run.MMIO_DATA);
        u.expect("offsetof(struct kvm_run, mmio.len)", Layouts.Run.MMIO_LEN);
        u.expect("offsetof(struct kvm_run, mmio.is_write)", Layouts.Run.MMIO_IS_WRITE);
        u.expect("offsetof(struct kvm_run, fail_entry.hardware_entry_failure_reason)", Layouts.Run.FAIL_ENTRY_REASON);
        u.expect("offsetof(struct kvm_run, fail_entry.cpu)", Layouts.Run.FAIL_ENTRY_CPU);
        u.expect("offsetof(struct kvm_run, internal.suberror)", Layouts.Run.INTERNAL_SUBERROR);
        u.expect("offsetof(struct kvm_run, internal.ndata)", Layouts.Run.INTERNAL_NDATA);
        u.expect("offsetof(struct kvm_run, internal.data)", Layouts.Run.INTERNAL_DATA);
        u.expect("offsetof(struct kvm_run, system_event.type)", Layouts.Run.SYSTEM_EVENT_TYPE);
        u.expect("offsetof(struct kvm_run, system_event.ndata)", Layouts.Run.SYSTEM_EVENT_NDATA);
        u.expect("offsetof(struct kvm_run, system_event.data)", Layouts.Run.SYSTEM_EVENT_DATA);
        u.expect("KVM_GET_API_VERSION", KvmIoctls.GET_API_VERSION);
        u.expect("KVM_CREATE_VM", KvmIoctls.CREATE_VM);
        u.expect("KVM_CHECK_EXTENSION", KvmIoctls.CHECK_EXTENSION);
        u.expect("KVM_GET_VCPU_MMAP_SIZE", KvmIoctls.GET_VCPU_MMAP_SIZE);
        u.expect("KVM_CREATE_VCPU", KvmIoctls.CREATE_VCPU);
        u.expect("KVM_SET_USER_MEMORY_REGION", KvmIoctls.SET_USER_MEMORY_REGION);
        u.expect("KVM_IRQ_LINE", KvmIoctls.IRQ_LINE);
        u.expect("KVM_SET_GSI_ROUTING", KvmIoctls.SET_GSI_ROUTING);
        u.expect("KVM_IRQFD", KvmIoctls.IRQFD);
        u.expect("KVM_IOEVENTFD", KvmIoctls.IOEVENTFD);
        u.expect("KVM_SIGNAL_MSI", KvmIoctls.SIGNAL_MSI);
        u.expect("KVM_ENABLE_CAP", KvmIoctls.ENABLE_CAP);
        u.expect("KVM_CREATE_DEVICE", KvmIoctls.CREATE_DEVICE);
        u.expect("KVM_SET_DEVICE_ATTR", KvmIoctls.SET_DEVICE_ATTR);
        u.expect("KVM_GET_DEVICE_ATTR", KvmIoctls.GET_DEVICE_ATTR);
        u.expect("KVM_HAS_DEVICE_ATTR", KvmIoctls.HAS_DEVICE_ATTR);
        u.expect("KVM_RUN", KvmIoctls.RUN);
        u.expect("KVM_GET_ONE_REG", KvmIoctls.GET_ONE_REG);
        u.expect("KVM_SET_ONE_REG", KvmIoctls.SET_ONE_REG);
        u.expect("KVM_GET_MP_STATE", KvmIoctls.GET_MP_STATE);
        u.expect("KVM_SET_MP_STATE", KvmIoctls.SET_MP_STATE);
        for (KvmCapability cap : KvmCapability.values()) {
            u.expect("KVM_CAP_" + cap.name(), cap.number());
        }
        for (int[] exit : new int[][] {{VcpuExit.KVM_EXIT_IO, 2}, {VcpuExit.KVM_EXIT_MMIO, 6}}) {
            assertEquals(exit[1], exit[0]);
        }
        u.expect("KVM_EXIT_HLT", VcpuExit.KVM_EXIT_HLT);
        u.expect("KVM_EXIT_SHUTDOWN", VcpuExit.KVM_EXIT_SHUTDOWN);
        u.expect("KVM_EXIT_FAIL_ENTRY", VcpuExit.KVM_EXIT_FAIL_ENTRY);
        u.expect("KVM_EXIT_INTR", VcpuExit.KVM_EXIT_INTR);
        u.expect("KVM_EXIT_INTERNAL_ERROR", VcpuExit.KVM_EXIT_INTERNAL_ERROR);
        u.expect("KVM_EXIT_SYSTEM_EVENT", VcpuExit.KVM_EXIT_SYSTEM_EVENT);
        u.expect("KVM_SYSTEM_EVENT_SHUTDOWN", VcpuExit.SystemEvent.SHUTDOWN);
        u.expect("KVM_SYSTEM_EVENT_RESET", VcpuExit.SystemEvent.RESET);
        u.expect("KVM_SYSTEM_EVENT_CRASH", VcpuExit.SystemEvent.CRASH);

        u.assertMatch(List.of("linux/kvm.h"));
    }
}
