/**
 * PCI and PCI Express for the standard machine: configuration spaces, BARs, MSI/MSI-X, INTx, the root complex and
 * root ports with native hot-plug, and the firmware's resource assignment.
 *
 * <p>How a machine uses it:
 * <ol>
 *   <li>Implement {@link dev.mesovirt.vmm.pci.BarMapper} over its port-I/O and MMIO buses and
 *       {@link dev.mesovirt.vmm.pci.MsiRouter} over KVM GSI routing and irqfds (one MSI route and irqfd per
 *       {@link dev.mesovirt.vmm.pci.MsiVector}); give four {@link dev.mesovirt.vmm.device.IrqLine}s for INTA..INTD
 *       of bus 0 in {@code DeviceDescription.PciHostBridge} order (level-triggered: KVM_IRQ_LINE levels).
 *   <li>{@code new PciRoot(layout, intx, mapper, msiRouter)}; put {@link dev.mesovirt.vmm.pci.PciRoot#ecam()} on the
 *       MMIO bus at {@code layout.ecamBase()} ({@code layout.ecamSize()} bytes) and, where
 *       {@code layout.legacyConfigPorts()}, {@link dev.mesovirt.vmm.pci.PciRoot#legacyConfigPorts()} on the port bus
 *       at 0xCF8 (8 ports).
 *   <li>Attach functions: {@code root.bus().attach(device, function, f)} for bus 0;
 *       {@code new PcieRootPort(root, portNumber, Reserve.DEFAULT, removed)} attached the same way, and a device in
 *       its slot with {@link dev.mesovirt.vmm.pci.PcieRootPort#insert} before boot,
 *       {@link dev.mesovirt.vmm.pci.PcieRootPort#hotPlug} at run time, {@link dev.mesovirt.vmm.pci.PcieRootPort#requestUnplug}
 *       for device_del ({@code removed} is told when the guest let go: emit DEVICE_DELETED then).
 *   <li>{@link dev.mesovirt.vmm.pci.PciRoot#assignResources()} before the first vCPU runs, and after every
 *       {@link dev.mesovirt.vmm.pci.PciRoot#reset()}.
 * </ol>
 * Linux takes native hot-plug only if the firmware grants it: the machine's ACPI tables need an {@code _OSC} on the
 * host bridge that grants PCI Express native hot-plug (as QEMU's q35 DSDT does), an MCFG for the ECAM window, and a
 * {@code _PRT} for INTx.
 */
package dev.mesovirt.vmm.pci;
