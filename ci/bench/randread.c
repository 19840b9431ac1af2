/*
 * 4 KiB random-read IOPS at queue depth 1 for ci/bench/blk-bench.sh, run inside the guest (which has no fio):
 * O_DIRECT preads of 4 KiB at uniformly random aligned offsets within the first MIB mebibytes of DEVICE, for
 * SECONDS seconds. Prints "BENCH-IOPS <reads per second>". A benchmark tool built statically by the script, not
 * product code.
 *
 * usage: randread DEVICE MIB SECONDS
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: randread DEVICE MIB SECONDS\n");
        return 2;
    }
    int fd = open(argv[1], O_RDONLY | O_DIRECT);
    if (fd < 0) {
        perror(argv[1]);
        return 1;
    }
    long blocks = atol(argv[2]) * 256;
    double seconds = atof(argv[3]);
    void *buf;
    if (blocks <= 0 || seconds <= 0 || posix_memalign(&buf, 4096, 4096) != 0) {
        fprintf(stderr, "randread: bad arguments\n");
        return 2;
    }
    srandom(42);
    long reads = 0;
    double start = now(), end = start + seconds, t = start;
    while (t < end) {
        for (int i = 0; i < 64; i++) {
            off_t off = (off_t)(random() % blocks) * 4096;
            if (pread(fd, buf, 4096, off) != 4096) {
                perror("pread");
                return 1;
            }
            reads++;
        }
        t = now();
    }
    printf("BENCH-IOPS %.0f\n", reads / (t - start));
    return 0;
}
