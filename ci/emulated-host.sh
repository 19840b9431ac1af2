#!/bin/bash
# Run SCRIPT inside an emulated KVM host and exit with SCRIPT's exit code.
#
# usage: ci/emulated-host.sh ARCH SCRIPT [ARGS...]     (ARCH: x86_64, aarch64 or riscv64)
#
# Why: this machine's /dev/kvm is kvm_pvm, which cannot boot stock Linux guests. QEMU's software emulation (TCG)
# with -cpu max emulates AMD SVM + nested paging, so Debian's generic kernel inside it loads kvm_amd and offers a
# real /dev/kvm. The emulated host mounts this machine's / read-only over 9p and chroots into it, so the JDKs,
# ~/.m2 and /work/main/* are visible without building a root file system.
# aarch64: QEMU's virt board with EL2 (virtualization=on) and a GICv3 runs Debian 13 "trixie"'s arm64 kernel, which
# has KVM built in. Its programs cannot come from this x86_64 machine, so an arm64 userland (JDK 21, bash, busybox)
# is built from trixie's packages into the cache and shared over 9p; ci/host/init-foreign.sh composes a root from it
# plus this machine's non-system directories (/work, /root, ...) at their usual paths. JAVA_HOME is the arm64 JDK.
# riscv64: QEMU's virt board with the H extension and the AIA (APLIC + IMSIC, 7 guest interrupt files so that KVM can
# use hardware-accelerated IMSICs) runs trixie's riscv64 kernel (KVM as a module). Debian 12's QEMU 7.2 hangs with
# aia=aplic-imsic, so QEMU 10 comes from trixie's amd64 packages, unpacked into the cache (no system install) and
# run through trixie's own ld.so. The userland (JDK 21 riscv64) and init (ci/host/init-foreign.sh) work as aarch64's.
#
# Inside: cwd = the caller's cwd, MESOVIRT_IN_EMULATED_HOST=1, stdin /dev/null, / read-only except fresh (empty)
# tmpfs on /tmp, /run and /dev/shm. The caller's cwd, SCRIPT's directory, the cache and HOME are visible at their own
# paths wherever they are (also below /tmp, or below a system directory on arm64/riscv64). SCRIPT runs with bash; one
# lying directly in /tmp or /run is copied to a run dir in the cache first (its sibling files are NOT copied).
#
# Environment:
#   MESOVIRT_CACHE         cache root (default ~/.cache/mesovirt); must not be under /tmp or /run
#   MESOVIRT_HOST_TIMEOUT  seconds before the host is killed (default 900); then exit 125
#   MESOVIRT_HOST_BOOT_TIMEOUT / _BOOT_ATTEMPTS  a host without HOST-UP after this many seconds (240), or whose kernel
#                          locks up or panics while booting, is booted again, up to this many times in all (3)
#   MESOVIRT_HOST_LOCKUP_LIMIT  a host whose kernel reports a soft lockup this long (150 s) is killed: exit 125
#   MESOVIRT_HOST_SILENCE_LIMIT  a host whose console is silent this long (240 s; its init prints a heartbeat every
#                          20 s while SCRIPT runs) is killed: exit 125
#   MESOVIRT_HOST_MEM      host memory (default 3G)          MESOVIRT_HOST_SMP  host vCPUs (default 2)
#   MESOVIRT_HOST_LOG      console log file (default <cache>/host/<arch>/logs/<time>-<pid>.log; last 20 kept)
#   MESOVIRT_HOST_QUIET=1  do not stream the console; print its tail only on failure
#   MESOVIRT_HOST_OUT      a directory of this machine mounted READ-WRITE at the same path inside (optional);
#                          the only way to get files out besides the console (its files are not cached inside)
#   MESOVIRT_HOST_APPEND   extra host kernel command-line arguments
#   MESOVIRT_HOST_QEMU_ARGS  extra arguments for the outer QEMU (word-split), for debugging
#   MESOVIRT_HOST_NOLOCK=1 do not wait for other emulated hosts (by default one runs at a time, see below)
#   MESOVIRT_HOST_QEMU     the outer QEMU binary (x86_64/aarch64; default: x86_64 trixie's QEMU 10 unpacked into the
#                          cache, or Debian 12's qemu-system-x86_64 with MESOVIRT_HOST_QEMU_SUITE=bookworm; aarch64
#                          qemu-system-aarch64 from PATH)
#   MESOVIRT_HOST_EXTRA_PKGS  aarch64/riscv64: more trixie packages for the userland, with their dependencies but no
#                          recommends, e.g. "qemu-system-arm" (a nested QEMU for benchmarks); they go into a userland
#                          of their own (<cache>/host/<arch>/userland+PKG+...), so the default one stays as it is
#   MESOVIRT_HOST_ENV      names of more variables to pass to SCRIPT (space separated), e.g. "JMH_ARGS EXITS"
# All MESOVIRT_* variables, JAVA_HOME, MAVEN_OPTS, JAVA_TOOL_OPTIONS, CI, LANG and HOME are passed to SCRIPT.
#
# Exit code: SCRIPT's (from the HOST-RC=<n> console marker); 125 when the host itself failed (did not boot, has no
# /dev/kvm, crashed or timed out: no marker), which callers may retry; 2 for usage errors, unsupported architectures
# and set-up errors of the caller's making (HOST-SETUP-FAILED: a directory the host cannot show, ...).
set -euo pipefail
# The whole script is one { ... } block: bash then parses all of it before running any of it. Without this, editing
# this file while a (long) run is in progress makes bash go on reading the NEW file at the old byte offset (seen:
# a second QEMU started with a garbled command line).
{
# shellcheck source=ci/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -ge 2 ] || mv_die "usage: $0 ARCH SCRIPT [ARGS...]" 2
ARCH=$1 SCRIPT=$2
shift 2

# One emulated host at a time on this machine: two TCG hosts on 2 cores starve each other into timeouts, and both would
# build the same cache. The lock is held until this script exits (MESOVIRT_HOST_NOLOCK=1 skips it).
if [ "${MESOVIRT_HOST_NOLOCK:-0}" != 1 ]; then
  mkdir -p "$MV_CACHE"
  # fd 8: mv_lock/mv_unlock (the cache builders) use fd 9, and re-opening it would drop this lock.
  exec 8>>"$MV_CACHE/emulated-host.lock"
  flock -n 8 || { mv_log "waiting for another emulated host to finish (lock $MV_CACHE/emulated-host.lock)"; flock 8; }
fi

TIMEOUT=${MESOVIRT_HOST_TIMEOUT:-900}
MEM=${MESOVIRT_HOST_MEM:-3G}
SMP=${MESOVIRT_HOST_SMP:-2}
QUIET=${MESOVIRT_HOST_QUIET:-0}

case $ARCH in
  x86_64)
    QEMU=qemu-system-x86_64
    QEMU_PKG=qemu-system-x86
    KERNEL_META=linux-image-amd64     # the generic flavour: it has kvm_amd and 9p as modules
    BUSYBOX_PKG=busybox-static
    # Wanted modules; their dependencies are added and ordered automatically (missing ones: built in, skipped).
    # kvm-amd: /dev/kvm; virtio_pci + 9p: the shared root; virtio-rng: entropy for the JVM;
    # tun, bridge, vhost_net, vhost_vsock: for network/vsock tests of the nested VMM (not needed to boot); loop:
    # block devices for the nested VMM's disks (ci/tests/kata.sh: O_DIRECT, which the host's tmpfs lacks).
    HOST_MODULES="kvm kvm-amd virtio_pci 9pnet_virtio 9p virtio-rng tun bridge vhost_net vhost_vsock loop"
    ;;
  aarch64)
    QEMU=qemu-system-aarch64
    QEMU_PKG=qemu-system-arm
    MV_FOREIGN="trixie arm64"         # trixie: JDK 21 (bookworm's arm64 userland has only JDK 17)
    KERNEL_META=linux-image-arm64     # KVM, the vGIC, virtio-pci and the PL011 console are built in
    BUSYBOX_PKG=busybox-static
    HOST_MODULES="9pnet_virtio 9p overlay virtio-rng tun bridge vhost_net vhost_vsock"
    HOST_INIT=$MV_CI_DIR/host/init-foreign.sh
    # The userland the script runs in: the JDK and what it needs (as verified in shared/emulated-hosts/aarch64).
    USERLAND_PKGS="openjdk-21-jre-headless libc6 libgcc-s1 libstdc++6 zlib1g bash libtinfo6 busybox-static"
    USERLAND_JAVA_HOME=/usr/lib/jvm/java-21-openjdk-arm64
    ;;
  riscv64)
    QEMU_PKG=qemu-system-riscv        # trixie amd64's QEMU 10, unpacked into a private root (below)
    MV_FOREIGN="trixie riscv64"
    KERNEL_META=linux-image-riscv64   # APLIC, IMSIC, virtio-pci and the 8250 console built in; kvm is a module
    BUSYBOX_PKG=busybox-static
    HOST_MODULES="kvm 9pnet_virtio 9p overlay virtio-rng tun"
    HOST_INIT=$MV_CI_DIR/host/init-foreign.sh
    USERLAND_PKGS="openjdk-21-jre-headless libc6 libgcc-s1 libstdc++6 zlib1g bash libtinfo6 busybox-static"
    USERLAND_JAVA_HOME=/usr/lib/jvm/java-21-openjdk-riscv64
    ;;
  *) mv_unsupported_arch "$ARCH" ;;
