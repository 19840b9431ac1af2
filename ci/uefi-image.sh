#!/bin/bash
# Build (cached) a UEFI-bootable test disk for the standard machine (x86_64's q35, aarch64's virt), from Debian
# packages only and without root, loop devices or mounts: a GPT disk whose one partition is an EFI system partition
# (FAT, made with mkfs.vfat -C and filled with mtools), holding
#   EFI/BOOT/BOOTX64.EFI        systemd-boot, as Debian's systemd-boot-efi package ships it (the removable-media
#   (BOOTAA64.EFI on aarch64)   path: the firmware boots it with no boot entry in its variable store); aarch64's
#                               from trixie's systemd-boot-efi:arm64, the suite of the arm64 test guest
#   loader/loader.conf          timeout 0: straight to the one entry
#   loader/entries/guest.conf   linux /vmlinuz, initrd /initrd.img, options console=ttyS0 (aarch64: ttyAMA0, the virt
#                               machine's PL011 under firmware) ... guest.cmd=<the script below>
#   vmlinuz, initrd.img         the test guest's kernel (EFI stub: x86_64's cloud kernel, aarch64's generic Image) and
#                               initramfs from ci/guest-image.sh, the initramfs followed by a second cpio with that
#                               kernel's efivarfs.ko (the kernel unpacks concatenated archives), so ci/guest-image.sh's
#                               shared images stay as they are
# The guest's script (guest.cmd of ci/guest/init.sh) prints, each on its own line:
#   GUEST-EFI <n>-bit           /sys/firmware/efi exists (n: fw_platform_size); GUEST-NO-EFI otherwise
#   GUEST-ACPI <tables>         the ACPI tables the kernel found (/sys/firmware/acpi/tables); GUEST-NO-ACPI without
#   GUEST-DEVICES blk N pci M   virtio disks (vdX) and PCI functions the kernel found
# and then sources the script on a virtio disk whose serial is "cmd", if there is one (a test's own checks).
#   GUEST-EFIVAR-FOUND <value>  the test variable MesovirtTest-<GUID> is already in the variable store (a later boot)
#   GUEST-EFIVAR-WRITTEN <value> it was not, and was written through efivarfs (non-volatile) and read back
#   GUEST-EFIVAR-FAILED <why>   neither
# and a second disk, reboot.img, the same but for its entry's script, for the reset cases (ci/tests/uefi.sh reboot):
# the guest prints GUEST-EFI as above and GUEST-WAITING, then reads a line from its console: "reboot" makes it reboot
# as Linux does by default (reboot -f: on hardware-reduced ACPI, Linux asks the firmware's ResetSystem for a warm reset,
# which OVMF does with the i8042's reset pulse), "pci" as Linux's reboot=pci does (it writes the reset control port
# 0xCF9 itself), "triple" as reboot=triple does (an empty IDT and an int3: a triple fault), anything else (the test
# sends "poweroff") lets init power off; while it waits, a QMP system_reset can
# come instead.
#
# usage: ci/uefi-image.sh x86_64|aarch64
# output: ${MESOVIRT_CACHE:-$HOME/.cache/mesovirt}/uefi/ARCH/
#   disk.img    the disk (raw, 40 MiB; aarch64 72 MiB)      reboot.img   the reset cases' disk      stamp    what it
#               was built from
# Prints the disk's path. Needs sfdisk (fdisk), mkfs.vfat (dosfstools) and mtools (ci/install-deps.sh). Runs on the
# real machine only. A run whose stamp matches touches nothing.
set -euo pipefail
# shellcheck source=ci/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] || mv_die "usage: $0 ARCH   (x86_64|aarch64)" 2
ARCH=$1
case $ARCH in
  # FLAVOUR: the guest image's kernel (ci/guest-image.sh); EFI_NAME: systemd-boot's file and the removable-media path.
  x86_64) FLAVOUR=cloud EFI_NAME=x64 BOOT_NAME=BOOTX64.EFI CONSOLE=ttyS0 ;;
  aarch64) FLAVOUR=generic EFI_NAME=aa64 BOOT_NAME=BOOTAA64.EFI CONSOLE=ttyAMA0 ;;
  *) mv_unsupported_arch "$ARCH" ;;
