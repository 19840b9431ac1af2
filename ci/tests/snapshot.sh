#!/bin/bash
# Snapshot and restore with a real guest (StratoVirt's interface, docs/snapshot.md there): a Debian kernel with the
# busybox test initramfs in Mesovirt's microVM, inside the emulated KVM host of ARCH (x86_64, aarch64, riscv64), its
# shell on the serial console (stdin from a FIFO), a ticker in the guest (one console line a second), a virtio-blk disk
# and 2 vCPUs.
#   - migrate on a running VM: GenericError; stop, migrate to file:DIR, query-migrate "completed", quit
#   - restore with -incoming file:DIR in a new VMM (same options): the ticker goes on from where it stopped, the
#     guest's clock does not go backwards, serial input reaches the shell, the disk reads and writes (the host finds
#     the guest's write in the image), the guest powers off cleanly (exit 0)
#   - two VMMs restored at once from the same snapshot (a template; each with its own copy of the disk) both go on
#   - a snapshot with a flipped byte, a truncated one, one of another ISA, another RAM size: one line on stderr, exit 1
#
# usage: ci/tests/snapshot.sh [ARCH]   (default x86_64) Ends with "N passed, M failed". MESOVIRT_BIN as in
#        ci/tests/lib.sh.
set -uo pipefail
# A VMM that dies leaves its stdin FIFO without a reader: a write to it must fail a check, not kill this script.
trap '' PIPE
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# MESOVIRT_BIN: a copy of the dist's launcher (e.g. while the tree is rebuilt); mesovirt-qmp is taken next to it.
MESOVIRT=${MESOVIRT_BIN:-$ROOT/cli/target/dist/bin/mesovirt}
QMPC=$(dirname "$MESOVIRT")/mesovirt-qmp
CASE_TIMEOUT=${MESOVIRT_CASE_TIMEOUT:-900}
ARCH=${1:-x86_64}
case $ARCH in
  x86_64) KERNEL=vmlinuz-cloud INITRD=initrd-cloud.gz OTHER_ISA=aarch64 ;;
  aarch64 | riscv64) KERNEL=vmlinuz-generic INITRD=initrd-generic.gz OTHER_ISA=x86_64 ;;
  *) echo "snapshot tests: no snapshot support on '$ARCH' (x86_64, aarch64, riscv64)" >&2; exit 2 ;;
esac
# A valid state file of the other ISA's microVM (the snapshot format's fuzz seeds), for the other-ISA check.
OTHER_STATE=$ROOT/vmm-api/src/test/resources/dev/mesovirt/vmm/snapshot/SnapshotFormatFuzzTargetInputs/decode/header-$OTHER_ISA

if [ "${MESOVIRT_IN_EMULATED_HOST:-}" != 1 ]; then
  [ -x "$MESOVIRT" ] || { echo "snapshot tests: $MESOVIRT missing: run 'mvn -B package' first" >&2; exit 2; }
  bash "$ROOT/ci/guest-image.sh" "$ARCH" >/dev/null || exit 2
  exec bash "$ROOT/ci/emulated-host.sh" "$ARCH" "$HERE/snapshot.sh" "$ARCH"
fi

IMG=${MESOVIRT_CACHE:-$HOME/.cache/mesovirt}/guest/$ARCH
WORK=$(mktemp -d /tmp/mesovirt-snap.XXXXXX)
SNAP=$WORK/snap
OK=1
FAILS=""
export MESOVIRT_JAVA_OPTS=${MESOVIRT_JAVA_OPTS:--XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData}
# arm64: two of five runs saw the JVM die of SIGSEGV inside libjvm (once before any snapshot code ran), none of the
# runs with the JVM's SVE code off; the emulated host's CPU is TCG's -cpu max, whose SVE emulation is the suspect.
[ "$ARCH" = aarch64 ] && [ -z "${MESOVIRT_SNAPSHOT_KEEP_SVE:-}" ] && MESOVIRT_JAVA_OPTS="$MESOVIRT_JAVA_OPTS -XX:UseSVE=0"

