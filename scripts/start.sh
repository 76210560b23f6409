#!/usr/bin/env bash
# `npm start`: install what is missing, build, run tsvirtd in the foreground with its defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
npx tsc -p tsconfig.json
exec node dist/bin/tsvirtd.js "$@"
