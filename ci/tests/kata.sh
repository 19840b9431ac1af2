#!/bin/bash
# Kata Containers' StratoVirt driver against Mesovirt, inside the emulated x86_64 KVM host: ci/tests/
# kata-driver.py plays the driver from Kata's sources (stratovirt.go and govmm's qmp.go, releases 3.8 to 4.1: its
# launch line, its QMP session, and the hot-plug requests of govmm the issue asks for) and checks the guest's side
# through Kata's debug console. The same session against QEMU's microvm (QEMU inside the emulated host) proves the
# test. Cases:
#   mesovirt   the driver's run against bin/mesovirt and Debian's cloud kernel with the test initramfs plus a
#              stand-in for Kata's agent (kata-init, below): greeting (QEMU >= 5.0 for govmm, Mesovirt in package),
#              qmp_capabilities, query-status "running" on the first connection, query-cpus thread ids, the NIC on a
#              passed IFF_VNET_HDR TAP (fds=3) pinging, block hot-plug of a loop device (blockdev-add host_device
#              aio=native + device_add virtio-blk-mmio addr=1 romfile="" logical/physical_block_size 512/4096; the
#              guest reads and writes it; device_del waits for DEVICE_DELETED; blockdev-del), network hot-plug
#              (getfd + netdev_add fds= + device_add virtio-net-mmio mq vectors; the guest pings; device_del,
#              netdev_del), quit (SHUTDOWN, exit 0)
#   qemu       the same session against qemu-system-x86_64 -M microvm,pcie=on, with the substitutions the driver
#              lists (QEMU hot-plugs on PCIe root ports; its file-posix wants cache.direct=on with aio=native;
#              query-cpus-fast for query-cpus)
#   acpi-off   Kata's acpi=off on x86_64: Debian's generic kernel (it has CONFIG_X86_MPPARSE) boots with acpi=off
#              and -smp 2, and finds both vCPUs in Mesovirt's MP tables
#   freeze     -S: QMP says prelaunch until cont, then running
# Where the driver's run deviates from Kata's exact line (acpi=off, the kernel_params, initrd mode, the guest's
# re-probe of a slot, quit for SIGKILL) it says so and why (kata-driver.py's DEVIATIONS, README's Kata section).
# Kata's vhost-vsock and virtio-fs devices are on the launch line (MESOVIRT_KATA_VSOCK=0 / MESOVIRT_KATA_FS=0 leave
# them out; the virtio-fs run needs virtiofsd: /usr/libexec/virtiofsd, else QEMU 7.2's, or MESOVIRT_KATA_VIRTIOFSD).
#
# usage: ci/tests/kata.sh [CASE...]     (no CASE: all)     Ends with "N passed, M failed".
set -uo pipefail
CASE_TIMEOUT=400
. "$(dirname "$0")/lib.sh"
tests_enter x86_64 "Kata tests" "$TESTS_DIR/kata.sh" "$@"
export PATH=$PATH:/usr/sbin:/sbin

# Kata's agent is its guest's init and talks over vsock; the test's guest is the busybox initramfs, whose /init
# opens /dev/console before loading the modules. Under Kata's console=hvc0 the console exists only once
# virtio_console (a module here) has loaded, so this runs first (rdinit=/kata-init, in kernel_params).
KATA_INIT='#!/bin/busybox sh
/bin/busybox mkdir -p /dev
/bin/busybox mount -t devtmpfs devtmpfs /dev
for m in virtio_ring virtio virtio_mmio virtio_console; do
  [ -f /lib/modules/$m.ko ] && /bin/busybox insmod /lib/modules/$m.ko 2>/dev/null
done
i=0
while [ ! -e /dev/hvc0 ] && [ $i -lt 100 ]; do /bin/busybox sleep 0.1; i=$((i + 1)); done
exec /init </dev/console >/dev/console 2>&1
'

# The cloud initramfs with kata-init added (the kernel unpacks concatenated archives in order).
kata_initrd() {
  mkdir -p "$WORK/overlay"
  printf '%s' "$KATA_INIT" > "$WORK/overlay/kata-init"
  chmod 755 "$WORK/overlay/kata-init"
  (cd "$WORK/overlay" && printf 'kata-init\n' | cpio -o -H newc -R 0:0 2>/dev/null | gzip -1) > "$WORK/overlay.gz"
  cat "$IMG/initrd-cloud.gz" "$WORK/overlay.gz" > "$WORK/initrd-kata.gz"
}

# A loop device over a 4 MiB image starting with the pattern the guest looks for (Kata hot-plugs block devices,
# e.g. devicemapper's; aio=native needs O_DIRECT, which this host's tmpfs lacks and a loop device has).
hot_disk() {
  truncate -s 4M "$WORK/$1.img"
  printf 'KATA-HOTPLUG-PATTERN-01' | dd of="$WORK/$1.img" conv=notrunc 2>/dev/null
  losetup -f --show "$WORK/$1.img"
}

