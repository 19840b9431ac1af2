package dev.mesovirt.vmm.pci;

import java.util.Optional;
import java.util.function.Consumer;

/**
 * A PCI Express root port with one hot-plug slot (QEMU's and StratoVirt's {@code pcie-root-port}: vendor 0x1b36
 * device 0x000c), a type 1 function whose secondary bus has device 0 only.
 *
 * <p>Native hot-plug as Linux pciehp drives it: the slot has an attention button, a power controller and attention
 * and power indicators, and completes every Slot Control write at once, setting Command Completed (Linux waits for
 * it unless No Command Completed Support is set; QEMU sets it after each write, and so do we).
 * <ul>
 *   <li>{@link #hotPlug}: Presence Detect State and Data Link Layer Link Active on, Presence Detect Changed and Data
 *       Link Layer State Changed set. Linux enables DLLSCE (and ABPE rather than PDCE when there is a button), so
 *       the link change interrupts it; it then powers the slot on and scans it.
 *   <li>{@link #requestUnplug}: presses the attention button (Attention Button Pressed). Linux blinks the power
 *       indicator for 5 s, removes its driver, and turns the power controller off: at that write the port detaches
 *       the device and hands it to the {@code removed} callback (the machine then emits QMP DEVICE_DELETED). A slot
 *       already powered off is emptied at once; a request while the power indicator blinks (the guest is busy with
 *       the slot) is refused, as a second press would cancel the first.
 * </ul>
 * The hot-plug interrupt is MSI (one vector, maskable) with INTx (INTA) as fallback, raised on the rising edge of
 * "Hot-Plug Interrupt Enable and an enabled event is set" (PCIe 3.0 section 6.7.3.4).
 */
public final class PcieRootPort implements PciBridge {
    public static final PciIdentity IDENTITY = new PciIdentity(0x1b36, 0x000c, 0, 0x060400, 0, 0);
    /** Offset of the PCI Express capability. */
    public static final int EXP = 0x40;
    static final int EXP_CAPS = EXP + 0x02;
    static final int DEVICE_CONTROL = EXP + 0x08;
    static final int DEVICE_STATUS = EXP + 0x0a;
    static final int LINK_CAPS = EXP + 0x0c;
    static final int LINK_CONTROL = EXP + 0x10;
    static final int LINK_STATUS = EXP + 0x12;
    public static final int SLOT_CAPS = EXP + 0x14;
    public static final int SLOT_CONTROL = EXP + 0x18;
    public static final int SLOT_STATUS = EXP + 0x1a;
    static final int ROOT_CONTROL = EXP + 0x1c;
    static final int ROOT_STATUS = EXP + 0x20;
    static final int LINK_CAPS2 = EXP + 0x2c;
    static final int LINK_CONTROL2 = EXP + 0x30;

    public static final int SLTCAP_ABP = 0x01;
    public static final int SLTCAP_PCP = 0x02;
    public static final int SLTCAP_AIP = 0x08;
    public static final int SLTCAP_PIP = 0x10;
    public static final int SLTCAP_HPC = 0x40;
    public static final int SLTCAP_NCCS = 0x40000;

    public static final int SLTCTL_ABPE = 0x0001;
    public static final int SLTCTL_PDCE = 0x0008;
    public static final int SLTCTL_CCIE = 0x0010;
    public static final int SLTCTL_HPIE = 0x0020;
    public static final int SLTCTL_AIC = 0x00c0;
    public static final int SLTCTL_PIC = 0x0300;
    public static final int SLTCTL_PCC = 0x0400;
    public static final int SLTCTL_DLLSCE = 0x1000;
    public static final int ATTN_IND_OFF = 0x00c0;
    public static final int PWR_IND_ON = 0x0100;
    public static final int PWR_IND_BLINK = 0x0200;
    public static final int PWR_IND_OFF = 0x0300;
    /** Power Controller Control set: power off. */
    public static final int PWR_OFF = 0x0400;

