#!/bin/bash
# QMP against a real guest: a Debian kernel with the busybox test initramfs in Mesovirt, inside the emulated KVM host
# of ARCH, driven over -qmp by bin/mesovirt-qmp (a small client in the distribution), with the guest's shell on the
# serial console (stdin from a FIFO) for the guest's side of hot-plug and of the power button.
#   - stop: a ticker in the guest (one console line a second) stops advancing; cont: it goes on; the guest's clock
#     does not count the paused time (kvmclock frozen, as QEMU does); STOP and RESUME events
#   - hot-plug: blockdev-add + device_add virtio-blk-mmio into a replaceable slot, whose empty drive the guest bound
#     at boot (StratoVirt's model: no re-probe); the guest reads the disk's pattern and writes its own, which the
#     host finds in the image; device_del gives DEVICE_DELETED, blockdev-del frees the drive, and the guest's disk
#     has no sectors again; with cache.direct=on (O_DIRECT) where the host's /tmp takes it (tmpfs since Linux 6.6:
#     the arm64 and riscv64 hosts' kernels), so that the seccomp filter meets what the JDK does for an O_DIRECT disk
#   - system_reset: a RESET event, and the guest boots again in the same process (a second GUEST-SHELL); the
#     ticker of the first boot is gone
#   - system_powerdown (x86_64: ACPI GED + power button; aarch64: PL061 + gpio-keys): a POWERDOWN event, and the
#     rebooted guest reads KEY_POWER from its "Power Button"/"gpio-keys" input device; riscv64 has no power button
#     (as QEMU's virt board): a GenericError
#   - quit: a SHUTDOWN event with reason host-qmp-quit, exit code 0
#
# usage: ci/tests/qmp-guest.sh ARCH     (x86_64, aarch64 or riscv64)      Ends with "N passed, M failed".
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
MESOVIRT=$ROOT/cli/target/dist/bin/mesovirt
QMPC=$ROOT/cli/target/dist/bin/mesovirt-qmp
CASE_TIMEOUT=${MESOVIRT_CASE_TIMEOUT:-900}
ARCH=${1:-}
case $ARCH in
  x86_64) FLAVOUR=cloud KEY_DEVICE='Power Button' ;;
  aarch64) FLAVOUR=generic KEY_DEVICE='gpio-keys' ;;
  riscv64) FLAVOUR=generic KEY_DEVICE= ;;
  *) echo "usage: $0 x86_64|aarch64|riscv64" >&2; exit 2 ;;
esac

if [ "${MESOVIRT_IN_EMULATED_HOST:-}" != 1 ]; then
  [ -x "$MESOVIRT" ] || { echo "$ARCH QMP tests: $MESOVIRT missing: run 'mvn -B package' first" >&2; exit 2; }
  bash "$ROOT/ci/guest-image.sh" "$ARCH" >/dev/null || exit 2
  exec bash "$ROOT/ci/emulated-host.sh" "$ARCH" "$HERE/qmp-guest.sh" "$@"
fi

IMG=${MESOVIRT_CACHE:-$HOME/.cache/mesovirt}/guest/$ARCH
WORK=$(mktemp -d /tmp/mesovirt-qmp.XXXXXX)
LOG=$WORK/console.log
SOCK=$WORK/qmp.sock
OK=1
FAILS=""
export MESOVIRT_JAVA_OPTS=${MESOVIRT_JAVA_OPTS:--XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData}

lines() { tr -d '\r' < "$LOG"; }
check() { # DESCRIPTION COMMAND...
  if "${@:2}"; then echo "  ok: $1"; else OK=0; FAILS="$FAILS|$1"; echo "  FAILED: $1"; fi
}
has() { grep -q -E -- "$2" "$1"; }
wait_for() { # REGEX SECONDS: waits for a console line
  local i=0
  until lines | grep -q -E -- "$1"; do
    kill -0 "$PID" 2>/dev/null || return 1
    [ "$i" -ge "$2" ] && return 1
    sleep 1; i=$((i + 1))
  done
}
wait_count() { # REGEX N SECONDS: waits until N console lines match
  local i=0
  until [ "$(lines | grep -c -E -- "$1")" -ge "$2" ]; do
    kill -0 "$PID" 2>/dev/null || return 1
    [ "$i" -ge "$3" ] && return 1
    sleep 1; i=$((i + 1))
  done
}
qmp() { # OUTFILE STEP...: one mesovirt-qmp session
  local out=$1; shift
  timeout 120 "$QMPC" "$SOCK" "$@" > "$out.raw" 2>&1
  local rc=$?
  # One spelling for the checks below: no blank after ':' and ',' (QEMU writes them; Gson does not).
  sed 's/": /":/g; s/, "/,"/g; s/, {/,{/g' "$out.raw" > "$out"
  sed 's/^/    qmp> /' "$out" | cut -c1-220
  return $rc
}
guest() { printf '%s\n' "$1" >&3; }
# The ticker's lines can follow the shell's prompt on the same console line: match them anywhere.
tick_lines() { lines | grep -o 'TICK [0-9]* [0-9.]*'; }
ticks() { tick_lines | wc -l; }
last_uptime() { tick_lines | tail -1 | cut -d' ' -f3; }
uptime_of() { tick_lines | grep "^TICK $1 " | tail -1 | cut -d' ' -f3; }

