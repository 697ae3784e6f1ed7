#!/usr/bin/env bash
# Fills the store of a generated fleet workspace (bench/fleet.rs) with every request applied at the
# previous Promise revisions, through vow itself: `vow plan` and `vow apply` with the workspace's
# vow-old.yaml (promises: fixtures/example/state/.vow/revisions, no rules), gates passed by
# `--gate-cmd true`, bakes simulated by a fixed --now. Afterwards `vow plan` (vow.yaml: the current
# Promises and the rules) plans an upgrade of every instance, and `vow scan` sees the old versions.
#   bench/fleet-store.sh DIR        VOW (default target/release/vow), NOW (default 2026-12-01T09:00:00Z)
# Prints the time the plan and the apply took on stderr; the apply's log is kept in DIR/store-apply.log.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
DIR=${1:?usage: bench/fleet-store.sh DIR}
VOW=${VOW:-$repo/target/release/vow}
NOW=${NOW:-2026-12-01T09:00:00Z}
cd "$DIR"
[ -f vow-old.yaml ] || { echo "fleet-store: $DIR/vow-old.yaml is missing (generate with bench/fleet.rs)" >&2; exit 2; }
rm -rf state && mkdir state
start=$(date +%s.%N)
"$VOW" --config vow-old.yaml plan --now "$NOW" --fail-on never --format json --out store-plan.json > /dev/null 2> store-plan.log
planned=$(date +%s.%N)
/usr/bin/time -f "%e %M" -o store-apply.time \
  "$VOW" --config vow-old.yaml apply store-plan.json --now "$NOW" --gate-cmd true --wait --poll 1h \
  > /dev/null 2> store-apply.log || { tail -20 store-apply.log >&2; exit 1; }
read -r secs mem < store-apply.time
summary=$(python3 -c "
import json; s = json.load(open('store-plan.json'))['summary']
print(f\"{s['create']} created, {s['blocked']} blocked at the old revisions\")")
waves=$(grep -c '^applied wave' store-apply.log || true)
printf 'store at the old revisions: %s; plan %.1f s, apply %.1f s (%d waves, peak %d MiB)\n' \
  "$summary" "$(echo "$planned - $start" | bc)" "$secs" "$waves" "$((mem / 1024))" >&2
