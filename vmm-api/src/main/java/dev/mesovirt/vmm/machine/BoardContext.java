package dev.mesovirt.vmm.machine;

import dev.mesovirt.vmm.arch.BusKind;
import dev.mesovirt.vmm.arch.GuestPower;
import dev.mesovirt.vmm.arch.Irq;
import dev.mesovirt.vmm.arch.IrqChip;
import dev.mesovirt.vmm.arch.MemoryLayout;
import dev.mesovirt.vmm.bus.Bus;
import dev.mesovirt.vmm.device.IrqLine;
import dev.mesovirt.vmm.kvm.Vm;
import dev.mesovirt.vmm.memory.GuestMemory;
import java.util.function.Function;

/**
 * What a {@link Board} builds on: one VM of a {@link Machine} (the first, or the one a reset made) with its interrupt
 * controller and buses, and what lives as long as the machine: guest memory and its layout.
 */
public final class BoardContext {
    private final Vm vm;
    private final GuestMemory memory;
    private final MemoryLayout layout;
    private final IrqChip irqChip;
    private final Bus pio;
    private final Bus mmio;
    private final Function<Irq, IrqLine> irqLines;
    private final GuestPower power;

    BoardContext(Vm vm, GuestMemory memory, MemoryLayout layout, IrqChip irqChip, Bus pio, Bus mmio,
            Function<Irq, IrqLine> irqLines, GuestPower power) {
        this.vm = vm;
        this.memory = memory;
        this.layout = layout;
        this.irqChip = irqChip;
        this.pio = pio;
        this.mmio = mmio;
        this.irqLines = irqLines;
        this.power = power;
    }

    /** How the board's devices power the machine off or reset it when the guest asks (e.g. a chipset register). */
    public GuestPower power() {
        return power;
    }

    public Vm vm() {
        return vm;
    }

    public GuestMemory memory() {
        return memory;
    }

    public MemoryLayout layout() {
        return layout;
    }

    /** The VM's interrupt controller: the board allocates its devices' interrupts here, in a fixed order. */
    public IrqChip irqChip() {
        return irqChip;
    }

    public Bus pio() {
        return pio;
    }

    public Bus mmio() {
        return mmio;
    }

    public Bus bus(BusKind kind) {
        return kind == BusKind.PIO ? pio : mmio;
    }

    /**
     * An interrupt line that host threads may drive with KVM_IRQ_LINE at any time: it holds the machine's VM lock, so
     * that no injection reaches a VM a reset is closing, and drops what is raised while a reset holds that lock (the
     * devices are being reset). (irqfds need no such line.)
     */
    public IrqLine irqLine(Irq irq) {
        return irqLines.apply(irq);
    }
}
