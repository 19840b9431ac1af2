/*
 * exit-loop: the C reference for ExitPathBenchmark (a measuring tool, not product code).
 *
 * The same tiny real-mode guest as dev.mesovirt.jmh.RealModeGuest, run with raw KVM ioctls: a loop that exits to
 * the VMM on every iteration with a port write (`out dx, al` to 0x510) or an MMIO write (a byte store to 0x20000,
 * where no memory slot is). The VMM loop does what a minimal C VMM does per exit: KVM_RUN, check the exit reason,
 * read the data from kvm_run, count it, re-enter. Prints the mean ns per exit of each repetition.
 *
 *   gcc -O2 -o exit-loop exit-loop.c
 *   ./exit-loop pio|mmio [EXITS [REPEATS]]        (default 200000 exits, 5 repetitions)
 *
 * Output: one line per repetition, "exit-loop pio 200000 exits 1234.5 ns/exit", then one JSON line in the format of
 * jmh/bench/lib.sh for the results table (dev.mesovirt.jmh.report.ResultsTable):
 * {"name":"exit.c.pio","unit":"ns/exit","better":"lower","figure":"...","variant":"...","samples":[...]}
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define RAM 0x10000
#define CODE 0x1000
#define PORT 0x510
#define MMIO_ADDRESS 0x20000

static const uint8_t pio_loop[] = {
    0xBA, 0x10, 0x05, /* mov dx, 0x510 */
    0xB0, 0x41,       /* mov al, 'A' */
    0xEE,             /* 1: out dx, al */
    0xEB, 0xFD,       /* jmp 1b */
};

static const uint8_t mmio_loop[] = {
    0xB8, 0x00, 0x20,       /* mov ax, 0x2000 */
    0x8E, 0xC0,             /* mov es, ax */
    0xB0, 0x41,             /* mov al, 'A' */
    0x26, 0xA2, 0x00, 0x00, /* 1: mov [es:0], al  (0x20000) */
    0xEB, 0xFA,             /* jmp 1b */
};

static void die(const char *what) {
    fprintf(stderr, "exit-loop: %s: %s\n", what, strerror(errno));
    exit(1);
}

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 2 || (strcmp(argv[1], "pio") != 0 && strcmp(argv[1], "mmio") != 0)) {
        fprintf(stderr, "usage: %s pio|mmio [EXITS [REPEATS]]\n", argv[0]);
        return 2;
    }
    int pio = strcmp(argv[1], "pio") == 0;
    long exits = argc > 2 ? atol(argv[2]) : 200000;
    int repeats = argc > 3 ? atoi(argv[3]) : 5;
    if (exits < 1 || repeats < 1) {
        fprintf(stderr, "exit-loop: EXITS and REPEATS must be positive\n");
        return 2;
    }

    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) die("open /dev/kvm");
    if (ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) die("KVM API version");
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0) die("KVM_CREATE_VM");
    uint8_t *mem = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED) die("mmap guest RAM");
    if (pio) memcpy(mem + CODE, pio_loop, sizeof pio_loop);
    else memcpy(mem + CODE, mmio_loop, sizeof mmio_loop);
    struct kvm_userspace_memory_region region = {
        .slot = 0, .guest_phys_addr = 0, .memory_size = RAM, .userspace_addr = (uint64_t)(uintptr_t)mem};
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) die("KVM_SET_USER_MEMORY_REGION");
    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0) die("KVM_CREATE_VCPU");
    int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size < (int)sizeof(struct kvm_run)) die("KVM_GET_VCPU_MMAP_SIZE");
    struct kvm_run *run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED) die("mmap kvm_run");

    struct kvm_sregs sregs;
    if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) die("KVM_GET_SREGS");
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) die("KVM_SET_SREGS");
    struct kvm_regs regs;
    memset(&regs, 0, sizeof regs);
    regs.rip = CODE;
    regs.rflags = 2;
    if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) die("KVM_SET_REGS");

    volatile uint64_t count = 0, sum = 0;
    double samples[repeats];
    for (int r = -1; r < repeats; r++) { /* r = -1: warm-up */
        long n = r < 0 ? exits / 10 + 1 : exits;
        double t0 = now_ns();
        for (long i = 0; i < n; i++) {
            if (ioctl(vcpu, KVM_RUN, 0) < 0) {
                if (errno == EINTR || errno == EAGAIN) { i--; continue; }
                die("KVM_RUN");
            }
            if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT && run->io.port == PORT) {
                sum += *((uint8_t *)run + run->io.data_offset);
                count++;
            } else if (run->exit_reason == KVM_EXIT_MMIO && run->mmio.is_write
                       && run->mmio.phys_addr == MMIO_ADDRESS) {
                sum += run->mmio.data[0];
                count++;
            } else {
                fprintf(stderr, "exit-loop: unexpected exit reason %u\n", run->exit_reason);
                return 1;
            }
        }
        double t1 = now_ns();
        if (r >= 0) {
            samples[r] = (t1 - t0) / n;
            printf("exit-loop %s %ld exits %.1f ns/exit\n", argv[1], n, samples[r]);
        }
    }
    printf("{\"name\":\"exit.c.%s\",\"unit\":\"ns/exit\",\"better\":\"lower\","
           "\"figure\":\"guest exit round trip, %s\",\"variant\":\"C, raw ioctls (exit-loop.c)\",\"samples\":[",
           argv[1], pio ? "port I/O write" : "MMIO write");
    for (int r = 0; r < repeats; r++) printf("%s%.1f", r ? "," : "", samples[r]);
    printf("]}\n");
    return 0;
}