esac

# The outer QEMU: trixie's (10, unpacked privately) for riscv64, which Debian 12's 7.2 cannot emulate, and for
# x86_64, where 7.2's TCG with nested SVM wedged the host now and then under load (soft lockups, and once a silent
# stop); Debian 12's 7.2 for aarch64, and for x86_64 with MESOVIRT_HOST_QEMU_SUITE=bookworm. Or any binary given in
# MESOVIRT_HOST_QEMU (x86_64 and aarch64).
TRIXIE_QEMU=0
[ "$ARCH" = riscv64 ] && TRIXIE_QEMU=1
[ "$ARCH" = x86_64 ] && [ "${MESOVIRT_HOST_QEMU_SUITE:-trixie}" = trixie ] && TRIXIE_QEMU=1
[ -n "${MESOVIRT_HOST_QEMU:-}" ] && [ "$ARCH" != riscv64 ] && QEMU=$MESOVIRT_HOST_QEMU TRIXIE_QEMU=0
[ -f "$SCRIPT" ] || mv_die "no such script: $SCRIPT" 2
[ "$TRIXIE_QEMU" = 1 ] || command -v "$QEMU" >/dev/null || mv_die "$QEMU not found: apt-get install $QEMU_PKG" 2
mv_check_cache_location
HOSTDIR=$MV_CACHE/host/$ARCH
mkdir -p "$HOSTDIR/runs" "$HOSTDIR/logs"

