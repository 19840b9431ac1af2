package dev.mesovirt.vmm.arch;

/** The guest cannot be loaded: a file that is not a kernel, too little memory, an unreadable initrd... */
public final class BootException extends Exception {
    public BootException(String message) {
        super(message);
    }

    public BootException(String message, Throwable cause) {
        super(message, cause);
    }
}
