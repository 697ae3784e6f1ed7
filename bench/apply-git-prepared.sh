#!/usr/bin/env bash
# The 10k upgrade apply of bench/apply.sh on the git store, prepared once and restored before
# every run (in one fixed folder, so that the remote's file:// URL in vow.yaml stays valid):
#   bench/apply-git-prepared.sh prepare BIN          fleet, base plan and apply, upgrade plan, a copy
#   bench/apply-git-prepared.sh run BIN [WRAPPER...] restore the copy, time `BIN apply upgrade.json`
#     e.g. bench/apply-git-prepared.sh run target/release/vow perf record -F 250 -o /tmp/perf.data
# Prints one table row: binary, wall, peak, user, sys, file operations, waves, load average.
#   OUT=/tmp/vgit COUNT=10000 FLEET=target/release/examples/fleet (defaults)
set -euo pipefail
WT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-/tmp/vgit}; ws=$OUT/git
mode=$1; BIN=$(realpath "$2"); shift 2
if [ "$mode" = prepare ]; then
  rm -rf "$ws" "$ws.prepared"; mkdir -p "$OUT"
  "${FLEET:-$WT/target/release/examples/fleet}" --count "${COUNT:-10000}" --out "$ws" 2>/dev/null
  cp -r "$WT/promises" "$ws/promises"
  git init -q --bare "$ws/remote.git"
  printf 'promises: promises\ndestinations: %s\nrequests: requests\nstore: {git: {url: "file://%s/remote.git", branch: main}}\n' "$WT/fixtures/example/destinations.yaml" "$ws" > "$ws/vow.yaml"
  cd "$ws"
  "$BIN" plan --fail-on never --now 2026-12-01T09:00:00Z --out base.json --format json > /dev/null
  "$BIN" apply base.json --now 2026-12-01T09:00:00Z --gate-cmd true --wait --poll 1h > /dev/null 2>&1
  sed -i 's/kratix.io\/promise-version: v\([0-9]*\)\.\([0-9]*\)\.\([0-9]*\)/kratix.io\/promise-version: v\1.\2.9\3/' promises/*/promise.yaml
  "$BIN" plan --fail-on never --now 2026-12-02T09:00:00Z --out upgrade.json --format json > upgrade-plan.json
  cp -a "$ws" "$ws.prepared"
  exit 0
fi
rm -rf "$ws" && cp -a "$ws.prepared" "$ws" && sync
load=$(cut -d' ' -f1-3 /proc/loadavg)
cd "$ws"
/usr/bin/time -f "%e %M %U %S" -o time.txt "$@" "$BIN" apply upgrade.json --now 2026-12-02T09:00:00Z --gate-cmd true --wait --poll 1h > /dev/null 2> apply.log || tail -5 apply.log
read -r secs mem user sys < time.txt
files=$(grep -o '[0-9]* file operations' apply.log | awk '{s += $1} END {print s}')
waves=$(grep -c '^applied wave' apply.log || true)
echo "| $BIN | $secs s | $((mem / 1024)) MiB | $user s | $sys s | $files | $waves | $load |"
