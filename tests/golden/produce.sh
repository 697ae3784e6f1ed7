#!/usr/bin/env bash
# Writes everything the example fleet produces into OUT: the plan (JSON, human, markdown), the
# scan in every format, `check`, and the store after the plan is applied to a copy of the
# workspace (a manifest of every file's sha256, and `vow status`).
#
#   tests/golden/produce.sh VOW OUT
#
# tests/golden.rs compares its result with tests/golden/example/ (written by the commit before
# the architecture work, 0793e2f); bench/same-output.sh compares any two commits with it.
set -euo pipefail
vow=$(realpath "$1")
out=$(mkdir -p "$2" && realpath "$2")
root=$(cd "$(dirname "$0")/../.." && pwd)
now=2026-12-01T09:00:00Z

cd "$root"
run() { # run NAME ARGS...: stdout to OUT/NAME, the exit code to OUT/NAME.code
  local name=$1; shift
  local code=0
  "$vow" "$@" >"$out/$name" 2>"$out/$name.stderr" || code=$?
  echo "$code" >"$out/$name.code"
}
run plan.json plan --now "$now" --format json
run plan.txt plan --now "$now"
run plan.md plan --now "$now" --format markdown
for f in human json sarif junit policyreport openreports codequality github markdown; do
  run "scan.$f" scan --now "$now" --format "$f"
done
run check.txt check --now "$now"

# Apply to a copy, without the calendar (the clock is stepped by hand), with a passing gate.
ws=$(mktemp -d)
trap 'rm -rf "$ws"' EXIT
cp -a promises rules fixtures "$ws/"
sed '/^# Production changes/,$d' vow.yaml >"$ws/vow.yaml"
cd "$ws"
"$vow" plan --now "$now" --out plan.json --format json --fail-on never >/dev/null
t=$(date -u -d "$now" +%s)
for _ in $(seq 40); do
  at=$(date -u -d "@$t" +%Y-%m-%dT%H:%M:%SZ)
  said=$("$vow" apply plan.json --now "$at" --gate-cmd true 2>&1)
  echo "${said//$ws/WS}" >>"$out/apply.log"
  case "$said" in *": done:"*) break ;; esac
  t=$((t + 5 * 3600))
done
"$vow" status >"$out/status.txt" 2>&1 || true
(cd fixtures/example/state && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) >"$out/store.sha256"
