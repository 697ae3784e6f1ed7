#!/usr/bin/env bash
# A generated fleet workspace, cached: prints its directory on stdout (everything else on stderr).
#   bench/fleet.sh COUNT [FORMAT] [STORE]     FORMAT yaml|json|ndjson (default yaml), STORE empty|old (default empty)
# Environment: SEED (1), VIOLATIONS (percent, 5), RULES (example|none), OUT (/tmp/vow-bench),
#   FRESH=1 to regenerate even when cached, SKIP_BUILD=1 when the release binaries are built.
#
# The workspace is $OUT/fleet-COUNT-FORMAT-sSEED-vVIOLATIONS-RULES-STORE. It is reused when it was
# made with the same arguments and the same bench/fleet.rs, bench/fleet-store.sh, example requests,
# old Promise revisions and destinations (not the same vow binary: FRESH=1 after a change to what
# vow writes to a store). STORE=old applies every request at the old Promise revisions
# (bench/fleet-store.sh, about 15 s per 10k requests); the requests and so the store are the same
# whatever the format, so a store already built for another format of the same fleet is reused
# as hard links (`cp -al`). Cached workspaces are for reading (plan, scan, check): do not apply
# in them.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
COUNT=${1:?usage: bench/fleet.sh COUNT [FORMAT] [STORE]}
FORMAT=${2:-yaml}
STORE=${3:-empty}
SEED=${SEED:-1}
VIOLATIONS=${VIOLATIONS:-5}
RULES=${RULES:-example}
OUT=${OUT:-/tmp/vow-bench}
case "$FORMAT" in yaml|json|ndjson) ;; *) echo "fleet.sh: FORMAT is yaml, json or ndjson" >&2; exit 2;; esac
case "$STORE" in empty|old) ;; *) echo "fleet.sh: STORE is empty or old" >&2; exit 2;; esac
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release --quiet --bin vow --example fleet >&2

name() { echo "$OUT/fleet-$COUNT-$1-s$SEED-v$VIOLATIONS-$RULES-$2"; }
inputs=$( { cat bench/fleet.rs bench/fleet-store.sh fixtures/example/destinations.yaml
            find fixtures/example/requests fixtures/example/state/.vow/revisions -type f | sort | xargs cat; } | sha256sum | cut -c1-16)
store_key="count=$COUNT seed=$SEED violations=$VIOLATIONS inputs=$inputs"
key="$store_key format=$FORMAT rules=$RULES store=$STORE"
ws=$(name "$FORMAT" "$STORE")
if [ "${FRESH:-0}" != 1 ] && [ "$(cat "$ws/.fleet-key" 2>/dev/null)" = "$key" ]; then
  echo "fleet: cached $ws" >&2
  cat "$ws/fleet.log" >&2
  echo "$ws"
  exit 0
fi
mkdir -p "$OUT"
start=$(date +%s.%N)
target/release/examples/fleet --count "$COUNT" --out "$ws" --format "$FORMAT" --seed "$SEED" \
  --violations "$VIOLATIONS" --rules "$RULES" 2> "$OUT/fleet.log.tmp"
mv "$OUT/fleet.log.tmp" "$ws/fleet.log"
cat "$ws/fleet.log" >&2
printf 'fleet: generated in %.1f s\n' "$(echo "$(date +%s.%N) - $start" | bc)" >&2
if [ "$STORE" = old ]; then
  shared=""
  for other in yaml json ndjson; do
    o=$(name "$other" old)
    if [ "$o" != "$ws" ] && [ "$(cat "$o/.store-key" 2>/dev/null)" = "$store_key" ]; then shared=$o; break; fi
  done
  if [ -n "$shared" ]; then
    rm -rf "$ws/state"
    cp -al "$shared/state" "$ws/state"
    cp "$shared/store-plan.json" "$shared/store-plan.log" "$shared/store-apply.log" "$ws/" 2>/dev/null || true
    { grep -v '^fleet: store built' "$shared/store.log" || true
      echo "fleet: store shared (hard links) with $shared, built from the same requests"; } > "$ws/store.log"
  else
    start=$(date +%s.%N)
    VOW="$repo/target/release/vow" bench/fleet-store.sh "$ws" 2> "$ws/store.log" || { cat "$ws/store.log" >&2; exit 1; }
    printf 'fleet: store built in %.1f s\n' "$(echo "$(date +%s.%N) - $start" | bc)" >> "$ws/store.log"
  fi
  cat "$ws/store.log" >&2
  cat "$ws/store.log" >> "$ws/fleet.log"
  echo "$store_key" > "$ws/.store-key"
fi
echo "$key" > "$ws/.fleet-key"
echo "$ws"
