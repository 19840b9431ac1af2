package dev.mesovirt.vmm.vhost;

/**
 * A vhost back-end refused or failed a request. {@link #errno()} is the error number the back-end reported (the
 * kernel's ioctl errno), or 0 when there is none (e.g. a vhost-user connection that broke).
 */
public final class VhostException extends Exception {
    private final int errno;

    public VhostException(String message, int errno, Throwable cause) {
        super(message, cause);
        this.errno = errno;
    }

    public VhostException(String message) {
        this(message, 0, null);
    }

    public int errno() {
        return errno;
    }
}
