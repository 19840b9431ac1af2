package dev.mesovirt.vmm.boot;

/** The file is not a bootable kernel Image of the architecture; the message completes "kernel FILE ...". */
public final class InvalidImageException extends Exception {
    public InvalidImageException(String message) {
        super(message);
    }
}
