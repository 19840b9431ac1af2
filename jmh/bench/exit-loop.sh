#!/bin/bash
# The C reference of ExitPathBenchmark: compiles jmh/src/main/c/exit-loop.c with the system gcc and runs its port-I/O
# and MMIO exit loops on /dev/kvm (ns per exit, raw KVM ioctls, no JVM). Works natively and inside the emulated KVM
# host (give it a writable build directory there, e.g. under /tmp, and MESOVIRT_HOST_OUT for the output).
#
# usage: jmh/bench/exit-loop.sh [-s SOURCE.c] [-b BUILD_DIR] [-o OUT.jsonl] [-e EXITS] [-r REPEATS]
#   defaults: jmh/src/main/c/exit-loop.c, a temporary directory, jmh/target/bench/exit-loop.jsonl (appended),
#   200000 exits, 5 repetitions (each one sample)
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

SRC=$ROOT/jmh/src/main/c/exit-loop.c BUILD= OUT=$ROOT/jmh/target/bench/exit-loop.jsonl EXITS=200000 REPEATS=5
while getopts s:b:o:e:r: opt; do
  case $opt in
    s) SRC=$OPTARG ;; b) BUILD=$OPTARG ;; o) OUT=$OPTARG ;; e) EXITS=$OPTARG ;; r) REPEATS=$OPTARG ;;
    *) sed -n '2,/^set /p' "$0" | sed '$d' >&2; exit 2 ;;
  esac
done
command -v gcc >/dev/null || { echo "exit-loop.sh: no gcc (apt-get install gcc)" >&2; exit 2; }
[ -w /dev/kvm ] || { echo "exit-loop.sh: /dev/kvm is not usable" >&2; exit 2; }
if [ -z "$BUILD" ]; then
  BUILD=$(mktemp -d "${TMPDIR:-/tmp}/exit-loop.XXXXXX")
  trap 'rm -rf "$BUILD"' EXIT
fi
mkdir -p "$BUILD" "$(dirname "$OUT")"
gcc -O2 -Wall -Wextra -o "$BUILD/exit-loop" "$SRC" || exit 2
rc=0
for kind in pio mmio; do
  out=$("$BUILD/exit-loop" "$kind" "$EXITS" "$REPEATS") || rc=1
  printf '%s\n' "$out" | grep -v '^{'
  printf '%s\n' "$out" | grep '^{' >>"$OUT"
done
echo "exit-loop.sh: results appended to $OUT"
exit $rc
