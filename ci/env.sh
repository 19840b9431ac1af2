# Sourced by the ci scripts: exports JAVA_HOME as a JDK 21+ (the given JAVA_HOME if it is one, else the newest under
# /usr/lib/jvm), because Maven and the build need --release 21 and the default java here is 17.
jdk_version() { sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release" 2>/dev/null || true; }
if [ -z "${JAVA_HOME:-}" ] || [ "$(jdk_version "$JAVA_HOME")" = "" ] || [ "$(jdk_version "$JAVA_HOME")" -lt 21 ] \
   || [ ! -x "$JAVA_HOME/bin/javac" ]; then
  best= bestv=0
  for d in /usr/lib/jvm/*/; do
    d=${d%/}; v=$(jdk_version "$d"); [ -n "$v" ] && [ -x "$d/bin/javac" ] || continue
    [ "$v" -gt "$bestv" ] && best=$d bestv=$v
  done
  if [ "$bestv" -lt 21 ]; then
    echo "mesovirt: no JDK 21 or newer found (set JAVA_HOME, or install one under /usr/lib/jvm)" >&2
    return 1 2>/dev/null || exit 1
  fi
  export JAVA_HOME=$best
fi
export PATH=$JAVA_HOME/bin:$PATH
