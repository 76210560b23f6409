#!/usr/bin/env bash
# Runs one qemu-img command line through real qemu-img and through tsvirt-img, each in its own
# copy of the current directory's image files, and shows the differences (stdout, stderr, exit
# code, and `qemu-img compare` of files the command changed or created).
#   usage: scripts/oracle/img-diff.sh info --output=json disk.vmdk
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cli="$root/dist/bin/tsvirt-img.js"
[ -f "$cli" ] || { echo "build first: npx tsc -p ." >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir "$work/q" "$work/t"
cp -a . "$work/q/" 2>/dev/null
cp -a . "$work/t/" 2>/dev/null
touch "$work/stamp"; sleep 0.01
(cd "$work/q" && qemu-img "$@" >../q.out 2>../q.err; echo $? >../q.rc)
(cd "$work/t" && node "$cli" "$@" >../t.out 2>../t.err; echo $? >../t.rc)
sed -i 's/^qemu-img: /tsvirt-img: /; s/qemu-img --help/tsvirt-img --help/' "$work/q.err"
rc=0
for f in out err rc; do
  if ! diff -u --label "qemu-img.$f" --label "tsvirt-img.$f" "$work/q.$f" "$work/t.$f"; then rc=1; fi
done
for f in $(cd "$work/q" && find . -type f -newer "$work/stamp" | sort); do
  [ -f "$work/t/$f" ] || { echo "only qemu-img wrote $f"; rc=1; continue; }
  cmp -s "$work/q/$f" "$work/t/$f" && continue
  qemu-img compare -U "$work/q/$f" "$work/t/$f" >/dev/null 2>&1 || { echo "content differs: $f"; rc=1; }
done
[ $rc -eq 0 ] && echo "identical"
exit $rc
