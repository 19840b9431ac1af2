/**
 * The pure-data parts of the Linux x86 boot protocol ({@code Documentation/arch/x86/boot.rst},
 * {@code arch/x86/include/uapi/asm/bootparam.h}) for entering a bzImage at its 64-bit entry point:
 *
 * <ul>
 *   <li>{@link dev.mesovirt.arch.x86_64.boot.BzImage} parses and validates the kernel file
 *       ({@link dev.mesovirt.arch.x86_64.boot.SetupHeader} holds the header fields,
 *       {@link dev.mesovirt.arch.x86_64.boot.InvalidKernelException} every defect);</li>
 *   <li>{@link dev.mesovirt.arch.x86_64.boot.KernelPlacement} chooses the kernel and initrd addresses;</li>
 *   <li>{@link dev.mesovirt.arch.x86_64.boot.KernelCommandLine} builds the command line;</li>
 *   <li>{@link dev.mesovirt.arch.x86_64.boot.BootParams} builds the zero page, with the memory map made of
 *       {@link dev.mesovirt.arch.x86_64.boot.E820Entry};</li>
 *   <li>{@link dev.mesovirt.arch.x86_64.boot.LongModeSetup} gives the GDT, the identity page tables and the
 *       register values, at the addresses fixed in {@link dev.mesovirt.arch.x86_64.boot.LowMemoryMap};</li>
 *   <li>{@link dev.mesovirt.arch.x86_64.boot.BootProtocol} names every offset and flag.</li>
 * </ul>
 *
 * <p>Byte arrays and records in, byte arrays and records out: nothing here touches KVM, native code or guest
 * memory. All encodings are little-endian. The package depends on {@code java.base} only.
 */
package dev.mesovirt.arch.x86_64.boot;
