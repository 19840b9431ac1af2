#!/bin/busybox sh
# /init of the emulated aarch64 and riscv64 KVM hosts (packed by ci/emulated-host.sh with Debian trixie's static busybox
# of that architecture, /common.sh and modules of its kernel in /modules, load order in /modules/order). arm64: KVM
# and the GICv3 are built into the kernel ("kvm: VHE mode initialized successfully"); riscv64: the APLIC and IMSIC
# drivers are built in and kvm.ko reports "AIA available with N guest external interrupts" when QEMU gives the harts
# guest interrupt files (aia-guests=). Unlike the x86_64 host, this one cannot chroot into this machine's / (its
# programs are x86_64), so it composes a root on a tmpfs:
#   - the architecture's userland (JDK 21, bash, busybox applets; built from Debian packages into the cache and
#     shared read-only over 9p as "userland"): every top-level entry, directories bind-mounted, symlinks copied;
#   - this machine's own directories (/work, /root, /home, ... everything but the system ones such as /usr, /etc,
#     /var, /lib), shared read-only over 9p as "hostroot", bind-mounted at the same paths, so the project, the cache
#     and HOME are where the caller has them; a host.paths directory under a system one is added on its own;
#   - fresh tmpfs on /tmp, /run and /dev/shm.
# Console protocol and kernel command line: ci/host/common.sh.
. /common.sh
load_modules
[ "$(uname -m)" = riscv64 ] && dmesg | grep -i -E 'AIA available|hypervisor extension available' | sed 's/^/HOST: /'

mkdir -p /userland /real /newroot
mount -t 9p -o "$NINEP" userland /userland || fail "cannot mount the $(uname -m) userland over 9p"
mount -t 9p -o "$NINEP" hostroot /real || fail "cannot mount the machine's / over 9p"
mount -t tmpfs -o mode=755 root /newroot || fail "cannot mount a tmpfs root"
for e in /userland/*; do
  n=${e##*/}
  if [ -L "$e" ]; then
    ln -s "$(readlink "$e")" "/newroot/$n"
  elif [ -d "$e" ]; then
    mkdir "/newroot/$n" && mount --bind "$e" "/newroot/$n" || fail "cannot bind $e"
  fi
done
FROM_REAL=
for e in /real/*; do
  n=${e##*/}
  case $n in
    bin|boot|dev|etc|lib|lib32|lib64|libx32|lost+found|media|mnt|proc|run|sbin|sys|tmp|usr|var) continue ;;
  esac
  [ -d "$e" ] && [ ! -L "$e" ] || continue
  mkdir -p "/newroot/$n" && mount --bind "$e" "/newroot/$n" || fail "cannot bind $e"
  FROM_REAL="$FROM_REAL /$n"
done
visible() { t=${2#/}; case " $FROM_REAL " in *" /${t%%/*} "*) return 0 ;; esac; return 1; }
finish_root /newroot /real
run_script /newroot
