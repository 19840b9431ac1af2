# shellcheck shell=bash
# Where jobs that need KVM run (sourced by the ci scripts and jmh/run.sh).
#
# Machines of this project's kind come with a /dev/kvm that boots Linux (kvm_intel/kvm_amd), with kvm_pvm (a software
# hypervisor that runs tiny guest programs but not a stock kernel), or with no /dev/kvm at all. Two kinds of job:
#   tiny   needs a working /dev/kvm, not one that boots Linux: the KVM unit tests (tiny real-mode guests), the QMP
#          comparison with QEMU, the dist's AOT-cache training, the native benchmarks (exit path, start-up, memory)
#   linux  boots a real Linux guest (ci/run-guest.sh; the ci/tests/*.sh guest tests always use emulated hosts)
# A job runs on this machine's /dev/kvm when it can, else inside the emulated x86_64 KVM host (ci/emulated-host.sh,
# which has a real nested /dev/kvm). MESOVIRT_KVM forces the choice for both kinds:
#   auto (default)  tiny: here if /dev/kvm is usable; linux: here only with a native KVM (not kvm_pvm)
#   native          here, whatever /dev/kvm is (an error if there is none)
#   emulated        in the emulated x86_64 host, even with a /dev/kvm here (keeps that path tested)
#
# mv_kvm_probe sets:
#   MV_KVM_FOUND  what this machine has, for messages: "no /dev/kvm", "/dev/kvm is kvm_pvm", "native KVM (kvm_amd)",
#                 "/dev/kvm is not usable (...)"
#   MV_KVM_TINY   native|emulated: where tiny jobs run
#   MV_KVM_LINUX  native|emulated: where Linux guests boot
# and returns 2 (with a message) when MESOVIRT_KVM is not one of the three words or asks for native without a device.

mv_kvm_probe() {
  local dev=${MESOVIRT_KVM_DEVICE:-/dev/kvm} mode=${MESOVIRT_KVM:-auto} usable=0 linux=0 m
  if [ ! -e "$dev" ]; then
    MV_KVM_FOUND="no $dev"
  elif [ ! -c "$dev" ] || [ ! -r "$dev" ] || [ ! -w "$dev" ]; then
    MV_KVM_FOUND="$dev is not usable (not a character device this user can read and write)"
  elif [ -d /sys/module/kvm_pvm ]; then
    MV_KVM_FOUND="$dev is kvm_pvm" usable=1
  else
    MV_KVM_FOUND="native KVM" usable=1 linux=1
    for m in kvm_intel kvm_amd; do
      [ -d "/sys/module/$m" ] && MV_KVM_FOUND="native KVM ($m)"
    done
  fi
  case $mode in
    auto)
      MV_KVM_TINY=emulated MV_KVM_LINUX=emulated
      [ $usable = 1 ] && MV_KVM_TINY=native
      [ $linux = 1 ] && MV_KVM_LINUX=native
      ;;
    native)
      if [ $usable != 1 ]; then
        printf 'mesovirt: MESOVIRT_KVM=native, but %s\n' "$MV_KVM_FOUND" >&2
        return 2
      fi
      MV_KVM_TINY=native MV_KVM_LINUX=native
      ;;
    emulated) MV_KVM_TINY=emulated MV_KVM_LINUX=emulated ;;
    *)
      printf "mesovirt: MESOVIRT_KVM='%s': expected auto, native or emulated\n" "$mode" >&2
      return 2
      ;;
  esac
  # Inside the emulated host there is exactly one KVM to use: its own.
  if [ "${MESOVIRT_IN_EMULATED_HOST:-}" = 1 ]; then
    MV_KVM_TINY=native MV_KVM_LINUX=native
  fi
  return 0
}

# "where" for messages: "here (native KVM (kvm_amd))" or "in the emulated x86_64 KVM host (no /dev/kvm here)".
mv_kvm_where() {
  if [ "$1" = native ]; then
    printf 'here (%s)' "$MV_KVM_FOUND"
  else
    printf 'in the emulated x86_64 KVM host (%s here%s)' "$MV_KVM_FOUND" \
      "$([ "${MESOVIRT_KVM:-auto}" = emulated ] && echo ', MESOVIRT_KVM=emulated')"
  fi
}