check() { # DESCRIPTION COMMAND...
  if "${@:2}"; then echo "  ok: $1"; else OK=0; FAILS="$FAILS|$1"; echo "  FAILED: $1"; fi
}
has() { grep -q -E -- "$2" "$1"; }
lines() { tr -d '\r' < "$1"; }
wait_for() { # LOG PID REGEX SECONDS: waits for a console line while PID lives
  local i=0
  until lines "$1" | grep -q -E -- "$3"; do
    kill -0 "$2" 2>/dev/null || return 1
    [ "$i" -ge "$4" ] && return 1
    sleep 1; i=$((i + 1))
  done
}
qmp() { # SOCKET OUTFILE STEP...: one mesovirt-qmp session
  local sock=$1 out=$2; shift 2
  timeout 300 "$QMPC" "$sock" "$@" > "$out.raw" 2>&1
  local rc=$?
  sed 's/": /":/g; s/, "/,"/g; s/, {/,{/g' "$out.raw" > "$out"
  sed 's/^/    qmp> /' "$out" | cut -c1-220
  return $rc
}
tick_lines() { lines "$1" | grep -o 'TICK [0-9]* [0-9.]*'; }
last_tick() { tick_lines "$1" | tail -1 | cut -d' ' -f2; }
first_tick() { tick_lines "$1" | head -1 | cut -d' ' -f2; }
uptime_of() { tick_lines "$1" | grep "^TICK $2 " | tail -1 | cut -d' ' -f3; }
# vm NAME DISK [OPTIONS...]: a VMM in the background, console in $WORK/NAME.log, stdin from $WORK/NAME.in (fd
# opened by the caller), QMP on $WORK/NAME.sock; sets PID_NAME.
vm() {
  local name=$1 disk=$2; shift 2
  rm -f "$WORK/$name.in"; mkfifo "$WORK/$name.in"
  timeout "$CASE_TIMEOUT" "$MESOVIRT" -kernel "$IMG/$KERNEL" -initrd "$IMG/$INITRD" \
    -append "console=ttyS0 quiet guest.shell=1" -m 256 -smp 2 -serial stdio -qmp "unix:$WORK/$name.sock,server,nowait" \
    -drive id=d0,file="$disk" -device virtio-blk-device,drive=d0,id=blk0,serial=snap-disk -D "$WORK/$name.vmm.log" "$@" \
    <"$WORK/$name.in" >"$WORK/$name.log" 2>&1 &
  eval "PID_$name=$!"
}
# The guest's shell: the device of the disk with serial snap-disk.
DEV='d=; for b in /sys/block/vd*; do [ "$(cat $b/serial)" = snap-disk ] && d=/dev/${b##*/}; done'

echo "=== snapshot ($ARCH, $(uname -r) host with $(nproc) CPUs)"
T0=$(date +%s)
truncate -s 8M "$WORK/disk.img"

# --- the template VM
vm a "$WORK/disk.img"
exec 3>"$WORK/a.in"
if ! wait_for "$WORK/a.log" "$PID_a" '^GUEST-SHELL' 300; then
  echo "--- FAIL snapshot: no guest shell"; lines "$WORK/a.log" | tail -40 | sed 's/^/    | /'; echo "0 passed, 1 failed"; exit 1
fi
sleep 1
echo "$DEV; echo BEFORE-SNAPSHOT | dd of=\$d bs=512 conv=fsync 2>/dev/null && echo DISK-A-OK" >&3
printf '%s\n' '(i=0; while :; do i=$((i+1)); echo "TICK $i $(cut -d" " -f1 /proc/uptime)"; sleep 1; done) &' >&3
wait_for "$WORK/a.log" "$PID_a" 'TICK 4 ' 90
check "the template guest wrote its disk" has "$WORK/a.log" '^DISK-A-OK'
qmp "$WORK/a.sock" "$WORK/q1" "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"file:$SNAP\"}}" query-migrate
check "migrate of a running VM: GenericError" has "$WORK/q1" '"class":"GenericError","desc":"snapshot: the VM must be paused'
check "query-migrate before any snapshot: no status" has "$WORK/q1" '"return":\{\}'
T1=$(date +%s.%N)
qmp "$WORK/a.sock" "$WORK/q2" stop "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"file:$SNAP\"}}" query-migrate
T2=$(date +%s)
N=$(last_tick "$WORK/a.log"); U=$(uptime_of "$WORK/a.log" "$N")
echo "  snapshot taken at TICK $N (guest uptime $U s) in about $((T2 - ${T1%.*})) s (stop, migrate, query-migrate)"
check "migrate returned" test "$(grep -c '"return":{}' "$WORK/q2")" -ge 2
check "query-migrate: completed" has "$WORK/q2" '"status":"completed"'
check "the snapshot directory has state and memory" test -s "$SNAP/state" -a -s "$SNAP/memory"
check "memory file: 256 MiB" test "$(stat -c %s "$SNAP/memory" 2>/dev/null)" = 268435456
echo "  state file: $(stat -c %s "$SNAP/state" 2>/dev/null) bytes; memory file: $(du -k "$SNAP/memory" | cut -f1) KiB on disk (sparse)"
grep -h -o 'snapshot of .*' "$WORK/a.vmm.log" | sed 's/^/  VMM: /'
qmp "$WORK/a.sock" "$WORK/q3" quit 'event:SHUTDOWN:15'
exec 3>&-
wait "$PID_a"; RC=$?
check "the template VMM exits 0 after quit" test "$RC" = 0

