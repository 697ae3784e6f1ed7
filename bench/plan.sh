#!/usr/bin/env bash
# Benchmark: `vow plan` end to end on a generated fleet. Prints, for each size and format, the
# median wall time of RUNS runs, requests per second and the peak memory (max RSS), then what the
# plan holds (creates, updates, blocked).
#   bench/plan.sh [COUNT...]        default: 100000
# Environment: RUNS (default 3), FORMATS (default "yaml ndjson"), OUT (default /tmp/vow-bench),
#   STORE: empty (default: every request is a create; the workspace is regenerated in OUT/COUNT-FORMAT)
#          or old (every request applied at the previous Promise versions, so the plan is an upgrade
#          of every instance; the cached workspace of bench/fleet.sh),
#   SEED (1), VIOLATIONS (percent, 5), RULES (example, or none: no rules, the workload of the first
#   benchmark in BENCHMARKS.md, whose fleet had no rules: configured).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
FORMATS=${FORMATS:-"yaml ndjson"}
OUT=${OUT:-/tmp/vow-bench}
STORE=${STORE:-empty}
export SEED=${SEED:-1} VIOLATIONS=${VIOLATIONS:-5} RULES=${RULES:-example} OUT
COUNTS=("$@")
[ ${#COUNTS[@]} -gt 0 ] || COUNTS=(100000)
cargo build --release --quiet --bin vow --example fleet
VOW=target/release/vow
mkdir -p "$OUT"
for count in "${COUNTS[@]}"; do
  for format in $FORMATS; do
    if [ "$STORE" = empty ]; then
      ws="$OUT/$count-$format"
      target/release/examples/fleet --count "$count" --out "$ws" --format "$format" --seed "$SEED" \
        --violations "$VIOLATIONS" --rules "$RULES" 2>/dev/null
    else
      ws=$(SKIP_BUILD=1 bench/fleet.sh "$count" "$format" "$STORE" 2>/dev/null)
    fi
    times=(); mems=()
    for _ in $(seq "$RUNS"); do
      /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$VOW" -C "$ws" plan --format json > "$OUT/plan.json"
      read -r t m < "$OUT/time.txt"
      times+=("$t"); mems+=("$m")
    done
    median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
    peak=$(printf '%s\n' "${mems[@]}" | sort -n | tail -1)
    rps=$(python3 -c "print(round($count / $median))")
    held=$(python3 -c "import json; s = json.load(open('$OUT/plan.json'))['summary']; print(f\"store {'$STORE'}: create {s['create']} update {s['update']} blocked {s['blocked']}\")")
    printf 'plan  %8d requests  %-6s  median %6.2fs  %8d req/s  peak %5d MiB  (runs: %s)  %s\n' \
      "$count" "$format" "$median" "$rps" "$((peak / 1024))" "${times[*]}" "$held"
  done
done
