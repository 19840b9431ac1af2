#!/bin/bash
# Real-Linux tests of Mesovirt's virtio-mmio devices on x86_64: unmodified Debian kernels with the busybox test
# initramfs, booted by Mesovirt inside the emulated x86_64 KVM host (see ci/tests/x86_64.sh and ci/README.md).
# The guest finds the devices through the ACPI DSDT (LNRO0005) and tells them apart by their virtio-blk serials.
#
# usage: ci/tests/x86_64-virtio.sh [CASE...]     (no CASE: all cases)
# Images are made under the emulated host's /tmp (tmpfs; its 9p root is read-only). Ends with "N passed, M failed".
set -uo pipefail
CASE_TIMEOUT=400
. "$(dirname "$0")/lib.sh"
tests_enter x86_64 "x86_64 virtio tests" "$TESTS_DIR/x86_64-virtio.sh" "$@"
export PATH=$PATH:/usr/sbin:/sbin

b64() { printf '%s' "$1" | base64 -w0; }

# The pattern: 1 MiB of a repeated line, written at byte 4096 of the disk.
pattern() { yes MESOVIRT-VIRTIO-PATTERN-0123456789 | head -c 1048576; }

# Guest side: "dev SERIAL" prints the /dev node of the virtio disk with that serial.
GUEST_DEVICES='dev() { for b in /sys/block/vd*; do [ "$(cat $b/serial 2>/dev/null)" = "$1" ] && echo /dev/${b##*/}; done; }
pattern() { yes MESOVIRT-VIRTIO-PATTERN-0123456789 | head -c 1048576; }
'

# One boot, four devices: a read-write disk gets the pattern (dd conv=fsync); a read-only disk refuses a write;
# an ext4 disk gets a file; the entropy device gives bytes.
case_blk_rng() {
  begin blk-rw-ro-ext4-rng; local log=$WORK/$CASE.log
  truncate -s 8M "$WORK/rw.img"; truncate -s 4M "$WORK/ro.img"; truncate -s 16M "$WORK/ext4.img"
  mkfs.ext4 -q -F "$WORK/ext4.img" >/dev/null 2>&1 || echo "  (mkfs.ext4 failed)"
  local script="$GUEST_DEVICES"'
rw=$(dev disk-rw); ro=$(dev disk-ro); e4=$(dev disk-ext4)
echo "GUEST-BLK rw=$rw ro=$ro ext4=$e4 rwsize=$(cat /sys/block/${rw#/dev/}/size) ro-flag=$(cat /sys/block/${ro#/dev/}/ro)"
pattern > /tmp/p
dd if=/tmp/p of=$rw bs=4096 seek=1 conv=fsync 2>/dev/null && echo GUEST-BLK-WRITE-OK
echo 3 > /proc/sys/vm/drop_caches
[ "$(dd if=$rw bs=4096 skip=1 count=256 2>/dev/null | md5sum | cut -c1-32)" = "$(md5sum < /tmp/p | cut -c1-32)" ] && echo GUEST-BLK-READBACK-OK
if dd if=/tmp/p of=$ro bs=4096 count=1 conv=fsync 2>/dev/null; then echo GUEST-RO-WRITE-SUCCEEDED; else echo GUEST-RO-WRITE-FAILED; fi
mkdir -p /mnt && mount -t ext4 $e4 /mnt && echo written-in-the-guest > /mnt/hello.txt && umount /mnt && echo GUEST-EXT4-OK
n=$(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | wc -c); echo "GUEST-RNG-BYTES $n $(cat /sys/class/misc/hw_random/rng_current)"
'
  run_vm "$log" -kernel "$IMG/vmlinuz-cloud" -initrd "$IMG/initrd-cloud.gz" -m 256 -serial stdio \
    -append "console=ttyS0 quiet guest.cmd=$(b64 "$script")" \
    -drive id=d0,file="$WORK/rw.img",if=none -device virtio-blk-device,drive=d0,id=blk0,serial=disk-rw \
    -drive id=d1,file="$WORK/ro.img",readonly=on -device virtio-blk-device,drive=d1,id=blk1,serial=disk-ro \
    -drive id=d2,file="$WORK/ext4.img" -device virtio-blk-device,drive=d2,id=blk2,serial=disk-ext4 \
    -object rng-random,id=rng0,filename=/dev/urandom -device virtio-rng-device,rng=rng0,id=rng
  check "$log" "exit code 0" test "$RC" = 0
  check "$log" "three disks found by serial, capacity 16384 sectors, read-only flag" \
    has "$log" 'GUEST-BLK rw=/dev/vd. ro=/dev/vd. ext4=/dev/vd. rwsize=16384 ro-flag=1'
  check "$log" "guest dd conv=fsync succeeded" has "$log" '^GUEST-BLK-WRITE-OK'
  check "$log" "guest read the pattern back" has "$log" '^GUEST-BLK-READBACK-OK'
  # (No process substitution: the emulated host has no /dev/fd.)
  pattern > "$WORK/pattern"
  dd if="$WORK/rw.img" of="$WORK/rw.part" bs=4096 skip=1 count=256 2>/dev/null
  check "$log" "host image holds the pattern at byte 4096" cmp -s "$WORK/rw.part" "$WORK/pattern"
  check "$log" "host image is zero elsewhere" \
    test "$(head -c 4096 "$WORK/rw.img" | tr -d '\0' | wc -c)" = 0 -a "$(tail -c +1052673 "$WORK/rw.img" | tr -d '\0' | wc -c)" = 0
  check "$log" "write to the readonly=on disk failed in the guest" has "$log" '^GUEST-RO-WRITE-FAILED'
  check "$log" "read-only image untouched" test "$(tr -d '\0' < "$WORK/ro.img" | wc -c)" = 0
  check "$log" "ext4 mounted and written" has "$log" '^GUEST-EXT4-OK'
  check "$log" "debugfs finds the guest's file" \
    test "$(debugfs -R 'cat /hello.txt' "$WORK/ext4.img" 2>/dev/null)" = written-in-the-guest
  check "$log" "/dev/hwrng gave 32 bytes from virtio_rng" has "$log" '^GUEST-RNG-BYTES 32 virtio_rng'
  finish "$log"
}