# --- restore
cp "$WORK/disk.img" "$WORK/disk-c.img"; cp "$WORK/disk.img" "$WORK/disk-d.img"
R0=$(date +%s.%N)
vm b "$WORK/disk.img" -incoming "file:$SNAP"
exec 3>"$WORK/b.in"
wait_for "$WORK/b.log" "$PID_b" "TICK $((N + 1)) " 120
R1=$(date +%s.%N)
wait_for "$WORK/b.log" "$PID_b" "TICK $((N + 3)) " 120
echo "  restored VMM's console: first tick $(first_tick "$WORK/b.log"), $(awk -v a="$R0" -v b="$R1" 'BEGIN { printf "%.1f", b - a }') s from starting the VMM (a JVM) to TICK $((N + 1))"
F=$(first_tick "$WORK/b.log")
check "the counter goes on after restore (TICK $N -> ${F:-none})" test -n "$F" -a "${F:-0}" -gt "$N" -a "${F:-0}" -le "$((N + 2))"
# The guest's step from its last tick before the snapshot to its first after: the rest of that period's sleep plus
# the ticker's fork and exec on pages the restored VM faults in from the snapshot file (2.54 s seen on nested x86_64,
# 2.44 s on arm64). STEP: 4 s, or the template's longest ticker period plus 1 s where the nested guest ticks slower; it
# must stay under the wall-clock time from stop to that first tick, which a clock counting the pause would add.
STEP=$(tick_lines "$WORK/a.log" | awk '{ if (NR > 1 && $3 - p > g) g = $3 - p; p = $3 } END { g += 1; print (g > 4 ? g : 4) }')
GAP=$(awk -v a="$T1" -v b="$R1" 'BEGIN { printf "%.1f", b - a }')
check "the guest's clock does not go backwards, nor count the time from stop to restore ($U -> $(uptime_of "$WORK/b.log" "${F:-0}"), at most $STEP s on; stop to first tick: $GAP s of wall clock)" \
  awk -v a="$U" -v b="$(uptime_of "$WORK/b.log" "${F:-0}")" -v step="$STEP" -v gap="$GAP" \
  'BEGIN { exit !(b != "" && b >= a && b - a < step && gap > step + 1) }'
grep -h -E 'restored from|WARN' "$WORK/b.vmm.log" | cut -c1-200 | sed 's/^/  VMM: /'
echo 'echo SERIAL-INPUT-$((6 * 7))' >&3
wait_for "$WORK/b.log" "$PID_b" '^SERIAL-INPUT-42' 60
check "serial input reaches the restored guest's shell" has "$WORK/b.log" '^SERIAL-INPUT-42'
echo "$DEV; echo 3 > /proc/sys/vm/drop_caches; echo \"READ-BACK \$(head -c 15 \$d)\"; echo AFTER-RESTORE | dd of=\$d bs=512 seek=8 conv=fsync 2>/dev/null && echo DISK-B-OK" >&3
wait_for "$WORK/b.log" "$PID_b" '^DISK-B-OK' 60
check "the restored guest reads its disk" has "$WORK/b.log" '^READ-BACK BEFORE-SNAPSHOT'
check "the restored guest's write reached the image" \
  test "$(dd if="$WORK/disk.img" bs=512 skip=8 count=1 2>/dev/null | head -c 13)" = AFTER-RESTORE
echo 'exit' >&3
wait "$PID_b"; RC=$?
exec 3>&-
check "the restored guest powers off cleanly (exit 0, GUEST-DONE)" test "$RC" = 0 -a -n "$(lines "$WORK/b.log" | grep '^GUEST-DONE')"

