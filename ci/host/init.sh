#!/bin/busybox sh
# /init of the emulated x86_64 KVM host (packed by ci/emulated-host.sh with a static busybox, /common.sh and modules of
# Debian's generic kernel in /modules, load order in /modules/order, computed at build time from the modules'
# "depends"). It loads kvm_amd (QEMU TCG's -cpu max emulates AMD SVM with nested paging), mounts this machine's /
# read-only over 9p, chroots into it and runs the wrapper named on the kernel command line. Console protocol and
# kernel command line: ci/host/common.sh.
. /common.sh
load_modules
mkdir -p /host /real
# cache=loose: the root is read-only for us and does not change during a run in ways the tests depend on; caching
# pages and dentries in the host makes the JVM start several times faster than uncached 9p.
mount -t 9p -o "$NINEP" hostroot /host || fail "cannot mount the machine's / over 9p"
# A view of the same root that the tmpfs on /tmp and /run will not cover (rootfs mounts are private: no propagation).
mount --bind /host /real || fail "cannot bind the machine's /"
# The chroot is this machine's / itself: everything but what finish_root covers with tmpfs is already there.
visible() { case $2/ in /tmp/*|/run/*|/dev/shm/*) return 1 ;; esac; }
finish_root /host /real
run_script /host
