#!/bin/busybox sh
# /init of the emulated riscv64 KVM host (packed by ci/emulated-host.sh with Debian trixie's riscv64 static busybox and
# modules of its riscv64 kernel in /modules, load order in /modules/order: kvm first, then 9p). The APLIC and IMSIC
# drivers are built into that kernel; kvm.ko reports "AIA available with N guest external interrupts" when QEMU gives
# the harts guest interrupt files (aia-guests=). As on aarch64 it cannot chroot into this machine's / (x86_64
# programs), so it composes a root on a tmpfs:
#   - the riscv64 userland (JDK 21, bash, busybox applets; built from Debian packages into the cache and shared
#     read-only over 9p as "userland"): every top-level entry, directories bind-mounted, symlinks copied;
#   - this machine's own directories (/work, /root, /home, ... everything but the system ones such as /usr, /etc,
#     /var, /lib), shared read-only over 9p as "hostroot", bind-mounted at the same paths, so the project, the cache
#     and HOME are where the caller has them;
#   - fresh tmpfs on /tmp, /run and /dev/shm.
# Console protocol and kernel command line: as ci/host/init.sh (HOST: ..., HOST-UP, HOST-RC=<n>; host.run=,
# host.cwd=, host.out= base64-encoded).

/bin/busybox mkdir -p /bin /proc /sys /dev /userland /real /newroot
/bin/busybox --install -s /bin
export PATH=/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
[ -c /dev/console ] && exec </dev/console >/dev/console 2>&1

fail() { echo "HOST: $*"; poweroff -f; }

arg() {
  v=
  for w in $(cat /proc/cmdline); do case $w in "host.$1="*) v=${w#host.$1=} ;; esac; done
  [ -n "$v" ] && echo "$v" | base64 -d
}

while read -r m; do
  insmod "/modules/$m.ko" 2>/dev/null || echo "HOST: insmod $m failed"
done < /modules/order

[ -c /dev/kvm ] || fail "no /dev/kvm"
dmesg | grep -i -E 'AIA available|hypervisor extension available' | sed 's/^/HOST: /'

NINEP="trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose"
mount -t 9p -o "$NINEP" userland /userland || fail "cannot mount the riscv64 userland over 9p"
mount -t 9p -o "$NINEP" hostroot /real || fail "cannot mount the machine's / over 9p"
mount -t tmpfs -o mode=755 root /newroot || fail "cannot mount a tmpfs root"
for e in /userland/*; do
  n=${e##*/}
  if [ -L "$e" ]; then
    ln -s "$(readlink "$e")" "/newroot/$n"
  elif [ -d "$e" ]; then
    mkdir "/newroot/$n" && mount --bind "$e" "/newroot/$n" || fail "cannot bind $e"
  fi
done
for e in /real/*; do
  n=${e##*/}
  case $n in
    bin|boot|dev|etc|lib|lib32|lib64|libx32|lost+found|media|mnt|proc|run|sbin|sys|tmp|usr|var) continue ;;
  esac
  [ -d "$e" ] && [ ! -L "$e" ] || continue
  mkdir -p "/newroot/$n" && mount --bind "$e" "/newroot/$n" || fail "cannot bind $e"
done
for d in proc sys dev; do mkdir -p "/newroot/$d" && mount --bind "/$d" "/newroot/$d" || fail "cannot bind /$d"; done
mkdir -p /dev/pts /dev/shm /newroot/tmp /newroot/run
mount -t devpts -o newinstance,ptmxmode=0666 devpts /newroot/dev/pts
mount -t tmpfs -o mode=1777 shm /newroot/dev/shm
mount -t tmpfs -o mode=1777 tmp /newroot/tmp
mount -t tmpfs -o mode=755 run /newroot/run

OUT=$(arg out)
if [ -n "$OUT" ]; then
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=none hostout "/newroot$OUT" \
    || fail "cannot mount the output share at $OUT"
fi

ip link set lo up 2>/dev/null
hostname mesovirt-emulated-host

RUN=$(arg run)
CWD=$(arg cwd)
[ -n "$RUN" ] || fail "no host.run= on the kernel command line"
echo "HOST-UP $(cut -d' ' -f1 /proc/uptime)"
chroot /newroot /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  /bin/bash -c 'cd "$1" || { echo "HOST: cannot cd to $1"; exit 125; }; exec /bin/bash "$2"' host-run "${CWD:-/}" "$RUN" </dev/null
rc=$?
echo
echo "HOST-RC=$rc"
[ -n "$OUT" ] && umount "/newroot$OUT"
poweroff -f
