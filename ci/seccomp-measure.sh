#!/bin/bash
# Measures the system calls the VMM makes once its seccomp filter is in, for the allow-list of one architecture
# (<arch module>/src/main/resources/dev/mesovirt/arch/ARCH/seccomp.txt):
#
#   ci/seccomp-measure.sh ARCH 'JOB [ARGS]'...     e.g. ci/seccomp-measure.sh x86_64 ci/tests/x86_64.sh 'ci/tests/qmp-guest.sh x86_64'
#
# runs each guest job (ci/tests/*.sh, in its emulated host) with bin/mesovirt's JVM under ci/seccomp-trace.sh
# (strace -f, MESOVIRT_SECCOMP=log: nothing is killed), then merges the per-run summaries into
# target/seccomp-measure/ARCH/summary.txt: every call made after the filter went in, by how many runs and how often,
# the ioctl requests by type byte and the socket/clone arguments, and the differences with the allow-list:
#   MISSING  measured but not allowed (would kill the VMM)      UNSEEN  allowed but never measured
# Exit status: the number of failed jobs plus 100 if anything is MISSING.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
[ $# -ge 2 ] || { sed -n '2,/^set/p' "$0" | sed '$d' >&2; exit 2; }
arch=$1
shift
case $arch in
  x86_64) module=arch-x86_64 ;; aarch64) module=arch-aarch64 ;; riscv64) module=arch-riscv64 ;;
  *) echo "seccomp-measure: unknown ARCH $arch" >&2; exit 2 ;;
esac
out=$ROOT/target/seccomp-measure/$arch
mkdir -p "$out/raw" || exit 2
export MESOVIRT_WRAPPER=$ROOT/ci/seccomp-trace.sh MESOVIRT_SECCOMP_OUT=$out/raw MESOVIRT_HOST_OUT=$out/raw
# The foreign hosts' userland is trixie's minimal one: strace comes as an extra package (x86_64's host runs ours).
[ "$arch" = x86_64 ] || export MESOVIRT_HOST_EXTRA_PKGS="${MESOVIRT_HOST_EXTRA_PKGS:-} strace"
failed=0
for job in "$@"; do
  # shellcheck disable=SC2086
  bash $job || { echo "seccomp-measure: '$job' failed (exit $?): its runs still count"; failed=$((failed + 1)); }
done
python3 - "$out" "$module/src/main/resources/dev/mesovirt/arch/$arch/seccomp.txt" <<'PY'
import collections, glob, os, sys
out, table = sys.argv[1], sys.argv[2]
calls, runs, ioctl, args = collections.Counter(), collections.Counter(), collections.Counter(), collections.Counter()
files = sorted(glob.glob(os.path.join(out, "raw", "*.txt")))
installed = 0
for f in files:
    seen = set()
    for line in open(f):
        w = line.split()
        if w[0] == "call":
            calls[w[1]] += int(w[2]); seen.add(w[1])
        elif w[0] == "ioctl":
            ioctl[int(w[1], 16) & 0xffffffff] += int(w[2])
        elif w[0] == "arg":
            args[(w[1], w[2])] += int(w[3])
        elif w[0] == "installed":
            installed += int(w[1])
    runs.update(seen)
allowed = []
for line in open(table):
    line = line.split("#")[0].split()
    if len(line) == 2 and line[0] not in ("arch", "audit-arch"):
        allowed.append(line[0])
lines = [f"# {len(files)} VMM runs, {installed} with the filter installed; {len(calls)} distinct calls after it"]
for name, n in sorted(calls.items(), key=lambda kv: -kv[1]):
    lines.append(f"call {name:<20} {n:>10}  in {runs[name]} runs" + ("" if name in allowed else "  MISSING"))
bytype = collections.Counter()
for req, n in ioctl.items():
    bytype[(req >> 8) & 0xff] += n
for t, n in sorted(bytype.items()):
    lines.append(f"ioctl-type 0x{t:02x} {n:>10}  requests: " + " ".join(
        f"0x{r:x}" for r in sorted(r for r in ioctl if (r >> 8) & 0xff == t)))
for (name, a), n in sorted(args.items()):
    lines.append(f"arg {name} {a} {n}")
for name in allowed:
    if name not in calls:
        lines.append(f"UNSEEN {name}")
open(os.path.join(out, "summary.txt"), "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
missing = [n for n in calls if n not in allowed]
print(f"seccomp-measure: {len(missing)} MISSING: {' '.join(missing)}")
sys.exit(1 if missing else 0)
PY
m=$?
[ "$m" = 0 ] || failed=$((failed + 100))
exit "$failed"