esac
for t in sfdisk mkfs.vfat mcopy mmd; do
  command -v "$t" >/dev/null || mv_die "$t is missing: run ci/install-deps.sh (fdisk, dosfstools, mtools)" 2
done
mv_check_cache_location
OUT=$MV_CACHE/uefi/$ARCH
mkdir -p "$OUT"

GUEST=$(bash "$MV_CI_DIR/guest-image.sh" "$ARCH" | sed -n "s|/vmlinuz-$FLAVOUR\$||p")
[ -n "$GUEST" ] && [ -s "$GUEST/vmlinuz-$FLAVOUR" ] || mv_die "ci/guest-image.sh $ARCH gave no vmlinuz-$FLAVOUR"
# The arm64 packages come from the guest's suite, through a private apt state (ci/lib.sh, as ci/guest-image.sh).
if [ "$ARCH" = aarch64 ]; then MV_FOREIGN="trixie arm64"; fi
BOOT_PKG=systemd-boot-efi
mv_apt_ready "$BOOT_PKG"
BOOT_VER=$(mv_candidate "$BOOT_PKG")
KPKG=$(sed -n "s/^$FLAVOUR \\(linux-image-[^=]*\\)=\\(.*\\)\$/\\1 \\2/p" "$GUEST/stamp")
[ -n "$KPKG" ] || mv_die "no $FLAVOUR kernel in $GUEST/stamp"

# The GUID is this project's own (random); attributes 7 = non-volatile, boot-service and runtime access.
VAR=MesovirtTest-5f2c7a3e-1b9d-4e6a-9c3f-2d8e7b6a5c41
GUEST_SCRIPT='if [ -d /sys/firmware/efi ]; then echo "GUEST-EFI $(cat /sys/firmware/efi/fw_platform_size 2>/dev/null)-bit"; else echo GUEST-NO-EFI; fi
if [ -d /sys/firmware/acpi/tables ]; then echo "GUEST-ACPI $(ls /sys/firmware/acpi/tables | grep -v -e dynamic -e data | tr "\n" " ")"; else echo GUEST-NO-ACPI; fi
echo "GUEST-DEVICES blk $(ls /sys/block | grep -c vd) pci $(ls /sys/bus/pci/devices 2>/dev/null | wc -l)"
insmod /lib/modules/efivarfs.ko 2>/dev/null
v=/sys/firmware/efi/efivars/'$VAR'
if ! mount -t efivarfs efivarfs /sys/firmware/efi/efivars; then echo "GUEST-EFIVAR-FAILED mount"
elif [ -e $v ]; then echo "GUEST-EFIVAR-FOUND $(tail -c +5 $v)"
else
  val=written-at-$(cut -d" " -f1 /proc/uptime)
  printf "\007\000\000\000%s" "$val" > $v
  if [ "$(tail -c +5 $v 2>/dev/null)" = "$val" ]; then echo "GUEST-EFIVAR-WRITTEN $val"; else echo "GUEST-EFIVAR-FAILED write"; fi
fi
for b in /sys/block/vd*; do [ "$(cat $b/serial 2>/dev/null)" = cmd ] && . /dev/${b##*/}; done'
CMDLINE="console=$CONSOLE quiet guest.cmd=$(printf '%s' "$GUEST_SCRIPT" | base64 -w0)"
REBOOT_SCRIPT='if [ -d /sys/firmware/efi ]; then echo "GUEST-EFI $(cat /sys/firmware/efi/fw_platform_size 2>/dev/null)-bit"; else echo GUEST-NO-EFI; fi
echo GUEST-WAITING
read -t 200 what
echo "GUEST-GOT $what"
case $what in
  reboot) echo GUEST-REBOOTING; reboot -f ;;
  pci) echo pci > /sys/kernel/reboot/type && echo GUEST-REBOOTING-PCI && reboot -f ;;
  triple) echo triple > /sys/kernel/reboot/type && echo GUEST-REBOOTING-TRIPLE && reboot -f ;;
esac'
REBOOT_CMDLINE="console=$CONSOLE quiet guest.cmd=$(printf '%s' "$REBOOT_SCRIPT" | base64 -w0)"