# Durability: the guest writes with conv=fsync, says so, and the VMM is SIGKILLed: the bytes are in the file.
case_sigkill() {
  begin blk-sigkill-durability; local log=$WORK/$CASE.log
  truncate -s 4M "$WORK/kill.img"
  local script="$GUEST_DEVICES"'
pattern > /tmp/p; dd if=/tmp/p of=$(dev disk-k) bs=65536 conv=fsync 2>/dev/null && echo GUEST-SYNCED
sleep 600'
  local t; t=$(now)
  timeout "$CASE_TIMEOUT" "$MESOVIRT" -kernel "$IMG/vmlinuz-cloud" -initrd "$IMG/initrd-cloud.gz" -m 256 \
    -serial stdio -append "console=ttyS0 quiet guest.cmd=$(b64 "$script")" \
    -drive id=k,file="$WORK/kill.img" -device virtio-blk-device,drive=k,id=blk,serial=disk-k </dev/null >"$log" 2>&1 &
  local pid=$! waited=0
  until grep -q '^GUEST-SYNCED' "$log" || ! kill -0 "$pid" 2>/dev/null || [ "$waited" -ge "$CASE_TIMEOUT" ]; do
    sleep 1; waited=$((waited + 1))
  done
  kill -KILL "$pid" 2>/dev/null; wait "$pid"; RC=$?
  SECS=$(secs "$t")
  check "$log" "guest synced" has "$log" '^GUEST-SYNCED'
  check "$log" "killed by SIGKILL (137)" test "$RC" = 137
  pattern > "$WORK/pattern"; head -c 1048576 "$WORK/kill.img" > "$WORK/kill.part"
  check "$log" "the pattern is in the image" cmp -s "$WORK/kill.part" "$WORK/pattern"
  finish "$log"
}

