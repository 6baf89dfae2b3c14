#!/usr/bin/env bash
# Compiles bench/src/main/c/pingpong.c with gcc and runs it pinned to two CPUs; prints the median cache-line
# round trip in ns on stdout (details on stderr). Usage: bench/scripts/c-pingpong.sh [CPU_A CPU_B [ROUNDS SAMPLES]]
# Compare with: java -jar bench/target/ferry-bench.jar latency-map --cpus CPU_A,CPU_B
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$here/../src/main/c/pingpong.c"
out="${TMPDIR:-/tmp}/ferry-pingpong"
command -v gcc >/dev/null || { echo "gcc not found: install it (apt-get install gcc)" >&2; exit 2; }
gcc -O2 -std=c11 -pthread -o "$out" "$src"
exec "$out" "${1:-0}" "${2:-1}" "${3:-1000}" "${4:-201}"
