#!/bin/bash
# Self-check of the emulated KVM host and of the nested test guest images; also the reference ("peer") run that
# Mesovirt's own nested boots are compared with: QEMU microvm booting the same kernels and initrds.
#
# usage: ci/selftest-emulated-host.sh            (exit 0 = all checks passed)
# Outside it builds/refreshes the guest images (ci/guest-image.sh x86_64, a cache hit normally) and re-runs itself
# inside the emulated host (ci/emulated-host.sh). Inside (MESOVIRT_IN_EMULATED_HOST=1) it checks:
#   1. uname -r works (we are in the emulated host's kernel, chrooted into this machine's /)
#   2. /dev/kvm is a character device
#   3. the JDK runs: /usr/lib/jvm/temurin-25-jdk-amd64/bin/java -version
#   4. for the cloud and the generic guest kernel: a nested QEMU microvm (-accel kvm -cpu host -smp 2 -m 256)
#      boots it with our initrd and prints GUEST-READY, GUEST-CPUS 2, GUEST-DONE, then exits by itself (status 0).
# Lines "SELFTEST <check> OK|FAIL <seconds>s" summarise; nested guest consoles go to /tmp inside (tmpfs) and are
# printed when a check fails.
set -euo pipefail
# One { ... } block: parsed completely before it runs, so editing this file during a run cannot derail the run.
{
HERE=$(cd "$(dirname "$0")" && pwd)
ARCH=x86_64
JAVA=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java
NESTED_TIMEOUT=${SELFTEST_NESTED_TIMEOUT:-300}

now() { date +%s.%N; }
secs() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1f", e - s }'; }

if [ "${MESOVIRT_IN_EMULATED_HOST:-}" != 1 ]; then
  T0=$(now)
  bash "$HERE/guest-image.sh" "$ARCH" >/dev/null
  set +e
  bash "$HERE/emulated-host.sh" "$ARCH" "$HERE/selftest-emulated-host.sh"
  rc=$?
  set -e
  echo "SELFTEST total $([ "$rc" = 0 ] && echo OK || echo "FAIL(rc=$rc)") $(secs "$T0")s wall (incl. image cache check)"
  exit "$rc"
fi

# ---- inside the emulated host -------------------------------------------------------------------------------------
FAILED=0
report() { # name status start
  echo "SELFTEST $1 $2 $(secs "$3")s"
  [ "$2" = OK ] || FAILED=1
}

t=$(now)
if k=$(uname -r); then echo "emulated host kernel: $k"; report uname OK "$t"; else report uname FAIL "$t"; fi

t=$(now)
if [ -c /dev/kvm ]; then report dev-kvm OK "$t"; else ls -l /dev/kvm || true; report dev-kvm FAIL "$t"; fi

t=$(now)
if "$JAVA" -version; then report java-version OK "$t"; else report java-version FAIL "$t"; fi

CACHE=${MESOVIRT_CACHE:-$HOME/.cache/mesovirt}
IMG=$CACHE/guest/$ARCH
for flavour in cloud generic; do
  log=/tmp/nested-$flavour.log
  t=$(now)
  set +e
  # The exact reference command (see ci/README.md); the guest powers off by itself (ACPI S5), QEMU then exits 0.
  timeout "$NESTED_TIMEOUT" qemu-system-x86_64 -M microvm -accel kvm -cpu host -m 256 -smp 2 -nodefaults \
    -no-user-config -nographic -serial stdio -kernel "$IMG/vmlinuz-$flavour" -initrd "$IMG/initrd-$flavour.gz" \
    -append "console=ttyS0 quiet" </dev/null > "$log" 2>&1
  qrc=$?
  set -e
  tr -d '\r' < "$log" > "$log.txt"
  ok=OK
  for marker in GUEST-READY 'GUEST-CPUS 2' GUEST-DONE; do
    grep -qx "$marker" "$log.txt" || { echo "nested $flavour: marker '$marker' missing"; ok=FAIL; }
  done
  [ "$qrc" = 0 ] || { echo "nested $flavour: qemu exit status $qrc (124 = timed out after ${NESTED_TIMEOUT}s)"; ok=FAIL; }
  grep -E '^GUEST-' "$log.txt" | sed "s/^/nested $flavour: /"
  if [ "$ok" != OK ]; then echo "---- nested $flavour console ----"; tail -n 60 "$log.txt"; echo "----"; fi
  report "nested-boot-$flavour" "$ok" "$t"
done

exit "$FAILED"
}
