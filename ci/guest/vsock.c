/*
 * vsock: a small AF_VSOCK tool for the vsock tests and benchmark (ci/tests/vsock.sh, ci/bench/vsock-bench.sh), on
 * both sides: static in the nested guest's initramfs (busybox has no vsock), built for the emulated host by the
 * scripts. One connection, then it exits.
 *
 * usage: vsock [-t SECONDS] listen PORT [MODE]
 *        vsock [-t SECONDS] connect CID PORT [MODE]
 *   -t     connect: retry for up to SECONDS while the peer is not there yet (no VM with that CID, no listener);
 *          listen: give up when nothing connected within SECONDS. Default: one try, wait forever.
 *   MODE   relay (default): stdin to the peer (then a half-close), the peer to stdout, until both are done
 *          send MIB: MIB MiB of a counting pattern, a half-close, then wait for the peer to close;
 *                    prints "VSOCK-SENT <bytes> <seconds>"
 *          recv: read until the peer closes, checking the pattern; prints "VSOCK-RECEIVED <bytes> <seconds> ok|bad"
 * The seconds run from the connection's start to the peer's close (CLOCK_MONOTONIC). Exit status: 0, 1 for a
 * failure (named on stderr), 2 for a usage error.
 */
#include <errno.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 65536

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int fail(const char *what) {
    fprintf(stderr, "vsock: %s: %s\n", what, strerror(errno));
    return 1;
}

static int usage(void) {
    fprintf(stderr, "usage: vsock [-t SECONDS] listen PORT [relay|send MIB|recv]\n"
                    "       vsock [-t SECONDS] connect CID PORT [relay|send MIB|recv]\n");
    return 2;
}

static int number(const char *text, unsigned long *out) {
    char *end;
    errno = 0;
    *out = strtoul(text, &end, 10);
    return errno == 0 && *text && !*end;
}

static int write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Word i of the stream (8 bytes, host order) holds i. */
static void fill(uint64_t *buf, uint64_t first) {
    for (size_t i = 0; i < CHUNK / 8; i++)
        buf[i] = first + i;
}

