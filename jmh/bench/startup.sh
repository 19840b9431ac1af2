#!/bin/bash
# Start-up benchmark (native; not a test): how long from starting the VMM until the guest runs, for Mesovirt's
# distribution with (a) no application class-data archive (the JDK's default CDS only), (b) a dynamic AppCDS archive
# (bin/mesovirt --train cds -> lib/mesovirt.jsa), (c) the JDK 24+ AOT cache (bin/mesovirt --train aot ->
# lib/mesovirt.aot), and QEMU's microvm (qemu-system-x86_64 -M microvm -accel kvm) with the same kernel and initrd,
# -m 256 -smp 1, alternating the four each round. Two figures:
#
#   strace   execve of the command -> its first KVM_RUN ioctl (strace -f --seccomp-bpf -ttt -e trace=execve,ioctl:
#            only those two syscalls stop the process). Then the VMM is killed: on this machine's kvm_pvm the
#            Debian kernel would not boot anyway.
#   entry    no tracing at all: the wall time of the whole process (bash's $EPOCHREALTIME around it) when the
#            kernel's entry points are patched to stop the VM at its first instruction (out 0x64 <- 0xfe: the
#            i8042 reset, which ends Mesovirt; out 0xf4 for QEMU's isa-debug-exit). That is start-up + loading the
#            kernel and initrd + (QEMU) its firmware + the first guest instruction + tear-down.
#
# usage: jmh/bench/startup.sh [-n RUNS] [-o OUT.jsonl] [-d DIST] [-k BZIMAGE] [-i INITRD] [-w WORKDIR]
#   RUNS     rounds (default 5; each round runs every variant once per figure)
#   OUT      JSON lines for ResultsTable (default jmh/target/bench/startup.jsonl; appended)
#   DIST     Mesovirt distribution (default cli/target/dist; copied, never modified)
#   BZIMAGE  default <cache>/guest/x86_64/vmlinuz-cloud (ci/guest-image.sh x86_64 builds it), INITRD likewise
# Needs /dev/kvm, strace, qemu-system-x86_64 (QEMU is skipped with a note if missing) and a JDK 24+ for (c).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/lib.sh"

RUNS=5 OUT=$ROOT/jmh/target/bench/startup.jsonl DIST=$ROOT/cli/target/dist WORK=
KERNEL=$(guest_dir)/vmlinuz-cloud INITRD=$(guest_dir)/initrd-cloud.gz
while getopts n:o:d:k:i:w: opt; do
  case $opt in
    n) RUNS=$OPTARG ;; o) OUT=$OPTARG ;; d) DIST=$OPTARG ;; k) KERNEL=$OPTARG ;; i) INITRD=$OPTARG ;; w) WORK=$OPTARG ;;
    *) sed -n '2,/^set /p' "$0" | sed '$d' >&2; exit 2 ;;
  esac
done
die() { echo "startup.sh: $*" >&2; exit 2; }
[ -x "$DIST/bin/mesovirt" ] || die "no $DIST/bin/mesovirt: run 'mvn -B package -DskipTests' first"
[ -r "$KERNEL" ] && [ -r "$INITRD" ] || die "no kernel/initrd ($KERNEL, $INITRD): run 'bash ci/guest-image.sh x86_64'"
command -v strace >/dev/null || die "strace is not installed (apt-get install strace)"
[ -w /dev/kvm ] || die "/dev/kvm is not usable"
QEMU=$(command -v qemu-system-x86_64 || true)
[ -n "$QEMU" ] || echo "startup.sh: qemu-system-x86_64 not found, measuring Mesovirt only" >&2
mkdir -p "$(dirname "$OUT")"
if [ -z "$WORK" ]; then
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/startup-bench.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
fi

# Three copies of the distribution: none (any archive removed), cds, aot.
variants=(none cds)
for v in none cds aot; do
  rm -rf "${WORK:?}/$v"
  cp -a "$DIST" "$WORK/$v"
  rm -f "$WORK/$v/lib/mesovirt.aot" "$WORK/$v/lib/mesovirt.jsa"
done
"$WORK/cds/bin/mesovirt" --train cds >/dev/null || die "AppCDS training failed"
if "$WORK/aot/bin/mesovirt" --train aot >/dev/null; then
  variants+=(aot)
else
  echo "startup.sh: no AOT cache (needs JDK 24+), skipping that variant" >&2
fi
[ -n "$QEMU" ] && variants+=(qemu)

# The same kernel with its entry points patched to stop at the first instruction (see the header): the real-mode
# setup entry (where QEMU's option ROM jumps), the 32-bit and the 64-bit entry (where Mesovirt starts it).
EXITK=$WORK/exit-at-entry.bzImage
cp "$KERNEL" "$EXITK"
byte() { od -An -t"$2"1 -j "$1" -N1 "$EXITK" | tr -d ' '; }
sects=$(byte $((0x1f1)) u); [ "$sects" = 0 ] && sects=4
pm=$(((sects + 1) * 512))
code=$'\xb0\xfe\xe6\x64\xe6\xf4\xf4' # mov al, 0xfe; out 0x64, al; out 0xf4, al; hlt
for off in $((0x202 + $(byte $((0x201)) d))) $pm $((pm + 0x200)); do
  printf '%s' "$code" | dd of="$EXITK" bs=1 seek="$off" conv=notrunc status=none
