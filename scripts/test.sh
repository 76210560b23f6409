#!/usr/bin/env bash
# `npm test`: install what is missing, build, lint, and run every test file explicitly
# (Node 20's runner finds no .ts files by itself). Fails when zero tests ran.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
npx tsc -p tsconfig.json
# tsvirt-img's one-file bundle + V8 code cache (faster start); skipped without esbuild, only warns on failure
node scripts/build-img-bundle.mjs || echo "build-img-bundle failed: tsvirt-img runs from its ES modules" >&2
lintdirs=$(for d in src tests bench scripts; do [ -d "$d" ] && echo "$d"; done)
# shellcheck disable=SC2086
npx biome lint $lintdirs >/tmp/tsvirt-biome.log 2>&1 || { cat /tmp/tsvirt-biome.log; exit 1; }

if [ $# -gt 0 ]; then files=("$@"); else
  mapfile -t files < <(find src tests -name '*.test.ts' | sort)
fi
[ ${#files[@]} -gt 0 ] || { echo "test: no test files found" >&2; exit 1; }
out=/tmp/tsvirt-test-$$.log
set +e
# A wedged test file (a child process left running) must fail the run, not hold CI to its limit.
timeout --kill-after=30 "${TSVIRT_TEST_TIMEOUT:-2400}" node --import tsx --test --test-concurrency=2 --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$out" "${files[@]}"
rc=$?
set -e
pass=$(grep -E '^# pass ' "$out" | awk '{print $3}')
fail=$(grep -E '^# fail ' "$out" | awk '{print $3}')
skip=$(grep -E '^# skipped ' "$out" | awk '{print $3}')
echo "# pass ${pass:-0}"
echo "# fail ${fail:-0}"
echo "${pass:-0} passed, ${fail:-0} failed, ${skip:-0} skipped"
[ "${pass:-0}" -gt 0 ] || { echo "test: zero tests ran" >&2; exit 1; }
exit $rc
