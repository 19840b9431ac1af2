/**
 * The Linux {@code Image} boot protocol that arm64 and riscv64 share: a 64-byte header with {@code text_offset},
 * {@code image_size} and {@code flags} at the same offsets and a magic at offset 56 ({@link ImageHeader}), the
 * kernel at {@code text_offset} above a 2 MiB aligned base with the initrd and the device tree above it in RAM
 * ({@link BootPlacement}), the steps that load them ({@link ImageBoot}), and what the device tree tells the guest
 * about its RAM, devices and /chosen whatever the architecture ({@link GuestDescription}).
 *
 * <p>What an architecture does differently is plain data it hands in, as the JDK's {@code jdk.internal.foreign.abi}
 * leaves hand their ABI descriptors to a shared core: its magic, its text_offset rule and its words for errors
 * ({@link ImageFormat}), its windows for the device tree and initrd ({@link PlacementRules}), its command-line limit
 * ({@link ImageProtocol}), and the device tree it builds for a placement. Nothing here knows an architecture.
 */
package dev.mesovirt.vmm.boot;
