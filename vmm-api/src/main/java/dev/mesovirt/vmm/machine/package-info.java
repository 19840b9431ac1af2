/**
 * The machine core both machine types are built on, architecture-neutral and without PCI: a
 * {@link dev.mesovirt.vmm.machine.Machine} (KVM VM, guest RAM, interrupt controller, platform devices, UART, guest
 * loading, vCPU threads, and the life cycle: start, pause, resume, reset, power button, stop) built
 * from a {@link dev.mesovirt.vmm.machine.MachineConfig}, and the QMP command set
 * {@link dev.mesovirt.vmm.machine.MachineQmp}. A machine type adds what differs as a
 * {@link dev.mesovirt.vmm.machine.Board} (its devices, each on a thread of its own: the microVM's virtio-mmio slots,
 * the standard machine's PCI host bridge), which the core calls at fixed points, and a {@link dev.mesovirt.vmm.machine.DeviceHotplug} for QMP's
 * device_add and device_del.
 */
package dev.mesovirt.vmm.machine;
