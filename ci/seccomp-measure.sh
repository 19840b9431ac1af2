#!/bin/bash
# Measures the system calls and ioctl requests the VMM makes once its seccomp filter is in, for the allow-list of one
# architecture (<arch module>/src/main/resources/dev/mesovirt/arch/ARCH/seccomp.txt):
#
#   ci/seccomp-measure.sh ARCH 'JOB [ARGS]'...     e.g. ci/seccomp-measure.sh x86_64 ci/tests/x86_64.sh 'ci/tests/qmp-guest.sh x86_64'
#   ci/seccomp-measure.sh ARCH                     only the summary of what was measured before
#
# runs each guest job (ci/tests/*.sh, in its emulated host; or e.g. 'ci/emulated-host.sh x86_64 ci/tests/qmp-native.sh')
# with bin/mesovirt's JVM under ci/seccomp-trace.sh (strace -f, MESOVIRT_SECCOMP=log: nothing is killed), one
# directory per job (target/seccomp-measure/ARCH/raw/<job>/: a summary per VMM run, and `job` with the command and
# its exit status; a job run again starts from an empty directory), then merges them into
# target/seccomp-measure/ARCH/summary.txt: per job its status and what the allow-list lacks, then over all jobs every
# call made after the filter went in, by how many runs and how often, the ioctl requests and the socket/clone
# arguments, and the differences with the allow-list:
#   MISSING  measured but not allowed (would kill the VMM)      UNSEEN  allowed but never measured
# for system calls and for ioctl requests (`ioctl-request` lines) alike. Runs without the filter (-disable-seccomp)
# count from their first KVM_RUN (ci/seccomp-trace.sh). Exit status: the number of failed jobs plus 100 if anything
# is MISSING.
{
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
[ $# -ge 1 ] || { sed -n '2,/^{$/p' "$0" | sed '$d' >&2; exit 2; }
arch=$1
shift
case $arch in
  x86_64) module=arch-x86_64 ;; aarch64) module=arch-aarch64 ;; riscv64) module=arch-riscv64 ;;
  *) echo "seccomp-measure: unknown ARCH $arch" >&2; exit 2 ;;
esac
out=$ROOT/target/seccomp-measure/$arch
mkdir -p "$out/raw" || exit 2
export MESOVIRT_WRAPPER=$ROOT/ci/seccomp-trace.sh
# The foreign hosts' userland is trixie's minimal one: strace comes as an extra package (x86_64's host runs ours).
[ "$arch" = x86_64 ] || export MESOVIRT_HOST_EXTRA_PKGS="${MESOVIRT_HOST_EXTRA_PKGS:-} strace"
failed=0
for job in "$@"; do
  dir=$out/raw/$(printf '%s' "${job#ci/tests/}" | tr -c 'A-Za-z0-9._-' '_')
  rm -rf "$dir" && mkdir -p "$dir" || exit 2
  t0=$SECONDS
  # shellcheck disable=SC2086
  MESOVIRT_SECCOMP_OUT=$dir MESOVIRT_HOST_OUT=$dir bash $job
  rc=$?
  printf 'job %s\nexit %s\nseconds %s\n' "$job" "$rc" "$((SECONDS - t0))" >"$dir/job"
  [ "$rc" = 0 ] || { echo "seccomp-measure: '$job' failed (exit $rc): its runs still count"; failed=$((failed + 1)); }
done
python3 - "$out" "$module/src/main/resources/dev/mesovirt/arch/$arch/seccomp.txt" <<'PY'
import collections, glob, os, sys
out, table = sys.argv[1], sys.argv[2]
allowed, requests = [], {}
for line in open(table):
    w = line.split("#")[0].split()
    if len(w) == 3 and w[0] == "ioctl-request":
        requests[int(w[2], 16)] = w[1]
    elif len(w) == 2 and w[0] not in ("arch", "audit-arch"):
        allowed.append(w[0])