    public static final int SLTSTA_ABP = 0x0001;
    public static final int SLTSTA_PFD = 0x0002;
    public static final int SLTSTA_MRLSC = 0x0004;
    public static final int SLTSTA_PDC = 0x0008;
    public static final int SLTSTA_CC = 0x0010;
    public static final int SLTSTA_PDS = 0x0040;
    public static final int SLTSTA_DLLSC = 0x0100;
    /** Event bits whose enable bit has the same position in Slot Control. */
    static final int EVENTS_SAME_POSITION = SLTSTA_ABP | SLTSTA_PFD | SLTSTA_MRLSC | SLTSTA_PDC | SLTSTA_CC;
    static final int EVENTS = EVENTS_SAME_POSITION | SLTSTA_DLLSC;
    public static final int LNKSTA_DLLLA = 0x2000;

    /**
     * Address space the firmware reserves in a bridge's windows for devices hot-plugged behind it, beyond what the
     * devices present at boot take (QEMU's root port io-reserve, mem-reserve and pref64-reserve).
     */
    public record Reserve(long io, long memory, long prefetchable) {
        /** Nothing beyond what is present. */
        public static final Reserve NONE = new Reserve(0, 0, 0);
        /**
         * 2 MiB of 32-bit memory and 64 MiB of 64-bit prefetchable memory, no I/O: a virtio-pci device takes a
         * 16 KiB 64-bit BAR and a 4 KiB MSI-X BAR; PCI Express devices need no I/O, and x86's 16 KiB port window
         * would hold only four 4 KiB bridge I/O windows.
         */
        public static final Reserve DEFAULT = new Reserve(0, 2L << 20, 64L << 20);

        public Reserve {
            if (io < 0 || memory < 0 || prefetchable < 0) {
                throw new IllegalArgumentException("negative hot-plug reserve");
            }
        }

        long of(ResourceAssignment.Kind kind) {
            return switch (kind) {
                case IO -> io;
                case MEMORY -> memory;
                case PREFETCHABLE -> prefetchable;
            };
        }
    }

    private final PciRoot root;
    private final int portNumber;
    private final Reserve reserve;
    private final Consumer<PciFunction> removed;
    private final PciHeader header;
    private final MsiCapability msi;
    private final PciBus secondary;
    /** Whether the hot-plug interrupt condition held at the last look (MSI is sent on its rising edge). */
    private boolean notified;

    /**
     * @param portNumber the Physical Slot Number and Port Number (0..255), distinct per port: Linux names the slot by it
     * @param removed told of a device the guest let go (powered its slot off), outside the PCI lock
     */
    public PcieRootPort(PciRoot root, int portNumber, Reserve reserve, Consumer<PciFunction> removed) {
        if (portNumber < 0 || portNumber > 255) {
            throw new IllegalArgumentException("root port number " + portNumber + " is not in 0..255");
        }
        this.root = root;
        this.portNumber = portNumber;
        this.reserve = reserve;
        this.removed = removed;
        this.header = PciHeader.bridge(IDENTITY, ConfigSpace.EXTENDED, 1);
        ConfigSpace c = header.config();
        int exp = c.addCapability(0x10, 0x3c);
        if (exp != EXP) {
            throw new IllegalStateException("PCI Express capability at 0x" + Integer.toHexString(exp));
        }
        // Version 2, Root Port (4), slot implemented; hot-plug MSI is message 0.
        c.set16(EXP_CAPS, 0x2 | 4 << 4 | 0x100);
        c.set32(EXP + 0x04, 0x8000); // Device Capabilities: 128-byte payload, role-based error reporting
        c.set16(DEVICE_CONTROL, 0x2000); // max read request 512 bytes
        c.setWritable(DEVICE_CONTROL, 2, 0x791f);
        c.setClearable(DEVICE_STATUS, 2, 0x000f);
        // 2.5 GT/s, x1, Data Link Layer Link Active Reporting Capable, Port Number.
        c.set32(LINK_CAPS, 0x1 | 0x1 << 4 | 1 << 20 | portNumber << 24);
        c.setWritable(LINK_CONTROL, 2, 0x0cdb);
        c.setClearable(LINK_STATUS, 2, 0xc000);
        c.set16(LINK_STATUS, 0x1 | 0x1 << 4); // trained at 2.5 GT/s x1 (Linux checks the negotiated width)
        c.set32(SLOT_CAPS, SLTCAP_ABP | SLTCAP_PCP | SLTCAP_AIP | SLTCAP_PIP | SLTCAP_HPC | portNumber << 19);
        c.setWritable(SLOT_CONTROL, 2, 0x17ff);
        c.set16(SLOT_CONTROL, ATTN_IND_OFF | PWR_IND_OFF | PWR_OFF);
        c.setClearable(SLOT_STATUS, 2, EVENTS);
        c.setWritable(ROOT_CONTROL, 2, 0x000f);
        c.setClearable(ROOT_STATUS, 4, 0x10000);
        c.set32(LINK_CAPS2, 0x2); // supported speeds: 2.5 GT/s
        c.set16(LINK_CONTROL2, 0x1);
        this.msi = new MsiCapability(header, true);
        header.powerOnStateDone();
        this.secondary = PciBus.behind(root, this, true);
    }

