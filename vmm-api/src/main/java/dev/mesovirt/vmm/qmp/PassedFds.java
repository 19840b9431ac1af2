package dev.mesovirt.vmm.qmp;

import dev.mesovirt.vmm.sys.Fds;

/**
 * The descriptors that came over SCM_RIGHTS with one request. {@code getfd} takes the first (QEMU's
 * qemu_chr_fe_get_msgfd takes one and closes the others); whatever is left when the reply has been made is closed,
 * so descriptors sent with any other command, or with garbage, are never leaked. Used by the reader thread only.
 */
final class PassedFds {
    static final PassedFds NONE = new PassedFds(new int[0]);

    private final int[] fds;
    private boolean done;

    PassedFds(int[] fds) {
        this.fds = fds.clone();
    }

    /** The first descriptor, now the caller's, or -1 if none came; the others are closed. */
    int take() {
        if (done || fds.length == 0) {
            return -1;
        }
        done = true;
        for (int i = 1; i < fds.length; i++) {
            Fds.closeQuietly(fds[i]);
        }
        return fds[0];
    }

    /** Closes whatever was not taken; idempotent. */
    void closeRest() {
        if (done || fds.length == 0) {
            return;
        }
        done = true;
        for (int fd : fds) {
            Fds.closeQuietly(fd);
        }
    }
}
