#!/bin/bash
# virtio-blk benchmark (not a test): guest sequential write and read MB/s and 4 KiB random-read IOPS on the same raw
# image, inside the emulated KVM host of ARCH (x86_64 by default), per machine a pair: "microvm", Mesovirt -machine microvm's
# virtio-blk-device vs QEMU's (qemu-system-x86_64 -M microvm -accel kvm, -device virtio-blk-device); "q35", Mesovirt
# -machine q35's virtio-blk-pci vs QEMU's (qemu-system-x86_64 -M q35 -accel kvm, -device virtio-blk-pci), both at
# 00:03.0 on pcie.0 (the tools disk at 00:04.0); on aarch64 and riscv64, "microvm" is Mesovirt's virtio-blk-device
# against QEMU -M virt's (virtio-mmio there too) and "virt" Mesovirt -machine virt against qemu-system-ARCH -M virt,
# virtio-blk-pci at 00:03.0 on both, MSI-X through the ITS or the IMSICs. Every round runs each VMM of each machine once, in that order, so the
# pairs share the emulated host's drift. The guest writes 64 MiB with dd bs=1M
# conv=fsync, drops its page cache and reads them back, timed in the guest; then ci/bench/randread.c (built here
# with gcc -static, the cross gcc of ARCH elsewhere, and handed to the guest on a second raw disk, since the test initramfs is busybox only and has no
# fio) does O_DIRECT 4 KiB reads at random offsets of those 64 MiB for 5 s, queue depth 1. Both VMMs use the host
# page cache (QEMU's default cache=writeback; the emulated host's /tmp is tmpfs, which has no O_DIRECT). Prints
# medians and the ratios, and writes every run's figures as JSON lines (jmh/bench/lib.sh) to blk.jsonl plus a note
# (blk.note), blk-ARCH.jsonl and blk-ARCH.note on the other architectures, in MESOVIRT_HOST_OUT (default jmh/target/bench, replaced), where jmh/run.sh's table picks them up.
#
# usage: ci/bench/blk-bench.sh [-M MACHINES] [ARCH] [N]   (default x86_64, 3 runs each; MACHINES comma-separated,
#        default microvm,q35 on x86_64, microvm,virt elsewhere; needs mvn -B package first, and on aarch64/riscv64
#        the cross compiler, gcc-aarch64-linux-gnu or gcc-riscv64-linux-gnu, which it installs if apt-get can)
# The dist (cli/target/dist, or MESOVIRT_BIN) is copied into the cache first, so a build during the run (mvn package
# empties cli/target/dist) cannot change what is measured.
# The figures come from software emulation (TCG) running a nested KVM: compare the ratio, not the absolute values.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/lib.sh"
usage() { sed -n '2,/^set /p' "$0" | sed '$d' >&2; exit 2; }
MACHINES=
[ "${1:-}" = -M ] && { MACHINES=${2:?-M needs a list}; shift 2; }
ARCH=x86_64
case ${1:-} in
  x86_64|aarch64|riscv64) ARCH=$1; shift ;;
  ''|[0-9]*) ;;
  *) usage ;;
esac
case ${1:-} in ''|[0-9]*) ;; *) usage ;; esac
N=${1:-3}
MACHINES=$(bench_machines "$ARCH" "$MACHINES") || usage
# The results' file and series names: x86_64's keep the names they always had.
PART=blk SERIES=blk
[ "$ARCH" = x86_64 ] || PART=blk-$ARCH SERIES=blk-$ARCH
PAIRS=$(tr ',' '\n' <<<"$MACHINES" | wc -l)
MESOVIRT=${MESOVIRT_BIN:-$ROOT/cli/target/dist/bin/mesovirt}
TOOLS=${MESOVIRT_CACHE:-$HOME/.cache/mesovirt}/bench
if [ "${MESOVIRT_IN_EMULATED_HOST:-}" != 1 ]; then
  [ -x "$MESOVIRT" ] || { echo "blk-bench: run 'mvn -B package' first" >&2; exit 2; }
  bash "$ROOT/ci/guest-image.sh" "$ARCH" >/dev/null || exit 2
  # The random-read tool, as a raw disk image the guest copies it from (whole 4 KiB blocks).
  mkdir -p "$TOOLS"
  CC=gcc
  if [ "$ARCH" != x86_64 ]; then
    CC=$ARCH-linux-gnu-gcc
    command -v "$CC" >/dev/null || apt-get install -y -q "gcc-$ARCH-linux-gnu" >/dev/null ||
      { echo "blk-bench: no $CC (apt-get install gcc-$ARCH-linux-gnu)" >&2; exit 2; }
  fi
  "$CC" -static -O2 -o "$TOOLS/randread-$ARCH" "$HERE/randread.c" || { echo "blk-bench: $CC -static failed" >&2; exit 2; }
  cp "$TOOLS/randread-$ARCH" "$TOOLS/tools-$ARCH.img" && truncate -s %4096 "$TOOLS/tools-$ARCH.img"
  BENCH_ARCH=$ARCH bench_in_host "$PART" $((600 + N * PAIRS * 400)) "$HERE/blk-bench.sh" -M "$MACHINES" "$ARCH" "$N"
