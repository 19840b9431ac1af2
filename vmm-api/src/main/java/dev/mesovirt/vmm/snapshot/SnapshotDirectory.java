package dev.mesovirt.vmm.snapshot;

import dev.mesovirt.vmm.memory.GuestMemory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A snapshot on disk, as StratoVirt lays out its {@code file:} migration target: a directory with the state file
 * {@value #STATE} and guest RAM as the file {@value #MEMORY} (the RAM regions back to back, so that a restore maps it
 * page for page). The old state file is removed first and the new one written last, each synced: a directory whose
 * state file exists and reads back whole (its checksums) holds a whole snapshot. No rename: the VMM's seccomp filter
 * allows only the few file system calls that writing needs (openat, write, fsync, unlink, mkdir).
 */
public final class SnapshotDirectory {
    public static final String STATE = "state";
    public static final String MEMORY = "memory";

    private SnapshotDirectory() {
    }

    /** Writes {@code snapshot} and the contents of {@code memory} into {@code dir} (created if missing). */
    public static void write(Path dir, Snapshot snapshot, GuestMemory memory) {
        if (memory.totalSize() != snapshot.header().memoryBytes()) {
            throw new IllegalArgumentException("RAM of " + memory.totalSize() + " bytes, header says "
                    + snapshot.header().memoryBytes());
        }
        writeMemory(dir, memory);
        writeState(dir, snapshot);
    }

    /** Zero chunks of RAM this large are left as holes in the memory file. */
    private static final int CHUNK = 1 << 20;

    /**
     * Guest RAM, region after region, as the memory file of {@code dir} (created if missing). The file is sparse:
     * a MiB of RAM that is all zeros (never touched by the guest, mostly) is a hole, which reads back as zeros; so
     * writing it costs what the guest has used, not its size.
     */
    public static void writeMemory(Path dir, GuestMemory memory) {
        try {
            Files.createDirectories(dir);
            Files.deleteIfExists(dir.resolve(STATE)); // a directory with an old state file and new RAM is no snapshot
            // A new file, not the old one rewritten: VMs restored from the old one map it and must keep seeing it.
            Files.deleteIfExists(dir.resolve(MEMORY));
            ByteBuffer zeros = ByteBuffer.allocateDirect(CHUNK);
            try (FileChannel ch = FileChannel.open(dir.resolve(MEMORY), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                long position = 0;
                boolean lastWritten = false;
                for (GuestMemory.Region r : memory.regions()) {
                    for (ByteBuffer b : memory.slices(r.guestAddress(), r.size())) {
                        for (int at = 0; at < b.limit(); at += CHUNK) {
                            int n = Math.min(CHUNK, b.limit() - at);
                            ByteBuffer part = b.slice(at, n);
                            lastWritten = part.mismatch(zeros.slice(0, n)) != -1;
                            if (lastWritten) {
                                long p = position;
                                while (part.hasRemaining()) {
                                    p += ch.write(part, p);
                                }
                            }
                            position += n;
                        }
                    }
                }
                if (!lastWritten && position > 0) {
                    ch.write(ByteBuffer.allocate(1), position - 1); // the file's size, with a hole at its end
                }
                ch.force(true);
            }
        } catch (IOException e) {
            throw new SnapshotException("snapshot: cannot write " + dir + ": " + describe(e));
        }
    }

    /** The state file of {@code dir}, written last: its presence marks a whole snapshot. */
    public static void writeState(Path dir, Snapshot snapshot) {
        try {
            Files.createDirectories(dir);
            try (FileChannel ch = FileChannel.open(dir.resolve(STATE), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer b = ByteBuffer.wrap(SnapshotFormat.encode(snapshot));
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                ch.force(true);
            }
        } catch (IOException e) {
            throw new SnapshotException("snapshot: cannot write " + dir + ": " + describe(e));
        }
    }

    /**
     * Reads and checks the state file of {@code dir}, and that its memory file has the header's size; the memory
     * itself is mapped by the restore ({@link #memoryFile}).
     */
    public static Snapshot read(Path dir) {
        byte[] state;
        try {
            state = Files.readAllBytes(dir.resolve(STATE));
        } catch (IOException e) {
            throw new SnapshotException("snapshot: cannot read " + dir.resolve(STATE) + ": " + describe(e));
        }
        Snapshot s = SnapshotFormat.decode(state);
        long size;
        try {
            size = Files.size(memoryFile(dir));
        } catch (IOException e) {
            throw new SnapshotException("snapshot: cannot read " + memoryFile(dir) + ": " + describe(e));
        }
        if (size != s.header().memoryBytes()) {
            throw new SnapshotException("snapshot: " + memoryFile(dir) + " has " + size + " bytes, the state file says "
                    + s.header().memoryBytes());
        }
        return s;
    }

    public static Path memoryFile(Path dir) {
        return dir.resolve(MEMORY);
    }

    private static String describe(IOException e) {
        return switch (e) {
            case NoSuchFileException n -> "no such file";
            case AccessDeniedException a -> "permission denied";
            default -> e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        };
    }
}
