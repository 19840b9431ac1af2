package dev.mesovirt.vmm.device;

import dev.mesovirt.vmm.bus.BusDevice;
import java.util.Arrays;
import java.util.Objects;

/**
 * A 16550A UART, the console every architecture's Linux knows without a driver of its own.
 *
 * <p>On x86 it sits at I/O port 0x3F8 with registers at offsets 0..7; on arm64/riscv64 it is MMIO with
 * {@code registerShift} (register = offset &gt;&gt; shift). Accesses of any width use the low byte.
 *
 * <p>Transmission is instantaneous: a THR write goes straight to the {@link SerialBackend}, so THR and the
 * transmitter are always empty (LSR.THRE|TEMT), which is what lets a guest print without waiting. Reception goes
 * through a receive FIFO (64 bytes in FIFO mode, a single holding register otherwise); the backend feeds it through
 * {@link #offer} with back-pressure, so typed or pasted input is never dropped, while {@link #receive} models a
 * line that does not wait (overrun sets LSR.OE). The FCR trigger level is stored but data interrupts as soon as
 * one byte is present, because there is no character-timeout interrupt to flush a part-filled FIFO.
 *
 * <p>Wire it up as: {@code uart = new Uart16550(irq, backend, gated); backend.start(uart);}
 *
 * <p>Thread safety: vCPU threads and the backend's input thread call in concurrently; all state is guarded by the
 * instance monitor, and {@link IrqLine#set} is called under it (only when the level changes) so the line always
 * ends up at the last computed level.
 */
public final class Uart16550 implements ConsoleUart {
    /** Number of byte registers; the device spans {@code REGISTER_COUNT << registerShift} bytes. */
    public static final int REGISTER_COUNT = 8;
    /** The receive FIFO depth in FIFO mode. */
    public static final int FIFO_SIZE = 64;
    /** The conventional base of COM1 on PCs. */
    public static final int COM1_PORT = 0x3F8;

    // Register numbers (after the shift).
    private static final int REG_DATA = 0; // RBR (read) / THR (write) / DLL when DLAB
    private static final int REG_IER = 1; // DLM when DLAB
    private static final int REG_IIR_FCR = 2;
    private static final int REG_LCR = 3;
    private static final int REG_MCR = 4;
    private static final int REG_LSR = 5;
    private static final int REG_MSR = 6;
    private static final int REG_SCR = 7;

    private static final int IER_RDA = 0x01; // ERBFI
    private static final int IER_THRE = 0x02; // ETBEI
    private static final int IER_RLS = 0x04; // ELSI
    private static final int IER_MS = 0x08; // EDSSI
    private static final int IER_MASK = 0x0F; // upper bits are reserved on a 16550A (Linux probes bit 6)

    private static final int IIR_NONE = 0x01;
    private static final int IIR_MS = 0x00;
    private static final int IIR_THRE = 0x02;
    private static final int IIR_RDA = 0x04;
    private static final int IIR_RLS = 0x06;
    private static final int IIR_FIFO_ENABLED = 0xC0;

    private static final int FCR_ENABLE = 0x01;
    private static final int FCR_CLEAR_RX = 0x02;
    private static final int FCR_TRIGGER_MASK = 0xC0;

    private static final int LCR_DLAB = 0x80;

    private static final int MCR_DTR = 0x01;
    private static final int MCR_RTS = 0x02;
    private static final int MCR_OUT1 = 0x04;
    private static final int MCR_OUT2 = 0x08;
    private static final int MCR_LOOP = 0x10;
    private static final int MCR_MASK = 0x1F;

    private static final int LSR_DR = 0x01;
    private static final int LSR_OE = 0x02;
    private static final int LSR_ERRORS = 0x1E; // OE, PE, FE, BI: cleared by reading LSR
    private static final int LSR_THRE = 0x20;
    private static final int LSR_TEMT = 0x40;

    private static final int MSR_DCTS = 0x01;
    private static final int MSR_DDSR = 0x02;
    private static final int MSR_TERI = 0x04;
    private static final int MSR_DDCD = 0x08;
    private static final int MSR_DELTAS = 0x0F;
    private static final int MSR_CTS = 0x10;
    private static final int MSR_DSR = 0x20;
    private static final int MSR_RI = 0x40;
    private static final int MSR_DCD = 0x80;
    /** What a console cable reports: the other end is there and ready. */
    private static final int MSR_CONNECTED = MSR_CTS | MSR_DSR | MSR_DCD;

    private static final int DEFAULT_DIVISOR = 0x0C; // 9600 baud from the 1.8432 MHz clock, as QEMU resets

