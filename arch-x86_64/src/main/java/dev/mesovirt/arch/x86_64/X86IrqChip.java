package dev.mesovirt.arch.x86_64;

import com.sun.jna.Memory;
import dev.mesovirt.vmm.arch.Irq;
import dev.mesovirt.vmm.arch.IrqChip;
import dev.mesovirt.vmm.arch.IrqUse;
import dev.mesovirt.vmm.kvm.GsiRoute;
import dev.mesovirt.vmm.kvm.Vm;
import dev.mesovirt.vmm.sys.ErrnoException;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * KVM's in-kernel PC interrupt controllers (two 8259 PICs, a 24-pin IOAPIC, a local APIC per vCPU) and the
 * i8254 PIT. COM1 keeps its ISA IRQ 4 (edge); virtio devices get IOAPIC pins 16-23, which no ISA device
 * claims and which the ACPI DSDT declares level-triggered, active-high. The power button (the ACPI Generic Event
 * Device) has ISA IRQ 9, free here (0 PIT, 1 i8042, 4 COM1, 8 RTC) and, as on PCs and QEMU's microvm, the ACPI
 * event interrupt; level-triggered, active-high, as its _CRS says. KVM_IRQ_LINE on a GSI below 16 drives both the
 * 8259 and the IOAPIC pin; Linux, in hardware-reduced mode, uses only the IOAPIC.
 */
final class X86IrqChip implements IrqChip {
    private static final Logger LOG = LoggerFactory.getLogger(X86IrqChip.class);
    /** Where KVM on Intel VMX puts its three-page TSS and identity-map page: just below the 4 GiB BIOS ROM. */
    static final long TSS_ADDRESS = 0xfffb_d000L;
    static final long IDENTITY_MAP_ADDRESS = 0xfffb_c000L;
    static final int SERIAL_IRQ = 4;
    static final int POWER_BUTTON_IRQ = 9;
    static final int FIRST_DEVICE_GSI = 16;
    static final int LAST_DEVICE_GSI = 23;
    static final int IRQCHIP_PIC_MASTER = 0;
    static final int IRQCHIP_PIC_SLAVE = 1;
    static final int IRQCHIP_IOAPIC = 2;
    /** KVM_PIT_SPEAKER_DUMMY: the PIT answers port 0x61 so the guest's speaker probing does not exit. */
    private static final int PIT_SPEAKER_DUMMY = 1;

    private int nextGsi = FIRST_DEVICE_GSI;

    X86IrqChip(Vm vm) {
        // VMX needs these two ranges; SVM and kvm_pvm do not, and the latter rejects them with EINVAL.
        try {
            vm.ioctl(X86Ioctls.SET_TSS_ADDR, TSS_ADDRESS, "KVM_SET_TSS_ADDR");
        } catch (ErrnoException e) {
            LOG.warn("{}; continuing (only Intel VMX hosts need it)", e.getMessage());
        }
        try (Memory m = new Memory(8)) {
            m.setLong(0, IDENTITY_MAP_ADDRESS);
            vm.ioctl(X86Ioctls.SET_IDENTITY_MAP_ADDR, m, "KVM_SET_IDENTITY_MAP_ADDR");
        } catch (ErrnoException e) {
            LOG.warn("{}; continuing (only Intel VMX hosts need it)", e.getMessage());
        }
        vm.ioctl(X86Ioctls.CREATE_IRQCHIP, 0L, "KVM_CREATE_IRQCHIP");
        try (Memory pit = new Memory(X86Ioctls.PIT_CONFIG_SIZE)) {
            pit.clear();
            pit.setInt(0, PIT_SPEAKER_DUMMY);
            vm.ioctl(X86Ioctls.CREATE_PIT2, pit, "KVM_CREATE_PIT2");
        }
    }

    @Override
    public synchronized Irq allocate(IrqUse use) {
        return switch (use) {
            case SERIAL -> new Irq(SERIAL_IRQ, SERIAL_IRQ, SERIAL_IRQ, false);
            case VIRTIO, PCI_INTX -> {
                if (nextGsi > LAST_DEVICE_GSI) {
                    throw new IllegalArgumentException("no free IOAPIC pin for another device (pins "
                            + FIRST_DEVICE_GSI + "-" + LAST_DEVICE_GSI + " are in use)");
                }
                int gsi = nextGsi++;
                yield new Irq(gsi, gsi, gsi, true);
            }
            case POWER_BUTTON -> new Irq(POWER_BUTTON_IRQ, POWER_BUTTON_IRQ, POWER_BUTTON_IRQ, true);
        };
    }

    @Override
    public void finishAfterVcpus() {
        // The in-kernel PC chips need nothing after vCPU creation.
    }

    @Override
    public boolean supportsMsi() {
        return true;
    }

    /**
     * KVM's own default table (virt/kvm/irqchip.c, x86): every GSI 0..23 on the IOAPIC pin of that number, and
     * GSIs 0..15 also on the 8259s (0..7 master, 8..15 slave). Resent unchanged whenever MSI routes are added, so the
     * wired interrupts behave exactly as on a VM that never set a table.
     */
    @Override
    public List<GsiRoute> defaultRoutes() {
        List<GsiRoute> routes = new ArrayList<>();
        for (int gsi = 0; gsi <= LAST_DEVICE_GSI; gsi++) {
            routes.add(new GsiRoute.IrqchipPin(gsi, IRQCHIP_IOAPIC, gsi));
            if (gsi < 16) {
                routes.add(new GsiRoute.IrqchipPin(gsi, gsi < 8 ? IRQCHIP_PIC_MASTER : IRQCHIP_PIC_SLAVE, gsi % 8));
            }
        }
        return routes;
    }

    /** MSIs are numbered after the IOAPIC's 24 pins. */
    @Override
    public int firstMsiGsi() {
        return LAST_DEVICE_GSI + 1;
    }

    /** x86 MSIs go to the local APICs by address (0xFEEx_xxxx, destination in bits 12-19) and vector in data. */
    @Override
    public GsiRoute msiRoute(int gsi, long address, int data, int deviceId) {
        return new GsiRoute.Msi(gsi, address, data, OptionalInt.empty());
    }

    @Override
    public String description() {
        return "KVM in-kernel PIC + IOAPIC + LAPIC, PIT";
    }
}
