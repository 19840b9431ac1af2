#!/bin/bash
# Exit-path benchmark inside the emulated x86_64 KVM host (not a test): jmh/run.sh's "exit" part — JMH's
# ExitPathBenchmark (ns per port-I/O / MMIO exit round trip through Mesovirt's vCPU loop) between two runs of its C
# reference jmh/bench/exit-loop.sh (raw ioctls; compiled inside with this machine's gcc into the host's /tmp) — on the
# nested /dev/kvm (kvm_amd on QEMU TCG's SVM) instead of this machine's kvm_pvm. The results go through the emulated
# host's read-write share to MESOVIRT_HOST_OUT (default jmh/target/bench) as jmh-exit-emulated-x86_64.json and
# exit-loop-emulated-x86_64.jsonl, plus a note, exit-emulated-x86_64.note; ResultsTable shows files named
# *-emulated-ARCH.* as rows of their own, "(emulated x86_64 KVM host)", next to the native ones (jmh-exit.json,
# exit-loop.jsonl), which are left alone. Only a complete run replaces the previous results.
#
# usage: ci/bench/exit-emulated.sh     (needs mvn -B package: jmh/target/benchmarks.jar; about 5 minutes)
# Counts (environment): JMH_ARGS (default "-f 1 -wi 3 -i 5 -w 1 -r 1", as jmh/run.sh), EXITS (20000 per C sample:
# an exit costs some 10x more under emulation) and EXIT_REPEATS (3 C samples before JMH's and 3 after).
# The figures come from software emulation (TCG) running a nested KVM: compare the ratios, not the absolute values.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TAG=emulated-x86_64
if [ "${MESOVIRT_IN_EMULATED_HOST:-}" != 1 ]; then
  JAR=$ROOT/jmh/target/benchmarks.jar
  [ -f "$JAR" ] || { echo "exit-emulated: no $JAR: run 'mvn -B package' first" >&2; exit 2; }
  command -v gcc >/dev/null || { echo "exit-emulated: no gcc (apt-get install gcc)" >&2; exit 2; }
  # A private copy of the jar (not under /tmp: the emulated host has its own /tmp), so that a build while this waits
  # for the emulated host or runs cannot change what is measured.
  SNAP=$(mktemp -d "${MESOVIRT_CACHE:-$HOME/.cache/mesovirt}/bench/exit.XXXXXX") && cp "$JAR" "$SNAP/" || exit 2
  export MESOVIRT_HOST_OUT=${MESOVIRT_HOST_OUT:-$ROOT/jmh/target/bench}
  mkdir -p "$MESOVIRT_HOST_OUT"
  # JMH_ARGS and the counts are not passed into the emulated host (only MESOVIRT_* and a few are): arguments.
  MESOVIRT_HOST_TIMEOUT=${MESOVIRT_HOST_TIMEOUT:-1800} bash "$ROOT/ci/emulated-host.sh" x86_64 "$HERE/exit-emulated.sh" \
    "$SNAP/benchmarks.jar" "${JMH_ARGS:--f 1 -wi 3 -i 5 -w 1 -r 1}" "${EXITS:-20000}" "${EXIT_REPEATS:-3}"
  rc=$?
  rm -rf "$SNAP"
  exit $rc
fi

JAR=$1 JMH_ARGS=$2 EXITS=$3 REPEATS=$4
OUT=${MESOVIRT_HOST_OUT:?exit-emulated: MESOVIRT_HOST_OUT is not set}
cd "$ROOT" && . ci/env.sh || exit 2
WORK=$(mktemp -d /tmp/exit-emulated.XXXXXX) # the emulated host's tmpfs: the only writable place besides OUT
start=$(date -u +%FT%TZ) load_start=$(cut -d' ' -f1-3 /proc/loadavg)
echo "exit-emulated: emulated host $(uname -r), $(nproc) CPUs, $(java -version 2>&1 | head -1); JMH $JMH_ARGS"
rc=0
echo "== C exit loop (before JMH)"
bash jmh/bench/exit-loop.sh -b "$WORK/c" -o "$WORK/exit-loop.jsonl" -e "$EXITS" -r "$REPEATS" || rc=1
echo "== JMH ExitPathBenchmark ($JMH_ARGS)"
# shellcheck disable=SC2086
java --enable-native-access=ALL-UNNAMED -jar "$JAR" $JMH_ARGS -rf json -rff "$WORK/jmh-exit.json" ExitPathBenchmark \
  || rc=1
echo "== C exit loop (after JMH)"
bash jmh/bench/exit-loop.sh -b "$WORK/c" -o "$WORK/exit-loop.jsonl" -e "$EXITS" -r "$REPEATS" || rc=1
if [ $rc != 0 ] || ! [ -s "$WORK/jmh-exit.json" ]; then
  echo "exit-emulated: a part failed; the results in $OUT are left as they were" >&2
  exit 1
fi
cp "$WORK/jmh-exit.json" "$OUT/jmh-exit-$TAG.json.tmp" && mv "$OUT/jmh-exit-$TAG.json.tmp" "$OUT/jmh-exit-$TAG.json" \
  && cp "$WORK/exit-loop.jsonl" "$OUT/exit-loop-$TAG.jsonl.tmp" \
  && mv "$OUT/exit-loop-$TAG.jsonl.tmp" "$OUT/exit-loop-$TAG.jsonl" || exit 1
printf '%s\n' "**exit, emulated host** (\`ci/bench/exit-emulated.sh\`, $start): inside the emulated x86_64 KVM host (QEMU TCG \`-cpu max\`, Linux $(uname -r), $(nproc) vCPUs, nested \`kvm_amd\`); JMH options \`$JMH_ARGS\`; C exit loop: 2 × $REPEATS × $EXITS exits (before and after JMH's). The emulated host's load average (1, 5, 15 min) at the start: $load_start; at the end: $(cut -d' ' -f1-3 /proc/loadavg). Compare ratios, not absolute values." \
  > "$OUT/exit-$TAG.note"
echo "exit-emulated: results in $OUT/jmh-exit-$TAG.json and $OUT/exit-loop-$TAG.jsonl"