    private final IrqLine irq;
    private final SerialBackend backend;
    private final boolean out2Gated;
    private final int registerShift;

    private final ByteFifo rx = new ByteFifo(FIFO_SIZE);

    private int ier;
    private int lcr;
    private int mcr;
    private int lsrErrors;
    private int msr;
    private int scr;
    private int dll;
    private int dlm;
    private int rbr; // the last byte read, returned again when the guest reads an empty RBR
    private boolean fifoEnabled;
    private int fifoTrigger;
    private boolean thrPending;
    private boolean irqLevel;
    private int roomWaiters;

    /** A UART with registers at consecutive offsets (x86 port I/O). */
    public Uart16550(IrqLine irq, SerialBackend backend, boolean out2Gated) {
        this(irq, backend, 0, out2Gated);
    }

    /**
     * @param registerShift log2 of the register stride for MMIO (0..8)
     * @param out2Gated whether MCR.OUT2 gates the interrupt output, as on PCs (true for the x86 port-I/O UART);
     *     MMIO UARTs on other platforms have no such gate
     */
    public Uart16550(IrqLine irq, SerialBackend backend, int registerShift, boolean out2Gated) {
        if (registerShift < 0 || registerShift > 8) {
            throw new IllegalArgumentException("register shift " + registerShift + " is not in 0..8");
        }
        this.irq = Objects.requireNonNull(irq, "irq");
        this.backend = Objects.requireNonNull(backend, "backend");
        this.out2Gated = out2Gated;
        this.registerShift = registerShift;
        resetState();
    }

    /** The span of the device on its bus. */
    @Override
    public long length() {
        return (long) REGISTER_COUNT << registerShift;
    }

    public int registerShift() {
        return registerShift;
    }

    /** Returns the UART to its power-on state (machine reset); pending input in the FIFO is discarded. */
    @Override
    public synchronized void reset() {
        resetState();
        updateIrq();
        wakeRoomWaiters();
    }

    private void resetState() {
        rx.clear();
        ier = 0;
        lcr = 0;
        mcr = MCR_OUT2; // as QEMU: firmware-less guests that never touch MCR still get interrupts
        lsrErrors = 0;
        msr = MSR_CONNECTED;
        scr = 0;
        dll = DEFAULT_DIVISOR;
        dlm = 0;
        rbr = 0;
        fifoEnabled = false;
        fifoTrigger = 0;
        thrPending = false;
    }

    /** Snapshot section version of {@link #saveState}. */
    public static final int STATE_VERSION = 1;

    @Override
    public int stateVersion() {
        return STATE_VERSION;
    }

    /** The registers and the receive FIFO, for a snapshot (the guest is paused; input may still arrive). */
    @Override
    public synchronized byte[] saveState() {
        dev.mesovirt.vmm.snapshot.StateWriter w = new dev.mesovirt.vmm.snapshot.StateWriter();
        return w.bytes(rx.contents()).u8(ier).u8(lcr).u8(mcr).u8(lsrErrors).u8(msr).u8(scr).u8(dll).u8(dlm).u8(rbr)
                .bool(fifoEnabled).u8(fifoTrigger).bool(thrPending).toByteArray();
    }

