package dev.mesovirt.vmm.event;

import dev.mesovirt.vmm.sys.Epoll;
import dev.mesovirt.vmm.sys.EventFd;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An epoll loop on a thread of its own: runs a handler whenever one of the fds it watches is ready (eventfds it may
 * own and close, or any fd), and tasks handed to it ({@link #call}) between handlers. Each virtio device has one, its
 * device thread (the queues' ioeventfds, its interrupt's resample fd, its backend's fds), so that device work never
 * runs on a vCPU thread nor waits for another device. A handler that throws is logged; the loop goes on.
 */
public final class EventLoop implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EventLoop.class);
    /** How long {@link #call}, {@link #hold} and {@link #close} wait for the loop's thread (a handler may be slow). */
    private static final long WAIT_SECONDS = 10;

    private final Epoll epoll = new Epoll(64);
    private final EventFd stopFd = new EventFd(true);
    private final ConcurrentHashMap<Long, Runnable> handlers = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Integer, Long> tokens = new ConcurrentHashMap<>();
    private final EventFd taskFd = new EventFd(true);
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final AtomicLong nextToken = new AtomicLong(1);
    private final List<EventFd> owned = new ArrayList<>();
    private volatile boolean stopping;
    /** Guarded by this. */
    private Thread thread;
    private final AtomicBoolean closed = new AtomicBoolean();

    public EventLoop() {
        epoll.add(stopFd.fd(), Epoll.EPOLLIN, 0);
        add(taskFd.fd(), Epoll.EPOLLIN, () -> {
            taskFd.consume();
            for (Runnable r; (r = tasks.poll()) != null; ) {
                r.run();
            }
        });
    }

    /** Runs {@code handler} whenever {@code fd} has one of {@code events}. */
    public void add(int fd, int events, Runnable handler) {
        long token = nextToken.getAndIncrement();
        handlers.put(token, handler);
        tokens.put(fd, token);
        epoll.add(fd, events, token);
    }

    /**
     * Stops watching {@code fd} (a device being unplugged). The caller still owns an fd it added with {@link #add};
     * an eventfd added with {@link #addEventFd} or {@link #own} is closed here. Call it on the loop thread ({@link #call}) so that no
     * handler of the fd is running.
     */
    public void remove(int fd) {
        Long token = tokens.remove(fd);
        if (token != null) {
            handlers.remove(token);
            epoll.remove(fd);
        }
        synchronized (owned) {
            for (Iterator<EventFd> it = owned.iterator(); it.hasNext(); ) {
                EventFd e = it.next();
                if (e.fd() == fd) {
                    it.remove();
                    e.close();
                }
            }
        }
    }

    /**
     * Runs {@code task} on the device thread, after the handler running now, and waits for it: the way to change
     * the device set (hot-plug) without racing a handler. Before {@link #start} (or from the device thread itself)
     * it runs at once on the caller's thread.
     */
    public void call(Runnable task) {
        Thread t;
        synchronized (this) {
            t = thread;
        }
        if (t == null || t == Thread.currentThread()) {
            task.run();
            return;
        }
        if (stopping) {
            throw new IllegalStateException(t.getName() + " has stopped");
        }
        CompletableFuture<Void> done = new CompletableFuture<>();
        tasks.add(() -> {
            try {
                task.run();
                done.complete(null);
            } catch (RuntimeException e) {
                done.completeExceptionally(e);
            }
        });
        taskFd.signal();
        try {
            done.get(WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted waiting for " + t.getName(), e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException(t.getName() + " did not run the task within " + WAIT_SECONDS + " s");
        }
    }

    /**
     * Holds the loop between two handlers until the returned {@link Hold} is closed: meanwhile none of its handlers
     * runs, so the caller may change what they use (a machine reset resetting the loop's device). Returns once the
     * loop is held; before {@link #start}, or on the loop's own thread, there is nothing to hold. Throws
     * IllegalStateException when the loop has stopped or is not held within 10 s (a handler stuck).
     */
    public Hold hold() {
        Thread t;
        synchronized (this) {
            t = thread;
        }
        if (t == null || t == Thread.currentThread()) {
            return () -> { };
        }
        if (stopping) {
            throw new IllegalStateException(t.getName() + " has stopped");
        }
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch released = new CountDownLatch(1);
        tasks.add(() -> {
            held.countDown();
            awaitUninterruptibly(released);
        });
        taskFd.signal();
        try {
            if (!held.await(WAIT_SECONDS, TimeUnit.SECONDS)) {
                released.countDown(); // should the hold come later, it passes at once
                throw new IllegalStateException(t.getName() + " was not held within " + WAIT_SECONDS + " s");
            }
        } catch (InterruptedException e) {
            released.countDown();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted waiting to hold " + t.getName(), e);
        }
        return released::countDown;
    }

    /** A loop held by {@link #hold}; closing it lets the loop go on. */
    @FunctionalInterface
    public interface Hold extends AutoCloseable {
        @Override
        void close();
    }

    private static void awaitUninterruptibly(CountDownLatch latch) {
        boolean interrupted = false;
        while (true) {
            try {
                latch.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Watches an eventfd: consumes its counter, then runs {@code handler}. The loop closes it at the end. */
    public void addEventFd(EventFd efd, Runnable handler) {
        synchronized (owned) {
            owned.add(efd);
        }
        add(efd.fd(), Epoll.EPOLLIN, () -> {
            efd.consume();
            handler.run();
        });
    }

    /**
     * Takes {@code efd} into the loop's keeping without watching it (the queue-notify eventfd of a queue that a vhost
     * back-end serves, which the kernel waits on instead): closed with the loop, or by {@link #remove}.
     */
    public void own(EventFd efd) {
        synchronized (owned) {
            owned.add(efd);
        }
    }

    /**
     * Starts the loop's thread, named {@code name} (a device's: virtio-ID, as {@code ps -L} and thread dumps show
     * it); later calls do nothing.
     */
    public synchronized void start(String name) {
        if (thread != null || closed.get()) {
            return;
        }
        thread = new Thread(this::loop, name);
        thread.setDaemon(true);
        thread.start();
    }

    private void loop() {
        while (!stopping) {
            int n = epoll.await(-1);
            for (int i = 0; i < n && !stopping; i++) {
                long token = epoll.readyToken(i);
                Runnable h = handlers.get(token);
                if (h == null) {
                    continue;
                }
                try {
                    h.run();
                } catch (RuntimeException e) {
                    LOG.error("{}: an event handler failed", Thread.currentThread().getName(), e);
                }
            }
        }
    }

    /**
     * Stops the thread after the handler running now (waiting up to 10 s for it) and closes the epoll instance and
     * the eventfds the loop owns; fds added with {@link #add} stay their owners'. Idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        Thread t;
        synchronized (this) {
            t = thread;
        }
        stopping = true;
        stopFd.signal();
        if (t != null) {
            try {
                t.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (t.isAlive()) {
                LOG.warn("{} did not stop; leaving its fds to process exit", t.getName());
                return;
            }
        }
        epoll.close();
        stopFd.close();
        taskFd.close();
        synchronized (owned) {
            for (EventFd e : owned) {
                e.close();
            }
            owned.clear();
        }
    }
}
