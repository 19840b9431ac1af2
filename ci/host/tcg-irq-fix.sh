#!/bin/bash
# A copy of the emulated x86_64 host's outer QEMU (trixie's qemu-system-x86_64 10.0, as ci/emulated-host.sh unpacks it
# into the cache) with one bug worked around, for guests whose firmware trips it (ci/tests/uefi.sh: OVMF).
#
# The bug: with nested SVM under TCG, an L2 guest's "mov %reg, %cr8" runs helper_write_crN (target/i386/tcg/system/
# misc_helper.c), which, when the L1 hypervisor has a virtual interrupt pending (V_IRQ: KVM asks for an interrupt
# window that way), calls cpu_interrupt() on the vCPU's own thread without the big QEMU lock; tcg_handle_interrupt()
# asserts that lock and QEMU aborts: "tcg_handle_interrupt: assertion failed: (bql_locked())". EDK2's interrupt
# handlers restore CR8 on every return (CpuExceptionHandlerLib), so a nested OVMF trips it within seconds, often.
# What the assertion guards is tcg_handle_interrupt's "cpu->interrupt_request |= mask", a read-modify-write other
# threads do under the lock. The patch drops the check and makes that OR a locked (atomic) one; the rest runs as
# before: on the vCPU's own thread it only asks the vCPU to leave its translated code (icount_decr.high = -1).
# In bytes, at tcg_handle_interrupt+0x16:  je <assert>; or %ebp,0xd0(%rbx)   74 45 09 ab d0 00 00 00
#                                  become: lock or %ebp,0xd0(%rbx); nop       f0 09 ab d0 00 00 00 90
# The bytes are checked before patching: another QEMU build fails here with a clear message instead of being patched
# blindly. Single-threaded TCG (-accel tcg,thread=single) is no way around it: its round-robin vCPU thread also drops
# the lock while running guest code (measured: the unpatched host aborted 22 s into the first nested OVMF boot).
#
# usage: ci/host/tcg-irq-fix.sh      prints the path of a launcher like ci/emulated-host.sh's (for MESOVIRT_HOST_QEMU)
# Cached next to the unpacked QEMU; rebuilt when that QEMU or this script changes. Runs on the real machine only.
set -euo pipefail
# shellcheck source=ci/lib.sh
. "$(dirname "$0")/../lib.sh"
mv_check_cache_location
HOSTDIR=$MV_CACHE/host/x86_64
ORIG=$HOSTDIR/qemu-system-x86_64
[ -x "$ORIG" ] && [ -f "$HOSTDIR/qemu-stamp" ] \
  || mv_die "no trixie QEMU in $HOSTDIR yet: run any x86_64 emulated-host job once (e.g. bash ci/tests/x86_64.sh boot)" 2
BIN=$HOSTDIR/qemu-root/usr/bin/qemu-system-x86_64
OUT=$HOSTDIR/qemu-irqfix
WANT="$(cat "$HOSTDIR/qemu-stamp") $(mv_sha256 "$0")"
if [ -x "$OUT/qemu-system-x86_64" ] && [ "$(cat "$OUT/stamp" 2>/dev/null)" = "$WANT" ]; then
  printf '%s\n' "$OUT/qemu-system-x86_64"; exit 0
fi
mv_lock
mkdir -p "$OUT"
ADDR=$(nm -D "$BIN" | awk '$3 == "tcg_handle_interrupt" { print $1 }')
[ -n "$ADDR" ] || mv_die "$BIN exports no tcg_handle_interrupt"
python3 - "$BIN" "$OUT/qemu.tmp" "$ADDR" <<'PY' || mv_die "cannot patch $BIN (see above)"
import struct, sys
src, dst, addr = sys.argv[1], sys.argv[2], int(sys.argv[3], 16)
data = bytearray(open(src, 'rb').read())
# The file offset of the virtual address, from the ELF64 program headers (PT_LOAD).
phoff, = struct.unpack_from('<Q', data, 0x20)
phentsize, phnum = struct.unpack_from('<HH', data, 0x36)
off = None
for i in range(phnum):
    p_type, _, p_offset, p_vaddr, _, p_filesz = struct.unpack_from('<IIQQQQ', data, phoff + i * phentsize)
    if p_type == 1 and p_vaddr <= addr < p_vaddr + p_filesz:
        off = addr - p_vaddr + p_offset
if off is None:
    sys.exit('tcg_handle_interrupt is in no loaded segment')
# endbr64; push %rbp; mov %esi,%ebp; push %rbx; mov %rdi,%rbx; sub $8,%rsp; call bql_locked; test %al,%al
head = bytes.fromhex('f30f1efa 55 89f5 53 4889fb 4883ec08 e8'.replace(' ', ''))
tail = bytes.fromhex('84c0 7445 09abd0000000'.replace(' ', ''))
if data[off:off + len(head)] != head or data[off + 20:off + 20 + len(tail)] != tail:
    sys.exit('tcg_handle_interrupt has unexpected code: %s' % data[off:off + 28].hex())
data[off + 22:off + 30] = bytes.fromhex('f009abd000000090')
open(dst, 'wb').write(data)
PY
chmod 755 "$OUT/qemu.tmp"
mv "$OUT/qemu.tmp" "$OUT/qemu-system-x86_64.bin"
# The same launcher as the original, running the patched binary.
sed "s|$BIN |$OUT/qemu-system-x86_64.bin |" "$ORIG" > "$OUT/launcher.tmp"
grep -q "$OUT/qemu-system-x86_64.bin" "$OUT/launcher.tmp" || mv_die "unexpected launcher $ORIG"
chmod 755 "$OUT/launcher.tmp"
mv "$OUT/launcher.tmp" "$OUT/qemu-system-x86_64"
printf '%s\n' "$WANT" > "$OUT/stamp"
mv_unlock
mv_log "outer QEMU with the tcg_handle_interrupt fix: $OUT/qemu-system-x86_64"
printf '%s\n' "$OUT/qemu-system-x86_64"
