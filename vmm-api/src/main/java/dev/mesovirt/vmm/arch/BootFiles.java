package dev.mesovirt.vmm.arch;

import dev.mesovirt.vmm.memory.GuestMemory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** The file handling every architecture's {@link Architecture#loadGuest} shares, with user-facing errors. */
public final class BootFiles {
    private BootFiles() {}

    /** The size of a kernel or initrd file; {@code what} names it in errors ("kernel", "initrd"). */
    public static long size(Path file, String what) throws BootException {
        try {
            if (Files.isDirectory(file)) {
                throw new BootException(what + " " + file + " is a directory");
            }
            return Files.size(file);
        } catch (NoSuchFileException e) {
            throw new BootException(what + " " + file + ": no such file");
        } catch (IOException e) {
            throw new BootException(what + " " + file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** The first {@code max} bytes of a kernel file (fewer if it is shorter), for its header. */
    public static byte[] head(Path file, int max) throws BootException {
        try (InputStream in = Files.newInputStream(file)) {
            return in.readNBytes(max);
        } catch (IOException e) {
            throw new BootException("kernel " + file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** Reads {@code length} bytes of a file straight into guest RAM at {@code address}, without a heap copy. */
    public static void load(GuestMemory memory, Path file, long address, long length) throws BootException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long done = 0;
            for (ByteBuffer target : memory.slices(address, length)) {
                while (target.hasRemaining()) {
                    int n = ch.read(target, done);
                    if (n < 0) {
                        throw new BootException(file + " shrank while it was being loaded");
                    }
                    done += n;
                }
            }
        } catch (IOException e) {
            throw new BootException(file + ": cannot read: " + e.getMessage(), e);
        }
    }
}