yes MESOVIRT-HOTPLUG-PATTERN | head -c 1048576 > "$WORK/hot.img"
truncate -s 4M "$WORK/hot.img"
mkfifo "$WORK/stdin"
echo "=== qmp ($ARCH, $(uname -r) host with $(nproc) CPUs)"
T0=$(date +%s)
timeout "$CASE_TIMEOUT" "$MESOVIRT" -kernel "$IMG/vmlinuz-$FLAVOUR" -initrd "$IMG/initrd-$FLAVOUR.gz" \
  -append "console=ttyS0 quiet guest.shell=1" -m 256 -smp 2 -serial stdio -qmp "unix:$SOCK,server,nowait" \
  <"$WORK/stdin" >"$LOG" 2>&1 &
PID=$!
exec 3>"$WORK/stdin"
if ! wait_for '^GUEST-SHELL' 300; then
  echo "--- FAIL qmp: no guest shell"; lines | tail -40 | sed 's/^/    | /'; echo "0 passed, 1 failed"; exit 1
fi
sleep 1
check "socket mode 0600" test "$(stat -c %a "$SOCK")" = 600
guest '(i=0; while :; do i=$((i+1)); echo "TICK $i $(cut -d" " -f1 /proc/uptime)"; sleep 1; done) &'
wait_for 'TICK 3 ' 60

# --- queries
qmp "$WORK/q1" query-status query-cpus-fast query-hotpluggable-cpus query-version query-target query-kvm \
  query-machines query-block query-chardev query-events '{"execute":"query-status","id":"req-7"}' \
  '{"execute":"no-such-command"}' '{"execute":"stop","arguments":{"bogus":1}}'
check "query-status: running" has "$WORK/q1" '"status":"running"'
check "query-cpus-fast: 2 vCPUs with host thread ids" test "$(grep -o '"thread-id":[1-9][0-9]*,"props"' "$WORK/q1" | wc -l)" = 2
check "query-kvm: enabled and present" has "$WORK/q1" '"enabled":true,"present":true'
check "id echoed" has "$WORK/q1" '"id":"req-7"'
check "unknown command: CommandNotFound" has "$WORK/q1" 'CommandNotFound'
check "unexpected argument: GenericError" has "$WORK/q1" '"class":"GenericError"'

# --- stop / cont
qmp "$WORK/q2" stop query-status
check "STOP event" has "$WORK/q2" '"event":"STOP"'
check "query-status: paused" has "$WORK/q2" '"status":"paused"'
T1=$(ticks); U1=$(last_uptime); W1=$(date +%s)
sleep 6
T2=$(ticks)
echo "  ticks: $T1 at stop, $T2 six seconds later"
check "no guest progress while stopped (ticks $T1 -> $T2)" test "$((T2 - T1))" -le 1
qmp "$WORK/q3" cont query-status
W2=$(date +%s)
wait_for "TICK $((T2 + 2)) " 60
T3=$(ticks); U2=$(uptime_of $((T2 + 1)))
echo "  ticker around the pause: $(tick_lines | sed -n "$((T1 > 2 ? T1 - 2 : 1)),$((T2 + 3))p" | cut -d' ' -f2,3 | tr '\n' ' ')"
check "RESUME event" has "$WORK/q3" '"event":"RESUME"'
check "ticks go on after cont ($T2 -> $T3)" test "$T3" -gt "$((T2 + 1))"
echo "  guest uptime $U1 -> ${U2:-?} across a pause of about $((W2 - W1)) s of wall time"
check "the guest clock did not count the pause" awk -v a="$U1" -v b="${U2:-0}" -v w="$((W2 - W1))" \
  'BEGIN { exit !(b > a && b - a < w - 2.5) }'

# --- hot-plug a disk (O_DIRECT if this host's /tmp can)
DIRECT=false
dd if=/dev/zero of="$WORK/direct-probe" bs=4096 count=1 oflag=direct 2>/dev/null && DIRECT=true
echo "  hot-plugged disk: cache.direct=$DIRECT"
ADD_DRIVE='{"execute":"blockdev-add","arguments":{"node-name":"drive-hot","file":{"driver":"file","filename":"'$WORK/hot.img'"},"cache":{"direct":'$DIRECT'},"read-only":false}}'
ADD_DEV='{"execute":"device_add","arguments":{"id":"drive-hot","driver":"virtio-blk-mmio","drive":"drive-hot","addr":"0x0","serial":"hot-disk"}}'
qmp "$WORK/q4" "$ADD_DRIVE" "$ADD_DEV" query-block
check "blockdev-add + device_add returned" test "$(grep -c '"return":{}' "$WORK/q4")" -ge 2
check "query-block lists the drive" has "$WORK/q4" 'drive-hot'
guest 'sleep 1; for b in /sys/block/vd*; do [ "$(cat $b/serial)" = hot-disk ] && echo "HOT-READ /dev/${b##*/} $(head -c 24 /dev/${b##*/})" && echo GUEST-WROTE-ON-HOTPLUG | dd of=/dev/${b##*/} bs=512 seek=4096 conv=fsync 2>/dev/null && echo HOT-WRITE-OK; done'
wait_for '^HOT-WRITE-OK' 90
check "the guest reads the hot-plugged disk" test -n "$(lines | grep '^HOT-READ /dev/vd. MESOVIRT-HOTPLUG-PATTERN')"
check "the guest's write reached the image" test "$(dd if="$WORK/hot.img" bs=512 skip=4096 count=1 2>/dev/null | head -c 22)" = GUEST-WROTE-ON-HOTPLUG