# Trixie's QEMU 10 from its amd64 packages with their dependencies (a private apt state with an empty dpkg status, so
# apt-get --download-only fetches the whole closure, into an archive directory of this package's own), unpacked into
# HOSTDIR/qemu-root; HOSTDIR/qemu-system-ARCH runs it through that root's own ld.so. Cached by the package's version.
if [ "$TRIXIE_QEMU" = 1 ]; then
  QEMU=$HOSTDIR/qemu-system-$ARCH
  QVER=$(MV_FOREIGN="trixie amd64"; mv_apt_ready "$QEMU_PKG" && mv_candidate "$QEMU_PKG")
  [ -n "$QVER" ] || mv_die "cannot resolve $QEMU_PKG in trixie amd64" 2
  if [ ! -x "$QEMU" ] || [ "$(cat "$HOSTDIR/qemu-stamp" 2>/dev/null)" != "$QEMU_PKG=$QVER" ]; then
    mv_lock
    (
      MV_FOREIGN="trixie amd64"
      mapfile -t o < <(mv_apt_opts)
      a=$MV_CACHE/apt-trixie-amd64/archives-$QEMU_PKG
      mkdir -p "$a/partial"
      apt-get -q "${o[@]}" -o "Dir::Cache::archives=$a" install --download-only -y --no-install-recommends \
        "$QEMU_PKG=$QVER" >&2 || mv_die "apt-get --download-only $QEMU_PKG failed" 2
      r=$(mktemp -d "$HOSTDIR/.qemu-root.XXXXXX")
      for deb in "$a"/*.deb; do dpkg-deb -x "$deb" "$r"; done
      [ -x "$r/usr/bin/qemu-system-$ARCH" ] || mv_die "no qemu-system-$ARCH in $QEMU_PKG" 2
      rm -rf "$HOSTDIR/qemu-root"; mv "$r" "$HOSTDIR/qemu-root"
    ) || exit 2
    R=$HOSTDIR/qemu-root
    cat > "$QEMU.tmp" <<QEOF
#!/bin/sh
# trixie's QEMU $QVER from a private root (written by ci/emulated-host.sh). -audio none: no audio modules needed.
export QEMU_MODULE_DIR=$R/usr/lib/x86_64-linux-gnu/qemu
exec $R/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 --library-path $R/usr/lib/x86_64-linux-gnu \
  $R/usr/bin/qemu-system-$ARCH -L $R/usr/share/qemu -audio none "\$@"
QEOF
    chmod 755 "$QEMU.tmp"; mv "$QEMU.tmp" "$QEMU"
    echo "$QEMU_PKG=$QVER" > "$HOSTDIR/qemu-stamp"
    mv_unlock
    mv_log "emulated host: QEMU $("$QEMU" --version | head -1) in $R"
  fi
fi

# ---- host kernel + initramfs (cached; rebuilt only when package versions, init or this builder change) ----------
INIT=${HOST_INIT:-$MV_CI_DIR/host/init.sh}
# shellcheck disable=SC2086
mv_apt_ready "$KERNEL_META" "$BUSYBOX_PKG" ${USERLAND_PKGS:-}
read -r _ KPKG KVER < <(mv_kernel_pkgs "$KERNEL_META")
BBVER=$(mv_candidate "$BUSYBOX_PKG")
KV=${KPKG#linux-image-}
declare -A UVER
USERLAND_STAMP=
for p in ${USERLAND_PKGS:-}; do
  UVER[$p]=$(mv_candidate "$p")
  USERLAND_STAMP="$USERLAND_STAMP $p=${UVER[$p]}"
done
WANT="format=1 arch=$ARCH
$KPKG=$KVER
$BUSYBOX_PKG=$BBVER
modules=$HOST_MODULES
userland=$USERLAND_STAMP
init.sh sha256=$(mv_sha256 "$INIT" "$MV_CI_DIR/host/common.sh")
builder sha256=$(mv_sha256 "$0" "$MV_CI_DIR/lib.sh")"

host_ready() {
  [ -f "$HOSTDIR/stamp" ] && [ "$(cat "$HOSTDIR/stamp")" = "$WANT" ] && [ -s "$HOSTDIR/kernel" ] && [ -s "$HOSTDIR/initrd.cpio" ] \
    && { [ -z "${USERLAND_PKGS:-}" ] || [ -d "$HOSTDIR/userland/usr" ]; }
}

# The arm64 userland (aarch64): the packages (PKG=VERSION...) unpacked into one tree, merged-/usr symlinks, busybox
# applets for the commands no package provides (env, awk, sed, ...), a passwd entry for root (the JVM looks up
# user.home).
build_userland() {
  local dir=$1 pv bbx a; shift
  for pv in "$@"; do cp -a "$(mv_fetch_pkg "${pv%%=*}" "${pv#*=}")"/. "$dir"/; done
  # A package that still ships /bin, /sbin or /lib (not /usr/...) would hide the merged-/usr link: move its files.
  (cd "$dir" && for l in bin sbin lib; do
    if [ -d "$l" ] && [ ! -L "$l" ]; then mkdir -p "usr/$l" && cp -a "$l"/. "usr/$l"/ && rm -rf "$l"; fi
    [ -e "$l" ] || ln -s "usr/$l" "$l"
  done)
  mkdir -p "$dir"/{proc,sys,dev,tmp,run,root,etc} "$dir/usr/bin"
  # The applet list comes from this machine's busybox (the arm64 one cannot run here).
  bbx=$(MV_FOREIGN='' mv_fetch_pkg busybox-static "$(MV_FOREIGN='' mv_candidate busybox-static)")
  for a in $("$(ls "$bbx/bin/busybox" "$bbx/usr/bin/busybox" 2>/dev/null | head -1)" --list); do
    [ -e "$dir/usr/bin/$a" ] || [ -e "$dir/usr/sbin/$a" ] || ln -s busybox "$dir/usr/bin/$a"
  done
  printf 'root:x:0:0:root:/root:/bin/bash\n' > "$dir/etc/passwd"
  printf 'root:x:0:\n' > "$dir/etc/group"
  [ -x "$dir$USERLAND_JAVA_HOME/bin/java" ] || mv_die "the userland has no $USERLAND_JAVA_HOME/bin/java"
}

# Dependency closure of the wanted modules in load order (depth-first: dependencies before dependents).
declare -A SEEN
ORDER=()
add_module() {
  local name=$1 key src dep
  key=$(printf '%s' "$name" | tr '-' '_')
  [ -z "${SEEN[$key]:-}" ] || return 0
  SEEN[$key]=1
  src=$(mv_find_module "$MTREE" "$name")
  [ -n "$src" ] || return 0
  mv_copy_module "$src" "$ROOT/modules/$key.ko"
  for dep in $(mv_module_depends "$ROOT/modules/$key.ko" | tr ',' ' '); do add_module "$dep"; done
  ORDER+=("$key")
}

if ! host_ready; then
  mv_lock
  if ! host_ready; then
    rm -f "$HOSTDIR/stamp"
    BB_DIR=$(mv_fetch_pkg "$BUSYBOX_PKG" "$BBVER")
    KDIR=$(mv_fetch_pkg "$KPKG" "$KVER")
    MTREE=$KDIR/lib/modules/$KV
    [ -d "$MTREE" ] || MTREE=$KDIR/usr/lib/modules/$KV    # merged-/usr kernel packages (trixie)
    [ -s "$KDIR/boot/vmlinuz-$KV" ] || [ -s "$KDIR/boot/vmlinux-$KV" ] || mv_die "no boot/vmlinuz-$KV in $KPKG"
    [ -e "$BB_DIR/bin/busybox" ] || BB_DIR=$BB_DIR/usr    # trixie's busybox is /usr/bin/busybox
    ROOT=$(mktemp -d "$HOSTDIR/.root.XXXXXX")
    mkdir -p "$ROOT"/{bin,proc,sys,dev,host,modules}
    cp "$BB_DIR/bin/busybox" "$ROOT/bin/busybox"
    cp "$INIT" "$ROOT/init"
    cp "$MV_CI_DIR/host/common.sh" "$ROOT/common.sh"
    chmod 755 "$ROOT/init" "$ROOT/bin/busybox"
    mv_add_console_node "$ROOT"
    for m in $HOST_MODULES; do add_module "$m"; done
    printf '%s\n' "${ORDER[@]}" > "$ROOT/modules/order"
    # Uncompressed: unpacking a gzip'd initramfs costs ~1.5 s of emulated CPU per boot; 7 MB more RAM costs nothing.
    mv_pack_initramfs "$ROOT" "$HOSTDIR/initrd.cpio"
    rm -rf "$ROOT"
    # "kernel": the uncompressed vmlinux (PVH entry, saves ~6 s of emulated decompression per boot), or the bzImage
    # if its payload cannot be extracted. arm64: Debian's vmlinuz is a plain Image (gunzip'd should it be gzip).
    if [ "$ARCH" = riscv64 ]; then
      cp "$KDIR/boot/vmlinux-$KV" "$HOSTDIR/kernel.tmp"    # trixie's riscv64 vmlinux-* is the (EFI-stub) Image
      KFORM="Image"
    elif [ "$ARCH" = aarch64 ]; then
      if gzip -t "$KDIR/boot/vmlinuz-$KV" 2>/dev/null; then
        gzip -dc "$KDIR/boot/vmlinuz-$KV" > "$HOSTDIR/kernel.tmp"
      else
        cp "$KDIR/boot/vmlinuz-$KV" "$HOSTDIR/kernel.tmp"
      fi
      KFORM="Image"
    elif mv_extract_vmlinux "$KDIR/boot/vmlinuz-$KV" "$HOSTDIR/kernel.tmp"; then
      KFORM="vmlinux (PVH)"
    else
      cp "$KDIR/boot/vmlinuz-$KV" "$HOSTDIR/kernel.tmp"
      KFORM="bzImage"
    fi
    mv "$HOSTDIR/kernel.tmp" "$HOSTDIR/kernel"
    if [ -n "${USERLAND_PKGS:-}" ]; then
      U=$(mktemp -d "$HOSTDIR/.userland.XXXXXX")
      build_userland "$U" $USERLAND_STAMP
      rm -rf "$HOSTDIR/userland"
      mv "$U" "$HOSTDIR/userland"
      KFORM="$KFORM, userland $(du -sm "$HOSTDIR/userland" | cut -f1) MB"
    fi
    rm -f "$HOSTDIR/vmlinuz" "$HOSTDIR/initrd.gz"
    printf '%s\n' "$WANT" > "$HOSTDIR/stamp"
    mv_log "emulated host: built $HOSTDIR/kernel [$KFORM] + initrd.cpio ($KPKG $KVER; modules: ${ORDER[*]})"
  fi
  mv_unlock
fi

# ---- MESOVIRT_HOST_EXTRA_PKGS: the userland plus more packages, in a directory (and stamp) of its own -------------
USERLAND_DIR=$HOSTDIR/userland
EXTRA_PKGS=$(echo ${MESOVIRT_HOST_EXTRA_PKGS:-})
if [ -n "$EXTRA_PKGS" ]; then
  [ -n "${USERLAND_PKGS:-}" ] || mv_die "MESOVIRT_HOST_EXTRA_PKGS: the $ARCH host runs this machine's own programs; install $EXTRA_PKGS here" 2
  # shellcheck disable=SC2086
  mv_apt_ready $EXTRA_PKGS
  # The closure apt would install into an empty system (the private state's dpkg status is empty), no recommends.
  mapfile -t o < <(mv_apt_opts)
  # shellcheck disable=SC2086
  sim=$(apt-get -q "${o[@]}" -s install --no-install-recommends $EXTRA_PKGS 2>&1) \
    || mv_die "MESOVIRT_HOST_EXTRA_PKGS=$EXTRA_PKGS cannot be resolved in $MV_FOREIGN: $sim" 2
  declare -A EXTRA_SEEN
  EXTRA_LIST=
  for p in ${USERLAND_PKGS}; do EXTRA_SEEN[$p]=1; done
  while read -r pv; do
    [ -n "${EXTRA_SEEN[${pv%%=*}]:-}" ] || EXTRA_LIST="$EXTRA_LIST $pv"
  done < <(printf '%s\n' "$sim" | sed -n 's/^Inst \([^ ]*\) (\([^ ]*\) .*/\1=\2/p' | LC_ALL=C sort)
  USERLAND_DIR=$HOSTDIR/userland+${EXTRA_PKGS// /+}
  EXTRA_WANT="$WANT
extra=$EXTRA_LIST"
  extra_ready() { [ "$(cat "$USERLAND_DIR.stamp" 2>/dev/null)" = "$EXTRA_WANT" ] && [ -d "$USERLAND_DIR/usr" ]; }
  if ! extra_ready; then
    mv_lock
    if ! extra_ready; then
      rm -f "$USERLAND_DIR.stamp"
      U=$(mktemp -d "$HOSTDIR/.userland.XXXXXX")
      # shellcheck disable=SC2086
      build_userland "$U" $USERLAND_STAMP $EXTRA_LIST
      rm -rf "$USERLAND_DIR"
      mv "$U" "$USERLAND_DIR"
      printf '%s\n' "$EXTRA_WANT" > "$USERLAND_DIR.stamp"
      mv_log "emulated host: built $USERLAND_DIR (userland + $(echo $EXTRA_LIST | wc -w) packages for $EXTRA_PKGS, $(du -sm "$USERLAND_DIR" | cut -f1) MB)"
    fi
    mv_unlock
  fi
fi

# ---- per-run work dir: the wrapper that sets up the environment and runs SCRIPT ----------------------------------
RUNDIR=$(mktemp -d "$HOSTDIR/runs/run.XXXXXX")
QPID=
cleanup() {
  [ -n "$QPID" ] && kill "$QPID" 2>/dev/null || true
  rm -rf "$RUNDIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# Stale run dirs of killed runs (older than a day).
find "$HOSTDIR/runs" -mindepth 1 -maxdepth 1 -mtime +1 -exec rm -rf {} + 2>/dev/null || true

SCRIPT_ABS=$(readlink -f "$SCRIPT")
CWD=$(pwd -P)
# The directories that must be visible at their own paths inside, wherever this machine has them (the host's init
# shows each one that its root would otherwise hide, e.g. under its fresh /tmp or, on arm64/riscv64, under a system
# directory of its userland): the caller's cwd, the script's project, the cache and HOME.
PATHS="$CWD
$MV_CACHE"
[ -d "$HOME" ] && PATHS="$PATHS
$(cd "$HOME" && pwd -P)"
case ${SCRIPT_ABS%/*} in
  /tmp|/run) # a loose script in /tmp itself: copied (the host's /tmp is its own); its siblings are not
    cp "$SCRIPT_ABS" "$RUNDIR/$(basename "$SCRIPT_ABS")"; SCRIPT_ABS=$RUNDIR/$(basename "$SCRIPT_ABS") ;;
  *) PATHS="$PATHS
${SCRIPT_ABS%/*}" ;;
esac

OUT_SHARE=
if [ -n "${MESOVIRT_HOST_OUT:-}" ]; then
  mkdir -p "$MESOVIRT_HOST_OUT"
  OUT_SHARE=$(cd "$MESOVIRT_HOST_OUT" && pwd -P)
  case $OUT_SHARE in /tmp|/run) mv_die "MESOVIRT_HOST_OUT must be a directory below /tmp or /run, not $OUT_SHARE itself" 2 ;; esac
fi

{
  echo '# generated by ci/emulated-host.sh'
  echo 'export MESOVIRT_IN_EMULATED_HOST=1'
  printf 'export HOME=%q LANG=%q\n' "$HOME" "${LANG:-C.UTF-8}"
  for v in $(compgen -e); do
    case $v in
      MESOVIRT_*|JAVA_HOME|MAVEN_OPTS|JAVA_TOOL_OPTIONS|CI) [ "$v" = MESOVIRT_IN_EMULATED_HOST ] || printf 'export %s=%q\n' "$v" "${!v}" ;;
    esac
  done
  for v in ${MESOVIRT_HOST_ENV:-}; do
    [[ $v =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || mv_die "MESOVIRT_HOST_ENV: '$v' is not a variable name" 2
    [ -n "${!v+set}" ] && printf 'export %s=%q\n' "$v" "${!v}"
  done
  [ -n "$OUT_SHARE" ] && printf 'export MESOVIRT_HOST_OUT=%q\n' "$OUT_SHARE"
  # The caller's JDK is an x86_64 one; in the aarch64 host only the userland's arm64 JDK runs.
  [ -n "${USERLAND_JAVA_HOME:-}" ] && printf 'export JAVA_HOME=%q\n' "$USERLAND_JAVA_HOME"
  printf 'exec /bin/bash %q' "$SCRIPT_ABS"
  for a in "$@"; do printf ' %q' "$a"; done
  echo
} > "$RUNDIR/wrapper.sh"

b64() { printf '%s' "$1" | base64 -w0; }
CONSOLE=ttyS0
[ "$ARCH" = aarch64 ] && CONSOLE=ttyAMA0
APPEND="console=$CONSOLE panic=-1 quiet host.run=$(b64 "$RUNDIR/wrapper.sh") host.cwd=$(b64 "$CWD") host.paths=$(b64 "$PATHS")"
[ -n "$OUT_SHARE" ] && APPEND="$APPEND host.out=$(b64 "$OUT_SHARE")"
[ -n "${MESOVIRT_HOST_APPEND:-}" ] && APPEND="$APPEND $MESOVIRT_HOST_APPEND"

LOG=${MESOVIRT_HOST_LOG:-$HOSTDIR/logs/$(date +%Y%m%d-%H%M%S)-$$.log}
mkdir -p "$(dirname "$LOG")"
: > "$LOG"
# Keep the last 20 default logs.
if [ -z "${MESOVIRT_HOST_LOG:-}" ]; then
  ls -1t "$HOSTDIR/logs"/*.log 2>/dev/null | tail -n +21 | xargs -r rm -f
fi

if [ "$ARCH" = riscv64 ]; then
  # h: the hypervisor extension; smaia/ssaia + aia=aplic-imsic: the AIA; aia-guests=7: guest interrupt files, without
  # which KVM offers only the emulated AIA mode; sv57=false: the JVM aborts on "Unsupported satp mode: SV57".
  QARGS=(-M virt,aia=aplic-imsic,aia-guests=7 -cpu rv64,h=true,smaia=true,ssaia=true,sv57=false -bios default)
elif [ "$ARCH" = aarch64 ]; then
  # EL2 for KVM, GICv3 for the in-kernel vGICv3; pauth=off: emulating pointer authentication makes it ~4x slower.
  QARGS=(-M virt,virtualization=on,gic-version=3 -cpu max,pauth=off)
else
  QARGS=(-cpu max)
fi
QARGS+=(-accel tcg -m "$MEM" -smp "$SMP" -nodefaults -no-user-config -display none -monitor none -no-reboot
  # The console goes to a file, not stdio: works without a TTY (CI), and the log survives for diagnosis.
  -chardev "file,id=con,path=$LOG,append=on" -serial chardev:con
  -kernel "$HOSTDIR/kernel" -initrd "$HOSTDIR/initrd.cpio" -append "$APPEND"
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap
  -device virtio-rng-pci)
[ -n "${USERLAND_PKGS:-}" ] && QARGS+=(-virtfs "local,path=$USERLAND_DIR,mount_tag=userland,security_model=none,readonly=on,multidevs=remap")
[ -n "$OUT_SHARE" ] && QARGS+=(-virtfs "local,path=$OUT_SHARE,mount_tag=hostout,security_model=none,multidevs=remap")
# Debugging aid, e.g. MESOVIRT_HOST_QEMU_ARGS="-d cpu_reset,guest_errors -D /root/qemu-debug.log" (word-split).
# shellcheck disable=SC2206
[ -n "${MESOVIRT_HOST_QEMU_ARGS:-}" ] && QARGS+=($MESOVIRT_HOST_QEMU_ARGS)

# Boot watchdog: TCG emulating nested virtualization now and then hangs the host's own kernel while it boots (seen:
# "soft lockup - CPU#1 stuck" from 28 s of uptime, no HOST-UP ever). Before HOST-UP nothing of SCRIPT has run, so
# such a host is killed and booted again, rather than left to the run's whole timeout.
BOOT_TIMEOUT=${MESOVIRT_HOST_BOOT_TIMEOUT:-240}
BOOT_ATTEMPTS=${MESOVIRT_HOST_BOOT_ATTEMPTS:-3}
mv_log "emulated host: $QEMU (TCG) -m $MEM -smp $SMP, timeout ${TIMEOUT}s, log $LOG"
START=$(date +%s.%N)
for attempt in $(seq 1 "$BOOT_ATTEMPTS"); do
  FROM=$(($(stat -c %s "$LOG") + 1))
  timeout -k 10 "$TIMEOUT" "$QEMU" "${QARGS[@]}" </dev/null >>"$LOG" 2>&1 &
  QPID=$!
  TPID=
  if [ "$QUIET" != 1 ]; then
    # Stream the console while it is written; serial output has CR LF line ends; the heartbeat is for the watchdog.
    tail -c "+$FROM" -f --pid="$QPID" "$LOG" | tr -d '\r' | grep --line-buffered -v '^HOST-ALIVE ' &
    TPID=$!
  fi
  booted=0 hung=
  t0=$SECONDS
  while kill -0 "$QPID" 2>/dev/null; do
    if tail -c "+$FROM" "$LOG" | grep -q '^HOST-UP'; then
      booted=1
      break
    fi
    if tail -c "+$FROM" "$LOG" | grep -q -E 'soft lockup|Kernel panic'; then
      hung="its kernel locked up or panicked while booting"
    elif [ $((SECONDS - t0)) -ge "$BOOT_TIMEOUT" ]; then
      hung="no HOST-UP after ${BOOT_TIMEOUT}s (MESOVIRT_HOST_BOOT_TIMEOUT)"
    fi
    [ -n "$hung" ] && break
    sleep 1
  done
  if [ -n "$hung" ] && [ "$attempt" -lt "$BOOT_ATTEMPTS" ]; then
    kill "$QPID" 2>/dev/null
    wait "$QPID" 2>/dev/null
    [ -n "$TPID" ] && wait "$TPID" 2>/dev/null
    mv_log "emulated host: $hung; booting it again (attempt $((attempt + 1)) of $BOOT_ATTEMPTS)"
    printf '\n=== ci/emulated-host.sh: boot attempt %s failed: %s\n' "$attempt" "$hung" >>"$LOG"
    continue
  fi
  break
done
# Run watchdog: the same TCG trouble can wedge a host that is up, either reporting it (seen: "soft lockup - CPU#0
# stuck for 749s! [java]" with RCU stalls, never recovering) or silently (seen: no console output at all for 15
# minutes). A soft lockup of LOCKUP_LIMIT seconds, or a console without even the init's 20 s heartbeat (HOST-ALIVE)
# for SILENCE_LIMIT seconds, ends the run as a host failure (125, which callers retry) instead of waiting for the
# run's whole timeout.
LOCKUP_LIMIT=${MESOVIRT_HOST_LOCKUP_LIMIT:-150}
SILENCE_LIMIT=${MESOVIRT_HOST_SILENCE_LIMIT:-240}
WEDGED=
if [ "$booted" = 1 ]; then
  size=-1 since=$SECONDS
  while kill -0 "$QPID" 2>/dev/null; do
    now_size=$(stat -c %s "$LOG")
    if [ "$now_size" != "$size" ]; then
      size=$now_size since=$SECONDS
      stuck=$(tail -c "+$FROM" "$LOG" | sed -n 's/.*soft lockup - CPU#[0-9]* stuck for \([0-9]*\)s.*/\1/p' | sort -n | tail -n 1)
      if [ -n "$stuck" ] && [ "$stuck" -ge "$LOCKUP_LIMIT" ]; then
        WEDGED="its kernel stayed in a soft lockup for ${stuck}s (MESOVIRT_HOST_LOCKUP_LIMIT=$LOCKUP_LIMIT)"
      fi
    elif [ $((SECONDS - since)) -ge "$SILENCE_LIMIT" ]; then
      WEDGED="its console was silent for ${SILENCE_LIMIT}s, heartbeat included (MESOVIRT_HOST_SILENCE_LIMIT)"
    fi
    if [ -n "$WEDGED" ]; then
      kill "$QPID" 2>/dev/null
      break
    fi
    sleep 2
  done
fi
set +e
wait "$QPID"
QRC=$?
set -e
QPID=
[ -n "$TPID" ] && wait "$TPID" 2>/dev/null
ELAPSED=$(awk -v s="$START" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')

show_tail() {
  if [ "$QUIET" = 1 ]; then
    mv_log "---- last 40 lines of $LOG ----"
    tail -n 40 "$LOG" | tr -d '\r' >&2
    mv_log "----"
  fi
}

RC=$(tr -d '\r' < "$LOG" | sed -n 's/^HOST-RC=\([0-9][0-9]*\)$/\1/p' | tail -n 1)
if [ -z "$RC" ]; then
  show_tail
  if [ -n "$WEDGED" ]; then
    mv_log "ERROR: the emulated host was killed: $WEDGED; log $LOG"
  elif grep -q '^HOST-SETUP-FAILED:' "$LOG"; then
    # The host came up but cannot do what was asked (a directory it cannot show, ...): the caller's problem, not a
    # dead host, so not 125 (which callers retry).
    mv_log "ERROR: $(tr -d '\r' < "$LOG" | sed -n 's/^HOST-SETUP-FAILED: //p' | head -n 1) (emulated host set-up; log $LOG)"
    exit 2
  elif grep -q '^HOST: no /dev/kvm' "$LOG"; then
    mv_log "ERROR: HOST: no /dev/kvm (KVM did not come up in the emulated host; see $LOG)"
  elif [ "$QRC" = 124 ] || [ "$QRC" = 137 ]; then
    mv_log "ERROR: emulated host timed out after ${TIMEOUT}s (MESOVIRT_HOST_TIMEOUT) without a HOST-RC marker; log $LOG"
  elif grep -q 'Kernel panic' "$LOG"; then
    mv_log "ERROR: the emulated host's kernel panicked (qemu exit $QRC after ${ELAPSED}s) before HOST-RC; log $LOG"
  elif ! grep -q 'reboot: Power down' "$LOG"; then
    # -no-reboot turns a reset (triple fault, reboot) into a clean QEMU exit, so this is the only trace of it.
    mv_log "ERROR: the emulated host reset itself or QEMU died (qemu exit $QRC after ${ELAPSED}s, no power-off, no HOST-RC); log $LOG"
  else
    mv_log "ERROR: emulated host powered off (qemu exit $QRC after ${ELAPSED}s) without a HOST-RC marker: its init failed (see HOST: lines); log $LOG"
  fi
  exit 125
fi
[ "$RC" = 0 ] || show_tail
mv_log "emulated host: script exit code $RC, ${ELAPSED}s wall"
exit "$RC"
}