# Configuration errors: one line on stderr, exit 1, before any guest runs.
case_errors() {
  begin device-errors; local log=$WORK/$CASE.log all=0
  truncate -s 1M "$WORK/e.img"; : > "$log"
  expect_error() { # MESSAGE-REGEX ARGS...
    local re=$1; shift
    local out; out=$("$MESOVIRT" -kernel "$IMG/vmlinuz-cloud" -m 256 -serial none "$@" 2>&1 </dev/null); local rc=$?
    echo "$ $* -> $rc: $out" >>"$log"
    check "$log" "exit 1 and one line matching '$re' for: $*" \
      test "$rc" = 1 -a "$(printf '%s\n' "$out" | wc -l)" = 1 -a -n "$(printf '%s' "$out" | grep -E -- "$re")"
  }
  expect_error "unknown device 'virtio-foo-device'" -device virtio-foo-device,id=x
  expect_error "no -drive with id 'nope'" -device virtio-blk-device,drive=nope,id=b
  expect_error "duplicate device id 'b'" -drive id=a,file="$WORK/e.img" -drive id=c,file="$WORK/e.img" \
    -device virtio-blk-device,drive=a,id=b -device virtio-blk-device,drive=c,id=b
  expect_error "no such file" -drive id=a,file="$WORK/missing.img" -device virtio-blk-device,drive=a,id=b
  chmod 000 "$WORK/e.img"
  # Root reads anything: make it a directory instead, which no one can open as an image.
  mkdir -p "$WORK/dir.img"
  expect_error "is a directory" -drive id=a,file="$WORK/dir.img" -device virtio-blk-device,drive=a,id=b
  expect_error "a vhost-user device needs guest RAM its back-end can map" \
    -chardev socket,id=v,path="$WORK/vfs-none.sock" -device vhost-user-fs-device,id=fs0,chardev=v,tag=t
  expect_error "device fs0: cannot connect to the vhost-user back-end at $WORK/vfs-none.sock" -machine mem-share=on \
    -chardev socket,id=v,path="$WORK/vfs-none.sock" -device vhost-user-fs-device,id=fs0,chardev=v,tag=t
  finish "$log"
}

# virtio-console: a line written to the chardev socket is read from the guest's /dev/hvc0 and sent back.
case_console() {
  begin console-hvc0; local log=$WORK/$CASE.log sock=$WORK/console.sock
  local script='exec 3<>/dev/hvc0; stty -F /dev/hvc0 -echo 2>/dev/null; echo GUEST-HVC-OPEN
read -r l <&3; echo "GUEST-HVC-GOT $l"; echo "back:$l" >&3; sleep 1'
  local t; t=$(now)
  timeout "$CASE_TIMEOUT" "$MESOVIRT" -kernel "$IMG/vmlinuz-cloud" -initrd "$IMG/initrd-cloud.gz" -m 256 \
    -serial stdio -append "console=ttyS0 quiet guest.cmd=$(b64 "$script")" \
    -chardev socket,id=c0,path="$sock",server,nowait -device virtio-serial-device,id=vs0 \
    -device virtconsole,chardev=c0,id=con0,nr=0 </dev/null >"$log" 2>&1 &
  local pid=$!
  # The host side: connect, send the line once the guest has /dev/hvc0 open, collect what comes back.
  /usr/bin/python3 - "$sock" "$log" >"$WORK/console.out" 2>&1 <<'PY'
import socket, sys, time
sock_path, log = sys.argv[1], sys.argv[2]
deadline = time.time() + 300
s = None
while time.time() < deadline:
    try:
        s = socket.socket(socket.AF_UNIX); s.connect(sock_path); break
    except OSError:
        s = None; time.sleep(0.5)
while time.time() < deadline and "GUEST-HVC-OPEN" not in open(log, errors="replace").read():
    time.sleep(0.5)
s.sendall(b"hello-from-host\n")
s.settimeout(1)
got = b""
while time.time() < deadline and b"back:hello-from-host" not in got:
    try:
        d = s.recv(4096)
        if not d: break
        got += d
    except socket.timeout:
        pass
print("HOST-RECEIVED", got.decode(errors="replace").strip())
PY
  wait "$pid"; RC=$?
  SECS=$(secs "$t")
  cat "$WORK/console.out" >>"$log"
  check "$log" "exit code 0" test "$RC" = 0
  check "$log" "the guest read the line from /dev/hvc0" has "$log" '^GUEST-HVC-GOT hello-from-host'
  check "$log" "the host got the guest's answer on the socket" has "$WORK/console.out" 'back:hello-from-host'
  finish "$log"
}

