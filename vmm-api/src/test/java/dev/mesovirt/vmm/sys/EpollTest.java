package dev.mesovirt.vmm.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class EpollTest {
    /**
     * A second close must not close(2) the number again: Linux hands the lowest free number to the next descriptor,
     * and closing that one (here an eventfd) is how a late close broke an unrelated irqfd.
     */
    @Test
    void closingTwiceLeavesAReusedNumberAlone() {
        Epoll epoll = new Epoll(4);
        int number = epoll.fd();
        epoll.close();
        try (EventFd reused = new EventFd(true)) {
            assertEquals(number, reused.fd(), "the kernel reuses the lowest free number");
            epoll.close();
            reused.signal(5);
            assertEquals(5, reused.consume(), "the eventfd still works after the second close of the old owner");
        }
    }
}
