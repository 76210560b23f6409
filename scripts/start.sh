#!/usr/bin/env bash
# `npm start`: install what is missing, build, run tsvirtd in the foreground with its defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
npx tsc -p tsconfig.json
# tsvirt-img's one-file bundle + V8 code cache (faster start); skipped without esbuild, only warns on failure
node scripts/build-img-bundle.mjs || echo "build-img-bundle failed: tsvirt-img runs from its ES modules" >&2
exec node dist/bin/tsvirtd.js "$@"
