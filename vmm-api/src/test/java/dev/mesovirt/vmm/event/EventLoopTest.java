package dev.mesovirt.vmm.event;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.vmm.sys.Epoll;
import dev.mesovirt.vmm.sys.EventFd;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class EventLoopTest {
    /** The names of the threads a handler ran on, one per run. */
    private final BlockingQueue<String> ran = new LinkedBlockingQueue<>();

    private void record() {
        ran.add(Thread.currentThread().getName());
    }

    @Test
    void handlersAndTasksRunOnTheLoopsNamedThread() throws Exception {
        EventFd doorbell = new EventFd(true);
        try (EventLoop loop = new EventLoop()) {
            loop.addEventFd(doorbell, this::record);
            loop.call(this::record);
            assertEquals(Thread.currentThread().getName(), ran.poll(), "before start a task runs on the caller");
            loop.start("virtio-blk0");
            doorbell.signal();
            assertEquals("virtio-blk0", ran.poll(5, TimeUnit.SECONDS));
            loop.call(this::record);
            assertEquals("virtio-blk0", ran.poll(), "call waits for its task, run on the loop's thread");
            assertThrows(IllegalStateException.class, () -> loop.call(() -> {
                throw new IllegalStateException("thrown on the loop");
            }), "a task's exception reaches the caller");
        }
    }

    @Test
    void aHeldLoopRunsNoHandlerUntilReleased() throws Exception {
        EventFd doorbell = new EventFd(true);
        try (EventLoop loop = new EventLoop()) {
            loop.addEventFd(doorbell, this::record);
            loop.start("virtio-rng0");
            EventLoop.Hold hold = loop.hold();
            doorbell.signal();
            assertEquals(null, ran.poll(300, TimeUnit.MILLISECONDS), "held: the signalled fd's handler waits");
            hold.close();
            assertEquals("virtio-rng0", ran.poll(5, TimeUnit.SECONDS), "released: it runs");
        }
    }

    @Test
    void closeStopsTheThreadAndClosesOnlyTheEventFdsItOwns() throws Exception {
        EventFd owned = new EventFd(true);
        EventFd added = new EventFd(true);
        BlockingQueue<Thread> threads = new LinkedBlockingQueue<>();
        EventLoop loop = new EventLoop();
        loop.addEventFd(owned, () -> threads.add(Thread.currentThread()));
        loop.add(added.fd(), Epoll.EPOLLIN, added::consume);
        loop.start("virtio-net0");
        owned.signal();
        Thread thread = threads.poll(5, TimeUnit.SECONDS);
        assertTrue(thread != null && thread.isAlive());
        loop.close();
        assertFalse(thread.isAlive(), "the thread has stopped");
        owned.signal();
        assertEquals(0, owned.consume(), "the eventfd the loop owned is closed (a closed EventFd reads 0)");
        added.signal();
        assertEquals(1, added.consume(), "the fd given with add() is still its owner's, open");
        loop.close(); // idempotent: nothing is closed twice
        added.signal();
        assertEquals(1, added.consume());
        assertThrows(IllegalStateException.class, () -> loop.call(() -> { }), "a stopped loop runs no task");
        added.close();
    }
}