# --- unplug it (the guest's driver stays bound to the slot's drive)
HOT_DEV=$(lines | sed -n 's|^HOT-READ /dev/\(vd[a-z]*\) .*|\1|p' | head -1)
qmp "$WORK/q5" '{"execute":"device_del","arguments":{"id":"drive-hot"}}' 'event:DEVICE_DELETED:10' \
  '{"execute":"blockdev-del","arguments":{"node-name":"drive-hot"}}' query-block
check "DEVICE_DELETED event" has "$WORK/q5" '"event":"DEVICE_DELETED","data":\{"device":"drive-hot"'
check "query-block no longer lists the drive" test "$(tail -1 "$WORK/q5" | grep -c drive-hot)" = 0
guest 'sleep 1; ls /sys/block | tr "\n" " " | sed "s/^/BLOCK-AFTER /"; echo; echo "HOT-SIZE-AFTER $(cat /sys/block/'"${HOT_DEV:-none}"'/size)"'
wait_for '^HOT-SIZE-AFTER [0-9]' 30
check "the guest's ${HOT_DEV:-?} has no sectors after device_del" test -n "$(lines | grep -E '^HOT-SIZE-AFTER 0$')"

# --- system_reset: the guest boots again in this process
qmp "$WORK/q6" system_reset 'event:RESET:10' query-status
check "RESET event: host-qmp-system-reset" has "$WORK/q6" '"event":"RESET","data":\{"guest":false,"reason":"host-qmp-system-reset"'
check "query-status after reset: running" has "$WORK/q6" '"status":"running"'
R0=$(date +%s)
if wait_count GUEST-SHELL 2 300; then
  echo "  the guest booted again $(( $(date +%s) - R0 ))s after system_reset"
  check "a second boot after system_reset" true
  sleep 1
  N1=$(ticks); sleep 3
  check "the first boot's ticker is gone ($N1 -> $(ticks))" test "$(ticks)" = "$N1"
  # --- system_powerdown
  if [ -n "$KEY_DEVICE" ]; then
    # The guest's side of a power button: read one input event from the device named KEY_DEVICE (its handler
    # list names the eventN node), print it, and carry on (a real userland would shut down here).
    guest 'ev=$(awk -v n="N: Name=\"'"$KEY_DEVICE"'\"" '"'"'$0 == n {f=1} f && /^H:/ {for (i = 1; i <= NF; i++) if ($i ~ /^event/) print $i; exit}'"'"' /proc/bus/input/devices); echo "KEY-DEVICE ${ev:-none}"; [ -n "$ev" ] && (dd if=/dev/input/$ev bs=4096 count=1 2>/dev/null | od -An -tx1 | head -3 | tr -d "\n" | sed "s/^/POWER-KEY /"; echo) &'
    wait_for '^KEY-DEVICE' 30
    check "the guest has a '$KEY_DEVICE' input device" test -n "$(lines | grep -E 'KEY-DEVICE event[0-9]+')"
    sleep 1
    qmp "$WORK/q7" system_powerdown
    check "POWERDOWN event" has "$WORK/q7" '"event":"POWERDOWN"'
    wait_for 'POWER-KEY ' 30
    check "the guest read an event from its power key" test -n "$(lines | grep -E 'POWER-KEY [0-9a-f ]+')"
  else
    qmp "$WORK/q7" system_powerdown
    check "system_powerdown: GenericError, no power button on $ARCH" has "$WORK/q7" '"class":"GenericError"'
  fi
else
  check "a second boot after system_reset" false
fi

# --- quit
qmp "$WORK/q8" quit 'event:SHUTDOWN:15'
check "SHUTDOWN event: host-qmp-quit, not the guest" has "$WORK/q8" '"event":"SHUTDOWN","data":\{"guest":false,"reason":"host-qmp-quit"'
exec 3>&-
wait "$PID"; RC=$?
check "exit code 0 after quit" test "$RC" = 0
check "the socket file is gone" test ! -e "$SOCK"
echo "  $(( $(date +%s) - T0 ))s from starting mesovirt to its exit"
if [ "$OK" = 1 ]; then
  echo "--- PASS qmp"; echo "1 passed, 0 failed"; exit 0
fi
echo "--- FAIL qmp:$FAILS; console and log:"; lines | grep -v '^TICK' | tail -60 | sed 's/^/    | /'
echo "0 passed, 1 failed"; exit 1
