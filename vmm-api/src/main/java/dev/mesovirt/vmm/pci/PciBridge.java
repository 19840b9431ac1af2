package dev.mesovirt.vmm.pci;

/**
 * A function with a type 1 header that forwards configuration cycles for bus numbers secondary..subordinate to the
 * bus behind it.
 */
public interface PciBridge extends PciFunction {
    /** The bus behind the bridge. */
    PciBus secondaryBus();

    /**
     * Address space the firmware reserves in this bridge's windows beyond what the devices behind it need, for
     * devices hot-plugged later.
     */
    default PcieRootPort.Reserve hotplugReserve() {
        return PcieRootPort.Reserve.NONE;
    }
}
