# shellcheck shell=bash
# The harness of the real-guest test scripts in ci/tests (sourced): each script is a list of case_NAME functions that
# boot Mesovirt inside an emulated KVM host and check the guest's console markers (ci/guest/init.sh) and exit code.
#
#   tests_enter ARCH LABEL SCRIPT [ARGS...]   outside the emulated host: checks the dist, refreshes ARCH's guest
#                      images and runs SCRIPT ARGS inside the emulated ARCH host, then exits with its code (and the wall
#                      time); inside: returns, with IMG (the guest images), WORK (a scratch directory in the host's
#                      /tmp), MESOVIRT (the launcher; MESOVIRT_BIN names a copy of the dist, e.g. while others rebuild)
#   begin NAME / run_vm LOG ARGS... / check LOG WHAT COMMAND... / finish LOG    one case
#   has LOG REGEX      whether the console has a line matching the extended regular expression (CR LF line ends: the
#                      guest's tty output processing; the CR is not part of the line)
#   run_cases LABEL "ALL CASES" [CASE...]    runs the cases given (default: all), ends with "N passed, M failed";
#                      its status is 0 only if all passed
#   tap_namespace NS   a network namespace with a TAP for virtio-net tests
#   virtiofsd_start, FS_GUEST, fs_checks    a virtio-fs case's back-end, guest script and checks (below)
#   dt_virtio_case, dt_bad_kernel_case    the virtio and bad-kernel cases of the device-tree microVMs (aarch64, riscv64)
# Environment: MESOVIRT_CASE_TIMEOUT (seconds a VM may run, default CASE_TIMEOUT as the script sets it, else 400),
# MESOVIRT_TEST_VERBOSE=1 (print every case's whole console, not only a failing one's).

TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TESTS_ROOT=$(cd "$TESTS_DIR/../.." && pwd)
MESOVIRT=${MESOVIRT_BIN:-$TESTS_ROOT/cli/target/dist/bin/mesovirt}
PASSED=0 FAILED=0 FAILURES=""

tests_enter() {
  local arch=$1 label=$2 script=$3 t0 rc
  shift 3
  if [ "${MESOVIRT_IN_EMULATED_HOST:-}" = 1 ]; then
    IMG=${MESOVIRT_CACHE:-$HOME/.cache/mesovirt}/guest/$arch
    WORK=$(mktemp -d /tmp/mesovirt-tests.XXXXXX)
    # A JVM that crashes leaves its report where a failing case shows it (finish), not in an unknown directory.
    export MESOVIRT_JAVA_OPTS="${MESOVIRT_JAVA_OPTS:-} -XX:ErrorFile=$WORK/hs_err_%p.log"
    return 0
  fi
  [ -x "$MESOVIRT" ] || { echo "$label: $MESOVIRT missing: run 'mvn -B package' first" >&2; exit 2; }
  t0=$(now)
  bash "$TESTS_ROOT/ci/guest-image.sh" "$arch" >/dev/null || exit 2
  bash "$TESTS_ROOT/ci/emulated-host.sh" "$arch" "$script" "$@"
  rc=$?
  echo "$label: exit code $rc, $(secs "$t0")s wall in all"
  exit "$rc"
}

now() { date +%s.%N; }
secs() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1f", e - s }'; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }

# run_vm LOG ARGS...: mesovirt with stdin from /dev/null, console and stderr into LOG; sets RC and SECS.
run_vm() {
  local log=$1 t
  shift
  t=$(now)
  timeout "${MESOVIRT_CASE_TIMEOUT:-${CASE_TIMEOUT:-400}}" "$MESOVIRT" "$@" </dev/null >"$log" 2>&1
  RC=$?
  SECS=$(secs "$t")
}

# expect_error ALL LOG WHAT REGEX ARGS...: runs the VMM with ARGS (console into LOG, appended to ALL under WHAT): it
# must end with exit 1 and one line, "mesovirt: ..." matching REGEX (a bad command line or firmware file).
expect_error() {
  local all=$1 log=$2 what=$3 re=$4
  shift 4
  run_vm "$log" "$@"
  { echo "## $what (exit $RC)"; cat "$log"; } >> "$all"
  check "$all" "$what: exit 1" test "$RC" = 1
  check "$all" "$what: one line" test "$(wc -l < "$log")" = 1
  check "$all" "$what: says why ($re)" has "$log" "^mesovirt: .*$re"
}

# check LOG DESCRIPTION COMMAND...: records a failed expectation of the current case.
check() {
  local what=$2
  shift 2
  if ! "$@"; then
    CASE_OK=0
    echo "  expected: $what"
  fi
}

