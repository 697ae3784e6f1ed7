#!/usr/bin/env bash
# Before/after timing of the 10k upgrade apply of bench/apply.sh, builds alternated: the
# workspaces are prepared once (bench/apply.sh's steps up to the upgrade plan, with the BEFORE
# build), kept as a copy, and restored before every run, so each run applies the same upgrade.
#   BEFORE=/path/to/old/vow AFTER=/path/to/new/vow bench/apply-ab.sh [COUNT] [RUNS]
#   KINDS="git" ...                 only some of the stores (default: folder git)
# One line per run, in order: build, store, wall, peak memory, user and sys CPU seconds (the
# process and its children), file operations, and the load average when it started.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-10000}
RUNS=${2:-2}
OUT=${OUT:-/tmp/vow-bench-ab}
: "${BEFORE:?the old build}" "${AFTER:?the new build}"
FLEET=${FLEET:-$PWD/target/release/examples/fleet}
for kind in ${KINDS:-folder git}; do
  if [ ! -d "$OUT/$kind.prepared" ]; then
    ws="$OUT/$kind.prepared"
    mkdir -p "$OUT"
    "$FLEET" --count "$COUNT" --out "$ws" 2>/dev/null
    cp -r promises "$ws/promises"
    # A copy, not a path into this checkout: a prepared workspace must not change when the
    # checkout does (its plan would be refused as not what planning gives now).
    cp fixtures/example/destinations.yaml "$ws/destinations.yaml"
    if [ "$kind" = git ]; then
      git init -q --bare "$ws/remote.git"
      store="store: {git: {url: \"file://$OUT/$kind/remote.git\", branch: main}}"
    else
      store="store: {folder: state}"
    fi
    printf 'promises: promises\ndestinations: %s\nrequests: requests\n%s\n' destinations.yaml "$store" > "$ws/vow.yaml"
    # The remote's URL names the run's folder: the base apply runs there too.
    rm -rf "${OUT:?}/$kind" && mv "$ws" "$OUT/$kind"
    (
      cd "$OUT/$kind"
      "$BEFORE" plan --fail-on never --now 2026-12-01T09:00:00Z --out base.json --format json > /dev/null
      "$BEFORE" apply base.json --now 2026-12-01T09:00:00Z --gate-cmd true --wait --poll 1h > /dev/null 2>&1
      sed -i 's/kratix.io\/promise-version: v\([0-9]*\)\.\([0-9]*\)\.\([0-9]*\)/kratix.io\/promise-version: v\1.\2.9\3/' promises/*/promise.yaml
      "$BEFORE" plan --fail-on never --now 2026-12-02T09:00:00Z --out upgrade.json --format json > /dev/null
    )
    mv "$OUT/$kind" "$ws"
  fi
done
for run in $(seq "$RUNS"); do
  for kind in ${KINDS:-folder git}; do
    for build in before after; do
      vow=$BEFORE; [ "$build" = after ] && vow=$AFTER
      rm -rf "${OUT:?}/$kind"
      cp -a "$OUT/$kind.prepared" "$OUT/$kind"
      sync
      load=$(cut -d' ' -f1-3 /proc/loadavg)
      (
        cd "$OUT/$kind"
        /usr/bin/time -f "%e %M %U %S" -o time.txt "$vow" apply upgrade.json --now 2026-12-02T09:00:00Z --gate-cmd true --wait --poll 1h > /dev/null 2> apply.log
        read -r secs mem user sys < time.txt
        files=$(grep -o '[0-9]* file operations' apply.log | awk '{s += $1} END {print s}')
        printf '| %s | %s | %.2f s | %d MiB | %.2f s | %.2f s | %d | %s |\n' \
          "$build" "$kind" "$secs" "$((mem / 1024))" "$user" "$sys" "$files" "$load"
      )
    done
  done
done
