#!/bin/sh
# Copies the C shim (libreadmit: ../../shim/*.c, ../../shim/*.h, ../../include/readmit.h) into
# src/, where R compiles it into the package. The copies are committed, so
# `R CMD INSTALL bindings/r` and the `R CMD build` tarball work without the rest of the repo.
#
#   tools/sync-shim.sh          copy (run after changing the shim; commit the result)
#   tools/sync-shim.sh --check  exit 1 if src/ differs from the shim (scripts/tests/40-r.sh)
#
# The list of copied files is kept in tools/shim-files.txt so stale copies can be found.
set -eu
pkg=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$pkg/../.." && pwd)
manifest="$pkg/tools/shim-files.txt"

sources=""
for f in "$root"/shim/*.c "$root"/shim/*.h "$root"/include/readmit.h; do
  [ -f "$f" ] && sources="$sources $f"
done
if [ -z "$sources" ]; then
  echo "sync-shim: no shim sources under $root/shim" >&2
  exit 1
fi

if [ "${1:-}" = "--check" ]; then
  status=0
  for f in $sources; do
    b=$(basename "$f")
    if ! cmp -s "$f" "$pkg/src/$b"; then
      echo "sync-shim: bindings/r/src/$b differs from ${f#$root/} (run bindings/r/tools/sync-shim.sh)" >&2
      status=1
    fi
  done
  if [ -f "$manifest" ]; then
    while read -r b; do
      case " $sources " in *"/$b "*) ;; *)
        echo "sync-shim: bindings/r/src/$b is no longer in the shim (run bindings/r/tools/sync-shim.sh)" >&2
        status=1 ;;
      esac
    done < "$manifest"
  fi
  [ $status -eq 0 ] && echo "sync-shim: bindings/r/src matches the shim"
  exit $status
fi

# Remove copies of files the shim no longer has, then copy.
if [ -f "$manifest" ]; then
  while read -r b; do rm -f "$pkg/src/$b"; done < "$manifest"
fi
: > "$manifest"
for f in $sources; do
  cp "$f" "$pkg/src/"
  basename "$f" >> "$manifest"
done
echo "sync-shim: copied $(wc -l < "$manifest" | tr -d ' ') files into bindings/r/src"
