#!/usr/bin/env python3
"""Writes the seccomp allow-lists (arch-*/src/main/resources/dev/mesovirt/arch/ARCH/seccomp.txt) from the measurements
of ci/seccomp-measure.sh (target/seccomp-measure/ARCH/raw/*.txt and raw/JOB/*.txt) plus the few calls kept without a
measurement, each with its reason (EXTRA). Every architecture gets the union of the calls measured on any of them, in
its own names (x86_64's open, poll, epoll_wait... are openat, ppoll, epoll_pwait in asm-generic); numbers come from
the kernel headers of ci/uapi-headers.sh (MESOVIRT_ARM64_UAPI). A call measured in one or two jobs only names them;
one measured only in runs without the filter (Kata's line says -disable-seccomp) says so. The ioctl-request lines
are kept as the file has them (SeccompIoctlTest derives them from the code and fails until they match); only their
"measured:" notes are brought up to date. Usage: export $(bash ci/uapi-headers.sh); python3 ci/seccomp-tables.py
"""
import collections, glob, os, re, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UAPI = os.environ.get("MESOVIRT_ARM64_UAPI") or sys.exit("export $(bash ci/uapi-headers.sh) first")
TRIPLETS = {"x86_64": "x86_64-linux-gnu", "aarch64": "aarch64-linux-gnu", "riscv64": "riscv64-linux-gnu"}
AUDIT = {"x86_64": ("c000003e", "AUDIT_ARCH_X86_64"), "aarch64": ("c00000b7", "AUDIT_ARCH_AARCH64"),
         "riscv64": ("c00000f3", "AUDIT_ARCH_RISCV64")}
# x86_64 name -> asm-generic name (aarch64 and riscv64 have only the *at / p* forms); None: no such call there
GENERIC = {"open": "openat", "stat": "newfstatat", "lstat": "newfstatat", "poll": "ppoll", "epoll_wait": "epoll_pwait",
           "dup2": "dup3", "pipe": "pipe2", "access": "faccessat", "readlink": "readlinkat", "unlink": "unlinkat",
           "mkdir": "mkdirat", "rename": "renameat2", "getdents": "getdents64", "select": "pselect6",
           "epoll_create": "epoll_create1", "eventfd": "eventfd2", "fork": None, "vfork": None, "arch_prctl": None,
           "time": None}
