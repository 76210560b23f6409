#!/usr/bin/env bash
# Records real virsh's answers to tests/data/virsh/script.txt into tests/data/virsh/golden/script.json
# (stdout, stderr, exit status per entry). How state carries over: see virsh-golden.mjs.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v virsh >/dev/null || { echo "virsh-golden: real virsh is not installed" >&2; exit 1; }
exec node scripts/oracle/virsh-golden.mjs "$@"
