package dev.mesovirt.arch.x86_64.acpi;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * What the guest must be told about an x86_64 machine through ACPI: CPUs, interrupt controllers,
 * legacy ports, virtio-mmio slots (the microVM's), the power button and a PCI Express host bridge (the standard
 * machine's). Validation happens here so that {@link AcpiTables#build} never emits tables that a Linux guest would
 * misread.
 *
 * @param vcpus         number of vCPUs; APIC ID and ACPI processor UID are the index 0..vcpus-1,
 *                      so at most 255 (xAPIC ID 0xFF is the broadcast ID and UID 0xFF means "all
 *                      processors" in the MADT NMI entry)
 * @param lapicAddress  physical base of the local APICs (normally {@link #DEFAULT_LAPIC_ADDRESS})
 * @param ioapicId      I/O APIC ID (QEMU and Firecracker use 0)
 * @param ioapicAddress physical base of the single I/O APIC (normally {@link #DEFAULT_IOAPIC_ADDRESS})
 * @param ioapicGsiBase first GSI served by the I/O APIC; every GSI the tables mention (ISA IRQs,
 *                      the timer override's GSI 2, virtio GSIs) must be at or above it
 * @param serial        the 16550 UART described as {@code \_SB.COM1}
 * @param virtioSlots   virtio-mmio transports, described as {@code \_SB.VR00}, {@code VR01}, ...
 * @param sleep         hardware-reduced sleep control/status and reset registers (FADT)
 * @param pvpanicPort   I/O port of a pvpanic device, described as {@code \_SB.PEVT}, if present
 * @param rtcPresent    whether an MC146818 CMOS RTC answers at ports 0x70-0x71 on ISA IRQ 8
 * @param powerButton   a Generic Event Device whose event is the power button, described as {@code \_SB.GED}
 *                      and {@code \_SB.PWRB}, if present
 * @param pciHostBridge a PCI Express host bridge, described as {@code \_SB.PCI0} with an MCFG table, if present
 */
public record AcpiPlatform(
        int vcpus,
        long lapicAddress,
        int ioapicId,
        long ioapicAddress,
        int ioapicGsiBase,
        SerialPort serial,
        List<VirtioMmioSlot> virtioSlots,
        SleepRegisters sleep,
        Optional<Integer> pvpanicPort,
        boolean rtcPresent,
        Optional<PowerButton> powerButton,
        Optional<PciHostBridge> pciHostBridge) {

    /** Architectural default local APIC base (IA32_APIC_BASE reset value). */
    public static final long DEFAULT_LAPIC_ADDRESS = 0xFEE0_0000L;
    /** Conventional I/O APIC base on PCs, also used by KVM's in-kernel I/O APIC. */
    public static final long DEFAULT_IOAPIC_ADDRESS = 0xFEC0_0000L;
    /** Largest vCPU count: APIC IDs 0..254, since 0xFF is the xAPIC broadcast ID. */
    public static final int MAX_VCPUS = 255;
    /** Virtio device names carry the slot index as two hex digits (VR00..VRFF). */
    public static final int MAX_VIRTIO_SLOTS = 256;
    /** ISA IRQ 0 (the PIT) arrives on GSI 2, hence the MADT interrupt source override. */
    static final int TIMER_GSI = 2;
    /** The CMOS RTC's ISA IRQ. */
    static final int RTC_IRQ = 8;
    static final int RTC_PORT = 0x70;
    static final int RTC_PORT_COUNT = 2;
    static final int SERIAL_PORT_COUNT = 8;
    /** The local APIC and the I/O APIC each decode one page of MMIO. */
    static final long APIC_MMIO_SIZE = 0x1000;

    public AcpiPlatform {
        Objects.requireNonNull(serial, "serial");
        Objects.requireNonNull(virtioSlots, "virtioSlots");
        Objects.requireNonNull(sleep, "sleep");
        Objects.requireNonNull(pvpanicPort, "pvpanicPort");
        Objects.requireNonNull(powerButton, "powerButton");
        Objects.requireNonNull(pciHostBridge, "pciHostBridge");
        virtioSlots = List.copyOf(virtioSlots); // also rejects null elements

        if (vcpus < 1 || vcpus > MAX_VCPUS) {
            throw new IllegalArgumentException("vcpus must be in 1.." + MAX_VCPUS + " but was " + vcpus);
        }
        require32BitAddress("lapicAddress", lapicAddress);
        if ((lapicAddress & 0xFFF) != 0) {
            throw new IllegalArgumentException("lapicAddress must be 4 KiB aligned but was " + hex(lapicAddress));
        }
        if (ioapicId < 0 || ioapicId > 0xFF) {
            throw new IllegalArgumentException("ioapicId must be in 0..255 but was " + ioapicId);
        }
        require32BitAddress("ioapicAddress", ioapicAddress);
        if (ioapicGsiBase < 0) {
            throw new IllegalArgumentException("ioapicGsiBase must not be negative but was " + ioapicGsiBase);
        }
        requireRoutable("serial IRQ " + serial.irq(), serial.irq(), ioapicGsiBase);
        requireRoutable("timer override GSI " + TIMER_GSI, TIMER_GSI, ioapicGsiBase);
        if (rtcPresent) {
            requireRoutable("RTC IRQ " + RTC_IRQ, RTC_IRQ, ioapicGsiBase);
        }
        if (virtioSlots.size() > MAX_VIRTIO_SLOTS) {
            throw new IllegalArgumentException(
                    "at most " + MAX_VIRTIO_SLOTS + " virtio slots are supported but got " + virtioSlots.size());
        }
        validateVirtioSlots(virtioSlots, ioapicGsiBase, serial, rtcPresent);
        if (pvpanicPort.isPresent()) {
            int port = pvpanicPort.get();
            if (port < 0 || port > 0xFFFF) {
                throw new IllegalArgumentException("pvpanicPort must be in 0..0xFFFF but was " + port);
            }
            if (overlaps(port, 1, serial.ioPort(), SERIAL_PORT_COUNT)) {
                throw new IllegalArgumentException("pvpanicPort " + hex(port) + " overlaps the serial port at "
                        + hex(serial.ioPort()));
            }
            if (rtcPresent && overlaps(port, 1, RTC_PORT, RTC_PORT_COUNT)) {
                throw new IllegalArgumentException("pvpanicPort " + hex(port) + " overlaps the RTC ports 0x70-0x71");
            }
        }
        if (rtcPresent && overlaps(serial.ioPort(), SERIAL_PORT_COUNT, RTC_PORT, RTC_PORT_COUNT)) {
            throw new IllegalArgumentException("serial port " + hex(serial.ioPort()) + " overlaps the RTC ports");
        }
        if (powerButton.isPresent()) {
            validatePowerButton(powerButton.get(), ioapicGsiBase, serial, rtcPresent, virtioSlots, sleep);
        }
        if (pciHostBridge.isPresent()) {
            validatePciHostBridge(pciHostBridge.get(), lapicAddress, ioapicAddress, ioapicGsiBase, serial, virtioSlots,
                    sleep, pvpanicPort, rtcPresent, powerButton);
        }
    }

    /**
     * A 16550-compatible UART on the ISA I/O space (8 ports) and an ISA IRQ.
     *
     * @param ioPort first I/O port, e.g. 0x3F8 for COM1
     * @param irq    ISA IRQ 0..15, e.g. 4 for COM1
     */
    public record SerialPort(int ioPort, int irq) {
        public SerialPort {
            if (ioPort < 0 || ioPort > 0xFFFF - (SERIAL_PORT_COUNT - 1)) {
                throw new IllegalArgumentException("serial ioPort must be in 0..0xFFF8 but was " + ioPort);
            }
            if (irq < 0 || irq > 15) {
                throw new IllegalArgumentException("serial irq must be an ISA IRQ 0..15 but was " + irq);
            }
            if (irq == 0 || irq == 2) {
                // IRQ 0 is the timer (overridden to GSI 2) and IRQ 2 the 8259 cascade.
                throw new IllegalArgumentException("serial irq must not be the timer's IRQ 0 or the cascade IRQ 2");
            }
        }

        /** The first PC serial port: I/O 0x3F8-0x3FF, IRQ 4. */
        public static SerialPort com1() {
            return new SerialPort(0x3F8, 4);
        }
    }

    /**
     * One virtio-mmio transport window and its level-triggered interrupt.
     *
     * @param base physical base address; the window must lie below 4 GiB (Memory32Fixed)
     * @param size window size in bytes (virtio-mmio uses 0x200)
     * @param gsi  global system interrupt on the I/O APIC
     */
    public record VirtioMmioSlot(long base, long size, int gsi) {
        public VirtioMmioSlot {
            if (base < 0 || base >= 0x1_0000_0000L || size <= 0 || size > 0x1_0000_0000L - base) {
                throw new IllegalArgumentException("virtio slot [" + hex(base) + ", +" + hex(size)
                        + ") must be non-empty and lie below 4 GiB");
            }
            if (gsi < 0) {
                throw new IllegalArgumentException("virtio slot gsi must not be negative but was " + gsi);
            }
        }
    }

    /**
     * Hardware-reduced ACPI registers in system memory, each accessed as a single byte. Linux only
     * offers S5 (power off) when both sleep registers are non-zero, and the FADT advertises
     * RESET_REG_SUP, so all three addresses must be set.
     *
     * @param controlAddress SLEEP_CONTROL_REG; the guest writes (SLP_TYP &lt;&lt; 2) | SLP_EN(0x20)
     * @param statusAddress  SLEEP_STATUS_REG; the guest polls WAK_STS (bit 7) here
     * @param resetAddress   RESET_REG; the guest writes {@code resetValue} here to reboot
     * @param resetValue     byte value written to RESET_REG
     */
    public record SleepRegisters(long controlAddress, long statusAddress, long resetAddress, int resetValue) {
        public SleepRegisters {
            requireNonZero("sleep controlAddress", controlAddress);
            requireNonZero("sleep statusAddress", statusAddress);
            requireNonZero("resetAddress", resetAddress);
            if (resetValue < 0 || resetValue > 0xFF) {
                throw new IllegalArgumentException("resetValue must be a byte 0..255 but was " + resetValue);
            }
        }

        private static void requireNonZero(String what, long address) {
            if (address == 0) {
                throw new IllegalArgumentException(what + " must not be 0");
            }
        }
    }

    /**
     * The ACPI Generic Event Device (ACPI0013) of the x86_64 microVM, with one event, the power button: a 32-bit
     * event selector at {@code selectorAddress}, which the guest's {@code _EVT} reads (reading clears it), and a
     * level-triggered, active-high interrupt held while an event is pending. Bit
     * {@link AcpiTables#GED_POWER_BUTTON_EVENT} means the power button was pressed; {@code _EVT} then notifies
     * {@code \_SB.PWRB} (PNP0C0C).
     *
     * @param selectorAddress physical address of the selector: 4-byte aligned (the field is DWordAcc), below 4 GiB
     * @param gsi             global system interrupt on the I/O APIC, not shared with any other device
     */
    public record PowerButton(long selectorAddress, int gsi) {
        /** The selector register is one DWord. */
        public static final int SELECTOR_LENGTH = 4;

        public PowerButton {
            if (selectorAddress <= 0 || selectorAddress > 0x1_0000_0000L - SELECTOR_LENGTH
                    || selectorAddress % SELECTOR_LENGTH != 0) {
                throw new IllegalArgumentException("power button selectorAddress must be a non-zero, 4-byte aligned "
                        + "address below 4 GiB but was " + hex(selectorAddress));
            }
            if (gsi < 0) {
                throw new IllegalArgumentException("power button gsi must not be negative but was " + gsi);
            }
        }
    }

    /**
     * A range of guest-physical addresses or I/O ports.
     *
     * @param base first address
     * @param size number of addresses, positive; {@code base + size} must not overflow
     */
    public record Window(long base, long size) {
        public Window {
            if (base < 0 || size <= 0 || base + size < base) {
                throw new IllegalArgumentException("window [" + hex(base) + ", +" + hex(size)
                        + ") must be non-empty and must not wrap");
            }
        }

        /** One past the last address. */
        public long end() {
            return base + size;
        }

        /** The last address, as resource descriptors give it. */
        public long last() {
            return base + size - 1;
        }

        boolean overlaps(long start, long length) {
            return AcpiPlatform.overlaps(base, size, start, length);
        }
    }

    /**
     * A PCI Express host bridge: segment 0, buses {@code 0..buses-1} in the ECAM window at {@code ecamBase}
     * (1 MiB per bus, in the MCFG table), the windows it forwards to its devices, and how the four INTx lines of bus
     * 0 reach the I/O APIC. Devices behind bridges are swizzled onto bus 0's lines by the guest, as the PCI
     * bridge specification has it.
     *
     * <p>The INTx GSIs are declared level-triggered, active-high and shared, through one interrupt link device per
     * line (see {@link AcpiTables}); they must lie at 16 or above, outside the ISA IRQs, which a PC's I/O APIC takes
     * as edge-triggered unless the MADT overrides them (it does not).
     *
     * @param ecamBase  guest-physical address of bus 0's configuration space, aligned to the window's size rounded up
     *                  to a power of two (PCI Express Base Specification 7.2.2), and below 4 GiB (the window is
     *                  reserved with a Memory32Fixed descriptor)
     * @param buses     how many buses the ECAM window decodes, 1..256
     * @param io        the port window forwarded to PCI for I/O BARs, if any: below 0x10000 and clear of the
     *                  configuration ports 0xCF8-0xCFF
     * @param mmio32    the memory window below 4 GiB
     * @param mmio64    the memory window at or above 4 GiB, if any
     * @param intxGsis  the GSIs of INTA..INTD of bus 0: device {@code d}'s pin {@code p} raises
     *                  {@code intxGsis.get((d + p) % 4)}; four distinct GSIs of 16 or more
     */
    public record PciHostBridge(long ecamBase, int buses, Optional<Window> io, Window mmio32, Optional<Window> mmio64,
                                List<Integer> intxGsis) {
        /** 1 MiB of configuration space per bus: 32 devices x 8 functions x 4 KiB. */
        public static final long ECAM_BYTES_PER_BUS = 1L << 20;
        /** Legacy configuration mechanism #1, CONFIG_ADDRESS 0xCF8 and CONFIG_DATA 0xCFC, owned by the bridge. */
        public static final int CONFIG_PORTS = 0xCF8;
        public static final int CONFIG_PORT_COUNT = 8;
        /** Four INTx pins per device, four lines per bus. */
        public static final int INTX_LINES = 4;
        /** Devices per bus, each with its _PRT entries. */
        public static final int DEVICES_PER_BUS = 32;
        static final int FIRST_NON_ISA_GSI = 16;

        public PciHostBridge {
            Objects.requireNonNull(io, "io");
            Objects.requireNonNull(mmio32, "mmio32");
            Objects.requireNonNull(mmio64, "mmio64");
            intxGsis = List.copyOf(intxGsis); // also rejects null elements
            if (buses < 1 || buses > 256) {
                throw new IllegalArgumentException("a PCI host bridge decodes 1..256 buses, not " + buses);
            }
            long ecamSize = buses * ECAM_BYTES_PER_BUS;
            long alignment = Long.highestOneBit(ecamSize - 1) << 1;
            if (ecamBase <= 0 || ecamBase % alignment != 0) {
                throw new IllegalArgumentException("the ECAM window of " + buses + " buses must be " + hex(alignment)
                        + "-aligned and not at 0, but is at " + hex(ecamBase));
            }
            if (ecamBase + ecamSize > 1L << 32) {
                throw new IllegalArgumentException("the ECAM window [" + hex(ecamBase) + ", " + hex(ecamBase + ecamSize)
                        + ") must lie below 4 GiB");
            }
            io.ifPresent(w -> {
                if (w.end() > 0x1_0000) {
                    throw new IllegalArgumentException("the PCI I/O window must lie below port 0x10000, not end at "
                            + hex(w.end()));
                }
                if (w.overlaps(CONFIG_PORTS, CONFIG_PORT_COUNT)) {
                    throw new IllegalArgumentException("the PCI I/O window [" + hex(w.base()) + ", " + hex(w.end())
                            + ") overlaps the configuration ports 0xCF8-0xCFF");
                }
            });
            if (mmio32.end() > 1L << 32) {
                throw new IllegalArgumentException("the 32-bit PCI window must lie below 4 GiB, not end at "
                        + hex(mmio32.end()));
            }
            if (mmio32.overlaps(ecamBase, ecamSize)) {
                throw new IllegalArgumentException("the 32-bit PCI window overlaps the ECAM window at " + hex(ecamBase));
            }
            mmio64.ifPresent(w -> {
                if (w.base() < 1L << 32) {
                    throw new IllegalArgumentException("the 64-bit PCI window must start at or above 4 GiB, not at "
                            + hex(w.base()));
                }
            });
            if (intxGsis.size() != INTX_LINES) {
                throw new IllegalArgumentException("a PCI host bridge has " + INTX_LINES + " INTx lines, not "
                        + intxGsis.size());
            }
            if (Set.copyOf(intxGsis).size() != INTX_LINES) {
                throw new IllegalArgumentException("the INTx lines need four distinct GSIs: " + intxGsis);
            }
            for (int gsi : intxGsis) {
                if (gsi < FIRST_NON_ISA_GSI) {
                    throw new IllegalArgumentException("INTx GSI " + gsi + " is an ISA IRQ: PCI lines are level-"
                            + "triggered and need GSIs of " + FIRST_NON_ISA_GSI + " or more");
                }
            }
        }

        /** Bytes of ECAM space: one MiB per bus. */
        public long ecamSize() {
            return buses * ECAM_BYTES_PER_BUS;
        }

        /**
         * The INTx line (0..3, index into {@link #intxGsis}) that pin {@code pin} (0 = INTA .. 3 = INTD) of device
         * {@code device} on bus 0 drives: the usual swizzle, {@code (device + pin) % 4}.
         */
        public int intxLineOf(int device, int pin) {
            if (device < 0 || device >= DEVICES_PER_BUS || pin < 0 || pin >= INTX_LINES) {
                throw new IllegalArgumentException("no device " + device + " pin " + pin + " on a PCI bus");
            }
            return (device + pin) % INTX_LINES;
        }

        /** The GSI that pin {@code pin} of device {@code device} on bus 0 raises. */
        public int intxGsiOf(int device, int pin) {
            return intxGsis.get(intxLineOf(device, pin));
        }
    }

    /** Checks the bridge against the rest of the platform: shared interrupts, address and port ranges. */
    private static void validatePciHostBridge(PciHostBridge bridge, long lapicAddress, long ioapicAddress,
                                              int gsiBase, SerialPort serial, List<VirtioMmioSlot> slots,
                                              SleepRegisters sleep, Optional<Integer> pvpanicPort, boolean rtcPresent,
                                              Optional<PowerButton> powerButton) {
        for (int gsi : bridge.intxGsis()) {
            String what = "INTx GSI " + gsi;
            requireRoutable(what, gsi, gsiBase);
            // The virtio slots and the power button declare their interrupts Exclusive.
            for (int i = 0; i < slots.size(); i++) {
                if (slots.get(i).gsi() == gsi) {
                    throw new IllegalArgumentException(what + " is used by virtio slot " + i);
                }
            }
            if (powerButton.isPresent() && powerButton.get().gsi() == gsi) {
                throw new IllegalArgumentException(what + " is the power button's");
            }
        }
        bridge.io().ifPresent(io -> {
            String what = "the PCI I/O window [" + hex(io.base()) + ", " + hex(io.end()) + ")";
            // These ports are the platform's, not the bridge's: the guest would place I/O BARs on top of them.
            if (io.overlaps(serial.ioPort(), SERIAL_PORT_COUNT)) {
                throw new IllegalArgumentException(what + " overlaps the serial port at " + hex(serial.ioPort()));
            }
            if (rtcPresent && io.overlaps(RTC_PORT, RTC_PORT_COUNT)) {
                throw new IllegalArgumentException(what + " overlaps the RTC ports 0x70-0x71");
            }
            if (pvpanicPort.isPresent() && io.overlaps(pvpanicPort.get(), 1)) {
                throw new IllegalArgumentException(what + " overlaps the pvpanic port " + hex(pvpanicPort.get()));
            }
        });
        List<Window> bridgeRanges = new ArrayList<>();
        bridgeRanges.add(new Window(bridge.ecamBase(), bridge.ecamSize()));
        bridgeRanges.add(bridge.mmio32());
        bridge.mmio64().ifPresent(bridgeRanges::add);
        Map<String, Window> platformRanges = new LinkedHashMap<>();
        platformRanges.put("the local APIC", new Window(lapicAddress, APIC_MMIO_SIZE));
        platformRanges.put("the I/O APIC", new Window(ioapicAddress, APIC_MMIO_SIZE));
        for (int i = 0; i < slots.size(); i++) {
            VirtioMmioSlot slot = slots.get(i);
            platformRanges.put("virtio slot " + i, new Window(slot.base(), slot.size()));
        }
        powerButton.ifPresent(b -> platformRanges.put("the power button selector",
                new Window(b.selectorAddress(), PowerButton.SELECTOR_LENGTH)));
        platformRanges.put("the sleep control register", new Window(sleep.controlAddress(), 1));
        platformRanges.put("the sleep status register", new Window(sleep.statusAddress(), 1));
        platformRanges.put("the reset register", new Window(sleep.resetAddress(), 1));
        for (Window range : bridgeRanges) {
            for (Map.Entry<String, Window> e : platformRanges.entrySet()) {
                if (range.overlaps(e.getValue().base(), e.getValue().size())) {
                    throw new IllegalArgumentException("PCI host bridge range [" + hex(range.base()) + ", "
                            + hex(range.end()) + ") overlaps " + e.getKey() + " at " + hex(e.getValue().base()));
                }
            }
        }
    }

    private static void validatePowerButton(PowerButton button, int gsiBase, SerialPort serial, boolean rtcPresent,
                                            List<VirtioMmioSlot> slots, SleepRegisters sleep) {
        String what = "power button gsi " + button.gsi();
        requireRoutable(what, button.gsi(), gsiBase);
        // The descriptor says Exclusive, so no other device may have the interrupt.
        if (button.gsi() == 0 || button.gsi() == TIMER_GSI || button.gsi() == serial.irq()
                || (rtcPresent && button.gsi() == RTC_IRQ)) {
            throw new IllegalArgumentException(what + " collides with an ISA interrupt (timer IRQ 0 / GSI 2, "
                    + "serial IRQ " + serial.irq() + (rtcPresent ? ", RTC IRQ 8)" : ")"));
        }
        for (int i = 0; i < slots.size(); i++) {
            VirtioMmioSlot slot = slots.get(i);
            if (slot.gsi() == button.gsi()) {
                throw new IllegalArgumentException(what + " is used by virtio slot " + i);
            }
            if (overlaps(button.selectorAddress(), PowerButton.SELECTOR_LENGTH, slot.base(), slot.size())) {
                throw new IllegalArgumentException("power button selector at " + hex(button.selectorAddress())
                        + " overlaps virtio slot " + i + " at " + hex(slot.base()));
            }
        }
        for (long register : new long[] {sleep.controlAddress(), sleep.statusAddress(), sleep.resetAddress()}) {
            if (overlaps(button.selectorAddress(), PowerButton.SELECTOR_LENGTH, register, 1)) {
                throw new IllegalArgumentException("power button selector at " + hex(button.selectorAddress())
                        + " overlaps the ACPI sleep/reset register at " + hex(register));
            }
        }
    }

    private static void validateVirtioSlots(List<VirtioMmioSlot> slots, int gsiBase, SerialPort serial,
                                            boolean rtcPresent) {
        Set<Integer> gsis = new HashSet<>();
        for (int i = 0; i < slots.size(); i++) {
            VirtioMmioSlot slot = slots.get(i);
            String what = "virtio slot " + i + " gsi " + slot.gsi();
            requireRoutable(what, slot.gsi(), gsiBase);
            if (!gsis.add(slot.gsi())) {
                // The descriptor says Exclusive, so sharing a GSI would contradict the tables.
                throw new IllegalArgumentException(what + " is used by another virtio slot");
            }
            if (slot.gsi() == TIMER_GSI || slot.gsi() == serial.irq() || (rtcPresent && slot.gsi() == RTC_IRQ)) {
                throw new IllegalArgumentException(what + " collides with an ISA interrupt (timer GSI 2, serial IRQ "
                        + serial.irq() + (rtcPresent ? ", RTC IRQ 8)" : ")"));
            }
        }
        List<VirtioMmioSlot> sorted = new ArrayList<>(slots);
        sorted.sort(Comparator.comparingLong(VirtioMmioSlot::base));
        for (int i = 1; i < sorted.size(); i++) {
            VirtioMmioSlot prev = sorted.get(i - 1);
            VirtioMmioSlot next = sorted.get(i);
            if (prev.base() + prev.size() > next.base()) {
                throw new IllegalArgumentException("virtio slots at " + hex(prev.base()) + " and " + hex(next.base())
                        + " overlap");
            }
        }
    }

    private static void requireRoutable(String what, int gsi, int gsiBase) {
        if (gsi < gsiBase) {
            throw new IllegalArgumentException(what + " is below the I/O APIC GSI base " + gsiBase
                    + " and could not be routed");
        }
    }

    private static void require32BitAddress(String what, long address) {
        if (address <= 0 || address > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException(what + " must be a non-zero 32-bit address but was " + hex(address));
        }
    }

    private static boolean overlaps(long startA, long lengthA, long startB, long lengthB) {
        return startA < startB + lengthB && startB < startA + lengthA;
    }

    private static String hex(long value) {
        return "0x" + Long.toHexString(value).toUpperCase(java.util.Locale.ROOT);
    }
}
