#!/bin/bash
# Boot-time benchmark with JMH (not a test): jmh's BootBenchmark (VMM start -> the guest's GUEST-READY line, and ->
# the VMM's exit after power-off; 1 and 2 vCPUs; Mesovirt and QEMU with KVM on the same Debian kernel and test
# initramfs), single shot, FORKS forks per figure, inside the emulated KVM host of ARCH (this machine's kvm_pvm cannot
# boot Linux). QEMU is qemu-system-x86_64 -M microvm on x86_64 (this machine's own, seen through the host's shared /),
# qemu-system-aarch64 -M virt / qemu-system-riscv64 -M virt on the others (trixie's, added to the host's userland by
# MESOVIRT_HOST_EXTRA_PKGS). The guest is Debian's cloud kernel on x86_64, the generic one elsewhere (as the guest
# tests boot). JMH's JSON goes to jmh/target/bench/jmh-boot.json (x86_64) or jmh-boot-ARCH.json, with a note
# boot-ARCH.note, through the emulated host's read-write share, where jmh/run.sh's table picks them up.
#
# usage: ci/bench/boot-jmh.sh [ARCH] [FORKS]   (ARCH x86_64 (default), aarch64 or riscv64; FORKS default 3; a lone
#        number is FORKS; needs mvn -B package: cli/target/dist and jmh/target/benchmarks.jar)
# About 2 x 2 x 2 x FORKS boots of 5-40 s each under TCG, plus a JVM start per fork: some 10 minutes with the default.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
ARCH=x86_64
case ${1:-} in
  x86_64|aarch64|riscv64) ARCH=$1; shift ;;
  ''|[0-9]*) ;;
  *) sed -n '2,/^set /p' "$0" | sed '$d' >&2; exit 2 ;;
esac
FORKS=${1:-3}
MESOVIRT=$ROOT/cli/target/dist/bin/mesovirt
JAR=$ROOT/jmh/target/benchmarks.jar
OUT=$ROOT/jmh/target/bench
RESULT=$OUT/jmh-boot-$ARCH.json
[ "$ARCH" = x86_64 ] && RESULT=$OUT/jmh-boot.json # the name it always had
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
    MESOVIRT_HOST_EXTRA_PKGS=${QEMU_PKG:-} bash "$ROOT/ci/emulated-host.sh" "$ARCH" "$HERE/boot-jmh.sh" "$ARCH" "$FORKS"
  rc=$?
  # This machine's load at the end tells whether other emulated hosts ran meanwhile (the run's own counts ~2).
  NOTE=$OUT/boot-$ARCH.note
  if [ "$rc" = 0 ] && [ "$NOTE" -nt "$SNAP" ]; then
    sed -i "s|\$| This machine's load average at the end: $(cut -d' ' -f1-3 /proc/loadavg).|" "$NOTE"
  fi
  exit $rc
fi
if [ -n "${MESOVIRT_BOOT_SNAP:-}" ]; then
  MESOVIRT=$MESOVIRT_BOOT_SNAP/dist/bin/mesovirt JAR=$MESOVIRT_BOOT_SNAP/benchmarks.jar
fi

IMG=$CACHE/guest/$ARCH
. "$ROOT/ci/env.sh" >/dev/null 2>&1 || true
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
QEMU_BIN=$(command -v "$QEMU") || { echo "boot-jmh: no $QEMU in the emulated host" >&2; exit 2; }
START=$(date -u +%FT%TZ) LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
HOSTINFO="emulated $ARCH host $(uname -r) with $(nproc) CPUs, $("$QEMU_BIN" --version | head -1), $("$JAVA" -version 2>&1 | head -1)"
echo "boot-jmh: $FORKS forks per figure, $HOSTINFO"
# The harness JVM and its forks: C1 only and the serial GC start faster under emulation; they only wait on the VMM.
"$JAVA" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -jar "$JAR" BootBenchmark -f "$FORKS" -wi 0 -i 1 -p arch="$ARCH" \
  -jvmArgsAppend "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Dboot.mesovirt=$MESOVIRT -Dboot.qemu=$QEMU_BIN -Dboot.kernel=$IMG/vmlinuz-$FLAVOUR -Dboot.initrd=$IMG/initrd-$FLAVOUR.gz" \
  -rf json -rff "$RESULT"
rc=$?
printf '%s\n' "**boot $ARCH** (\`ci/bench/boot-jmh.sh $ARCH $FORKS\`, $START): JMH single shot, $FORKS forks per row; Debian $FLAVOUR kernel, test initramfs, \`-m 256\`, \`quiet\`; $HOSTINFO (QEMU TCG outside, nested KVM: compare ratios, not absolute values). Load average (1, 5, 15 min) of the emulated host at the start: $LOAD; at the end: $(cut -d' ' -f1-3 /proc/loadavg)." \
  >"$OUT/boot-$ARCH.note"
exit $rc
