package dev.mesovirt.vmm.firmware;

import dev.mesovirt.vmm.bus.BusDevice;

/**
 * {@link FwCfg} as QEMU's arm64 {@code virt} board maps it ({@code qemu,fw-cfg-mmio} at 0x09020000, docs/specs/fw_cfg.rst):
 * the data register at +0 (reads of 1 to 8 bytes take that many bytes of the selected item, in item order), the
 * selector at +8 (16 bits, big-endian), the DMA address at +16 (64 bits big-endian, or two 32-bit halves, the low one
 * at +20 starting the transfer; reading it gives "QEMU CFG"). The same core as x86's ports, so DMA requests are
 * checked against guest RAM the same way.
 */
public final class FwCfgMmio implements BusDevice {
    public static final long LENGTH = 0x18;
    static final int DATA = 0;
    static final int SELECTOR = 8;
    static final int DMA = 16;

    private final FwCfg core;

    public FwCfgMmio(FwCfg core) {
        this.core = core;
    }

    public FwCfg core() {
        return core;
    }

    @Override
    public void read(long offset, byte[] data) {
        if (offset == DATA && data.length <= 8) {
            core.read(FwCfg.DATA, data);
        } else if (offset >= DMA && offset + data.length <= DMA + 8) {
            core.read(FwCfg.DMA + (offset - DMA), data);
        } else {
            java.util.Arrays.fill(data, (byte) 0);
        }
    }

    @Override
    public void write(long offset, byte[] data) {
        if (offset == SELECTOR && data.length == 2) {
            // Big-endian on this bus; the core takes the port's little-endian order.
            core.write(FwCfg.SELECTOR, new byte[] {data[1], data[0]});
        } else if (offset == DMA && (data.length == 8 || data.length == 4)) {
            core.write(FwCfg.DMA, data);
        } else if (offset == DMA + 4 && data.length == 4) {
            core.write(FwCfg.DMA + 4, data);
        }
        // Anything else (data register writes, odd widths) is ignored, as QEMU ignores it.
    }
}
