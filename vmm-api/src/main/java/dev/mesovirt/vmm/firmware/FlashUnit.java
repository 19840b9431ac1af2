package dev.mesovirt.vmm.firmware;

import com.sun.jna.Pointer;
import dev.mesovirt.vmm.bus.Bus;
import dev.mesovirt.vmm.kvm.Vm;
import dev.mesovirt.vmm.sys.LibC;
import dev.mesovirt.vmm.sys.Sys;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A pflash unit in a VM: the {@link CfiFlash} over a private copy of its image in host memory, on the MMIO bus for
 * the accesses that exit, and, while the flash is in Read Array mode, that same memory as a read-only KVM memory
 * slot, so that the firmware runs from it without exits and only writes (commands) leave the guest. When a command
 * takes the flash out of Read Array, the slot goes, so that reads of status and query data exit too; it comes back
 * with Read Array (QEMU's ROM device mode switch). A writable unit (the variable store) writes every programmed or
 * erased range back to its file at once; the image file itself is never mapped, so a failed write loses that change
 * only in the file, not in the running guest.
 *
 * <p>A machine reset puts the unit on the new VM ({@link #attach}) in Read Array mode with its current contents.
 */
public final class FlashUnit implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FlashUnit.class);
    /** KVM_MEM_READONLY (linux/kvm.h): guest writes to the slot exit as MMIO. */
    static final int KVM_MEM_READONLY = 1 << 1;

    private final FlashImage image;
    private final long base;
    private final int slot;
    private final Pointer host;
    private final CfiFlash flash;
    private final FileChannel writeBack;
    /** The VM the slot is in, and whether it is there now; guarded by this. */
    private Vm vm;
    private boolean mapped;

    /**
     * Loads {@code image} for guest-physical {@code base} as KVM memory slot {@code slot} (a slot number the
     * machine's RAM does not use).
     */
    public FlashUnit(FlashImage image, long base, int slot) {
        this(image, base, slot, CfiFlash.Geometry.X86);
    }

    /** As above, for a bank of {@code geometry} (arm64's virt board: {@link CfiFlash.Geometry#ARM_VIRT}). */
    public FlashUnit(FlashImage image, long base, int slot, CfiFlash.Geometry geometry) {
        this.image = image;
        this.base = base;
        this.slot = slot;
        long size = image.size();
        this.host = Sys.mmap(size, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_PRIVATE | LibC.MAP_ANONYMOUS, -1, 0,
                "pflash unit " + image.unit());
        ByteBuffer view = host.getByteBuffer(0, size);
        FileChannel channel = null;
        try {
            channel = FileChannel.open(image.file(), image.readOnly()
                    ? new StandardOpenOption[] {StandardOpenOption.READ}
                    : new StandardOpenOption[] {StandardOpenOption.READ, StandardOpenOption.WRITE});
            ByteBuffer in = view.duplicate();
            while (in.hasRemaining()) {
                if (channel.read(in, in.position()) < 0) {
                    throw new IllegalArgumentException("pflash unit " + image.unit() + " (" + image.file()
                            + "): the file shrank while it was being read");
                }
            }
        } catch (IOException e) {
            closeQuietly(channel);
            Sys.munmap(host, size);
            throw new IllegalArgumentException("pflash unit " + image.unit() + " (" + image.file() + "): cannot "
                    + (image.readOnly() ? "read" : "open for writing") + ": " + e.getMessage(), e);
        }
        if (image.readOnly()) {
            closeQuietly(channel);
            channel = null;
        }
        this.writeBack = channel;
        this.flash = new CfiFlash(view, image.readOnly(), new CfiFlash.Listener() {
            @Override
            public void arrayMode(boolean on) {
                map(on);
            }

            @Override
            public void changed(long offset, int length) {
                persist(view, offset, length);
            }
        }, geometry);
    }

    public FlashImage image() {
        return image;
    }

    public long base() {
        return base;
    }

    public CfiFlash.Geometry geometry() {
        return flash.geometry();
    }

    CfiFlash flash() {
        return flash;
    }

    /** Puts the unit on {@code vm}'s MMIO bus {@code mmio}, reset to Read Array and mapped as a read-only slot. */
    public void attach(Vm vm, Bus mmio) {
        synchronized (this) {
            this.vm = vm;
            this.mapped = false;
        }
        flash.reset();
        map(true);
        mmio.insert(base, image.size(), flash, "pflash" + image.unit());
    }

    private synchronized void map(boolean on) {
        if (vm == null || on == mapped) {
            return;
        }
        // Size 0 deletes the slot (the KVM API's way); the guest's reads then exit to the flash's status/query modes.
        vm.setUserMemoryRegion(slot, KVM_MEM_READONLY, base, on ? image.size() : 0, Pointer.nativeValue(host));
        mapped = on;
    }

    private void persist(ByteBuffer view, long offset, int length) {
        if (writeBack == null) {
            return;
        }
        try {
            ByteBuffer part = view.slice((int) offset, length);
            long at = offset;
            while (part.hasRemaining()) {
                at += writeBack.write(part, at);
            }
        } catch (IOException e) {
            // The guest keeps the change; only the file misses it. One line per failure, with the range.
            LOG.error("pflash unit {} ({}): cannot write {} bytes at 0x{} back: {}", image.unit(), image.file(), length,
                    Long.toHexString(offset), e.getMessage());
        }
    }

    @Override
    public synchronized void close() {
        if (writeBack != null) {
            try {
                writeBack.force(false);
            } catch (IOException e) {
                LOG.error("pflash unit {} ({}): fsync: {}", image.unit(), image.file(), e.getMessage());
            }
            closeQuietly(writeBack);
        }
        vm = null;
        Sys.munmap(host, image.size());
    }

    private static void closeQuietly(FileChannel c) {
        if (c != null) {
            try {
                c.close();
            } catch (IOException ignored) {
                // nothing was written through it that close could lose
            }
        }
    }
}
