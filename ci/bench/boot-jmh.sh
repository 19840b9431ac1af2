#!/bin/bash
# Boot-time benchmark with JMH (not a test): jmh's BootBenchmark (VMM start -> the guest's GUEST-READY line, and ->
# the VMM's exit after power-off; 1 and 2 vCPUs; Mesovirt and QEMU with KVM on the same Debian kernel and test
# initramfs), single shot, FORKS forks per figure, inside the emulated KVM host of ARCH (this machine's kvm_pvm cannot
# boot Linux). Machines (JMH parameter machine): "microvm" is Mesovirt -machine microvm against qemu-system-x86_64
# -M microvm on x86_64 (this machine's own QEMU, seen through the host's shared /), qemu-system-aarch64 -M virt /
# qemu-system-riscv64 -M virt on the others (trixie's, added to the host's userland by MESOVIRT_HOST_EXTRA_PKGS), no
# disk; "q35" (x86_64) is Mesovirt -machine q35 against qemu-system-x86_64 -M q35, both with a virtio-blk-pci disk at
# 00:03.0, QEMU through SeaBIOS (its figure includes the firmware; Mesovirt loads the kernel itself); "virt" (aarch64,
# riscv64) is Mesovirt -machine virt against qemu-system-ARCH -M virt, both with a virtio-blk-pci disk at 00:03.0 and
# no firmware. The guest is Debian's cloud kernel on x86_64, the generic one elsewhere (as the guest tests boot).
# JMH's JSON goes to jmh/target/bench/jmh-boot.json (x86_64) or jmh-boot-ARCH.json, with a note boot-ARCH.note (a
# run of fewer machines than the default: jmh-boot-ARCH-MACHINES.json and boot-ARCH-MACHINES.note, so that the table
# keeps the other machines' rows), through the emulated
# host's read-write share, where jmh/run.sh's table picks them up.
#
# usage: ci/bench/boot-jmh.sh [-M MACHINES] [ARCH] [FORKS]   (ARCH x86_64 (default), aarch64 or riscv64; FORKS
#        default 3; a lone number is FORKS; MACHINES comma-separated, default microvm,q35 on x86_64 and microvm,virt
#        elsewhere; needs mvn -B package: cli/target/dist and jmh/target/benchmarks.jar)
# About 2 x 2 x 2 x FORKS boots per machine of 5-40 s each under TCG, plus a JVM start per fork: some 10 minutes per
# machine with the default. BOOT_TIMEOUT (seconds, default 300): a boot that takes longer is killed and fails.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/lib.sh"
usage() { sed -n '2,/^set /p' "$0" | sed '$d' >&2; exit 2; }
ARCH=x86_64 MACHINES=
[ "${1:-}" = -M ] && { MACHINES=${2:?-M needs a list}; shift 2; }
case ${1:-} in
  x86_64|aarch64|riscv64) ARCH=$1; shift ;;
  ''|[0-9]*) ;;
  *) usage ;;
esac
FORKS=${1:-3}
MACHINES=$(bench_machines "$ARCH" "$MACHINES") || usage
MESOVIRT=$ROOT/cli/target/dist/bin/mesovirt
JAR=$ROOT/jmh/target/benchmarks.jar
OUT=$ROOT/jmh/target/bench
# A run of fewer machines than the default writes files of its own (PART = boot-ARCH-MACHINE...), so that the
# table keeps the other machines' rows (jmh/run.sh replaces a part's rows only with that part's file).
PART=boot-$ARCH
[ "$MACHINES" = "$(bench_machines "$ARCH")" ] || PART=boot-$ARCH-${MACHINES//,/-}
RESULT=$OUT/jmh-$PART.json
[ "$PART" = boot-x86_64 ] && RESULT=$OUT/jmh-boot.json # the name it always had
case $ARCH in
  x86_64)  QEMU=qemu-system-x86_64  FLAVOUR=cloud ;;
  aarch64) QEMU=qemu-system-aarch64 FLAVOUR=generic QEMU_PKG=qemu-system-arm ;;
  riscv64) QEMU=qemu-system-riscv64 FLAVOUR=generic QEMU_PKG=qemu-system-riscv ;;
