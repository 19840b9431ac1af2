#!/bin/bash
# Real-Linux tests of vhost-vsock (the kernel's /dev/vhost-vsock behind Mesovirt's virtio transports), inside the
# emulated x86_64 KVM host, whose kernel has vhost_vsock loaded. One host boot for every case. The guest's side is
# ci/guest/vsock.c (/bin/vsock in the test initramfs, with the vsock, vmw_vsock_virtio_transport_common and
# vmw_vsock_virtio_transport modules); the host's side is the same tool, built here.
#   microvm  -device vhost-vsock-device,guest-cid=3: the guest listens on a port, a host process connects to CID 3
#            and they exchange a line each way; 16 MiB host -> guest with the pattern checked; the guest connects to
#            the host (CID 2) and they exchange a line; 16 MiB guest -> host; meanwhile a second VMM asking for CID 3
#            is refused (EADDRINUSE), one line and exit 1
#   q35      the same on -machine q35 with -device vhost-vsock-pci,guest-cid=4,vhostfd=FD, FD an open
#            /dev/vhost-vsock passed by the caller as Kata does
#   errors   bad guest-cid values, a vhostfd that is not open, the -pci device on the microVM, no /dev/vhost-vsock
#            (hidden in a mount namespace): one clear line and exit 1 each, before any guest runs
#
# usage: ci/tests/vsock.sh [CASE...]     (no CASE: all)      Ends with "N passed, M failed".
set -uo pipefail
CASE_TIMEOUT=500
. "$(dirname "$0")/lib.sh"
HOST_VSOCK=${MESOVIRT_CACHE:-$HOME/.cache/mesovirt}/tests/vsock
if [ "${MESOVIRT_IN_EMULATED_HOST:-}" != 1 ]; then
  # The host's side of the sockets, where the emulated host sees it (the cache, not /tmp).
  mkdir -p "${HOST_VSOCK%/*}" && gcc -O2 -o "$HOST_VSOCK.$$" "$TESTS_ROOT/ci/guest/vsock.c" \
    && mv "$HOST_VSOCK.$$" "$HOST_VSOCK" || { echo "vsock tests: gcc failed" >&2; exit 2; }
fi
tests_enter x86_64 "vsock tests" "$TESTS_DIR/vsock.sh" "$@"
export PATH=$PATH:/usr/sbin:/sbin
b64() { printf '%s' "$1" | base64 -w0; }
MIB=16

# The guest's half, in the order of the host's (host_side): listen for the host, then connect to it.
GUEST_SCRIPT='[ -c /dev/vsock ] && echo GUEST-VSOCK-DEVICE
r=$(echo hello-from-guest | vsock -t 120 listen 1234); echo "GUEST-VSOCK-GOT $r"
vsock -t 120 listen 1235 recv | sed "s/^/GUEST-/"
r=$(echo ping-from-guest | vsock -t 120 connect 2 2234); echo "GUEST-VSOCK-REPLY $r"
vsock -t 120 connect 2 2235 send '$MIB' | sed "s/^/GUEST-/"'

