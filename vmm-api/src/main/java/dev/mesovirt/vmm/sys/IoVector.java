package dev.mesovirt.vmm.sys;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.nio.ByteBuffer;

/**
 * A reusable array of struct iovec for positional vectored I/O ({@code preadv}/{@code pwritev}): one system call
 * moves all the buffers of a request (a virtio-blk request is up to seg_max guest pages, scattered), where
 * FileChannel's positional I/O takes a call per buffer. Buffers are direct ByteBuffers (views of guest RAM), which
 * must stay mapped until the call returns. Not thread-safe: one per thread that uses it.
 */
public final class IoVector implements AutoCloseable {
    /** IOV_MAX on Linux: the most entries one call takes. */
    public static final int MAX_ENTRIES = 1024;
    static final int ENTRY_BYTES = 16; // struct iovec on LP64: void *iov_base, size_t iov_len

    private final Memory entries = new Memory((long) ENTRY_BYTES * MAX_ENTRIES);
    private int count;
    private long bytes;

    /** Empties the vector. */
    public void clear() {
        count = 0;
        bytes = 0;
    }

    /** Appends {@code buffer}'s remaining bytes; false (and nothing appended) when the vector is full. */
    public boolean add(ByteBuffer buffer) {
        if (!buffer.isDirect()) {
            throw new IllegalArgumentException("not a direct buffer");
        }
        if (count == MAX_ENTRIES) {
            return false;
        }
        long base = Pointer.nativeValue(Native.getDirectBufferPointer(buffer)) + buffer.position();
        long length = buffer.remaining();
        entries.setLong((long) ENTRY_BYTES * count, base);
        entries.setLong((long) ENTRY_BYTES * count + 8, length);
        count++;
        bytes += length;
        return true;
    }

    public int count() {
        return count;
    }

    /** The bytes the entries cover together. */
    public long bytes() {
        return bytes;
    }

    /** Reads into the entries from {@code fd} at {@code offset}; the bytes read (fewer at end of file). */
    public long read(int fd, long offset, String what) {
        return count == 0 ? 0 : Sys.preadv(fd, entries, count, offset, what);
    }

    /** Writes the entries to {@code fd} at {@code offset}; the bytes written. */
    public long write(int fd, long offset, String what) {
        return count == 0 ? 0 : Sys.pwritev(fd, entries, count, offset, what);
    }

    @Override
    public void close() {
        entries.close();
    }
}
