package dev.mesovirt.vmm.device;

import java.util.Objects;

/**
 * Arm's PrimeCell UART (PL011, r1p5), the console of QEMU's virt board and the only UART that arm64 EDK2 of
 * Debian 12 (ArmVirtQemu 2022.11) drives; Linux takes it as {@code ttyAMA0} (driver amba-pl011). The registers the
 * two use: data (transmitted at once: the transmit FIFO is always empty), flags, receive status, the baud divisors
 * and line control (kept, they change nothing on a virtual line), control, the FIFO level select, interrupt mask,
 * raw and masked status, clear, and the PrimeCell identification registers that the AMBA bus and EDK2 (for the FIFO
 * depth) read.
 *
 * <p>Interrupts are levels computed from the state, as the GIC's level-triggered SPI wants: receive and receive
 * timeout while the receive FIFO holds a byte (Linux reads until RXFE on either), transmit always (there is room),
 * each visible when its mask bit is set; ICR clears nothing that the state would raise again. The receive FIFO
 * holds 32 bytes with FIFOs enabled (LCR_H.FEN), one byte without; input waits for room (back-pressure) rather than
 * overrunning. Accesses of 1, 2 or 4 bytes at any offset in the 4 KiB window are taken.
 */
public final class Pl011 implements ConsoleUart {
    /** The register window (a PrimeCell's 4 KiB page). */
    public static final long SIZE = 0x1000;
    public static final int FIFO_SIZE = 32;

    static final int DR = 0x000;
    static final int RSR = 0x004;
    static final int FR = 0x018;
    static final int ILPR = 0x020;
    static final int IBRD = 0x024;
    static final int FBRD = 0x028;
    static final int LCR_H = 0x02C;
    static final int CR = 0x030;
    static final int IFLS = 0x034;
    static final int IMSC = 0x038;
    static final int RIS = 0x03C;
    static final int MIS = 0x040;
    static final int ICR = 0x044;
    static final int DMACR = 0x048;
    static final int PERIPH_ID0 = 0xFE0;

    static final int FR_RXFE = 1 << 4;
    static final int FR_TXFF = 1 << 5;
    static final int FR_RXFF = 1 << 6;
    static final int FR_TXFE = 1 << 7;
    static final int LCR_H_FEN = 1 << 4;
    static final int INT_RX = 1 << 4;
    static final int INT_TX = 1 << 5;
    static final int INT_RT = 1 << 6;
    static final int INT_MASK = 0x7FF;
    static final int CR_RESET = 0x300; // TXE | RXE
    static final int IFLS_RESET = 0x12; // both FIFOs at half
    /** PeriphID0..3 then PCellID0..3, as 0xFE0..0xFFC give them: part 0x011, designer Arm (0x41), revision r1p5. */
    static final int[] ID = {0x11, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1};

    private final IrqLine irq;
    private final SerialBackend backend;
    private final ByteFifo rx = new ByteFifo(FIFO_SIZE);
    private int ilpr;
    private int ibrd;
    private int fbrd;
    private int lcrH;
    private int cr;
    private int ifls;
    private int imsc;
    private int dmacr;
    private boolean irqLevel;
    private int roomWaiters;

    public Pl011(IrqLine irq, SerialBackend backend) {
        this.irq = Objects.requireNonNull(irq, "irq");
        this.backend = Objects.requireNonNull(backend, "backend");
        resetState();
    }

    @Override
    public long length() {
        return SIZE;
    }

    @Override
    public synchronized void reset() {
        resetState();
        updateIrq();
        wakeRoomWaiters();
    }

    private void resetState() {
        rx.clear();
        ilpr = 0;
        ibrd = 0;
        fbrd = 0;
        lcrH = 0;
        cr = CR_RESET;
        ifls = IFLS_RESET;
        imsc = 0;
        dmacr = 0;
    }

    @Override
    public void read(long offset, byte[] data) {
        if (data.length == 0) {
            return;
        }
        int shift = (int) (offset & 3);
        long value = readRegister((int) (offset & ~3L) & 0xFFF, shift == 0);
        for (int i = 0; i < data.length; i++) {
            int bit = 8 * (shift + i);
            data[i] = bit < 32 ? (byte) (value >>> bit) : 0;
        }
    }

    @Override
    public void write(long offset, byte[] data) {
        if (data.length == 0) {
            return;
        }
        int shift = (int) (offset & 3);
        long value = 0;
        for (int i = 0; i < data.length && shift + i < 4; i++) {
            value |= (long) (data[i] & 0xFF) << (8 * (shift + i));
        }
        writeRegister((int) (offset & ~3L) & 0xFFF, (int) value, shift == 0);
    }

