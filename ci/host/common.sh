# Shared by the emulated KVM hosts' /init scripts (busybox sh; packed next to /init as /common.sh by
# ci/emulated-host.sh). Console protocol, parsed by ci/emulated-host.sh (keep the spelling stable):
#   HOST: no /dev/kvm        KVM did not come up: nothing is run (the host is unusable: exit 125 there)
#   HOST-SETUP-FAILED: ...   the host is up but cannot run the script as asked (a directory it cannot show, a share it
#                            cannot mount): nothing is run, exit 2 there (a caller's mistake, not a host crash)
#   HOST: ...                notes, and fatal problems of the host itself (exit 125 there)
#   HOST-UP <uptime>         just before the script
#   HOST-ALIVE <uptime>      every 20 s while it runs: the heartbeat ci/emulated-host.sh watches (not streamed)
#   HOST-RC=<n>              the script's exit code (only printed when it ran)
# Kernel command line (values base64, so that paths with any characters survive): host.run= the wrapper script,
# host.cwd= where to start, host.out= the optional read-write share, host.paths= the directories (one per line) that
# must be visible at their own paths inside: the caller's project, cache and HOME, wherever they are.

/bin/busybox mkdir -p /bin /proc /sys /dev
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
# What udev would add: bash's process substitution needs /dev/fd.
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
for i in 0:stdin 1:stdout 2:stderr; do [ -e "/dev/${i#*:}" ] || ln -s "/proc/self/fd/${i%%:*}" "/dev/${i#*:}"; done
[ -c /dev/console ] && exec </dev/console >/dev/console 2>&1

# Give up without HOST-RC: the caller reports a set-up failure rather than a test result.
fail() { echo "HOST: $*"; poweroff -f; }
setup_failed() { echo "HOST-SETUP-FAILED: $*"; poweroff -f; }

arg() {
  v=
  for w in $(cat /proc/cmdline); do case $w in "host.$1="*) v=${w#host.$1=} ;; esac; done
  [ -n "$v" ] && echo "$v" | base64 -d
}

# The modules in /modules, in the order computed at build time. Failures are reported, not fatal: the hard
# requirements (/dev/kvm, the 9p shares) are checked by the caller.
load_modules() {
  while read -r m; do
    insmod "/modules/$m.ko" 2>/dev/null || echo "HOST: insmod $m failed"
  done < /modules/order
  [ -c /dev/kvm ] || fail "no /dev/kvm"
}

NINEP="trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose"

# In ROOT (the tree the script will chroot into): devices, fresh tmpfs on /tmp, /run and /dev/shm (this machine's are
# not ours to use), then the directories of host.paths, then the output share. REAL is this machine's / as a 9p mount
# that no tmpfs covers. The init defines visible ROOT P: whether ROOT already shows this machine's P.
finish_root() {
  root=$1 real=$2
  for d in proc sys dev; do mkdir -p "$root/$d" && mount --bind "/$d" "$root/$d" || fail "cannot bind /$d"; done
  mkdir -p "$root/dev/pts" "$root/dev/shm" "$root/tmp" "$root/run"
  mount -t devpts -o newinstance,ptmxmode=0666 devpts "$root/dev/pts"
  mount -t tmpfs -o mode=1777 shm "$root/dev/shm"
  mount -t tmpfs -o mode=1777 tmp "$root/tmp"
  mount -t tmpfs -o mode=755 run "$root/run"
  shown=
  # Shortest first, so that a directory inside one already shown is skipped.
  arg paths | awk '{ print length($0) "\t" $0 }' | sort -n | cut -f2- > /paths.txt
  while IFS= read -r p; do
    case $p in /|/tmp|/run|/dev/shm|"") continue ;; esac
    skip=
    for s in $shown; do case $p/ in "$s"/*) skip=1 ;; esac; done
    [ -n "$skip" ] && continue
    [ -d "$real$p" ] || setup_failed "$p is not a directory of this machine"
    visible "$root" "$p" || show_path "$root" "$real" "$p" || setup_failed "cannot make $p visible in the emulated host"
    shown="$shown $p"
  done < /paths.txt
  OUT=$(arg out)
  if [ -n "$OUT" ]; then
    # The one writable place shared with the real machine; no caching, so the files are there when we power off.
    [ -d "$root$OUT" ] || show_path "$root" "$real" "$OUT" || setup_failed "cannot make $OUT visible"
    mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=none hostout "$root$OUT" \
      || setup_failed "cannot mount the output share at $OUT"
  fi
  ip link set lo up 2>/dev/null
  hostname mesovirt-emulated-host
}

# Binds this machine's directory P (read-only) at ROOT/P. Where ROOT lacks some of P's directories and cannot have
# them made (they would go into a read-only tree, e.g. the arm64 userland's /var), the deepest directory ROOT has
# gets an overlay of itself and a skeleton holding just the missing chain, so nothing else of this machine's
# (x86_64 programs in /usr/bin, say) appears there.
show_path() {
  root=$1 real=$2 p=$3 a=$3
  while [ -n "$a" ] && [ ! -d "$root$a" ]; do a=${a%/*}; done
  if [ "$a" != "$p" ] && ! mkdir -p "$root$p" 2>/dev/null; then
    skel=/skel$(echo "$a" | tr / _)
    mkdir -p "$skel${p#"$a"}" || return 1
    mount -t overlay overlay -o "lowerdir=$skel:$root$a" "$root$a" || return 1
  fi
  mount --bind "$real$p" "$root$p"
}

# Runs the wrapper chrooted into ROOT, from host.cwd, with stdin /dev/null, prints HOST-RC and powers off.
run_script() {
  root=$1
  RUN=$(arg run)
  CWD=$(arg cwd)
  [ -n "$RUN" ] || fail "no host.run= on the kernel command line"
  [ -d "$root${CWD:-/}" ] || setup_failed "cannot cd to ${CWD:-/}: not visible in the emulated host"
  echo "HOST-UP $(cut -d' ' -f1 /proc/uptime)"
  # A host whose kernel stopped under TCG (seen: silent, no lockup report) must be told apart from a quiet script.
  (while sleep 20; do echo "HOST-ALIVE $(cut -d' ' -f1 /proc/uptime)"; done) &
  heartbeat=$!
  chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    /bin/bash -c 'cd "$1" && exec /bin/bash "$2"' host-run "${CWD:-/}" "$RUN" </dev/null
  rc=$?
  kill "$heartbeat" 2>/dev/null
  wait "$heartbeat" 2>/dev/null
  echo
  echo "HOST-RC=$rc"
  [ -n "$OUT" ] && umount "$root$OUT"
  poweroff -f
}