# --- two at once from the same snapshot
vm c "$WORK/disk-c.img" -incoming "file:$SNAP"
vm d "$WORK/disk-d.img" -incoming "file:$SNAP"
exec 4>"$WORK/c.in" 5>"$WORK/d.in"
wait_for "$WORK/c.log" "$PID_c" "TICK $((N + 3)) " 180
wait_for "$WORK/d.log" "$PID_d" "TICK $((N + 3)) " 180
check "first concurrent restore goes on (first tick $(first_tick "$WORK/c.log"))" has "$WORK/c.log" "TICK $((N + 3)) "
check "second concurrent restore goes on (first tick $(first_tick "$WORK/d.log"))" has "$WORK/d.log" "TICK $((N + 3)) "
# The answer is waited for before the shell is told to exit, as for b: one check per step, so a failure says which.
# Not anchored: the ticker's lines share the console and can land just before the answer.
echo 'echo C-$((1 + 1))' >&4
echo 'echo D-$((2 + 2))' >&5
wait_for "$WORK/c.log" "$PID_c" 'C-2' 60
wait_for "$WORK/d.log" "$PID_d" 'D-4' 60
check "each got its own serial input" test -n "$(lines "$WORK/c.log" | grep 'C-2')" -a -n "$(lines "$WORK/d.log" | grep 'D-4')" \
  -a -z "$(lines "$WORK/c.log" | grep 'D-4')" -a -z "$(lines "$WORK/d.log" | grep 'C-2')"
echo 'exit' >&4
echo 'exit' >&5
wait "$PID_c"; RC_C=$?
wait "$PID_d"; RC_D=$?
exec 4>&- 5>&-
check "both power off cleanly (exit $RC_C and $RC_D)" test "$RC_C" = 0 -a "$RC_D" = 0 \
  -a -n "$(lines "$WORK/c.log" | grep '^GUEST-DONE')" -a -n "$(lines "$WORK/d.log" | grep '^GUEST-DONE')"

# --- broken snapshots
bad() { # NAME REGEX: -incoming from $WORK/NAME gives one line matching REGEX and exit 1
  local out rc
  out=$("$MESOVIRT" -kernel "$IMG/$KERNEL" -m 256 -smp 2 -serial none \
    -drive id=d0,file="$WORK/disk.img" -device virtio-blk-device,drive=d0,id=blk0,serial=snap-disk \
    -incoming "file:$WORK/$1" 2>&1 </dev/null); rc=$?
  echo "    $1 -> exit $rc: $out" | cut -c1-220
  check "$1: exit 1 and one line matching '$2'" \
    test "$rc" = 1 -a "$(printf '%s\n' "$out" | wc -l)" = 1 -a -n "$(printf '%s' "$out" | grep -E -- "$2")"
}
mkdir -p "$WORK/flipped" "$WORK/truncated" "$WORK/other-isa"
ln -s "$SNAP/memory" "$WORK/flipped/memory"; ln -s "$SNAP/memory" "$WORK/truncated/memory"
ln -s "$SNAP/memory" "$WORK/other-isa/memory"; cp "$OTHER_STATE" "$WORK/other-isa/state"
cp "$SNAP/state" "$WORK/flipped/state"
printf 'X' | dd of="$WORK/flipped/state" bs=1 seek=2000 conv=notrunc 2>/dev/null
head -c 1000 "$SNAP/state" > "$WORK/truncated/state"
bad flipped '^mesovirt: snapshot: .*corrupted \(CRC32C mismatch\)$'
bad truncated '^mesovirt: snapshot: .*truncated'
bad other-isa "^mesovirt: snapshot: taken on $OTHER_ISA, this VMM runs $ARCH\$"
out=$("$MESOVIRT" -kernel "$IMG/$KERNEL" -m 128 -smp 2 -serial none -incoming "file:$SNAP" 2>&1 </dev/null); rc=$?
echo "    -m 128 -> exit $rc: $out" | cut -c1-220
check "another RAM size: exit 1, one line" test "$rc" = 1 -a "$out" = "mesovirt: snapshot: has 256 MiB of RAM, the command line asks for 128 MiB"

echo "  $(( $(date +%s) - T0 ))s in all"
if [ "$OK" = 1 ]; then
  echo "--- PASS snapshot"; echo "1 passed, 0 failed"; exit 0
fi
echo "--- FAIL snapshot:$FAILS"
# Latest first (CI shows a bounded part of the output); the restored consoles' last lines with their ticks.
for l in d c b; do
  [ -f "$WORK/$l.log" ] && { echo "  console of $l:"; lines "$WORK/$l.log" | tail -25 | sed 's/^/    | /'; }
done
[ -f "$WORK/a.log" ] && { echo "  console of a:"; lines "$WORK/a.log" | grep -v '^TICK' | tail -30 | sed 's/^/    | /'; }
echo "0 passed, 1 failed"; exit 1