    @Override
    public PciHeader header() {
        return header;
    }

    @Override
    public PciBus secondaryBus() {
        return secondary;
    }

    @Override
    public Reserve hotplugReserve() {
        return reserve;
    }

    public int portNumber() {
        return portNumber;
    }

    /** The device in the slot, if any. */
    public Optional<PciFunction> device() {
        return secondary.function(0, 0);
    }

    /** The MSI capability that carries the hot-plug interrupt. */
    public MsiCapability msi() {
        return msi;
    }

    /**
     * Puts {@code f} in the slot before the guest runs (cold plug): present, powered, link up, no event. Throws
     * {@link IllegalArgumentException} when the slot is taken.
     */
    public void insert(PciFunction f) {
        synchronized (root.lock()) {
            occupy(f);
            powerUp();
        }
        root.runDeferred();
    }

    /** Hot-plugs {@code f}: presence and link change events, an interrupt if the guest enabled them. */
    public void hotPlug(PciFunction f) {
        synchronized (root.lock()) {
            occupy(f);
            header.config().update(SLOT_STATUS, 2, 0, SLTSTA_PDC | SLTSTA_DLLSC);
            updateInterrupt();
        }
        root.runDeferred();
    }

    private void occupy(PciFunction f) {
        if (device().isPresent()) {
            throw new IllegalArgumentException("root port " + portNumber + ": the slot is occupied");
        }
        secondary.attach(0, 0, f);
        header.config().update(SLOT_STATUS, 2, 0, SLTSTA_PDS);
        header.config().update(LINK_STATUS, 2, 0, LNKSTA_DLLLA);
    }

    private void powerUp() {
        header.config().update(SLOT_CONTROL, 2, SLTCTL_PCC | SLTCTL_PIC, PWR_IND_ON);
    }

    /**
     * Asks the guest to release the device (the attention button). Throws {@link IllegalStateException} when the slot
     * is empty or the guest is already busy with it (power indicator blinking).
     */
    public void requestUnplug() {
        synchronized (root.lock()) {
            if (device().isEmpty()) {
                throw new IllegalStateException("root port " + portNumber + ": the slot is empty");
            }
            int control = header.config().get16(SLOT_CONTROL);
            if ((control & SLTCTL_PIC) == PWR_IND_BLINK) {
                throw new IllegalStateException("root port " + portNumber
                        + ": the guest is busy with the slot (power indicator blinking)");
            }
            if ((control & SLTCTL_PCC) == PWR_OFF) {
                empty();
            } else {
                header.config().update(SLOT_STATUS, 2, 0, SLTSTA_ABP);
                updateInterrupt();
            }
        }
        root.runDeferred();
    }

