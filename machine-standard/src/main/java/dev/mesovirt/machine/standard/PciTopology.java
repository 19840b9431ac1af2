package dev.mesovirt.machine.standard;

import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The PCI Express hierarchy of a standard machine beyond its root bus ({@value #ROOT_BUS}): the root ports that
 * {@code -device pcie-root-port,id=ID,port=N,bus=pcie.0,addr=SLOT[.FN]} adds, each with one slot for a device, which
 * QMP can hot-plug (Linux's pciehp). Plain data, checked here.
 */
public record PciTopology(List<RootPort> rootPorts) {
    /** The root bus's id, as QEMU's q35 names it. */
    public static final String ROOT_BUS = "pcie.0";
    public static final PciTopology NONE = new PciTopology(List.of());

    /**
     * A root port: {@code id} names its bus for the devices behind it; {@code port} is its PCIe port number, which
     * Linux shows as the slot's number (0..255, distinct); it sits at {@code slot.function} of the root bus.
     */
    public record RootPort(String id, int port, int slot, int function) {
        public RootPort {
            Objects.requireNonNull(id, "id");
            if (port < 0 || port > 255) {
                throw new IllegalArgumentException("pcie-root-port " + id + ": port " + port + " out of range 0..255");
            }
            if (slot < 0 || slot > 31 || function < 0 || function > 7) {
                throw new IllegalArgumentException("pcie-root-port " + id + ": address " + slot + "." + function
                        + " out of range 0..31.0..7");
            }
        }
    }

    public PciTopology {
        rootPorts = List.copyOf(rootPorts);
        Set<String> ids = new HashSet<>();
        Set<Integer> ports = new HashSet<>();
        for (RootPort p : rootPorts) {
            if (p.id().equals(ROOT_BUS) || !ids.add(p.id())) {
                throw new IllegalArgumentException("duplicate bus id '" + p.id() + "'");
            }
            if (!ports.add(p.port())) {
                throw new IllegalArgumentException("pcie-root-port " + p.id() + ": port " + p.port()
                        + " is already another root port's");
            }
        }
    }
}
