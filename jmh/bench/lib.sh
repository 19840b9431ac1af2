# Shared helpers of the native benchmark scripts (sourced). Results are JSON lines, one per series:
#   {"name":"startup.strace.qemu","figure":"...","variant":"...","unit":"ms","better":"lower","peer":"...","samples":[...]}
# name: unique series id; peer: the name of the series it is compared with (absent for a peer itself);
# figure/variant: labels for docs/benchmarks.md; better: lower|higher. ResultsTable reads these files.

# json_string TEXT: TEXT as a JSON string (escapes backslash, quote and control characters we might meet).
json_string() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\t'/\\t}
  s=${s//$'\n'/\\n}
  printf '"%s"' "$s"
}

# json_line OUT NAME PEER UNIT BETTER FIGURE VARIANT SAMPLE...: appends one series to OUT (PEER may be empty;
# samples that are not numbers, e.g. NA from a failed run, are left out).
json_line() {
  local out=$1 name=$2 peer=$3 unit=$4 better=$5 figure=$6 variant=$7
  shift 7
  local samples= v
  for v in "$@"; do
    [[ $v =~ ^-?[0-9]+(\.[0-9]+)?$ ]] || continue
    samples+=${samples:+,}$v
  done
  {
    printf '{"name":%s' "$(json_string "$name")"
    [ -n "$peer" ] && printf ',"peer":%s' "$(json_string "$peer")"
    printf ',"unit":%s,"better":%s,"figure":%s,"variant":%s,"samples":[%s]}\n' "$(json_string "$unit")" \
      "$(json_string "$better")" "$(json_string "$figure")" "$(json_string "$variant")" "$samples"
  } >>"$out"
}

# stats SAMPLE...: "median min max n" of the numeric samples (NA if none).
stats() {
  printf '%s\n' "$@" | awk '/^-?[0-9]+(\.[0-9]+)?$/ { v[n++] = $1 + 0 }
    END { if (n == 0) { print "NA NA NA 0"; exit }
          for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
          m = n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2
          printf "%.1f %.1f %.1f %d\n", m, v[0], v[n - 1], n }'
}

# ms_since START: milliseconds from START ($EPOCHREALTIME) to now, no external command.
ms_since() {
  local now=$EPOCHREALTIME
  local s=${1/./} e=${now/./}
  local us=$((10#$e - 10#$s))
  printf '%d.%03d' $((us / 1000)) $((us % 1000))
}

# The x86_64 guest kernel and initrd the ci scripts build (ci/guest-image.sh).
guest_dir() { printf '%s' "${MESOVIRT_CACHE:-$HOME/.cache/mesovirt}/guest/x86_64"; }
