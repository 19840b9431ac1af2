package dev.mesovirt.vmm.arch;

import java.util.Objects;
import java.util.Optional;

/**
 * Where an architecture puts a standard machine's PCI Express host bridge: its ECAM (enhanced configuration access
 * mechanism) window, 1 MiB of configuration space per bus, and the address windows the bridge forwards to devices,
 * from which BARs and bridge windows are assigned.
 *
 * @param ecamBase guest-physical address of bus 0's configuration space (1 MiB aligned)
 * @param buses how many buses the ECAM window covers, 1..256 (bus numbers 0..buses-1)
 * @param io the port-I/O window, where the architecture has port I/O (x86)
 * @param mmio32 the MMIO window below 4 GiB (non-prefetchable BARs, and 32-bit ones)
 * @param mmio64 the MMIO window above 4 GiB, for 64-bit BARs, where there is one
 * @param legacyConfigPorts whether the bridge also answers configuration mechanism #1 at ports 0xCF8/0xCFC (x86)
 * @param hostBridge the vendor and device ID the host bridge at 00.0 reports: guests and tools match on them
 */
public record PciLayout(long ecamBase, int buses, Optional<Window> io, Window mmio32, Optional<Window> mmio64,
        boolean legacyConfigPorts, HostBridgeId hostBridge) {
    /** 1 MiB of ECAM space per bus: 32 devices x 8 functions x 4 KiB. */
    public static final long ECAM_BYTES_PER_BUS = 1L << 20;

    /** The vendor and device ID of function 00.0, the host bridge (its class is always 0x060000). */
    public record HostBridgeId(int vendorId, int deviceId) {
        /** Intel 82G33/Q35 DRAM controller, QEMU q35's MCH: what x86 guests expect of a q35 machine. */
        public static final HostBridgeId Q35_MCH = new HostBridgeId(0x8086, 0x29c0);
        /** Red Hat's generic PCI Express host bridge, QEMU virt's (gpex) on arm64 and riscv64. */
        public static final HostBridgeId REDHAT_PCIE_HOST = new HostBridgeId(0x1b36, 0x0008);

        public HostBridgeId {
            if ((vendorId & ~0xffff) != 0 || vendorId == 0xffff || vendorId == 0 || (deviceId & ~0xffff) != 0) {
                throw new IllegalArgumentException("bad host bridge ID " + Integer.toHexString(vendorId) + ":"
                        + Integer.toHexString(deviceId));
            }
        }
    }

    /** A range of guest addresses (or ports) forwarded to PCI. */
    public record Window(long base, long size) {
        public Window {
            if (size <= 0 || base < 0 || base + size < base) {
                throw new IllegalArgumentException("bad PCI window 0x" + Long.toHexString(base) + "+0x" + Long.toHexString(size));
            }
        }

        /** One past the last address. */
        public long end() {
            return base + size;
        }
    }

    public PciLayout {
        if (buses < 1 || buses > 256) {
            throw new IllegalArgumentException("a PCI host bridge decodes 1..256 buses, not " + buses);
        }
        if ((ecamBase & (ECAM_BYTES_PER_BUS - 1)) != 0) {
            throw new IllegalArgumentException("the ECAM window must be 1 MiB aligned: 0x" + Long.toHexString(ecamBase));
        }
        io.ifPresent(w -> {
            if (w.end() > 0x10000) {
                throw new IllegalArgumentException("the PCI port-I/O window must lie below 0x10000");
            }
        });
        Objects.requireNonNull(hostBridge, "hostBridge");
        if (mmio32.end() > 1L << 32) {
            throw new IllegalArgumentException("the 32-bit PCI window must lie below 4 GiB");
        }
    }

    public long ecamSize() {
        return buses * ECAM_BYTES_PER_BUS;
    }
}
