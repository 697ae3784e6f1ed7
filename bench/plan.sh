#!/usr/bin/env bash
# Benchmark: `vow plan` end to end on a generated fleet. Prints, for each size and format, the
# median wall time of RUNS runs, requests per second and the peak memory (max RSS).
#   bench/plan.sh [COUNT...]        default: 100000
# Environment: RUNS (default 3), FORMATS (default "yaml ndjson"), OUT (default /tmp/vow-bench).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
FORMATS=${FORMATS:-"yaml ndjson"}
OUT=${OUT:-/tmp/vow-bench}
COUNTS=("$@")
[ ${#COUNTS[@]} -gt 0 ] || COUNTS=(100000)
cargo build --release --quiet --bin vow --example fleet
VOW=target/release/vow
for count in "${COUNTS[@]}"; do
  for format in $FORMATS; do
    ws="$OUT/$count-$format"
    target/release/examples/fleet --count "$count" --out "$ws" --format "$format" 2>/dev/null
    times=(); mems=()
    for _ in $(seq "$RUNS"); do
      /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$VOW" -C "$ws" plan --format json > "$OUT/plan.json"
      read -r t m < "$OUT/time.txt"
      times+=("$t"); mems+=("$m")
    done
    median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
    peak=$(printf '%s\n' "${mems[@]}" | sort -n | tail -1)
    rps=$(python3 -c "print(round($count / $median))")
    printf 'plan  %8d requests  %-6s  median %6.2fs  %8d req/s  peak %5d MiB  (runs: %s)\n' \
      "$count" "$format" "$median" "$rps" "$((peak / 1024))" "${times[*]}"
  done
done
