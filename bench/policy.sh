#!/usr/bin/env bash
# Benchmark: `vow check` and `vow scan` on the example workspace (whole process, release build).
# Prints the median and the slowest of RUNS runs for each.
#   bench/policy.sh          RUNS (default 21)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-21}
cargo build --release --quiet --bin vow
VOW=target/release/vow
for cmd in "check --fail-on never" "scan --fail-on never" "test" "plan"; do
  times=()
  for _ in $(seq "$RUNS"); do
    s=$(date +%s%N)
    $VOW $cmd > /dev/null || true
    e=$(date +%s%N)
    times+=($(( (e - s) / 1000 )))
  done
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
  max=$(printf '%s\n' "${times[@]}" | sort -n | tail -1)
  printf '%-24s median %6.1f ms   max %6.1f ms   (%d runs)\n' "vow $cmd" "$(echo "$median/1000" | bc -l)" "$(echo "$max/1000" | bc -l)" "$RUNS"
done
