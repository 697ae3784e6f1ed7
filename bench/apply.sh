#!/usr/bin/env bash
# Benchmark: applying a COUNT-instance upgrade (every instance changes: a new Promise version)
# to the folder store and to the git store (a bare repository over file://).
#   bench/apply.sh [COUNT]          default 10000
#   VOW=/path/to/vow bench/apply.sh  times that binary (built elsewhere, e.g. an older commit,
#                                    to alternate before/after runs) instead of building this one
#   KINDS="git" bench/apply.sh       only some of the stores (default: folder git)
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-10000}
OUT=${OUT:-/tmp/vow-bench-apply}
if [ -z "${VOW:-}" ]; then
  cargo build --release --quiet --bin vow --example fleet
  VOW=$PWD/target/release/vow
fi
FLEET=${FLEET:-$PWD/target/release/examples/fleet}
for kind in ${KINDS:-folder git}; do
  ws="$OUT/$kind"
  rm -rf "$ws"
  "$FLEET" --count "$COUNT" --out "$ws" 2>/dev/null
  cp -r promises "$ws/promises"
  # A copy, not a path into this checkout: a prepared workspace must not change when the
  # checkout does (its plan would be refused as not what planning gives now).
  cp fixtures/example/destinations.yaml "$ws/destinations.yaml"
  if [ "$kind" = git ]; then
    git init -q --bare "$ws/remote.git"
    store="store: {git: {url: \"file://$ws/remote.git\", branch: main}}"
  else
    store="store: {folder: state}"
  fi
  printf 'promises: promises\ndestinations: %s\nrequests: requests\n%s\n' destinations.yaml "$store" > "$ws/vow.yaml"
  cd "$ws"
  # The fleet as it was: every instance created at the current versions.
  "$VOW" plan --fail-on never --now 2026-12-01T09:00:00Z --out base.json --format json > /dev/null
  "$VOW" apply base.json --now 2026-12-01T09:00:00Z --gate-cmd true --wait --poll 1h > /dev/null 2>&1
  # The upgrade: a new version of every Promise, so every instance re-renders.
  sed -i 's/kratix.io\/promise-version: v\([0-9]*\)\.\([0-9]*\)\.\([0-9]*\)/kratix.io\/promise-version: v\1.\2.9\3/' promises/*/promise.yaml
  "$VOW" plan --fail-on never --now 2026-12-02T09:00:00Z --out upgrade.json --format json > upgrade-plan.json
  changed=$(python3 -c "import json; s=json.load(open('upgrade-plan.json'))['summary']; print(s['update'])")
  /usr/bin/time -f "%e %M" -o time.txt "$VOW" apply upgrade.json --now 2026-12-02T09:00:00Z --gate-cmd true --wait --poll 1h > /dev/null 2> apply.log
  read -r secs mem < time.txt
  files=$(grep -o '[0-9]* file operations' apply.log | awk '{s += $1} END {print s}')
  waves=$(grep -c '^applied wave' apply.log)
  if [ "$kind" = git ]; then
    commits=$(git --git-dir remote.git rev-list --count main)
    commits="$commits in the repository ($((waves + 1)) for the upgrade)"
  else
    commits="- (folder)"
  fi
  printf 'apply %-6s %6d instances updated  %7.2f s  %7d file operations  %3d waves  commits: %s  peak %d MiB\n' \
    "$kind" "$changed" "$secs" "$files" "$waves" "$commits" "$((mem / 1024))"
  cd - > /dev/null
done