fi
. "$ROOT/jmh/bench/lib.sh"

IMG=${MESOVIRT_CACHE:-$HOME/.cache/mesovirt}/guest/$ARCH
FLAVOUR=generic QEMU=qemu-system-$ARCH QEMU_CONSOLE=ttyS0 QEMU_FIRMWARE=
case $ARCH in
  x86_64) FLAVOUR=cloud ;;
  # QEMU virt's console is a PL011 on arm64 (Mesovirt's is a 16550 everywhere); the in-kernel vGICv3, as Mesovirt's.
  aarch64) QEMU_MACHINE=virt,gic-version=3 QEMU_CONSOLE=ttyAMA0 ;;
  # The in-kernel AIA, as Mesovirt's; KVM provides the SBI, so no firmware.
  riscv64) QEMU_MACHINE=virt,aia=aplic-imsic QEMU_FIRMWARE="-bios none" ;;
esac
KERNEL=$IMG/vmlinuz-$FLAVOUR INITRD=$IMG/initrd-$FLAVOUR.gz
TOOLS_IMG=$TOOLS/tools-$ARCH.img
WORK=$(mktemp -d /tmp/blk-bench.XXXXXX)
DISK=$WORK/disk.img
truncate -s 80M "$DISK"
# busybox dd prints no timing here, so the guest times each dd with /proc/uptime (10 ms resolution).
SCRIPT='d=/dev/vda
up() { cut -d" " -f1 /proc/uptime; }
t0=$(up); dd if=/dev/zero of=$d bs=1M count=64 conv=fsync 2>/dev/null; t1=$(up)
echo 3 > /proc/sys/vm/drop_caches
t2=$(up); dd if=$d of=/dev/null bs=1M count=64 2>/dev/null; t3=$(up)
echo "BENCH-WRITE $(awk -v a=$t0 -v b=$t1 "BEGIN { print b - a }")"
echo "BENCH-READ $(awk -v a=$t2 -v b=$t3 "BEGIN { print b - a }")"
dd if=/dev/vdb of=/tmp/randread bs=4096 2>/dev/null && chmod +x /tmp/randread && /tmp/randread $d 64 5'
CMD="quiet guest.cmd=$(printf '%s' "$SCRIPT" | base64 -w0)"
RESULTS=$WORK/results

run() { # NAME CMD...
  local name=$1; shift
  local out; out=$(timeout 600 "$@" </dev/null 2>&1)
  local w r
  w=$(printf '%s\n' "$out" | sed -n 's/^BENCH-WRITE //p' | tr -d '\r')
  r=$(printf '%s\n' "$out" | sed -n 's/^BENCH-READ //p' | tr -d '\r')
  iops=$(printf '%s\n' "$out" | sed -n 's/^BENCH-IOPS //p' | tr -d '\r')
  echo "$name write $(bench_mbps "$w") read $(bench_mbps "$r") iops ${iops:-NA}   [seconds: ${w:-none} ${r:-none}]" | tee -a "$RESULTS"
  [ -n "$w" ] || printf '%s\n' "$out" | tail -20
}


