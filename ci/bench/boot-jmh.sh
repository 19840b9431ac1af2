#!/bin/bash
# Boot-time benchmark with JMH (not a test): jmh's BootBenchmark (VMM start -> the guest's GUEST-READY line, and ->
# the VMM's exit after power-off; 1 and 2 vCPUs; Mesovirt and qemu-system-x86_64 -M microvm -accel kvm with the same
# Debian cloud kernel and test initramfs), single shot, FORKS forks per figure, inside the emulated x86_64 KVM host
# (this machine's kvm_pvm cannot boot Linux). JMH's JSON goes to jmh/target/bench/jmh-boot.json (through the
# emulated host's read-write share), where jmh/run.sh's table picks it up.
#
# usage: ci/bench/boot-jmh.sh [FORKS]     (default 3; needs mvn -B package: cli/target/dist and jmh/target/benchmarks.jar)
# About 2 x 2 x 2 x FORKS boots of 20-40 s each under TCG: some 10 minutes with the default.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
FORKS=${1:-3}
MESOVIRT=$ROOT/cli/target/dist/bin/mesovirt
JAR=$ROOT/jmh/target/benchmarks.jar
OUT=$ROOT/jmh/target/bench
if [ "${MESOVIRT_IN_EMULATED_HOST:-}" != 1 ]; then
  [ -x "$MESOVIRT" ] && [ -f "$JAR" ] || { echo "boot-jmh: run 'mvn -B package' first" >&2; exit 2; }
  bash "$ROOT/ci/guest-image.sh" x86_64 >/dev/null || exit 2
  mkdir -p "$OUT"
  MESOVIRT_HOST_OUT=$OUT MESOVIRT_HOST_TIMEOUT=${MESOVIRT_HOST_TIMEOUT:-2400} \
    exec bash "$ROOT/ci/emulated-host.sh" x86_64 "$HERE/boot-jmh.sh" "$FORKS"
fi

IMG=${MESOVIRT_CACHE:-$HOME/.cache/mesovirt}/guest/x86_64
. "$ROOT/ci/env.sh" >/dev/null 2>&1 || true
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
echo "boot-jmh: $FORKS forks per figure, emulated host $(uname -r) with $(nproc) CPUs, $($JAVA -version 2>&1 | head -1)"
# The harness JVM and its forks: C1 only and the serial GC start faster under emulation; they only wait on the VMM.
"$JAVA" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -jar "$JAR" BootBenchmark -f "$FORKS" -wi 0 -i 1 \
  -jvmArgsAppend "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Dboot.mesovirt=$MESOVIRT -Dboot.qemu=$(command -v qemu-system-x86_64) -Dboot.kernel=$IMG/vmlinuz-cloud -Dboot.initrd=$IMG/initrd-cloud.gz" \
  -rf json -rff "$OUT/jmh-boot.json"