    /** Gives back what {@link #saveState} took, on a UART built from the same command line, and its interrupt. */
    @Override
    public synchronized void restoreState(dev.mesovirt.vmm.snapshot.Section section) {
        section.requireVersion(STATE_VERSION);
        dev.mesovirt.vmm.snapshot.StateReader r = section.reader();
        byte[] fifo = r.bytes();
        if (!rx.fits(fifo)) {
            throw new dev.mesovirt.vmm.snapshot.SnapshotException("snapshot: " + section.id() + " has " + fifo.length
                    + " bytes in a FIFO of " + FIFO_SIZE);
        }
        int[] v = new int[9];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.u8();
        }
        boolean fifoOn = r.bool();
        int trigger = r.u8();
        boolean thr = r.bool();
        r.end();
        rx.restore(fifo);
        ier = v[0] & IER_MASK;
        lcr = v[1];
        mcr = v[2] & MCR_MASK;
        lsrErrors = v[3] & LSR_ERRORS;
        msr = v[4];
        scr = v[5];
        dll = v[6];
        dlm = v[7];
        rbr = v[8];
        fifoEnabled = fifoOn;
        fifoTrigger = trigger;
        thrPending = thr;
        updateIrq();
    }

    @Override
    public void read(long offset, byte[] data) {
        if (data.length == 0) {
            return;
        }
        int register = register(offset);
        int value = register < 0 ? 0 : readRegister(register);
        Arrays.fill(data, (byte) 0);
        data[0] = (byte) value;
    }

    @Override
    public void write(long offset, byte[] data) {
        if (data.length == 0) {
            return;
        }
        int register = register(offset);
        if (register >= 0) {
            writeRegister(register, data[0] & 0xFF);
        }
    }

    private int register(long offset) {
        if (offset < 0) {
            return -1;
        }
        long register = offset >>> registerShift;
        return register < REGISTER_COUNT ? (int) register : -1;
    }

    private synchronized int readRegister(int register) {
        boolean dlab = (lcr & LCR_DLAB) != 0;
        return switch (register) {
            case REG_DATA -> dlab ? dll : readRbr();
            case REG_IER -> dlab ? dlm : ier;
            case REG_IIR_FCR -> readIir();
            case REG_LCR -> lcr;
            case REG_MCR -> mcr;
            case REG_LSR -> readLsr();
            case REG_MSR -> readMsr();
            case REG_SCR -> scr;
            default -> 0;
        };
    }

    private synchronized void writeRegister(int register, int value) {
        boolean dlab = (lcr & LCR_DLAB) != 0;
        switch (register) {
            case REG_DATA -> {
                if (dlab) {
                    dll = value;
                } else {
                    writeThr(value);
                }
            }
            case REG_IER -> {
                if (dlab) {
                    dlm = value;
                } else {
                    writeIer(value);
                }
            }
            case REG_IIR_FCR -> writeFcr(value);
            case REG_LCR -> lcr = value;
            case REG_MCR -> writeMcr(value);
            case REG_SCR -> scr = value;
            default -> {} // LSR and MSR are read-only here (factory-test writes are not modelled)
        }
    }

    private int readRbr() {
        if (rx.size() > 0) {
            rbr = rx.pop();
            wakeRoomWaiters();
            updateIrq();
        }
        return rbr;
    }

    private int readIir() {
        int id = pendingInterrupt();
        if (id == IIR_THRE) {
            thrPending = false; // reading IIR acknowledges a THRE interrupt it reports
            updateIrq();
        }
        return id | (fifoEnabled ? IIR_FIFO_ENABLED : 0);
    }

    private int readLsr() {
        int value = (rx.size() > 0 ? LSR_DR : 0) | lsrErrors | LSR_THRE | LSR_TEMT;
        if (lsrErrors != 0) {
            lsrErrors = 0;
            updateIrq();
        }
        return value;
    }

    private int readMsr() {
        int value = msr;
        if ((msr & MSR_DELTAS) != 0) {
            msr &= ~MSR_DELTAS;
            updateIrq();
        }
        return value;
    }

    private void writeThr(int value) {
        if ((mcr & MCR_LOOP) != 0) {
            pushRx(value); // loopback: the transmitter feeds the receiver and the line stays quiet
        } else {
            backend.write(value);
        }
        // The byte left at once, so THR is empty again: the write cleared THRE and it is re-raised.
        thrPending = (ier & IER_THRE) != 0;
        updateIrq();
    }

    private void writeIer(int value) {
        int old = ier;
        ier = value & IER_MASK;
        if ((ier & IER_THRE) == 0) {
            thrPending = false;
        } else if ((old & IER_THRE) == 0) {
            // Enabling ETBEI with THR empty raises THRE at once; Linux's 8250 driver relies on it (UART_BUG_THRE).
            thrPending = true;
        }
        updateIrq();
    }

    private void writeFcr(int value) {
        boolean enable = (value & FCR_ENABLE) != 0;
        if (enable != fifoEnabled) {
            clearRx(); // changing FIFO mode resets the FIFOs
            fifoEnabled = enable;
        } else if (enable && (value & FCR_CLEAR_RX) != 0) {
            clearRx();
        }
        if (enable) {
            fifoTrigger = value & FCR_TRIGGER_MASK; // kept for completeness; see the class comment
        }
        updateIrq();
    }

    private void writeMcr(int value) {
        int old = mcr;
        mcr = value & MCR_MASK;
        int oldStatus = msr & ~MSR_DELTAS;
        int status = modemStatus();
        int changed = oldStatus ^ status;
        int deltas = 0;
        if ((changed & MSR_CTS) != 0) {
            deltas |= MSR_DCTS;
        }
        if ((changed & MSR_DSR) != 0) {
            deltas |= MSR_DDSR;
        }
        if ((oldStatus & MSR_RI) != 0 && (status & MSR_RI) == 0) {
            deltas |= MSR_TERI; // trailing edge of ring indicator only
        }
        if ((changed & MSR_DCD) != 0) {
            deltas |= MSR_DDCD;
        }
        msr = status | (msr & MSR_DELTAS) | deltas;
        if (((old ^ mcr) & MCR_LOOP) != 0) {
            wakeRoomWaiters(); // leaving loopback reconnects the receiver to the backend
        }
        updateIrq();
    }

    /** Modem inputs: a connected console, or in loopback the MCR outputs wired back (RTS→CTS, DTR→DSR, ...). */
    private int modemStatus() {
        if ((mcr & MCR_LOOP) == 0) {
            return MSR_CONNECTED;
        }
        int status = 0;
        if ((mcr & MCR_RTS) != 0) {
            status |= MSR_CTS;
        }
        if ((mcr & MCR_DTR) != 0) {
            status |= MSR_DSR;
        }
        if ((mcr & MCR_OUT1) != 0) {
            status |= MSR_RI;
        }
        if ((mcr & MCR_OUT2) != 0) {
            status |= MSR_DCD;
        }
        return status;
    }

    private int rxCapacity() {
        return fifoEnabled ? FIFO_SIZE : 1;
    }

    private boolean pushRx(int value) {
        if (!rx.push((byte) value, rxCapacity())) {
            lsrErrors |= LSR_OE; // the new byte is lost, the FIFO's contents are kept
            return false;
        }
        return true;
    }

    private void clearRx() {
        rx.clear();
        wakeRoomWaiters();
    }

    private void wakeRoomWaiters() {
        if (roomWaiters > 0) {
            notifyAll();
        }
    }

    /** The highest-priority enabled pending interrupt, as IIR encodes it. */
    private int pendingInterrupt() {
        if ((ier & IER_RLS) != 0 && lsrErrors != 0) {
            return IIR_RLS;
        }
        if ((ier & IER_RDA) != 0 && rx.size() > 0) {
            return IIR_RDA;
        }
        if ((ier & IER_THRE) != 0 && thrPending) {
            return IIR_THRE;
        }
        if ((ier & IER_MS) != 0 && (msr & MSR_DELTAS) != 0) {
            return IIR_MS;
        }
        return IIR_NONE;
    }

    /**
     * On a PC the INTR pin reaches the interrupt controller through a buffer enabled by the OUT2 output; in loopback
     * the outputs are forced inactive, which closes that gate too.
     */
    private boolean gateOpen() {
        return !out2Gated || ((mcr & MCR_OUT2) != 0 && (mcr & MCR_LOOP) == 0);
    }

    private void updateIrq() {
        boolean level = gateOpen() && pendingInterrupt() != IIR_NONE;
        if (level != irqLevel) {
            irqLevel = level;
            irq.set(level);
        }
    }

    // ---- input side, called by the backend's input thread ----

    /** Whether at least one byte would be taken now (false in loopback, where the receiver is disconnected). */
    public synchronized boolean canReceive() {
        return (mcr & MCR_LOOP) == 0 && rx.size() < rxCapacity();
    }

    /**
     * Delivers bytes as a line that does not wait would: what does not fit is lost and sets LSR.OE. In loopback
     * the external input is disconnected and discarded.
     */
    public synchronized void receive(byte[] data) {
        if ((mcr & MCR_LOOP) != 0 || data.length == 0) {
            return;
        }
        for (byte b : data) {
            pushRx(b & 0xFF);
        }
        updateIrq();
    }

    @Override
    public synchronized int offer(byte[] data, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, data.length);
        if ((mcr & MCR_LOOP) != 0) {
            return 0;
        }
        int taken = Math.min(length, rxCapacity() - rx.size());
        for (int i = 0; i < taken; i++) {
            pushRx(data[offset + i] & 0xFF);
        }
        if (taken > 0) {
            updateIrq();
        }
        return Math.max(taken, 0);
    }

    @Override
    public synchronized void awaitRoom(long timeoutMillis) throws InterruptedException {
        if (canReceive() || timeoutMillis <= 0) {
            return;
        }
        roomWaiters++;
        try {
            wait(timeoutMillis);
        } finally {
            roomWaiters--;
        }
    }

    @Override
    public synchronized String toString() {
        return "Uart16550[ier=0x" + Integer.toHexString(ier) + ", lcr=0x" + Integer.toHexString(lcr) + ", mcr=0x"
                + Integer.toHexString(mcr) + ", divisor=" + ((dlm << 8) | dll) + ", rx=" + rx.size()
                + (fifoEnabled ? ", fifo trigger=0x" + Integer.toHexString(fifoTrigger) : "") + "]";
    }
}
