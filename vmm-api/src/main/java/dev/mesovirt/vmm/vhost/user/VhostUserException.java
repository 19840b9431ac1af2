package dev.mesovirt.vmm.vhost.user;

/**
 * The vhost-user back-end could not be reached, broke the protocol, refused a request or did not answer in time. The
 * message says which, for the user; the connection is unusable afterwards.
 */
public final class VhostUserException extends RuntimeException {
    public VhostUserException(String message) {
        super(message);
    }

    public VhostUserException(String message, Throwable cause) {
        super(message, cause);
    }
}