    /** Detaches the device and reports it, after the lock is released. */
    private void empty() {
        Optional<PciFunction> gone = secondary.detach(0, 0);
        header.config().update(SLOT_STATUS, 2, SLTSTA_PDS, SLTSTA_PDC | SLTSTA_DLLSC);
        header.config().update(LINK_STATUS, 2, LNKSTA_DLLLA, 0);
        updateInterrupt();
        gone.ifPresent(f -> root.defer(() -> removed.accept(f)));
    }

    @Override
    public void writeConfig(int offset, int size, int value) {
        ConfigSpace c = header.config();
        int oldControl = c.get16(SLOT_CONTROL);
        int oldStatus = c.get16(SLOT_STATUS);
        int oldBridgeControl = c.get16(PciHeader.BRIDGE_CONTROL);
        header.writeConfig(offset, size, value);
        msi.configWritten(offset, size);
        if (PciHeader.overlaps(offset, size, SLOT_STATUS, 2)) {
            int written = part(offset, size, value, SLOT_STATUS);
            // QEMU's work-around for guests that clear every event bit during initialisation: clearing a bit that
            // was not set would race with (and lose) an event arriving meanwhile, so such a write clears nothing.
            if ((written & ~oldStatus & EVENTS) != 0) {
                c.update(SLOT_STATUS, 2, EVENTS, oldStatus & EVENTS);
            }
        }
        if (PciHeader.overlaps(offset, size, LINK_CONTROL, 2)) {
            c.update(LINK_CONTROL, 2, 0x20, 0); // Retrain Link: done at once, reads 0
        }
        if (PciHeader.overlaps(offset, size, PciHeader.BRIDGE_CONTROL, 2)) {
            int control = c.get16(PciHeader.BRIDGE_CONTROL);
            if ((control & ~oldBridgeControl & PciHeader.BRIDGE_CONTROL_BUS_RESET) != 0) {
                for (PciFunction f : secondary.functions()) {
                    f.reset();
                }
            }
        }
        if (PciHeader.overlaps(offset, size, SLOT_CONTROL, 2)) {
            int control = c.get16(SLOT_CONTROL);
            boolean poweredOff = (control & SLTCTL_PCC) == PWR_OFF && (oldControl & SLTCTL_PCC) != PWR_OFF;
            if (poweredOff && device().isPresent()) {
                empty();
            }
            c.update(SLOT_STATUS, 2, 0, SLTSTA_CC);
        }
        updateInterrupt();
    }

    /** The bytes of a write that fell on the 16-bit register at {@code reg}. */
    private static int part(int offset, int size, int value, int reg) {
        int v = 0;
        for (int i = 0; i < size; i++) {
            int at = offset + i - reg;
            if (at >= 0 && at < 2) {
                v |= ((value >>> (8 * i)) & 0xff) << (8 * at);
            }
        }
        return v;
    }

    /** Sends the hot-plug interrupt on the rising edge of its condition (MSI), or holds INTx at its level. */
    private void updateInterrupt() {
        ConfigSpace c = header.config();
        int control = c.get16(SLOT_CONTROL);
        int status = c.get16(SLOT_STATUS);
        boolean condition = (control & SLTCTL_HPIE) != 0 && ((status & control & EVENTS_SAME_POSITION) != 0
                || (status & SLTSTA_DLLSC) != 0 && (control & SLTCTL_DLLSCE) != 0);
        if (condition && !notified && msi.enabled()) {
            msi.signal();
        }
        notified = condition;
        header.setIntx(condition && !msi.enabled());
    }

    @Override
    public void attach(PciHeader.Attachment place) {
        header.attach(place);
    }

    @Override
    public void reset() {
        msi.reset();
        header.reset();
        notified = false;
        if (device().isPresent()) {
            ConfigSpace c = header.config();
            c.update(SLOT_STATUS, 2, 0, SLTSTA_PDS);
            c.update(LINK_STATUS, 2, 0, LNKSTA_DLLLA);
            powerUp();
        }
    }

    @Override
    public void detach() {
        msi.reset();
        header.detach();
    }
}
