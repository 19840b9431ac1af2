package dev.mesovirt.vmm.kvm;

import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;
import dev.mesovirt.vmm.sys.LibC;

/**
 * The real-time signal used to kick a vCPU thread out of KVM_RUN. KVM only returns EINTR for a signal that is
 * delivered to a handler (an ignored signal is discarded), but the handler need do nothing. A Java handler would
 * run JVM code in signal context, so the handler is a libc function that has no effect when called this way:
 * {@code getpid}, which is async-signal-safe and ignores its arguments. The JVM itself does not use SIGRTMIN+n.
 */
final class VcpuKickSignal {
    private static volatile int number;

    private VcpuKickSignal() {}

    static int number() {
        install();
        return number;
    }

    static synchronized void install() {
        if (number != 0) {
            return;
        }
        int signal = LibC.__libc_current_sigrtmin() + 2;
        LibC.signal(signal, NativeLibrary.getInstance(Platform.C_LIBRARY_NAME).getFunction("getpid"));
        number = signal;
    }
}
