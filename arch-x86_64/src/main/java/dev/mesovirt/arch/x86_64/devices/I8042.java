package dev.mesovirt.arch.x86_64.devices;

import dev.mesovirt.vmm.arch.GuestPower;
import dev.mesovirt.vmm.bus.BusDevice;
import dev.mesovirt.vmm.device.IrqLine;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Just enough of the i8042 PS/2 controller for Linux to probe it without long waits and to reboot through it
 * (command 0xFE pulses the CPU reset line). A keyboard with no keys pressed answers its commands; there is no mouse.
 *
 * <p>Bus placement: one device at port {@link #BASE} (0x60), {@link #LENGTH} bytes, so offset 0 is the data port
 * and offset 4 the command (write) / status (read) port, as Firecracker maps it. Offsets 1..3 (0x61..0x63) read
 * 0xFF and ignore writes: port 0x61 (system control port B) is answered inside KVM by the in-kernel PIT
 * (KVM_PIT_SPEAKER_DUMMY) and never gets here; if it did, 0xFF shows the PIT's OUT2 high so Linux's PIT-based TSC
 * calibration gives up at once instead of polling for ever.
 *
 * <p>The keyboard interrupt (IRQ 1), if wired, is a level that is high while the output buffer holds keyboard data
 * and the command byte enables it; the line object turns it into an edge for the ISA interrupt controller.
 */
public final class I8042 implements BusDevice {
    private static final Logger LOG = LoggerFactory.getLogger(I8042.class);

    public static final int BASE = 0x60;
    public static final int LENGTH = 5;
    public static final int DATA_OFFSET = 0;
    public static final int COMMAND_OFFSET = 4;

    // Status register.
    private static final int SR_OUTPUT_FULL = 0x01;
    private static final int SR_SYSTEM = 0x04;
    private static final int SR_COMMAND = 0x08; // last write went to the command port
    private static final int SR_UNLOCKED = 0x10; // keyboard not inhibited by a key lock
    private static final int SR_AUX_DATA = 0x20;

    // Controller command byte.
    private static final int CTR_KBD_INT = 0x01;
    private static final int CTR_SYSTEM = 0x04;
    private static final int CTR_KBD_DISABLE = 0x10;
    private static final int CTR_AUX_DISABLE = 0x20;
    private static final int CTR_TRANSLATE = 0x40;
    private static final int CTR_DEFAULT = CTR_KBD_INT | CTR_SYSTEM | CTR_TRANSLATE; // as a PC BIOS leaves it

    // Controller commands.
    private static final int CMD_READ_CTR = 0x20;
    private static final int CMD_WRITE_CTR = 0x60;
    private static final int CMD_AUX_DISABLE = 0xA7;
    private static final int CMD_AUX_ENABLE = 0xA8;
    private static final int CMD_AUX_TEST = 0xA9;
    private static final int CMD_SELF_TEST = 0xAA;
    private static final int CMD_KBD_TEST = 0xAB;
    private static final int CMD_KBD_DISABLE = 0xAD;
    private static final int CMD_KBD_ENABLE = 0xAE;
    private static final int CMD_READ_OUTPUT_PORT = 0xD0;
    private static final int CMD_WRITE_OUTPUT_PORT = 0xD1;
    private static final int CMD_WRITE_KBD_BUFFER = 0xD2;
    private static final int CMD_WRITE_AUX_BUFFER = 0xD3; // "aux loopback"
    private static final int CMD_WRITE_AUX = 0xD4;
    private static final int CMD_PULSE_RESET = 0xFE;

    private static final int SELF_TEST_OK = 0x55;
    private static final int INTERFACE_OK = 0x00;
    private static final int OUTPUT_PORT = 0x03; // reset line high (not in reset), A20 enabled

    // Keyboard replies.
    private static final int KBD_ACK = 0xFA;
    private static final int KBD_BAT_OK = 0xAA;
    private static final int KBD_ECHO = 0xEE;
    private static final int KBD_RESET = 0xFF;
    private static final int KBD_GET_ID = 0xF2;

    private static final int QUEUE_SIZE = 16;
    private static final int AUX_FLAG = 0x100;

    private final GuestPower power;
    private final IrqLine keyboardIrq;
    private final int[] queue = new int[QUEUE_SIZE]; // bytes, AUX_FLAG marks mouse-side data
    private int queueHead;
    private int queueCount;
    private int lastData;
    private int ctr = CTR_DEFAULT;
    private int pendingCommand; // a command waiting for its data byte, 0 if none
    private boolean lastWasCommand;
    private boolean irqLevel;

    public I8042(GuestPower power) {
        this(power, IrqLine.NONE);
    }

    public I8042(GuestPower power, IrqLine keyboardIrq) {
        this.power = Objects.requireNonNull(power, "power");
        this.keyboardIrq = Objects.requireNonNull(keyboardIrq, "keyboardIrq");
    }

    @Override
    public void read(long offset, byte[] data) {
        for (int i = 0; i < data.length; i++) {
            long port = offset + i;
            data[i] = (byte) (port == DATA_OFFSET ? readData() : port == COMMAND_OFFSET ? readStatus() : 0xFF);
        }
    }

    @Override
    public void write(long offset, byte[] data) {
        for (int i = 0; i < data.length; i++) {
            long port = offset + i;
            if (port == DATA_OFFSET) {
                writeData(data[i] & 0xFF);
            } else if (port == COMMAND_OFFSET) {
                writeCommand(data[i] & 0xFF);
            }
        }
    }

    private synchronized int readStatus() {
        int status = SR_UNLOCKED;
        if ((ctr & CTR_SYSTEM) != 0) {
            status |= SR_SYSTEM;
        }
        if (lastWasCommand) {
            status |= SR_COMMAND;
        }
        if (queueCount > 0) {
            status |= SR_OUTPUT_FULL;
            if ((queue[queueHead] & AUX_FLAG) != 0) {
                status |= SR_AUX_DATA;
            }
        }
        return status;
    }

    private synchronized int readData() {
        if (queueCount > 0) {
            lastData = queue[queueHead] & 0xFF;
            queueHead = (queueHead + 1) % QUEUE_SIZE;
            queueCount--;
            updateIrq();
        }
        return lastData; // an empty buffer reads back its last byte, as the hardware does
    }

    private void writeCommand(int command) {
        boolean reset = false;
        synchronized (this) {
            lastWasCommand = true;
            pendingCommand = 0;
            switch (command) {
                case CMD_READ_CTR -> push(ctr);
                case CMD_WRITE_CTR, CMD_WRITE_OUTPUT_PORT, CMD_WRITE_KBD_BUFFER, CMD_WRITE_AUX_BUFFER, CMD_WRITE_AUX ->
                        pendingCommand = command;
                case CMD_AUX_DISABLE -> ctr |= CTR_AUX_DISABLE;
                case CMD_AUX_ENABLE -> ctr &= ~CTR_AUX_DISABLE;
                case CMD_AUX_TEST, CMD_KBD_TEST -> push(INTERFACE_OK);
                case CMD_SELF_TEST -> {
                    ctr |= CTR_SYSTEM;
                    push(SELF_TEST_OK);
                }
                case CMD_KBD_DISABLE -> ctr |= CTR_KBD_DISABLE;
                case CMD_KBD_ENABLE -> ctr &= ~CTR_KBD_DISABLE;
                case CMD_READ_OUTPUT_PORT -> push(OUTPUT_PORT);
                default -> {
                    // 0xF0..0xFF pulse the output lines whose bits are clear; bit 0 is the CPU reset line.
                    if ((command & 0xF0) == 0xF0 && (command & 0x01) == 0) {
                        reset = true;
                    } else if ((command & 0xF0) != 0xF0) {
                        LOG.debug("i8042: ignoring command 0x{}", Integer.toHexString(command));
                    }
                }
            }
            updateIrq();
        }
        if (reset) {
            resetGuest(command);
        }
    }

    private void writeData(int value) {
        boolean reset = false;
        synchronized (this) {
            lastWasCommand = false;
            int command = pendingCommand;
            pendingCommand = 0;
            switch (command) {
                case CMD_WRITE_CTR -> ctr = value;
                case CMD_WRITE_OUTPUT_PORT -> reset = (value & 0x01) == 0; // bit 0 low holds the CPU in reset
                case CMD_WRITE_KBD_BUFFER -> push(value);
                case CMD_WRITE_AUX_BUFFER -> push(value | AUX_FLAG);
                case CMD_WRITE_AUX -> {} // no mouse: nothing answers
                default -> keyboardCommand(value);
            }
            updateIrq();
        }
        if (reset) {
            resetGuest(value);
        }
    }

    /** A keyboard with nothing to report: acknowledges everything, and answers reset, echo and identify. */
    private void keyboardCommand(int value) {
        switch (value) {
            case KBD_RESET -> {
                push(KBD_ACK);
                push(KBD_BAT_OK);
            }
            case KBD_ECHO -> push(KBD_ECHO);
            case KBD_GET_ID -> {
                push(KBD_ACK);
                push(0xAB);
                push((ctr & CTR_TRANSLATE) != 0 ? 0x41 : 0x83); // MF2 keyboard, as the controller translates it
            }
            default -> push(KBD_ACK);
        }
    }

    private void push(int value) {
        if (queueCount < QUEUE_SIZE) {
            queue[(queueHead + queueCount) % QUEUE_SIZE] = value & (0xFF | AUX_FLAG);
            queueCount++;
        }
    }

    private void updateIrq() {
        boolean level = queueCount > 0 && (queue[queueHead] & AUX_FLAG) == 0 && (ctr & CTR_KBD_INT) != 0;
        if (level != irqLevel) {
            irqLevel = level;
            keyboardIrq.set(level);
        }
    }

    /** Called outside the lock: the machine may tear devices down from here. */
    private void resetGuest(int value) {
        LOG.info("i8042: guest pulsed the reset line (0x{})", Integer.toHexString(value));
        power.reset();
    }
}