def load(files):
    m = dict(calls=collections.Counter(), runs=collections.Counter(), ioctl=collections.Counter(),
             args=collections.Counter(), installed=0, unfiltered=0, files=len(files))
    for f in files:
        seen = set()
        for line in open(f):
            w = line.split()
            if w[0] == "call":
                m["calls"][w[1]] += int(w[2]); seen.add(w[1])
            elif w[0] == "ioctl":
                m["ioctl"][int(w[1], 16) & 0xffffffff] += int(w[2])
            elif w[0] == "arg":
                m["args"][(w[1], w[2])] += int(w[3])
            elif w[0] == "installed":
                m["installed"] += int(w[1])
            elif w[0] == "from" and w[1] == "kvm_run":
                m["unfiltered"] += 1
        m["runs"].update(seen)
    m["missing"] = [n for n in m["calls"] if n not in allowed]
    m["missing_ioctl"] = sorted(r for r in m["ioctl"] if r not in requests)
    return m

def name(r):
    return requests.get(r, "0x%x" % r)

lines = []
jobs = sorted(d for d in glob.glob(os.path.join(out, "raw", "*")) if os.path.isdir(d))
earlier = sorted(glob.glob(os.path.join(out, "raw", "*.txt")))
for d in jobs:
    info = dict(l.split(" ", 1) for l in open(os.path.join(d, "job")).read().splitlines()) if os.path.exists(
        os.path.join(d, "job")) else {"job": os.path.basename(d), "exit": "?", "seconds": "?"}
    m = load(sorted(glob.glob(os.path.join(d, "*.txt"))))
    lines.append(f"job '{info['job']}': exit {info['exit']} ({'passed' if info['exit'] == '0' else 'FAILED'}), "
                 f"{info['seconds']} s; {m['files']} VMM runs, {m['installed']} with the filter, {m['unfiltered']} "
                 f"without it (from the first KVM_RUN); MISSING calls: {' '.join(m['missing']) or 'none'}; "
                 f"MISSING ioctl: {' '.join(name(r) for r in m['missing_ioctl']) or 'none'}; "
                 f"ioctl seen: {' '.join(name(r) for r in sorted(m['ioctl'])) or 'none'}")
if earlier:
    lines.append(f"earlier runs (raw/*.txt, no job recorded): {len(earlier)} VMM runs")
m = load(earlier + sorted(glob.glob(os.path.join(out, "raw", "*", "*.txt"))))
lines.append(f"# all: {m['files']} VMM runs, {m['installed']} with the filter installed, {m['unfiltered']} without it; "
             f"{len(m['calls'])} distinct calls after it")
for c, n in sorted(m["calls"].items(), key=lambda kv: -kv[1]):
    lines.append(f"call {c:<20} {n:>10}  in {m['runs'][c]} runs" + ("" if c in allowed else "  MISSING"))
for r, n in sorted(m["ioctl"].items(), key=lambda kv: -kv[1]):
    lines.append(f"ioctl 0x{r:08x} {name(r):<28} {n:>10}" + ("" if r in requests else "  MISSING"))
for (c, a), n in sorted(m["args"].items()):
    lines.append(f"arg {c} {a} {n}")
for c in allowed:
    if c not in m["calls"]:
        lines.append(f"UNSEEN {c}")
for r, n in requests.items():
    if r not in m["ioctl"]:
        lines.append(f"UNSEEN ioctl {n} 0x{r:x}")
open(os.path.join(out, "summary.txt"), "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
print(f"seccomp-measure: {len(m['missing'])} MISSING calls: {' '.join(m['missing'])}; {len(m['missing_ioctl'])} "
      f"MISSING ioctl requests: {' '.join(name(r) for r in m['missing_ioctl'])}")
sys.exit(1 if m["missing"] or m["missing_ioctl"] else 0)
PY
m=$?
[ "$m" = 0 ] || failed=$((failed + 100))
exit "$failed"
}
