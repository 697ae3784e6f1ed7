#!/usr/bin/env bash
# Makes the same generated fleet in every single-file input shape, each in a policy-only
# workspace (the three rules of bench/compare.sh), for measuring loading:
#   bench/load-shapes.sh [COUNT] [OUT]     defaults: 100000, /tmp/load-bench
# OUT/ws-ndjson (one NDJSON file), OUT/ws-array (one JSON array), OUT/ws-list (one Kubernetes
# `List`, as `kubectl get -o json` prints it), OUT/ws-yaml (one multi-document YAML) and
# OUT/ws-files (YAML files of 1000 documents, the generator's own). Measure with
#   /usr/bin/time -f "%e %M %U %S" VOW -C OUT/ws-SHAPE check --format sarif > /dev/null
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
COUNT=${1:-100000}
OUT=${2:-/tmp/load-bench}
mkdir -p "$OUT"
cargo build --release --quiet --example fleet
target/release/examples/fleet --count "$COUNT" --out "$OUT/gen-ndjson" --format ndjson >/dev/null 2>&1
target/release/examples/fleet --count "$COUNT" --out "$OUT/gen-yaml" --format yaml >/dev/null 2>&1
RULES=(encryption-at-rest postgres-cve-2026-4412 allowed-regions)
workspace() {
  local ws=$1 dir name rule f
  rm -rf "$ws"
  mkdir -p "$ws/rules" "$ws/state" "$ws/requests"
  for dir in promises/*/; do
    name=$(basename "$dir")
    mkdir -p "$ws/promises/$name"
    awk '/^  workflows:/ { skip = 1; next }
         skip && match($0, /[^ ]/) && RSTART <= 3 && substr($0, RSTART, 1) != "#" { skip = 0 }
         !skip' "$dir/promise.yaml" > "$ws/promises/$name/promise.yaml"
  done
  for rule in "${RULES[@]}"; do
    cp "rules/$rule.yaml" "$ws/rules/"
    for f in $(sed -n 's/^ *file: *//p' "rules/$rule.yaml"); do cp "rules/$f" "$ws/rules/"; done
  done
  cat > "$ws/vow.yaml" <<YAML
promises: promises
rules: rules
requests: requests
destinations: $REPO/fixtures/example/destinations.yaml
store: {folder: state}
labels: {team: team, environment: env}
YAML
}
for shape in ndjson array list yaml files; do workspace "$OUT/ws-$shape"; done
cat "$OUT"/gen-ndjson/requests/*.ndjson > "$OUT/ws-ndjson/requests/fleet.ndjson"
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
items = [json.loads(l) for l in open(f"{out}/ws-ndjson/requests/fleet.ndjson") if l.strip()]
with open(f"{out}/ws-array/requests/fleet.json", "w") as f:
    json.dump(items, f, indent=2)
with open(f"{out}/ws-list/requests/fleet.json", "w") as f:
    json.dump({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items}, f, indent=4)
PY
cat "$OUT"/gen-yaml/requests/*.yaml > "$OUT/ws-yaml/requests/fleet.yaml"
cp "$OUT"/gen-yaml/requests/*.yaml "$OUT/ws-files/requests/"
