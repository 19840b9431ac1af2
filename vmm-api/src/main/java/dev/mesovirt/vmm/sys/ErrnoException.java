package dev.mesovirt.vmm.sys;

/** A system call failed; the message names the call and the errno. */
public final class ErrnoException extends RuntimeException {
    private final String call;
    private final int errno;

    public ErrnoException(String call, int errno) {
        super(call + " failed: " + describe(errno));
        this.call = call;
        this.errno = errno;
    }

    public String call() {
        return call;
    }

    public int errno() {
        return errno;
    }

    private static String describe(int errno) {
        String text;
        try {
            text = LibC.strerror(errno);
        } catch (RuntimeException | LinkageError e) {
            text = null;
        }
        return (text == null ? "errno" : text) + " (errno " + errno + ")";
    }
}