# Not grep -q: it stops reading at the first match, and under the scripts' pipefail tr's SIGPIPE then turns a match
# into a failure (seen on riscv64's longer hot-plug console).
has() { tr -d '\r' < "$1" | grep -E -- "$2" >/dev/null; }

begin() { CASE=$1; CASE_OK=1; SECS=0; RC=-; echo "=== $CASE"; }

finish() {
  local log=$1
  [ "${MESOVIRT_TEST_VERBOSE:-}" = 1 ] && tr -d '\r' < "$log" | sed 's/^/    | /'
  if [ "$CASE_OK" = 1 ]; then
    PASSED=$((PASSED + 1)); echo "--- PASS $CASE (${SECS}s, exit $RC)"
  else
    FAILED=$((FAILED + 1)); FAILURES="$FAILURES $CASE"
    echo "--- FAIL $CASE (${SECS}s, exit $RC); console and log:"; tr -d '\r' < "$log" | sed 's/^/    | /' | tail -80
    local h
    for h in "${WORK:-/nonexistent}"/hs_err_*.log; do
      [ -f "$h" ] || continue
      echo "    the JVM's crash report $h (its thread and stack):"
      grep -a -E -A14 '^(Current thread|Stack:|Java frames)' "$h" | head -60 | sed 's/^/    ! /'
      mv "$h" "$h.shown"
    done
  fi
}

# tap_namespace NS: a network namespace NS with a TAP, tap0, at 10.0.2.1/24 (the guest takes 10.0.2.15); run the VMM
# in it with "ip netns exec NS"; "ip netns del NS" when done.
tap_namespace() {
  ip netns add "$1" && ip netns exec "$1" ip tuntap add dev tap0 mode tap \
    && ip netns exec "$1" ip addr add 10.0.2.1/24 dev tap0 && ip netns exec "$1" ip link set tap0 up \
    && ip netns exec "$1" ip link set lo up || echo "  (network namespace set-up failed)"
}

# virtio-fs cases (x86_64-virtio.sh on the microVM, q35.sh on virtio-pci), against QEMU's virtiofsd from Debian's
# qemu-system-common (chroot sandbox: the emulated host's root is itself a chroot).
#   virtiofsd_start DIR SOCK LOG   serves DIR on SOCK, waits for the socket; VIRTIOFSD is its pid
#   FS_GUEST                       the guest's part: mount tag myfs, read the host's file, write one, unmount
#   fs_checks LOG DIR              what must have happened, in the console and in DIR; virtiofsd has exited
VIRTIOFSD_BIN=/usr/lib/qemu/virtiofsd
virtiofsd_start() {
  mkdir -p "$1"; echo "written-by-the-host" > "$1/from-host.txt"; rm -f "$2" "$1/from-guest.txt"
  "$VIRTIOFSD_BIN" --socket-path="$2" -o source="$1" -o sandbox=chroot -o cache=auto >"$3" 2>&1 &
  VIRTIOFSD=$!
  local i=0
  until [ -S "$2" ] || [ "$i" -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
}
FS_GUEST='mkdir -p /mnt/fs
if mount -t virtiofs myfs /mnt/fs; then
  echo GUEST-FS-MOUNTED
  echo "GUEST-FS-READ $(cat /mnt/fs/from-host.txt)"
  echo written-by-the-guest > /mnt/fs/from-guest.txt && sync && echo GUEST-FS-WRITTEN
  dd if=/dev/zero of=/mnt/fs/zeros bs=65536 count=64 conv=fsync 2>/dev/null && echo "GUEST-FS-ZEROS $(wc -c < /mnt/fs/zeros)"
  umount /mnt/fs && echo GUEST-FS-UNMOUNTED
else
  dmesg | grep -i -E "virtio|fuse" | tail -20
  for d in /sys/bus/virtio/devices/*; do echo "$d $(cat $d/device) $(cat $d/status 2>/dev/null) $(ls $d/driver 2>/dev/null | head -1)"; done
fi
'
fs_checks() { # LOG DIR
  local i=0
  while kill -0 "$VIRTIOFSD" 2>/dev/null && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  check "$1" "the guest mounted tag myfs (virtiofs)" has "$1" '^GUEST-FS-MOUNTED'
  check "$1" "the guest read the host's file" has "$1" '^GUEST-FS-READ written-by-the-host$'
  check "$1" "the guest's file is on the host" test "$(cat "$2/from-guest.txt" 2>/dev/null)" = written-by-the-guest
  check "$1" "4 MiB written with conv=fsync, on the host too" \
    test "$(tr -d '\r' < "$1" | sed -n 's/^GUEST-FS-ZEROS //p')" = 4194304 -a "$(wc -c < "$2/zeros" 2>/dev/null)" = 4194304
  check "$1" "the guest unmounted it" has "$1" '^GUEST-FS-UNMOUNTED'
  check "$1" "virtiofsd ended with the VMM's connection" bash -c "! kill -0 $VIRTIOFSD 2>/dev/null"
  kill "$VIRTIOFSD" 2>/dev/null; wait "$VIRTIOFSD" 2>/dev/null
  cat "$WORK/virtiofsd.log" >>"$1" 2>/dev/null
  [ -f "$WORK/vmm.log" ] && grep -i -E "vhost|fs0|virtio" "$WORK/vmm.log" | tail -30 >>"$1"
}

# The virtio case of the device-tree microVMs (aarch64, riscv64): a read-write and a read-only virtio-blk disk (the
# guest finds them by serial) and virtio-rng. The guest writes PATTERN lines to the first with conv=fsync, fails to
# write the second, reads 32 bytes of /dev/hwrng, then runs EXTRA (more guest commands, may be empty). Checks all
# of it; the caller begins and finishes the case and may check more in LOG.
dt_virtio_case() { # LOG PATTERN EXTRA [RUN_VM OPTIONS...]
  local log=$1 pattern=$2 extra=$3 script
  shift 3
  truncate -s 8M "$WORK/rw.img"; truncate -s 4M "$WORK/ro.img"
  yes "$pattern" | head -c 65536 > "$WORK/pattern"
  script='dev() { for b in /sys/block/vd*; do [ "$(cat $b/serial 2>/dev/null)" = "$1" ] && echo /dev/${b##*/}; done; }
