package dev.mesovirt.arch.aarch64;

import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * A single daemon thread for a platform device's timed events (the PL061 button's release, the PL031's alarm): it
 * ends after a second without work, so nothing needs closing, and a cancelled event leaves the queue at once.
 */
final class IdleScheduler {
    private IdleScheduler() {}

    static ScheduledThreadPoolExecutor create(String threadName) {
        ScheduledThreadPoolExecutor e = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            return t;
        });
        e.setKeepAliveTime(1, TimeUnit.SECONDS);
        e.allowCoreThreadTimeOut(true);
        e.setRemoveOnCancelPolicy(true);
        return e;
    }
}