EXTRA = {
 "socket": "UnixSocket.connect: vhost-user back-ends and socket chardevs a QMP hot-plug or a reconnect opens (AF_UNIX only)",
 "getsockname": "the JDK's SocketChannel for an accepted UNIX connection reads its local address (virtio-console on a server socket chardev, accepted after the filter went in)",
 "socketpair": "UnixSocket.pair (AF_UNIX only), and the JDK's NIO pre-close socket on first use",
 "connect": "UnixSocket.connect to a vhost-user back-end (virtio-fs) or a client socket chardev",
 "bind": "UnixSocket.listen: a server socket chardev or QMP socket created by hot-plug",
 "listen": "UnixSocket.listen, as bind",
 "accept": "the JDK's blocking ServerSocketChannel.accept (virtio-console on a socket chardev: glibc accept() is this call on x86_64)",
 "memfd_create": "GuestMemory.allocateShared: shared guest RAM for vhost-user, made again for the new VM of a reset",
 "ftruncate": "GuestMemory.allocateShared, as memfd_create",
 "fallocate": "GuestMemory's FALLOC_FL_PUNCH_HOLE | KEEP_SIZE on shared (memfd) guest RAM",
 "fcntl": "Fds/UnixSocket: F_DUPFD_CLOEXEC and F_SETFL on descriptors QMP receives (getfd, netdev fds=) and on TAPs",
 "fsync": "FileChannel.force(true): a virtio-blk flush on a disk opened for writing",
 "newfstatat": "glibc's stat/lstat/fstatat (Files.size, Files.readAttributes of a hot-plugged disk or a chardev path)",
 "dup2": "the JDK's NIO pre-close: a channel closed while another thread blocks on it is dup2'ed onto a closed socket",
 "mremap": "glibc's realloc of a large, mmap'ed block (native buffers grown by the JVM or JNA)",
 "restart_syscall": "the kernel's restart of a sleep interrupted by a stop and continue of the VMM (SIGSTOP/SIGCONT)",
 "stat": "the JDK: Files.getFileStore (BlockDevice.directAlignment) and System.loadLibrary of a JDK library first used late (libnet by an O_DIRECT FileChannel), for a disk hot-plugged with cache.direct=on (blockdev-add; Kata's aio=native)",
 "readlink": "the JDK: realpath() in Files.getFileStore and in loading a JDK library, as stat",
 "statfs": "the JDK: FileStore.getBlockSize (statvfs) of a disk hot-plugged with cache.direct=on, as stat",
 "fstatfs": "the JDK: an O_DIRECT FileChannel reads its file system's block size (fstatvfs), as stat",
 "riscv_flush_icache": "riscv64 only: HotSpot's JIT flushes the instruction cache with it after writing code (ICache::invalidate_range); the JIT compiles for as long as the VMM runs"
}
GROUPS = [["KVM, devices and disk I/O (ioctl: only the requests listed at the end)", ["ioctl", "read", "write", "pread64", "pwrite64", "preadv", "pwritev", "readv", "writev", "lseek", "fsync", "fdatasync", "fallocate", "ftruncate"]], ["Waiting: the event loop, vCPU pause/resume, JVM monitors and parking", ["futex", "epoll_wait", "epoll_pwait", "epoll_ctl", "epoll_create1", "eventfd2", "poll", "ppoll", "nanosleep", "clock_nanosleep", "sched_yield"]], ["Memory: guest RAM, the JVM heap, code cache and thread stacks", ["mmap", "munmap", "mprotect", "madvise", "mremap", "brk", "memfd_create"]], ["Files: hot-plugged disks, /dev/kvm and /dev/net/tun on reset and hot-plug, the JVM's /proc and cgroup reads", ["openat", "open", "close", "fstat", "newfstatat", "stat", "lstat", "statx", "readlink", "readlinkat", "statfs", "fstatfs", "getdents64", "access", "faccessat", "faccessat2", "fcntl", "dup", "dup2", "dup3", "pipe2", "unlink", "unlinkat"]], ["UNIX-domain sockets: QMP, vhost-user, fd passing (socket/socketpair: AF_UNIX only)", ["socket", "socketpair", "bind", "listen", "accept", "accept4", "getsockname", "connect", "recvmsg", "sendmsg", "recvfrom", "sendto", "shutdown", "getsockopt", "setsockopt", "getsockname", "getpeername"]], ["Threads and signals (clone: threads only; clone3 fails with ENOSYS), the JVM's housekeeping", ["clone", "clone3", "set_robust_list", "rseq", "exit", "exit_group", "gettid", "getpid", "tgkill", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "prctl", "sched_getaffinity", "getrusage", "sysinfo", "clock_gettime", "clock_getres", "gettimeofday", "getrandom", "uname", "getcwd", "prlimit64", "getuid", "geteuid", "getgid", "getegid", "restart_syscall", "membarrier", "riscv_flush_icache", "sched_setaffinity", "kill", "setpriority", "getpriority", "sched_getscheduler", "sched_getparam", "mkdir", "mkdirat", "rename", "renameat2", "getdents", "flock", "wait4", "set_tid_address", "arch_prctl", "select", "pselect6", "timerfd_create", "timerfd_settime", "eventfd", "pipe", "epoll_create", "fstatfs", "statfs", "sendmmsg", "recvmmsg", "inotify_init1", "sched_setscheduler", "sync_file_range", "getxattr", "fgetxattr", "copy_file_range", "sendfile", "splice", "fchmod", "fchmodat", "fchown", "chmod", "umask", "getppid", "getpgid", "setsid", "getsid", "capget", "open_tree", "io_uring_setup", "io_submit", "io_setup", "io_getevents", "io_destroy", "mlock", "munlock", "mincore", "msync", "process_madvise", "get_mempolicy", "mbind", "set_mempolicy", "close_range", "faccessat", "times", "ioprio_set", "ioprio_get", "personality", "name_to_handle_at", "getitimer", "setitimer", "alarm", "pause", "tkill", "rt_sigtimedwait", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "rt_sigsuspend", "signalfd4", "waitid"]]]
HEADER = """# Seccomp allow-list of the Mesovirt VMM on {arch}: every system call the VMM process (its JVM included) may make
# once the machine is built. One 'SYSCALL NUMBER' per line, {arch}'s numbers (checked against the kernel's
# asm/unistd.h by SeccompTableTest); ioctl only with the request numbers of the 'ioctl-request' lines at the end;
# the other argument rules (socket AF_UNIX only, clone threads only, clone3 -> ENOSYS) are in vmm-api's
# SeccompFilter. Anything else kills the process with SIGSYS (SECCOMP_RET_KILL_PROCESS; the kernel logs it as an
# audit record of type 1326 with the call's number).
#
# Derived by measurement: ci/seccomp-measure.sh runs the guest tests with the JVM under strace -f and the filter in
# log mode, and collects every call made after seccomp() went in. Each line says on which architectures the call was
# measured (names mapped: x86_64's open/poll/epoll_wait are openat/ppoll/epoll_pwait elsewhere; the job, when only
# one or two saw it), or why it is kept without a measurement. Calls neither measured nor justified are not here.
"""


def numbers(triplet):
    inc = ["-nostdinc", "-I", f"{UAPI}/{triplet}", "-I", UAPI]
    defs = subprocess.run(["gcc", "-E", "-dM", *inc, "-include", "asm/unistd.h", "-x", "c", "/dev/null"],
                          capture_output=True, text=True, check=True).stdout
    names = re.findall(r"#define __NR_([a-z0-9_]+) ", defs)
    src = "#include <asm/unistd.h>\n" + "\n".join(f"N {n} __NR_{n}" for n in names)
    out = subprocess.run(["gcc", "-E", "-P", *inc, "-x", "c", "-"], input=src, capture_output=True, text=True,
                         check=True).stdout
    d = {}
    for line in out.splitlines():
        if line.startswith("N "):
            _, n, v = line.split(" ", 2)
            try:
                d[n] = int(eval(v))
            except Exception:
                pass
    return d


