#!/usr/bin/env bash
# Builds the optional native addon native/tsvirt_io.c (SEEK_DATA/SEEK_HOLE, fallocate,
# copy_file_range) into build/tsvirt_io.node with the system C compiler and Node's own headers:
# no node-gyp, no downloads. Never fails: without a compiler or headers it warns, and tsvirt uses
# its pure-JS fallback (src/image/io/native.ts).
set -uo pipefail
cd "$(dirname "$0")/.."
src=native/tsvirt_io.c
out=build/tsvirt_io.node
if [ -f "$out" ] && [ "$out" -nt "$src" ] && [ "$out" -nt "$0" ]; then exit 0; fi
warn() { echo "build-native: WARNING: $*; tsvirt-img falls back to pure-JS I/O (slower sparse copies)" >&2; exit 0; }
cc=${CC:-}
if [ -z "$cc" ]; then
  for c in cc gcc clang; do command -v "$c" >/dev/null 2>&1 && { cc=$c; break; }; done
fi
[ -n "$cc" ] || warn "no C compiler found"
inc=""
for d in "$(dirname "$(dirname "$(command -v node)")")/include/node" /usr/include/node /usr/local/include/node; do
  [ -f "$d/node_api.h" ] && { inc=$d; break; }
done
[ -n "$inc" ] || warn "Node's headers (node_api.h) not found"
mkdir -p build
tmp=$(mktemp build/.tsvirt_io.XXXXXX.node)
if ! "$cc" -shared -fPIC -O2 -Wall -Wextra -std=gnu11 -I"$inc" -o "$tmp" "$src" 2>build/native-build.log; then
  cat build/native-build.log >&2
  rm -f "$tmp"
  warn "compiling $src failed"
fi
# Only an addon that loads replaces the old one (atomic rename: running tools never see half a file).
if ! node -e 'const m=require(process.argv[1]); if (typeof m.extents!=="function") process.exit(1)' "$PWD/$tmp" 2>>build/native-build.log; then
  rm -f "$tmp"
  warn "the built addon does not load"
fi
mv -f "$tmp" "$out"
echo "build-native: built $out"
