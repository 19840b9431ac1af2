/**
 * Flattened device tree (DTB, format version 17) writer and reader.
 *
 * <ul>
 *   <li>{@link dev.mesovirt.fdt.FdtWriter} builds a blob node by node and validates names, nesting,
 *       property order, phandles and memory reservations as it goes;</li>
 *   <li>{@link dev.mesovirt.fdt.DeviceTree#parse(byte[])} reads a blob back into an immutable tree of
 *       {@link dev.mesovirt.fdt.FdtNode} and {@link dev.mesovirt.fdt.FdtProperty} values; a malformed blob
 *       is reported as {@link dev.mesovirt.fdt.FdtFormatException} and nothing else.</li>
 * </ul>
 *
 * <p>The package depends on {@code java.base} only.
 */
package dev.mesovirt.fdt;