esac
CACHE=${MESOVIRT_CACHE:-$HOME/.cache/mesovirt}
if [ "${MESOVIRT_IN_EMULATED_HOST:-}" != 1 ]; then
  [ -x "$MESOVIRT" ] && [ -f "$JAR" ] || { echo "boot-jmh: run 'mvn -B package' first" >&2; exit 2; }
  bash "$ROOT/ci/guest-image.sh" "$ARCH" >/dev/null || exit 2
  mkdir -p "$OUT" "$CACHE/bench"
  # A private copy of what is measured (not under /tmp: the emulated host must see it): a build meanwhile (mvn
  # package empties cli/target/dist) must not change it during the half hour of a run.
  SNAP=$(mktemp -d "$CACHE/bench/boot-jmh.XXXXXX") || exit 2
  trap 'rm -rf "$SNAP"' EXIT
  cp -a "$ROOT/cli/target/dist" "$SNAP/dist" && cp "$JAR" "$SNAP/" || exit 2
  MESOVIRT_BOOT_SNAP=$SNAP MESOVIRT_HOST_OUT=$OUT MESOVIRT_HOST_TIMEOUT=${MESOVIRT_HOST_TIMEOUT:-3600} \
    MESOVIRT_HOST_ENV="${MESOVIRT_HOST_ENV:-} BOOT_TIMEOUT" \
    MESOVIRT_HOST_EXTRA_PKGS=${QEMU_PKG:-} bash "$ROOT/ci/emulated-host.sh" "$ARCH" "$HERE/boot-jmh.sh" \
    -M "$MACHINES" "$ARCH" "$FORKS"
  rc=$?
  bench_note_outer_load "$OUT/$PART.note" "$SNAP"
  exit $rc
fi
if [ -n "${MESOVIRT_BOOT_SNAP:-}" ]; then
  MESOVIRT=$MESOVIRT_BOOT_SNAP/dist/bin/mesovirt JAR=$MESOVIRT_BOOT_SNAP/benchmarks.jar
fi

IMG=$CACHE/guest/$ARCH
. "$ROOT/ci/env.sh" >/dev/null 2>&1 || true
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
QEMU_BIN=$(command -v "$QEMU") || { echo "boot-jmh: no $QEMU in the emulated host" >&2; exit 2; }
START=$(date -u +%FT%TZ) LOAD=$(bench_load)
HOSTINFO="emulated $ARCH host $(uname -r) with $(nproc) CPUs, $("$QEMU_BIN" --version | head -1), $("$JAVA" -version 2>&1 | head -1)"
echo "boot-jmh: machines $MACHINES, $FORKS forks per figure, $HOSTINFO"
# The harness JVM and its forks: C1 only and the serial GC start faster under emulation; they only wait on the VMM.
# A boot that fails (or hangs past BOOT_TIMEOUT seconds and is killed) loses its fork's sample, JMH goes on with the
# other forks; the run then exits 1 and the note says which failed.
JMHLOG=$(mktemp /tmp/boot-jmh.XXXXXX)
"$JAVA" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -jar "$JAR" BootBenchmark -f "$FORKS" -wi 0 -i 1 -p arch="$ARCH" \
  -p machine="$MACHINES" \
  -jvmArgsAppend "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Dboot.mesovirt=$MESOVIRT -Dboot.qemu=$QEMU_BIN -Dboot.kernel=$IMG/vmlinuz-$FLAVOUR -Dboot.initrd=$IMG/initrd-$FLAVOUR.gz -Dboot.timeout=${BOOT_TIMEOUT:-300}" \
  -rf json -rff "$RESULT" 2>&1 | tee "$JMHLOG"
rc=${PIPESTATUS[0]}
FAILED=
if grep -q '<failure>' "$JMHLOG"; then
  rc=1
  FAILED=" FAILED boots ($(grep -c '<failure>' "$JMHLOG"), their forks have no sample): $(sed -n 's/^java.lang.IllegalStateException: //p' "$JMHLOG" | paste -sd ';' | sed 's/;/; /g')."
  echo "boot-jmh:$FAILED" >&2
fi
Q35=
bench_has_machine "$MACHINES" virt && Q35=" The virt rows: Mesovirt \`-machine virt\` and QEMU \`-M virt\`, each with a virtio-blk-pci disk (an empty 16 MiB raw image on the emulated host's tmpfs) at 00:03.0 behind its ECAM host bridge; both load the kernel themselves."
bench_has_machine "$MACHINES" q35 && Q35=" The q35 rows: Mesovirt \`-machine q35\` and QEMU \`-M q35\`, each with a virtio-blk-pci disk (an empty 16 MiB raw image on the emulated host's tmpfs) at 00:03.0 on pcie.0; QEMU's figure includes its firmware (SeaBIOS $(bench_seabios_version), whose option ROM loads the kernel), Mesovirt loads the kernel itself: each is what its user runs."
printf '%s\n' "**$PART** (\`ci/bench/boot-jmh.sh -M $MACHINES $ARCH $FORKS\`, $START): JMH single shot, $FORKS forks per row; Debian $FLAVOUR kernel, test initramfs, \`-m 256\`, \`quiet\`; $HOSTINFO (QEMU TCG outside, nested KVM: compare ratios, not absolute values).$Q35$FAILED Load average (1, 5, 15 min) of the emulated host at the start: $LOAD; at the end: $(bench_load)." \
  >"$OUT/$PART.note"
exit $rc