done

APPEND="console=ttyS0 quiet"
command_of() { # VARIANT KERNEL -> the command in the array cmd
  if [ "$1" = qemu ]; then
    # -arch-capabilities: some kvm_pvm hosts list MSR 0x10a but refuse QEMU's write of it (QEMU aborts before KVM_RUN)
    cmd=("$QEMU" -M microvm -accel kvm -cpu host,-arch-capabilities -m 256 -smp 1 -nodefaults -no-user-config -nographic -serial stdio
      -device isa-debug-exit,iobase=0xf4,iosize=1 -kernel "$2" -initrd "$INITRD" -append "$APPEND")
  else
    cmd=("$WORK/$1/bin/mesovirt" -machine microvm -kernel "$2" -initrd "$INITRD" -append "$APPEND" -m 256 -smp 1
      -serial stdio)
  fi
}

# strace_one VARIANT: ms from the first execve to the first KVM_RUN, or NA.
strace_one() {
  local trace=$WORK/trace pid spid waited=0
  command_of "$1" "$KERNEL"
  rm -f "$trace"
  strace -f --seccomp-bpf -qq -ttt -e trace=execve,ioctl -o "$trace" "${cmd[@]}" </dev/null >/dev/null 2>&1 &
  spid=$!
  until grep -q KVM_RUN "$trace" 2>/dev/null; do
    kill -0 "$spid" 2>/dev/null || break
    ((waited++ > 600)) && break # 60 s
    sleep 0.1
  done
  pid=$(awk 'NR == 1 { print $1; exit }' "$trace" 2>/dev/null)
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
  wait "$spid" 2>/dev/null
  awk '/execve\(/ && s == "" { s = $2 } /KVM_RUN/ && r == "" { r = $2 }
    END { if (s != "" && r != "") printf "%.1f\n", (r - s) * 1000; else print "NA" }' "$trace"
}

# entry_one VARIANT: ms of the whole process with the exit-at-entry kernel, or NA if it did not stop as expected.
entry_one() {
  local start rc ms
  command_of "$1" "$EXITK"
  start=$EPOCHREALTIME
  timeout 60 "${cmd[@]}" </dev/null >/dev/null 2>&1
  rc=$?
  ms=$(ms_since "$start")
  # Mesovirt: 0 (guest reboot stops the VM); QEMU: 253 = isa-debug-exit's (0xfe << 1 | 1) & 0xff.
  if { [ "$1" = qemu ] && [ $rc = 253 ]; } || { [ "$1" != qemu ] && [ $rc = 0 ]; }; then
    echo "$ms"
  else
    echo "startup.sh: $1 with the exit-at-entry kernel ended with $rc" >&2
    echo NA
  fi
}

declare -A S E
echo "startup: $RUNS rounds of ${variants[*]}; kernel $KERNEL; $("$WORK/none/bin/mesovirt" --version 2>/dev/null | tail -1)"
for v in "${variants[@]}"; do entry_one "$v" >/dev/null; done # warm the page cache
for i in $(seq "$RUNS"); do
  for v in "${variants[@]}"; do
    s=$(strace_one "$v")
    e=$(entry_one "$v")
    S[$v]+=" $s"
    E[$v]+=" $e"
    printf 'round %d %-5s execve->KVM_RUN %8s ms   whole run, exit at entry %8s ms\n' "$i" "$v" "$s" "$e"
  done
done

label() {
  case $1 in
    none) echo "Mesovirt, JDK default CDS only" ;;
    cds) echo "Mesovirt, AppCDS (lib/mesovirt.jsa)" ;;
    aot) echo "Mesovirt, AOT cache (lib/mesovirt.aot)" ;;
    qemu) echo "QEMU $("$QEMU" --version | sed -n '1s/.*version \([^ ]*\).*/\1/p') microvm" ;;
  esac
}
peer_s= peer_e=
[ -n "$QEMU" ] && peer_s=startup.strace.qemu peer_e=startup.entry.qemu
echo
printf '%-42s %26s %30s\n' "" "execve->KVM_RUN med (min..max)" "exit at entry med (min..max)"
for v in "${variants[@]}"; do
  read -r sm slo shi _ <<<"$(stats ${S[$v]})"
  read -r em elo ehi _ <<<"$(stats ${E[$v]})"
  printf '%-42s %10s ms (%s..%s) %12s ms (%s..%s)\n' "$(label "$v")" "$sm" "$slo" "$shi" "$em" "$elo" "$ehi"
  ps=$peer_s pe=$peer_e
  [ "$v" = qemu ] && ps= pe=
  # shellcheck disable=SC2086
  json_line "$OUT" "startup.strace.$v" "$ps" ms lower "execve → first KVM_RUN (strace)" "$(label "$v")" ${S[$v]}
  # shellcheck disable=SC2086
  json_line "$OUT" "startup.entry.$v" "$pe" ms lower "whole run, guest stops at its first instruction (no tracing)" \
    "$(label "$v")" ${E[$v]}
done
echo "startup.sh: results appended to $OUT"