WANT="format=1
$BOOT_PKG=$BOOT_VER
guest $(mv_sha256 "$GUEST/stamp")
cmdline $CMDLINE
reboot $REBOOT_CMDLINE
builder sha256=$(mv_sha256 "$0" "$MV_CI_DIR/lib.sh")"
ready() { [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$WANT" ] && [ -s "$OUT/disk.img" ] && [ -s "$OUT/reboot.img" ]; }
if ready; then printf '%s\n' "$OUT/disk.img"; exit 0; fi
mv_lock
if ready; then mv_unlock; printf '%s\n' "$OUT/disk.img"; exit 0; fi
rm -f "$OUT/stamp"

BOOT_DIR=$(mv_fetch_pkg "$BOOT_PKG" "$BOOT_VER")
EFI=$BOOT_DIR/usr/lib/systemd/boot/efi/systemd-boot$EFI_NAME.efi
[ -s "$EFI" ] || mv_die "$BOOT_PKG $BOOT_VER has no usr/lib/systemd/boot/efi/systemd-boot$EFI_NAME.efi"
# shellcheck disable=SC2086
KDIR=$(mv_fetch_pkg $KPKG)
EFIVARFS=$(mv_find_module "$KDIR" efivarfs)
[ -n "$EFIVARFS" ] || mv_die "no efivarfs module in $KPKG"

T=$(mktemp -d "$OUT/.build.XXXXXX")
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/extra/lib/modules"
mv_copy_module "$EFIVARFS" "$T/extra/lib/modules/efivarfs.ko"
mv_pack_initramfs "$T/extra" "$T/extra.cpio.gz"
cat "$GUEST/initrd-$FLAVOUR.gz" "$T/extra.cpio.gz" > "$T/initrd.img"
printf 'default guest.conf\ntimeout 0\neditor no\n' > "$T/loader.conf"
printf 'title Mesovirt test guest\nlinux /vmlinuz\ninitrd /initrd.img\noptions %s\n' "$CMDLINE" > "$T/guest.conf"
printf 'title Mesovirt test guest\nlinux /vmlinuz\ninitrd /initrd.img\noptions %s\n' "$REBOOT_CMDLINE" > "$T/reboot.conf"

# 40 MiB: the partition from 1 MiB to 39 MiB (room for the backup GPT at the end), FAT16 with 38 MiB; aarch64's
# uncompressed 36 MiB Image needs 72 MiB (70 MiB of FAT).
ESP_MIB=38
[ "$ARCH" = x86_64 ] || ESP_MIB=70
mkfs.vfat -C -n MVESP "$T/esp.img" $((ESP_MIB * 1024)) >/dev/null
export MTOOLS_SKIP_CHECK=1
mmd -i "$T/esp.img" ::/EFI ::/EFI/BOOT ::/loader ::/loader/entries
mcopy -i "$T/esp.img" "$EFI" "::/EFI/BOOT/$BOOT_NAME"
mcopy -i "$T/esp.img" "$T/loader.conf" ::/loader/loader.conf
mcopy -i "$T/esp.img" "$T/guest.conf" ::/loader/entries/guest.conf
mcopy -i "$T/esp.img" "$GUEST/vmlinuz-$FLAVOUR" ::/vmlinuz
mcopy -i "$T/esp.img" "$T/initrd.img" ::/initrd.img
gpt_disk() { # ESP DISK: a GPT disk of ESP_MIB + 2 MiB whose one partition is the EFI system partition ESP
  truncate -s $((ESP_MIB + 2))M "$2"
  printf 'label: gpt\nstart=2048, size=%d, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI system partition"\n' \
    $((ESP_MIB * 2048)) | sfdisk -q "$2"
  dd if="$1" of="$2" bs=1M seek=1 conv=notrunc status=none
}
gpt_disk "$T/esp.img" "$T/disk.img"
# The reset cases' disk: the same partition with the other entry under the same name.
mcopy -o -i "$T/esp.img" "$T/reboot.conf" ::/loader/entries/guest.conf
gpt_disk "$T/esp.img" "$T/reboot.img"
mv "$T/disk.img" "$OUT/disk.img"
mv "$T/reboot.img" "$OUT/reboot.img"
printf '%s\n' "$WANT" > "$OUT/stamp"
mv_unlock
mv_log "uefi image: $BOOT_PKG $BOOT_VER + $KPKG in $OUT/disk.img"
printf '%s\n' "$OUT/disk.img"
