#!/usr/bin/env bash
# Runs the benchmarks (bench/run.ts) with the file-descriptor limit raised to the hard limit: 20,000
# connections need 20,000 descriptors in the server and as many in the load generators.
set -euo pipefail
cd "$(dirname "$0")/.."
hard=$(ulimit -Hn)
ulimit -n "$hard"
echo "ulimit -n $(ulimit -n) (hard $hard)" >&2
exec node --import tsx bench/run.ts "$@"