# virtio-net: a TAP in a network namespace made here; the guest pings the host side, then receives 4 MiB over TCP
# (busybox nc) and its sha256 must match what the host sent.
case_net() {
  begin net-tap; local log=$WORK/$CASE.log ns=mvtest$$
  tap_namespace "$ns"
  cat >"$WORK/server.py" <<'PY'
import hashlib, random, socket, sys
data = random.Random(42).randbytes(4 << 20)
print("HOST-SHA256", hashlib.sha256(data).hexdigest(), flush=True)
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("10.0.2.1", 5000)); srv.listen(1); srv.settimeout(300)
c, _ = srv.accept(); c.sendall(data); c.close()
PY
  ip netns exec "$ns" /usr/bin/python3 "$WORK/server.py" >"$WORK/server.out" 2>&1 &
  local server=$!
  local script='ip addr add 10.0.2.15/24 dev eth0; ip link set eth0 up
echo "GUEST-MAC $(cat /sys/class/net/eth0/address)"
ping -c 3 -W 5 10.0.2.1 >/tmp/ping 2>&1 && echo GUEST-PING-OK; tail -2 /tmp/ping
echo "GUEST-SHA256 $(nc 10.0.2.1 5000 | sha256sum | cut -d" " -f1)"'
  # The TAP lives in the namespace, so mesovirt must run there.
  local t; t=$(now)
  ip netns exec "$ns" timeout "$CASE_TIMEOUT" "$MESOVIRT" -kernel "$IMG/vmlinuz-cloud" -initrd "$IMG/initrd-cloud.gz" \
    -m 256 -serial stdio -append "console=ttyS0 quiet guest.cmd=$(b64 "$script")" \
    -netdev tap,id=n0,ifname=tap0 -device virtio-net-device,netdev=n0,id=net0,mac=02:4d:56:00:00:01 \
    </dev/null >"$log" 2>&1
  RC=$?; SECS=$(secs "$t")
  kill "$server" 2>/dev/null; wait "$server" 2>/dev/null
  cat "$WORK/server.out" >>"$log"
  local want; want=$(sed -n 's/^HOST-SHA256 //p' "$WORK/server.out")
  check "$log" "exit code 0" test "$RC" = 0
  check "$log" "the MAC from mac=" has "$log" '^GUEST-MAC 02:4d:56:00:00:01'
  check "$log" "the guest pings the host side of the TAP" has "$log" '^GUEST-PING-OK'
  check "$log" "4 MiB received with the right sha256 ($want)" has "$log" "^GUEST-SHA256 ${want:-none}"
  ip netns del "$ns" 2>/dev/null
  finish "$log"
}

# virtio-fs: a real virtiofsd shares a directory through vhost-user-fs-device; guest RAM is a memfd
# (memory-backend-memfd with share=on, QEMU's spelling) that virtiofsd maps.
case_fs() {
  begin virtio-fs; local log=$WORK/$CASE.log dir=$WORK/shared sock=$WORK/vfs.sock
  virtiofsd_start "$dir" "$sock" "$WORK/virtiofsd.log"
  run_vm "$log" -kernel "$IMG/vmlinuz-cloud" -initrd "$IMG/initrd-cloud.gz" -m 256 -serial stdio -D "$WORK/vmm.log" \
    -append "console=ttyS0 quiet guest.cmd=$(b64 "$FS_GUEST")" \
    -object memory-backend-memfd,id=mem,size=256M,share=on -machine microvm,memory-backend=mem \
    -chardev socket,id=vfs,path="$sock" -device vhost-user-fs-device,id=fs0,chardev=vfs,tag=myfs
  check "$log" "exit code 0" test "$RC" = 0
  fs_checks "$log" "$dir"
  finish "$log"
}

run_cases "x86_64 virtio tests" "errors blk_rng sigkill console net fs" "$@"
