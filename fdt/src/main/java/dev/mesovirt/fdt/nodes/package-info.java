/**
 * Device tree nodes that a Linux microVM has whatever its architecture, each a record of plain data that writes
 * itself with {@link dev.mesovirt.fdt.FdtWriter}: RAM ({@link MemoryNode}), {@code /chosen} ({@link ChosenNode}), a
 * 16550 UART ({@link Ns16550Node}) and virtio-mmio slots ({@link VirtioMmioNode}). What differs between
 * architectures, the interrupt specifier's cells and whether a node names its interrupt parent, comes in as data
 * ({@link Interrupts}).
 */
package dev.mesovirt.fdt.nodes;