# host_side CID OUT [COMMAND...]: the host's half against the guest with CID, each step's output in OUT.N; COMMAND
# runs once the first exchange has shown the guest up (the VM then holds the CID).
host_side() {
  local cid=$1 out=$2
  shift 2
  echo hello-from-host | "$HOST_VSOCK" -t 400 connect "$cid" 1234 >"$out.1" 2>&1
  [ $# = 0 ] || "$@"
  "$HOST_VSOCK" -t 120 connect "$cid" 1235 send "$MIB" >"$out.2" 2>&1
  echo pong-from-host | "$HOST_VSOCK" -t 120 listen 2234 >"$out.3" 2>&1
  "$HOST_VSOCK" -t 120 listen 2235 recv >"$out.4" 2>&1
}

# exchange_checks LOG OUT: what both halves must have seen.
exchange_checks() {
  local log=$1 out=$2 bytes=$((MIB << 20)) f
  for f in 1 2 3 4; do
    { echo "host side, step $f:"; sed 's/^/  /' "$out.$f" 2>/dev/null; } >>"$log"
  done
  check "$log" "exit code 0 (guest power-off)" test "$RC" = 0
  check "$log" "the guest has /dev/vsock" has "$log" '^GUEST-VSOCK-DEVICE'
  check "$log" "host -> guest listening: the guest got the host's line" has "$log" '^GUEST-VSOCK-GOT hello-from-host$'
  check "$log" "host -> guest listening: the host got the guest's line" grep -qx hello-from-guest "$out.1"
  check "$log" "$MIB MiB host -> guest, pattern intact" has "$log" "^GUEST-VSOCK-RECEIVED $bytes [0-9.]+ ok"
  check "$log" "the host sent them" grep -q "^VSOCK-SENT $bytes " "$out.2"
  check "$log" "guest -> host (CID 2): the guest got the host's line" has "$log" '^GUEST-VSOCK-REPLY pong-from-host$'
  check "$log" "guest -> host (CID 2): the host got the guest's line" grep -qx ping-from-guest "$out.3"
  check "$log" "$MIB MiB guest -> host, pattern intact" grep -Eq "^VSOCK-RECEIVED $bytes [0-9.]+ ok" "$out.4"
  check "$log" "the guest sent them" has "$log" "^GUEST-VSOCK-SENT $bytes "
}

# A second VMM asking for a CID in use: one line naming the CID and EADDRINUSE, exit 1.
second_vmm() { # CID OUT
  "$MESOVIRT" -kernel "$IMG/vmlinuz-cloud" -initrd "$IMG/initrd-cloud.gz" -m 128 -serial none \
    -device vhost-vsock-device,id=v1,guest-cid="$1" </dev/null >"$2" 2>&1
  echo "exit $?" >>"$2"
}

case_microvm() {
  begin microvm-vhost-vsock-device; local log=$WORK/$CASE.log out=$WORK/microvm.host
  host_side 3 "$out" second_vmm 3 "$WORK/in-use.out" &
  local host=$!
  run_vm "$log" -kernel "$IMG/vmlinuz-cloud" -initrd "$IMG/initrd-cloud.gz" -m 256 -serial stdio \
    -append "console=ttyS0 quiet guest.cmd=$(b64 "$GUEST_SCRIPT")" -device vhost-vsock-device,id=vsock0,guest-cid=3
  kill "$host" 2>/dev/null; wait "$host" 2>/dev/null
  exchange_checks "$log" "$out"
  { echo "second VMM with guest-cid=3:"; sed 's/^/  /' "$WORK/in-use.out"; } >>"$log"
  check "$log" "a second VMM with CID 3: one line naming EADDRINUSE, exit 1" \
    test "$(wc -l < "$WORK/in-use.out")" = 2 -a -n "$(grep 'guest-cid 3 is already in use.*EADDRINUSE' "$WORK/in-use.out")" \
    -a "$(tail -1 "$WORK/in-use.out")" = "exit 1"
  finish "$log"
}

case_q35() {
  begin q35-vhost-vsock-pci-vhostfd; local log=$WORK/$CASE.log out=$WORK/q35.host fd
  host_side 4 "$out" &
  local host=$!
  # The caller opens /dev/vhost-vsock and passes the descriptor, as Kata's runtime does.
  exec {fd}<>/dev/vhost-vsock
  run_vm "$log" -machine q35 -kernel "$IMG/vmlinuz-cloud" -initrd "$IMG/initrd-cloud.gz" -m 512 -serial stdio \
    -append "console=ttyS0 quiet guest.cmd=$(b64 "$GUEST_SCRIPT"'
for d in /sys/bus/pci/devices/*; do echo "GUEST-PCI ${d##*/} $(cat $d/vendor):$(cat $d/device) $(cat $d/class)"; done
grep -E "PCI-MSI.*(vsock|virtio)" /proc/interrupts | sed "s/^ */GUEST-IRQ /"')" \
    -device vhost-vsock-pci,id=vsock0,guest-cid=4,vhostfd="$fd",bus=pcie.0,addr=0x5
  exec {fd}<&-
  kill "$host" 2>/dev/null; wait "$host" 2>/dev/null
  exchange_checks "$log" "$out"
  check "$log" "virtio-vsock at 00:05.0: 1af4:1053, class 0x078000" has "$log" '^GUEST-PCI 0000:00:05.0 0x1af4:0x1053 0x078000'
  check "$log" "its rx and tx queues use MSI-X" has "$log" '^GUEST-IRQ .*PCI-MSI.*virtio[0-9]+-(rx|tx)'
  finish "$log"
}

case_errors() {
  begin vsock-errors; local log=$WORK/$CASE.log
  : >"$log"
  expect_error() { # MESSAGE-REGEX ARGS...
    local re=$1; shift
    local out; out=$("$@" 2>&1 </dev/null); local rc=$?
    echo "\$ ${*: -2} -> $rc: $out" >>"$log"
    check "$log" "exit 1 and one line matching '$re' for: ${*: -2}" \
      test "$rc" = 1 -a "$(printf '%s\n' "$out" | wc -l)" = 1 -a -n "$(printf '%s' "$out" | grep -E -- "$re")"
  }
  local vm=("$MESOVIRT" -kernel "$IMG/vmlinuz-cloud" -m 128 -serial none)
  expect_error "guest-cid 2 is out of range" "${vm[@]}" -device vhost-vsock-device,id=v,guest-cid=2
  expect_error "guest-cid 4294967295 is out of range" "${vm[@]}" -device vhost-vsock-device,id=v,guest-cid=4294967295
  expect_error "guest-cid=three is not a number" "${vm[@]}" -device vhost-vsock-device,id=v,guest-cid=three
  expect_error "missing guest-cid=" "${vm[@]}" -device vhost-vsock-device,id=v
  expect_error "vhostfd=99 is not an open file descriptor" "${vm[@]}" -device vhost-vsock-device,id=v,guest-cid=5,vhostfd=99
  expect_error "vhost-vsock-pci is a PCI device, for -machine q35" "${vm[@]}" -device vhost-vsock-pci,id=v,guest-cid=5
  # No /dev/vhost-vsock: a mount namespace whose /dev has only what the VMM needs besides it.
  # shellcheck disable=SC2016
  expect_error "/dev/vhost-vsock does not exist: load the vhost_vsock module \(modprobe vhost_vsock\)" \
    unshare -m bash -c 'd=$(mktemp -d /tmp/dev.XXXXXX) && for n in kvm null zero random urandom; do
        touch "$d/$n" && mount --bind "/dev/$n" "$d/$n" || exit 9; done && mount --rbind "$d" /dev && exec "$@"' _ \
      "${vm[@]}" -device vhost-vsock-device,id=v,guest-cid=5
  finish "$log"
}

run_cases "vsock tests" "errors microvm q35" "$@"