static int relay(int s) {
    char buf[CHUNK];
    int in_open = 1, peer_open = 1;
    while (peer_open) {
        struct pollfd p[2] = {{s, POLLIN, 0}, {0, POLLIN, 0}};
        if (poll(p, in_open ? 2 : 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            return fail("poll");
        }
        if (p[0].revents) {
            ssize_t r = read(s, buf, sizeof buf);
            if (r < 0 && errno != EINTR)
                return fail("read from the peer");
            if (r == 0)
                peer_open = 0;
            else if (r > 0 && write_all(1, buf, (size_t)r) < 0)
                return fail("write to stdout");
        }
        if (in_open && p[1].revents) {
            ssize_t r = read(0, buf, sizeof buf);
            if (r < 0 && errno != EINTR)
                return fail("read from stdin");
            if (r == 0) {
                in_open = 0;
                shutdown(s, SHUT_WR);
            } else if (r > 0 && write_all(s, buf, (size_t)r) < 0) {
                return fail("write to the peer");
            }
        }
    }
    return 0;
}

static int send_mib(int s, unsigned long mib) {
    static uint64_t buf[CHUNK / 8];
    double t0 = now();
    unsigned long long total = (unsigned long long)mib << 20, sent = 0;
    while (sent < total) {
        fill(buf, sent / 8);
        size_t n = total - sent < CHUNK ? (size_t)(total - sent) : CHUNK;
        if (write_all(s, (const char *)buf, n) < 0)
            return fail("write to the peer");
        sent += n;
    }
    shutdown(s, SHUT_WR);
    char sink[256];
    ssize_t r;
    while ((r = read(s, sink, sizeof sink)) > 0 || (r < 0 && errno == EINTR))
        ;
    printf("VSOCK-SENT %llu %.3f\n", sent, now() - t0);
    return 0;
}

static int recv_all(int s) {
    static uint64_t buf[CHUNK / 8];
    double t0 = now();
    unsigned long long got = 0;
    int ok = 1;
    for (;;) {
        ssize_t r = read(s, (char *)buf + got % 8, CHUNK - got % 8);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return fail("read from the peer");
        if (r == 0)
            break;
        /* Check the whole words this read completed (a word may arrive in two reads). */
        unsigned long long first = got / 8, end = (got + (unsigned long long)r) / 8;
        for (unsigned long long w = first; w < end; w++)
            if (buf[w - first] != w)
                ok = 0;
        if ((got + (unsigned long long)r) % 8)
            memmove(buf, (char *)buf + (end - first) * 8, (got + (unsigned long long)r) % 8);
        got += (unsigned long long)r;
    }
    printf("VSOCK-RECEIVED %llu %.3f %s\n", got, now() - t0, ok && got % 8 == 0 ? "ok" : "bad");
    close(s);
    return ok ? 0 : 1;
}

int main(int argc, char **argv) {
    unsigned long timeout = 0, cid = 0, port, mib = 0;
    int a = 1;
    if (a + 1 < argc && !strcmp(argv[a], "-t")) {
        if (!number(argv[a + 1], &timeout))
            return usage();
        a += 2;
    }
    if (a >= argc)
        return usage();
    int listening = !strcmp(argv[a], "listen");
    if (!listening && strcmp(argv[a], "connect"))
        return usage();
    a++;
    if (!listening && (a >= argc || !number(argv[a++], &cid)))
        return usage();
    if (a >= argc || !number(argv[a++], &port))
        return usage();
    const char *mode = a < argc ? argv[a++] : "relay";
    if (!strcmp(mode, "send") && (a >= argc || !number(argv[a++], &mib)))
        return usage();
    if (a != argc || (strcmp(mode, "relay") && strcmp(mode, "send") && strcmp(mode, "recv")))
        return usage();

    struct sockaddr_vm addr;
    memset(&addr, 0, sizeof addr);
    addr.svm_family = AF_VSOCK;
    addr.svm_port = (unsigned)port;
    int s;
    if (listening) {
        int l = socket(AF_VSOCK, SOCK_STREAM, 0);
        if (l < 0)
            return fail("socket(AF_VSOCK)");
        addr.svm_cid = VMADDR_CID_ANY;
        if (bind(l, (struct sockaddr *)&addr, sizeof addr) < 0)
            return fail("bind");
        if (listen(l, 1) < 0)
            return fail("listen");
        if (timeout) {
            struct pollfd p = {l, POLLIN, 0};
            int r = poll(&p, 1, (int)(timeout * 1000));
            if (r <= 0) {
                fprintf(stderr, "vsock: nothing connected to port %lu within %lu s\n", port, timeout);
                return 1;
            }
        }
        s = accept(l, NULL, NULL);
        if (s < 0)
            return fail("accept");
        close(l);
    } else {
        addr.svm_cid = (unsigned)cid;
        double deadline = now() + (double)timeout;
        for (;;) {
            s = socket(AF_VSOCK, SOCK_STREAM, 0);
            if (s < 0)
                return fail("socket(AF_VSOCK)");
            if (connect(s, (struct sockaddr *)&addr, sizeof addr) == 0)
                break;
            int e = errno;
            close(s);
            errno = e;
            /* Refused or reset: no listener yet; ENODEV: no VM has that CID yet; timed out: the guest's
             * transport is not up yet. */
            if ((e != ECONNREFUSED && e != ECONNRESET && e != ETIMEDOUT && e != ENODEV) || now() >= deadline)
                return fail("connect");
            usleep(200000);
        }
    }
    if (!strcmp(mode, "send"))
        return send_mib(s, mib);
    if (!strcmp(mode, "recv"))
        return recv_all(s);
    int rc = relay(s);
    close(s);
    return rc;
}