    private synchronized int readRegister(int register, boolean low) {
        switch (register) {
            case DR:
                return low ? popRx() : 0;
            case FR:
                return flags();
            case ILPR:
                return ilpr;
            case IBRD:
                return ibrd;
            case FBRD:
                return fbrd;
            case LCR_H:
                return lcrH;
            case CR:
                return cr;
            case IFLS:
                return ifls;
            case IMSC:
                return imsc;
            case RIS:
                return raw();
            case MIS:
                return raw() & imsc;
            case DMACR:
                return dmacr;
            default:
                if (register >= PERIPH_ID0 && register < PERIPH_ID0 + 4 * ID.length) {
                    return ID[(register - PERIPH_ID0) / 4];
                }
                return 0; // RSR (no errors on a virtual line), ICR (write-only) and reserved offsets
        }
    }

    private synchronized void writeRegister(int register, int value, boolean low) {
        switch (register) {
            case DR -> {
                if (low) {
                    backend.write(value & 0xFF);
                }
            }
            case ILPR -> ilpr = value & 0xFF;
            case IBRD -> ibrd = value & 0xFFFF;
            case FBRD -> fbrd = value & 0x3F;
            case LCR_H -> {
                if (((lcrH ^ value) & LCR_H_FEN) != 0) {
                    // Switching the FIFOs on or off flushes them (PL011 TRM, 3.3.7).
                    rx.clear();
                    wakeRoomWaiters();
                }
                lcrH = value & 0xFF;
            }
            case CR -> cr = value & 0xFFFF;
            case IFLS -> ifls = value & 0x3F;
            case IMSC -> imsc = value & INT_MASK;
            case DMACR -> dmacr = value & 0x7;
            default -> {
                // RSR/ECR clears errors there are none of; ICR clears levels the state raises again; read-only and
                // reserved registers ignore writes.
            }
        }
        updateIrq();
    }

    private int flags() {
        int f = FR_TXFE;
        if (rx.size() == 0) {
            f |= FR_RXFE;
        }
        if (rx.size() >= rxCapacity()) {
            f |= FR_RXFF;
        }
        return f;
    }

    private int raw() {
        int r = INT_TX;
        if (rx.size() > 0) {
            r |= INT_RX | INT_RT;
        }
        return r;
    }

    private int popRx() {
        int b = rx.pop();
        if (b < 0) {
            return 0;
        }
        wakeRoomWaiters();
        updateIrq();
        return b;
    }

    private int rxCapacity() {
        return (lcrH & LCR_H_FEN) != 0 ? FIFO_SIZE : 1;
    }

    private void updateIrq() {
        boolean level = (raw() & imsc) != 0;
        if (level != irqLevel) {
            irqLevel = level;
            irq.set(level);
        }
    }

    private void wakeRoomWaiters() {
        if (roomWaiters > 0) {
            notifyAll();
        }
    }

    @Override
    public synchronized int offer(byte[] data, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, data.length);
        int taken = rx.push(data, offset, length, rxCapacity());
        if (taken > 0) {
            updateIrq();
        }
        return taken;
    }

    @Override
    public synchronized void awaitRoom(long timeoutMillis) throws InterruptedException {
        if (rx.size() < rxCapacity() || timeoutMillis <= 0) {
            return;
        }
        roomWaiters++;
        try {
            wait(timeoutMillis);
        } finally {
            roomWaiters--;
        }
    }

    /** Snapshot section version of {@link #saveState}. */
    public static final int STATE_VERSION = 1;

    @Override
    public int stateVersion() {
        return STATE_VERSION;
    }

    @Override
    public synchronized byte[] saveState() {
        return new dev.mesovirt.vmm.snapshot.StateWriter().bytes(rx.contents()).u8(ilpr).u16(ibrd).u8(fbrd).u8(lcrH).u16(cr)
                .u8(ifls).u16(imsc).u8(dmacr).toByteArray();
    }

    @Override
    public synchronized void restoreState(dev.mesovirt.vmm.snapshot.Section section) {
        section.requireVersion(STATE_VERSION);
        dev.mesovirt.vmm.snapshot.StateReader r = section.reader();
        byte[] fifo = r.bytes();
        if (!rx.fits(fifo)) {
            throw new dev.mesovirt.vmm.snapshot.SnapshotException("snapshot: " + section.id() + " has " + fifo.length
                    + " bytes in a FIFO of " + FIFO_SIZE);
        }
        int ilprV = r.u8();
        int ibrdV = r.u16();
        int fbrdV = r.u8();
        int lcrHV = r.u8();
        int crV = r.u16();
        int iflsV = r.u8();
        int imscV = r.u16();
        int dmacrV = r.u8();
        r.end();
        rx.restore(fifo);
        ilpr = ilprV;
        ibrd = ibrdV;
        fbrd = fbrdV & 0x3F;
        lcrH = lcrHV;
        cr = crV;
        ifls = iflsV & 0x3F;
        imsc = imscV & INT_MASK;
        dmacr = dmacrV & 0x7;
        updateIrq();
    }

    @Override
    public synchronized String toString() {
        return "Pl011[cr=0x" + Integer.toHexString(cr) + ", lcr_h=0x" + Integer.toHexString(lcrH) + ", imsc=0x"
                + Integer.toHexString(imsc) + ", rx=" + rx.size() + "]";
    }
}
