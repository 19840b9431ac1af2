package dev.mesovirt.vmm.pci;

/**
 * A class in the PCI library's package, for the layering fixtures ({@code LayeringFixturesTest}): the library itself
 * is being written in parallel, and the rule that keeps it out of the microVM must be seen to catch a dependency now.
 */
public final class PciStandIn {
}