def to(arch, name):
    return name if arch == "x86_64" else GENERIC.get(name, name)


N = {a: numbers(t) for a, t in TRIPLETS.items()}
measured, jobs, filtered, ioctls = {}, {}, {}, {}
for arch in TRIPLETS:
    c, io = collections.Counter(), set()
    raw = f"{ROOT}/target/seccomp-measure/{arch}/raw"
    for f in glob.glob(f"{raw}/*.txt") + glob.glob(f"{raw}/*/*.txt"):
        d = os.path.dirname(f)
        job = "earlier runs" if d == raw else (open(f"{d}/job").readline().split(" ", 1)[1].strip()
                                               if os.path.exists(f"{d}/job") else os.path.basename(d))
        job = job.replace("ci/tests/", "").replace("ci/emulated-host.sh x86_64 ", "")
        lines = [line.split() for line in open(f)]
        on = any(w[:2] == ["installed", "1"] for w in lines)
        for w in lines:
            if w and w[0] == "call":
                c[w[1]] += int(w[2])
                jobs.setdefault(w[1], set()).add(f"{arch} {job}")
                if on:
                    filtered.setdefault(w[1], set()).add(arch)
            elif w and w[0] == "ioctl":
                io.add(int(w[1], 16) & 0xffffffff)
    measured[arch], ioctls[arch] = c, io
union = set().union(*measured.values())


def note(arch, name):
    """measured: ARCHES [(JOB)] [, only with the filter off], or not measured: WHY"""
    where = [a for a in measured if any(to(arch, k) == name for k in measured[a])]
    keys = [k for a in measured for k in measured[a] if to(arch, k) == name]
    if not where:
        return None
    text = "measured: " + " ".join(where)
    seen = sorted(set().union(*(jobs.get(k, set()) for k in keys)))
    if len(seen) <= 2 and not any(j.endswith("earlier runs") for j in seen):
        text += " (" + ", ".join(seen) + ")"
    if not any(filtered.get(k) for k in keys):
        text += ", only in a run with the filter off (Kata's -disable-seccomp)"
    # the calls of the JDK's O_DIRECT path say what makes them (readlinkat is readlink's asm-generic form)
    why = {"readlinkat": "readlink"}.get(name, name)
    return text + ("; " + EXTRA[why] if why in ("stat", "readlink", "statfs", "fstatfs") else "")


# asm-generic's form of an x86_64 call (ppoll for poll, readlinkat for readlink...): measured on aarch64 or riscv64 it
# says that x86_64 needs the x86_64 form, not this one, which x86_64 has too but glibc and the JDK do not use there.
GENERIC_FORM = {g: x for x, g in GENERIC.items() if g and g != x}

for arch in TRIPLETS:
    names = {}
    for n in sorted(union | set(EXTRA)):
        m = to(arch, n)
        if m is None or m not in N[arch] or m in names:
            continue
        if arch == "x86_64" and m in GENERIC_FORM and m not in measured["x86_64"] and m not in EXTRA:
            continue
        names[m] = note(arch, m) or ("not measured: " + EXTRA[n])
    out = [HEADER.format(arch=arch).rstrip(), "", f"arch {arch}", f"audit-arch 0x{AUDIT[arch][0]}   # {AUDIT[arch][1]}",
           f"install seccomp {N[arch]['seccomp']}   # the call that installs the filter; not allowed afterwards", ""]
    placed = set()
    for title, members in GROUPS:
        lines = []
        for n in members:
            m = to(arch, n)
            if m in names and m not in placed:
                placed.add(m)
                lines.append(f"{m:<18} {N[arch][m]:<4} # {names[m]}")
        if lines:
            out += ["# " + title] + lines + [""]
    rest = [m for m in names if m not in placed]
    if rest:
        sys.exit(f"{arch}: add {rest} to a group")
    path = f"{ROOT}/arch-{arch}/src/main/resources/dev/mesovirt/arch/{arch}/seccomp.txt"
    old = open(path).read()
    marker = "# ioctl requests:"
    if marker not in old:
        sys.exit(f"{path}: no '{marker}' section to keep")
    section = []
    for line in old[old.index(marker):].splitlines():
        w = line.split("#")[0].split()
        if len(w) == 3 and w[0] == "ioctl-request":
            why = line.split("#", 1)[1].strip() if "#" in line else ""
            why = why.split("; measured:")[0].split("; not measured")[0]
            where = [a for a in TRIPLETS if int(w[2], 16) in ioctls[a]]
            line = f"ioctl-request {w[1]:<27} {w[2]:<11} # {why}; " + (
                "measured: " + " ".join(where) if where else "not measured")
        section.append(line)
    out += section
    open(path, "w").write("\n".join(out).rstrip() + "\n")
    nio = sum(1 for line in section if line.startswith("ioctl-request"))
    print(f"{arch}: {len(names)} entries ({len(names) - ('clone3' in names)} allowed to run; clone3 fails with ENOSYS),"
          f" {nio} ioctl requests")
