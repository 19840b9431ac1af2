# Shared by the UEFI guest tests (ci/tests/uefi.sh, ci/tests/uefi-aarch64.sh), sourced after lib.sh inside the
# emulated host; BOOT_TIMEOUT is the caller's.

# wait_for LOG REGEX SECONDS PID: until LOG has a line matching REGEX, PID has exited or SECONDS have passed.
wait_for() {
  local i=0
  until tr -d '\r' 2>/dev/null < "$1" | grep -a -q -E -- "$2"; do
    kill -0 "$4" 2>/dev/null || return 1
    [ "$i" -ge "$3" ] && return 1
    sleep 1; i=$((i + 1))
  done
}

# count_of LOG REGEX: how many console lines match.
count_of() { tr -d '\r' < "$1" | grep -a -c -E -- "$2"; }

# wait_count LOG REGEX N SECONDS PID: until LOG has N lines matching REGEX, PID has exited or SECONDS have passed.
wait_count() {
  local i=0
  until [ "$(count_of "$1" "$2")" -ge "$3" ]; do
    kill -0 "$5" 2>/dev/null || return 1
    [ "$i" -ge "$4" ] && return 1
    sleep 1; i=$((i + 1))
  done
}

# boot_disk NAME COMMAND...: runs the VM (console and stderr into $WORK/NAME.log) until it exits; READY_SECS is
# the time from the start to the guest's GUEST-READY (firmware, boot loader and kernel), READY_AT when that was (epoch
# seconds), SECS the whole run's, RC its exit code.
boot_disk() {
  local name=$1 log=$WORK/$1.log t pid
  shift
  t=$(now)
  timeout "$BOOT_TIMEOUT" "$@" </dev/null >"$log" 2>&1 &
  pid=$!
  READY_SECS=- READY_AT=
  # Unanchored: under -kernel, OVMF's screen-clearing escape codes precede the guest's first line.
  wait_for "$log" 'GUEST-READY' "$BOOT_TIMEOUT" "$pid" && { READY_SECS=$(secs "$t"); READY_AT=$(now); }
  wait "$pid"; RC=$?
  SECS=$(secs "$t")
}