# The disks of a MACHINE: d0 the measured image (the guest's vda), d1 the tools (vdb, read-only): virtio-mmio
# devices on microvm, virtio-blk-pci on q35 at 00:03.0 and 00:04.0 (PCI probe order keeps vda and vdb).
mesovirt_disks() { # MACHINE
  if [ "$1" != microvm ]; then
    echo -drive id=d0,file="$DISK" -device virtio-blk-pci,drive=d0,id=blk0,bus=pcie.0,addr=0x3 \
      -drive id=d1,file="$TOOLS_IMG",readonly=on -device virtio-blk-pci,drive=d1,id=blk1,bus=pcie.0,addr=0x4
  else
    echo -drive id=d0,file="$DISK",if=none -device virtio-blk-device,drive=d0,id=blk0 \
      -drive id=d1,file="$TOOLS_IMG",readonly=on -device virtio-blk-device,drive=d1,id=blk1
  fi
}

qemu_disks() { # MACHINE
  local dev=virtio-blk-device at0= at1=
  [ "$1" != microvm ] && dev=virtio-blk-pci at0=,bus=pcie.0,addr=0x3 at1=,bus=pcie.0,addr=0x4
  local measured="-drive id=d0,file=$DISK,format=raw,if=none -device $dev,drive=d0$at0"
  local tools="-drive id=d1,file=$TOOLS_IMG,format=raw,if=none,readonly=on -device $dev,drive=d1$at1"
  # QEMU's virt board fills its virtio-mmio transports from the top, and Linux probes them from the bottom: there
  # the last virtio-blk-device given is vda. (The paths have no spaces: mktemp and the cache.)
  if [ "$1" = microvm ] && [ "$ARCH" != x86_64 ]; then echo "$tools $measured"; else echo "$measured $tools"; fi
}

# qemu_machine MACHINE: QEMU's -M for it: the same type on x86_64; virt (with its options) for both elsewhere.
qemu_machine() { if [ "$ARCH" = x86_64 ]; then echo "$1"; else echo "$QEMU_MACHINE"; fi; }

