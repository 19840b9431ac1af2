#!/bin/busybox sh
# /init of the emulated x86_64 KVM host (packed by ci/emulated-host.sh with a static busybox and modules of Debian's
# generic kernel in /modules, load order in /modules/order, computed at build time from the modules' "depends").
# It loads kvm_amd (QEMU TCG's -cpu max emulates AMD SVM with nested paging), mounts the real machine's / read-only
# over 9p, chroots into it and runs the wrapper named on the kernel command line. Console protocol (parsed by
# ci/emulated-host.sh; keep the spelling stable):
#   "HOST: no /dev/kvm"   KVM did not come up: nothing is run
#   "HOST: ..."           other fatal set-up problems
#   HOST-RC=<n>           exit code of the script (only printed when it ran)
# Kernel command line (values base64, so paths with any characters survive):
#   host.run=<wrapper path on the real machine>  host.cwd=<directory to start in>  host.out=<optional rw share path>

/bin/busybox mkdir -p /bin /proc /sys /dev /host
/bin/busybox --install -s /bin
export PATH=/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
[ -c /dev/console ] && exec </dev/console >/dev/console 2>&1

# Give up: power off without HOST-RC, so the caller reports a set-up failure (exit 125) rather than a test result.
fail() { echo "HOST: $*"; poweroff -f; }

arg() {
  v=
  for w in $(cat /proc/cmdline); do case $w in "host.$1="*) v=${w#host.$1=} ;; esac; done
  [ -n "$v" ] && echo "$v" | base64 -d
}

# Failures are reported but not fatal: the only hard requirement (/dev/kvm, the 9p root) is checked below.
while read -r m; do
  insmod "/modules/$m.ko" 2>/dev/null || echo "HOST: insmod $m failed"
done < /modules/order

[ -c /dev/kvm ] || fail "no /dev/kvm"

# cache=loose: the root is read-only for us and does not change during a run in ways the tests depend on; caching
# pages and dentries in the host makes the JVM start several times faster than uncached 9p.
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /host \
  || fail "cannot mount the machine's / over 9p"
for d in proc sys dev; do mount --bind "/$d" "/host/$d" || fail "cannot bind /$d"; done
mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /host/dev/pts
mount -t tmpfs -o mode=1777 shm /host/dev/shm
# /tmp and /run of the real machine are not ours to use (and are read-only here): fresh tmpfs.
mount -t tmpfs -o mode=1777 tmp /host/tmp
mount -t tmpfs -o mode=755 run /host/run

OUT=$(arg out)
if [ -n "$OUT" ]; then
  # The one writable place shared with the real machine; no caching so the files are there when we power off.
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=none hostout "/host$OUT" \
    || fail "cannot mount the output share at $OUT"
fi

ip link set lo up 2>/dev/null
hostname mesovirt-emulated-host

RUN=$(arg run)
CWD=$(arg cwd)
[ -n "$RUN" ] || fail "no host.run= on the kernel command line"
echo "HOST-UP $(cut -d' ' -f1 /proc/uptime)"
# The wrapper (written by ci/emulated-host.sh) sets the environment and execs the user's script. Its stdin is
# /dev/null: the console is for output only.
chroot /host /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  /bin/bash -c 'cd "$1" || { echo "HOST: cannot cd to $1"; exit 125; }; exec /bin/bash "$2"' host-run "${CWD:-/}" "$RUN" </dev/null
rc=$?
echo
echo "HOST-RC=$rc"
[ -n "$OUT" ] && umount "/host$OUT"
poweroff -f
