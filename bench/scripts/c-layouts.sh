#!/usr/bin/env bash
# Compiles bench/src/main/c/layouts.c with gcc and runs it pinned to two CPUs: the round trip of five shared-memory
# request/reply layouts (one line, two lines, two rings zeroed by their readers, two rings told apart by sequence,
# reply-in-place slots), side by side. Usage: bench/scripts/c-layouts.sh [CPU_A CPU_B [ROUNDS CALLS_PER_ROUND]]
# Compare with: java -jar bench/target/ferry-bench.jar ipc-bench --transports ferry-shm,aeron-ipc,agrona-m2o,slots
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$here/../src/main/c/layouts.c"
out="${TMPDIR:-/tmp}/ferry-layouts"
command -v gcc >/dev/null || { echo "gcc not found: install it (apt-get install gcc)" >&2; exit 2; }
gcc -O2 -std=c11 -pthread -o "$out" "$src"
exec "$out" "${1:-0}" "${2:-1}" "${3:-21}" "${4:-20000}"
