package dev.mesovirt.vmm.kvm;

/** KVM cannot do what the VMM needs: no /dev/kvm, a wrong API version or a missing capability. */
public final class KvmException extends RuntimeException {
    public KvmException(String message) {
        super(message);
    }

    public KvmException(String message, Throwable cause) {
        super(message, cause);
    }
}