rw=$(dev disk-rw); ro=$(dev disk-ro); echo "GUEST-BLK rw=$rw ro=$ro"
yes '"$pattern"' | head -c 65536 | dd of=$rw bs=4096 conv=fsync 2>/dev/null && echo GUEST-BLK-WRITE-OK
if echo x | dd of=$ro conv=fsync 2>/dev/null; then echo GUEST-RO-WRITE-SUCCEEDED; else echo GUEST-RO-WRITE-FAILED; fi
echo "GUEST-RNG-BYTES $(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | wc -c)"'"${extra:+
$extra}"
  run_vm "$log" "$@" -kernel "$IMG/vmlinuz-generic" -initrd "$IMG/initrd-generic.gz" -m 256 -smp 1 -serial stdio \
    -append "console=ttyS0 quiet guest.cmd=$(printf '%s' "$script" | base64 -w0)" \
    -drive id=d0,file="$WORK/rw.img" -device virtio-blk-device,drive=d0,id=blk0,serial=disk-rw \
    -drive id=d1,file="$WORK/ro.img",readonly=on -device virtio-blk-device,drive=d1,id=blk1,serial=disk-ro \
    -object rng-random,id=r0,filename=/dev/urandom -device virtio-rng-device,rng=r0,id=rng0
  check "$log" "exit code 0" test "$RC" = 0
  check "$log" "disks found by serial" has "$log" '^GUEST-BLK rw=/dev/vd. ro=/dev/vd.'
  check "$log" "guest write with conv=fsync" has "$log" '^GUEST-BLK-WRITE-OK'
  head -c 65536 "$WORK/rw.img" > "$WORK/rw.part"
  check "$log" "the pattern is in the image" cmp -s "$WORK/rw.part" "$WORK/pattern"
  check "$log" "readonly=on write failed" has "$log" '^GUEST-RO-WRITE-FAILED'
  check "$log" "/dev/hwrng gave 32 bytes" has "$log" '^GUEST-RNG-BYTES 32'
}

# The bad-kernel case of the device-tree microVMs: a gzip'd file where the Image belongs gives one clear error and
# exit 1, and no VM runs.
dt_bad_kernel_case() {
  begin bad-kernel; local log=$WORK/$CASE.log
  run_vm "$log" -machine microvm -kernel "$IMG/initrd-generic.gz" -m 256 -serial stdio
  check "$log" "exit code 1" test "$RC" = 1
  check "$log" "an error naming the file and saying to decompress it" \
    has "$log" "^mesovirt: kernel $IMG/initrd-generic.gz .*gzip.*decompress it first"
  finish "$log"
}

run_cases() {
  local label=$1 all=$2 c cases
  shift 2
  cases=${*:-$all}
  echo "$label in the emulated host: $(uname -r), $(nproc) CPUs, host up $(uptime_s)s; cases: $cases"
  for c in $cases; do
    declare -F "case_$c" >/dev/null || { echo "$label: no case '$c' (cases: $all)"; FAILED=$((FAILED + 1)); continue; }
    "case_$c"
  done
  echo "$label:${FAILURES:- none} failed"
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" = 0 ]
}