driver_case() { # NAME VMM BINARY
  begin "$1"; local log=$WORK/$1.log ns=kata-$2 disk t
  kata_initrd
  disk=$(hot_disk "$2") || { check "$log" "a loop device" false; finish "$log"; return; }
  ip netns add "$ns"
  t=$(now)
  timeout "$CASE_TIMEOUT" ip netns exec "$ns" python3 "$TESTS_DIR/kata-driver.py" --vmm "$2" --bin "$3" \
    --kernel "$IMG/vmlinuz-cloud" --initrd "$WORK/initrd-kata.gz" --disk "$disk" --work "$WORK/$2" >"$log" 2>&1
  RC=$?; SECS=$(secs "$t")
  ip netns del "$ns"
  losetup -d "$disk"
  sed -n 's/^  \(ok\|FAILED\): /  \1: /p' "$log"
  check "$log" "every check of the driver passed" has "$log" '^kata-driver: [0-9]+ checks, 0 failed'
  check "$log" "exit code 0" test "$RC" = 0
  if [ "$CASE_OK" != 1 ]; then
    for f in "$WORK/$2"/*.stderr "$WORK/$2"/guest-console.log "$WORK/$2"/*.qmp.log; do
      [ -f "$f" ] && { echo "  --- ${f##*/} (last 40 lines)"; tail -40 "$f" | sed 's/^/    | /'; }
    done
  fi
  finish "$log"
}

case_mesovirt() { driver_case kata-mesovirt mesovirt "$MESOVIRT"; }
case_qemu() { driver_case kata-qemu qemu "$(command -v qemu-system-x86_64)"; }

# Kata's acpi=off: Mesovirt writes MP tables (and virtio_mmio.device= parameters, which Debian's kernels ignore:
# no CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES) for a guest that reads no ACPI; reboot=k as Kata passes it.
case_acpi_off() {
  begin acpi-off; local log=$WORK/$CASE.log
  run_vm "$log" -kernel "$IMG/vmlinuz-generic" -initrd "$IMG/initrd-generic.gz" -m 256 -smp 2 -serial stdio \
    -append "console=ttyS0 quiet acpi=off reboot=k guest.reboot=1"
  check "$log" "exit code 0 (the guest's reboot through the keyboard controller ends the VM)" test "$RC" = 0
  check "$log" "the guest reached its init" has "$log" '^GUEST-READY'
  check "$log" "2 CPUs online from the MP tables" has "$log" '^GUEST-CPUS 2$'
  check "$log" "GUEST-DONE" has "$log" '^GUEST-DONE'
  finish "$log"
}

# -S: the machine is built but no vCPU runs until cont; QMP says prelaunch, then running.
case_freeze() {
  begin freeze; local log=$WORK/$CASE.log sock=$WORK/freeze.sock t
  t=$(now)
  timeout "$CASE_TIMEOUT" "$MESOVIRT" -S -kernel "$IMG/vmlinuz-cloud" -initrd "$IMG/initrd-cloud.gz" -m 128 \
    -serial stdio -append "console=ttyS0 quiet guest.sleep=600" -qmp "unix:$sock,server,nowait" \
    </dev/null >"$log" 2>&1 &
  local pid=$!
  python3 - "$sock" >>"$log" 2>&1 <<'EOF'
import json, socket, sys, time
deadline = time.time() + 120
while True:
    try:
        s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); break
    except OSError:
        s.close()
        if time.time() > deadline: raise
        time.sleep(0.1)
f = s.makefile("rwb")
def cmd(name):
    f.write(json.dumps({"execute": name}).encode() + b"\n"); f.flush()
    while True:
        m = json.loads(f.readline())
        if "event" in m:
            print("FREEZE-EVENT", m["event"])
            continue
        return m
f.readline()
cmd("qmp_capabilities")
print("FREEZE-STATUS-1", cmd("query-status")["return"]["status"])
time.sleep(1)
print("FREEZE-STATUS-2", cmd("query-status")["return"]["status"])
cmd("cont")
print("FREEZE-STATUS-3", cmd("query-status")["return"]["status"])
cmd("quit")
EOF
  wait "$pid"; RC=$?; SECS=$(secs "$t")
  check "$log" "prelaunch before cont" has "$log" '^FREEZE-STATUS-1 prelaunch'
  check "$log" "still prelaunch a second later" has "$log" '^FREEZE-STATUS-2 prelaunch'
  check "$log" "cont: RESUME, running" has "$log" '^FREEZE-EVENT RESUME'
  check "$log" "running after cont" has "$log" '^FREEZE-STATUS-3 running'
  check "$log" "exit code 0 after quit" test "$RC" = 0
  finish "$log"
}

run_cases "Kata tests" "mesovirt qemu acpi_off freeze" "$@"
