#!/bin/busybox sh
# /init of Mesovirt's nested test guest (all architectures), packed by ci/guest-image.sh with a static busybox and
# the kernel's modules as /lib/modules/<name>.ko (no modules.dep: we insmod in a fixed dependency order).
#
# Console markers, each on its own line (tests grep for them; keep the spelling stable):
#   GUEST-READY, GUEST-CPUS <n>, GUEST-MEMKB <kB>, GUEST-KERNEL <uname -r>,
#   GUEST-CMD-RC <rc> (only with guest.cmd=), GUEST-SHELL (shell starting), GUEST-DONE (just before power-off/reboot).
# Kernel command-line knobs, acted on in this order:
#   guest.cmd=<base64>  run the decoded script with sh, then print GUEST-CMD-RC <rc>
#   guest.shell=1       interactive sh on the console; continues (to power-off) when it exits
#   guest.sleep=N       stay up N seconds
#   guest.panic=1       kernel panic via sysrq 'c' (what happens next is up to panic= and the VMM)
#   guest.reboot=1      reboot -f instead of poweroff -f at the end
# Parameters with a dot are not passed to init as arguments/environment by the kernel, so they are read from
# /proc/cmdline. Speed matters (boot-time tests): no sleeps unless asked for.

/bin/busybox mkdir -p /bin /proc /sys /dev /tmp
# Everything into /bin: the initramfs has no /sbin or /usr, and one directory keeps PATH trivial.
/bin/busybox --install -s /bin
export PATH=/bin HOME=/ TERM=linux

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
# The kernel opens /dev/console for init only if the initramfs has that node; after devtmpfs it surely exists.
[ -c /dev/console ] && exec </dev/console >/dev/console 2>&1

# Dependency order (no modules.dep). A missing file means built in (or not needed by that kernel); failures are
# ignored on purpose: e.g. pvpanic-mmio finds no device on machines without one.
for m in virtio_ring virtio virtio_mmio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk failover \
         net_failover virtio_net rng-core virtio_rng virtio_console pvpanic pvpanic-mmio crc16 mbcache jbd2 \
         crc32c_generic libcrc32c ext4 evdev button gpio_keys vsock vmw_vsock_virtio_transport_common \
         vmw_vsock_virtio_transport; do
  [ -f "/lib/modules/$m.ko" ] && insmod "/lib/modules/$m.ko" 2>/dev/null
done

# virtio-fs: fuse, then the virtiofs transport (mount -t virtiofs TAG DIR).
for m in fuse virtiofs; do
  [ -f "/lib/modules/$m.ko" ] && insmod "/lib/modules/$m.ko" 2>/dev/null
done

# Online CPUs: /sys/devices/system/cpu/online is a range list such as "0-1" or "0,2-3".
count_cpus() {
  if [ -r /sys/devices/system/cpu/online ]; then
    n=0
    for r in $(tr ',' ' ' < /sys/devices/system/cpu/online); do
      case $r in
        *-*) n=$((n + ${r#*-} - ${r%-*} + 1)) ;;
        *)   n=$((n + 1)) ;;
      esac
    done
    echo "$n"
  else
    grep -c '^processor' /proc/cpuinfo
  fi
}

# Value of a guest.* knob from the kernel command line (last one wins; empty if absent).
knob() {
  v=
  for w in $(cat /proc/cmdline); do
    case $w in "guest.$1="*) v=${w#guest.$1=} ;; esac
  done
  echo "$v"
}

echo GUEST-READY
echo "GUEST-CPUS $(count_cpus)"
echo "GUEST-MEMKB $(awk '/^MemTotal:/{print $2}' /proc/meminfo)"
echo "GUEST-KERNEL $(uname -r)"

cmd=$(knob cmd)
if [ -n "$cmd" ]; then
  if echo "$cmd" | base64 -d > /tmp/guest-cmd.sh 2>/dev/null; then
    sh /tmp/guest-cmd.sh
    rc=$?
  else
    echo "GUEST: guest.cmd is not valid base64"
    rc=127
  fi
  echo
  echo "GUEST-CMD-RC $rc"
fi

if [ "$(knob shell)" = 1 ]; then
  # setsid: a new session; cttyhack: make the console's real tty (e.g. ttyS0) the controlling tty so ^C works.
  # The child of a non-interactive sh is not a process-group leader, so busybox setsid does not fork and we wait.
  echo GUEST-SHELL
  setsid cttyhack sh </dev/console >/dev/console 2>&1
fi

s=$(knob sleep)
case $s in '' | *[!0-9.]*) ;; *) sleep "$s" ;; esac

if [ "$(knob panic)" = 1 ]; then
  echo 1 > /proc/sys/kernel/sysrq
  echo c > /proc/sysrq-trigger
  echo "GUEST: sysrq panic did not happen"
fi

echo GUEST-DONE
if [ "$(knob reboot)" = 1 ]; then
  reboot -f
else
  poweroff -f
fi
# Only reached if the platform cannot power off/reset; say so (init exiting would panic the kernel).
echo "GUEST: power-off/reboot returned"
while :; do sleep 3600; done
