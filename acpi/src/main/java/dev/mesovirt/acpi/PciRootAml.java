package dev.mesovirt.acpi;

/**
 * What every architecture's PCI Express host bridge has in its DSDT: the device {@code \_SB.PCI0} with its identity
 * and _OSC; the architecture gives the resources and the INTx routing.
 */
public final class PciRootAml {
    /** The UUID of the PCI host bridge _OSC interface (PCI Firmware Specification 3.3, 4.5.1). */
    public static final String OSC_UUID = "33db4d5b-1ff7-401c-9657-7441c03dd766";
    // _OSC status bits in the first capabilities DWORD (ACPI 6.5 section 6.2.11).
    public static final int OSC_UNRECOGNIZED_UUID = 1 << 2;
    public static final int OSC_UNRECOGNIZED_REVISION = 1 << 3;
    public static final int OSC_CAPABILITIES_MASKED = 1 << 4;
    // Control bits of the PCI host bridge _OSC, in the third DWORD (PCI Firmware Specification 3.3, table 4-5).
    public static final int OSC_PCIE_NATIVE_HOT_PLUG = 1 << 0;
    public static final int OSC_PCIE_PME = 1 << 2;
    public static final int OSC_PCIE_AER = 1 << 3;
    public static final int OSC_PCIE_CAPABILITY = 1 << 4;
    /**
     * What the _OSC hands to the OS: native PCI Express hot-plug (Linux's pciehp runs only with it, unless booted
     * with pcie_ports=native), PME, AER and the PCI Express capability structure, all of which the guest drives
     * through the root ports with no firmware in between. SHPC hot-plug, LTR and DPC stay with the platform: no
     * device here has those capabilities, and Linux only notes that they were not granted.
     */
    public static final int OSC_GRANTED_CONTROLS = OSC_PCIE_NATIVE_HOT_PLUG | OSC_PCIE_PME | OSC_PCIE_AER
            | OSC_PCIE_CAPABILITY;

    private PciRootAml() {
    }

    /**
     * {@code Device (PCI0)}: PNP0A08, compatible with PNP0A03, segment 0 from bus 0, UID 0; then the architecture's
     * own objects ({@code platform}, e.g. arm64's _CCA), the resources, {@link #osc} and the routing table.
     *
     * <p>No _ADR: ACPI 6.5 section 6.1 gives a device a _HID or an _ADR, not both (iasl warns), and nothing reads a
     * host bridge's _ADR. QEMU's q35 DSDT has one only from its PIIX ancestry.
     *
     * @param crs a resource template (the bus range and the windows)
     * @param prt the _PRT package
     */
    public static byte[] device(java.util.List<byte[]> platform, byte[] crs, byte[] prt) {
        java.util.List<byte[]> objects = new java.util.ArrayList<>(java.util.List.of(
                Aml.name("_HID", Aml.eisaId("PNP0A08")),
                Aml.name("_CID", Aml.eisaId("PNP0A03")),
                Aml.name("_SEG", Aml.zero()),
                Aml.name("_BBN", Aml.zero()),
                Aml.name("_UID", Aml.zero())));
        objects.addAll(platform);
        objects.add(Aml.name("_CRS", crs));
        objects.add(osc());
        objects.add(Aml.name("_PRT", prt));
        return Aml.device("PCI0", objects.toArray(byte[][]::new));
    }

    /**
     * The PCI host bridge _OSC, in ASL:
     * <pre>
     * Method (_OSC, 4, NotSerialized) {
     *     CreateDWordField (Arg3, Zero, CDW1)                 // status
     *     If ((Arg0 == ToUUID ("33db4d5b-1ff7-401c-9657-7441c03dd766"))) {
     *         CreateDWordField (Arg3, 0x08, CDW3)             // control, requested then granted
     *         Local0 = (CDW3 &amp; 0x1D)
     *         If ((Arg1 != One)) { CDW1 |= 0x08 }             // unrecognised revision
     *         If ((CDW3 != Local0)) { CDW1 |= 0x10 }          // capabilities masked
     *         CDW3 = Local0
     *     } Else { CDW1 |= 0x04 }                           // unrecognised UUID
     *     Return (Arg3)
     * }
     * </pre>
     * The grant is the same whether or not the query bit is set, so Linux's query-then-request sequence ends with a
     * request for exactly what the query returned, which then comes back unmasked (Linux treats a masked request
     * as a refusal).
     */
    public static byte[] osc() {
        byte[] cdw1 = Aml.nameString("CDW1");
        byte[] cdw3 = Aml.nameString("CDW3");
        return Aml.method("_OSC", 4, false,
                Aml.createDWordField(Aml.arg(3), Aml.zero(), "CDW1"),
                Aml.ifThen(Aml.lEqual(Aml.arg(0), Aml.toUuid(OSC_UUID)),
                        Aml.createDWordField(Aml.arg(3), Aml.integer(8), "CDW3"),
                        Aml.and(cdw3, Aml.integer(OSC_GRANTED_CONTROLS), Aml.local(0)),
                        Aml.ifThen(Aml.lNotEqual(Aml.arg(1), Aml.one()),
                                Aml.or(cdw1, Aml.integer(OSC_UNRECOGNIZED_REVISION), cdw1)),
                        Aml.ifThen(Aml.lNotEqual(cdw3, Aml.local(0)),
                                Aml.or(cdw1, Aml.integer(OSC_CAPABILITIES_MASKED), cdw1)),
                        Aml.store(Aml.local(0), cdw3)),
                Aml.elseBlock(Aml.or(cdw1, Aml.integer(OSC_UNRECOGNIZED_UUID), cdw1)),
                Aml.returnValue(Aml.arg(3)));
    }
}