START=$(date -u +%FT%TZ) LOAD=$(bench_load)
echo "blk-bench: $ARCH, machines $MACHINES, $N runs each, 64 MiB dd bs=1M, emulated host $(uname -r) with $(nproc) CPUs"
for i in $(seq "$N"); do
  for m in ${MACHINES//,/ }; do
    # The paths have no spaces (mktemp, the cache), so the disks' words split as they should.
    # shellcheck disable=SC2046
    run "$(bench_vmm_name mesovirt "$m")" "$MESOVIRT" -machine "$m" -kernel "$KERNEL" -initrd "$INITRD" \
      -append "console=ttyS0 $CMD" -m 256 -serial stdio $(mesovirt_disks "$m")
    # shellcheck disable=SC2046,SC2086
    run "$(bench_vmm_name qemu "$m")" "$QEMU" -M "$(qemu_machine "$m")" -accel kvm -cpu host $QEMU_FIRMWARE -m 256 \
      -nodefaults -no-user-config -nographic -serial stdio -kernel "$KERNEL" -initrd "$INITRD" \
      -append "console=$QEMU_CONSOLE $CMD" $(qemu_disks "$m")
  done
done
awk "$BENCH_MEDIAN"'
  $3 != "NA" && $5 != "NA" && $7 != "NA" { n[$1]++; w[$1, n[$1]] = $3; r[$1, n[$1]] = $5; q[$1, n[$1]] = $7 }
  END {
    for (v in n) { for (i = 1; i <= n[v]; i++) { wa[i] = w[v, i]; ra[i] = r[v, i]; qa[i] = q[v, i] }
      mw[v] = median(wa, n[v]); mr[v] = median(ra, n[v]); mq[v] = median(qa, n[v])
      printf "%-12s runs %d  write median %.1f MB/s  read median %.1f MB/s  4k randread median %.0f IOPS\n", v, n[v], mw[v], mr[v], mq[v] }
    for (v in n) { if (v !~ /^mesovirt/) continue; p = v; sub(/^mesovirt/, "qemu", p)
      if (mw[p] > 0 && mw[v] > 0 && mq[p] > 0)
        printf "ratio %s/%s: write %.2f, read %.2f, randread IOPS %.2f\n", v, p, mw[v] / mw[p], mr[v] / mr[p], mq[v] / mq[p] }
  }' "$RESULTS"

rc=0
grep -q ' NA' "$RESULTS" && { echo "blk-bench: some runs gave no figures (see above)" >&2; rc=1; }
# The results table's input: one line per VMM and figure with every run's value (NA, i.e. a failed run, is left out).
[ -n "${MESOVIRT_HOST_OUT:-}" ] || exit $rc
field() { bench_field "$RESULTS" "$@"; } # VMM FIELD -> one value per run
QEMU_VERSION=$(bench_qemu_version "$ARCH")
LINES=$WORK/$PART.jsonl
for f in "3 write MB/s|virtio-blk, guest sequential write: dd 64 MiB bs=1M conv=fsync" \
  "5 read MB/s|virtio-blk, guest sequential read: dd 64 MiB bs=1M after drop_caches" \
  "7 randread IOPS|virtio-blk, guest 4 KiB random reads: O_DIRECT, queue depth 1, 5 s"; do
  read -r col key unit <<<"${f%%|*}"
  figure="${f#*|} (emulated $ARCH KVM host)"
  for m in ${MACHINES//,/ }; do # the pairs of one figure side by side
    dev=virtio-blk-device mesovirt_label="Mesovirt virtio-blk-device" # the microvm labels they always had
    [ "$m" != microvm ] && dev=virtio-blk-pci mesovirt_label="Mesovirt $m virtio-blk-pci"
    mv=$(bench_vmm_name mesovirt "$m") qe=$(bench_vmm_name qemu "$m")
    # shellcheck disable=SC2046
    json_line "$LINES" "$SERIES.$key.$mv" "$SERIES.$key.$qe" "$unit" higher "$figure" "$mesovirt_label" $(field "$mv" "$col")
    # shellcheck disable=SC2046
    json_line "$LINES" "$SERIES.$key.$qe" "" "$unit" higher "$figure" "QEMU $QEMU_VERSION $(qemu_machine "$m") $dev" \
      $(field "$qe" "$col")
  done
done
# Only a complete set replaces the previous results.
grep -q '"samples":\[\]' "$LINES" && { echo "blk-bench: $MESOVIRT_HOST_OUT/$PART.jsonl left as it was" >&2; exit 1; }
cp "$LINES" "$MESOVIRT_HOST_OUT/$PART.jsonl.tmp" && mv "$MESOVIRT_HOST_OUT/$PART.jsonl.tmp" "$MESOVIRT_HOST_OUT/$PART.jsonl"
Q35=
bench_has_machine "$MACHINES" q35 && Q35=" The q35 pair: Mesovirt \`-machine q35\` and QEMU \`-M q35\` (through SeaBIOS $(bench_seabios_version)), virtio-blk-pci at 00:03.0 on pcie.0 with MSI-X."
VIRT=
bench_has_machine "$MACHINES" virt && VIRT=" The virt pair: Mesovirt \`-machine virt\` and QEMU \`-M $QEMU_MACHINE\`, virtio-blk-pci at 00:03.0 behind each one's ECAM host bridge with MSI-X; neither boots firmware."
[ "$ARCH" = x86_64 ] && HOSTCPU="QEMU TCG \`-cpu max\`, Linux $(uname -r), $(nproc) vCPUs, nested \`kvm_amd\`" ||
  HOSTCPU="QEMU TCG, Linux $(uname -r), $(nproc) vCPUs, nested KVM"
printf '%s\n' "**$PART** (\`ci/bench/blk-bench.sh -M $MACHINES $ARCH $N\`, $START): $N rounds, each running every VMM of every machine ($MACHINES) once in turn, inside the emulated $ARCH KVM host ($HOSTCPU); guest: Debian $FLAVOUR kernel, \`-m 256\`, 1 vCPU, the 80 MiB raw image on the emulated host's tmpfs, host page cache for both VMMs.$Q35$VIRT Compare ratios, not absolute values. Load average (1, 5, 15 min) of the emulated host at the start: $LOAD; at the end: $(bench_load)." \
  > "$MESOVIRT_HOST_OUT/$PART.note"
echo "blk-bench: results in $MESOVIRT_HOST_OUT/$PART.jsonl"
exit $rc
