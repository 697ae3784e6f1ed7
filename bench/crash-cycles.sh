#!/usr/bin/env bash
# Crash safety at scale: SIGKILLs `vow apply` at random moments, over many kill-and-resume cycles,
# for the folder store and for a git store over file://, then kills the git apply at every named
# crash point (VOW_TEST_CRASH_AT, see src/store/crash.rs) of the uninterrupted run: every rename
# and ref update at each of its hits, the other points at their first and last. After each run
# the final store must equal an uninterrupted apply's: the folder store's files and contents
# (journal included: every wave once), and for git the remote branch's tree, with exactly one
# commit per wave (no wave applied twice). A lock a kill left is broken the way vow's message
# says (`--force-unlock ID`, or `--force-unlock unreadable`). Not part of the test suite.
#   bench/crash-cycles.sh [WORKDIR]
#   VOW (default target/debug/vow), INSTANCES (default 60), CYCLES (random kills per store,
#   default 120), SEED (default 1), NOW (default 2026-12-01T09:00:00Z), STORES (the stores of the
#   random kills, default "folder git"; the kill at every crash point always runs)
# Prints one line per store and a summary; exits 1 if any run ends in a store that differs.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
VOW=${VOW:-$repo/target/debug/vow}
INSTANCES=${INSTANCES:-60}
CYCLES=${CYCLES:-120}
NOW=${NOW:-2026-12-01T09:00:00Z}
RANDOM=${SEED:-1}
work=${1:-$(mktemp -d)}
mkdir -p "$work"
work=$(cd "$work" && pwd)
failures=0

# The workspace of tests/crash.rs, with INSTANCES requests and a folder store; planned once.
template() {
  local t=$work/template
  rm -rf "$t" && mkdir -p "$t/promises/db" "$t/requests"
  sed -n '/^pub const PROMISE: &str = r#"/,/^"#;/p' "$repo/tests/common/mod.rs" | sed '1s/.*r#"//;$d' \
    > "$t/promises/db/promise.yaml"
  sed 's/^pub const PROMISE.*r#"//' -i "$t/promises/db/promise.yaml"
  printf '%s\n' "  rollout:" "    canary: {count: 5}" \
    "    waves:" "      - {name: dev, selector: {matchLabels: {env: dev}}, maxSize: 20%}" \
    "      - {name: prod, maxSize: 20%}" >> "$t/promises/db/promise.yaml"
  sed -n '/^pub const RENDER: &str = r#"/,/^"#;/p' "$repo/tests/common/mod.rs" | sed '1s/^pub const RENDER: &str = r#"//;$d' \
    > "$t/promises/db/render.rhai"
  printf 'apiVersion: platform.kratix.io/v1alpha1\nkind: Destination\nmetadata:\n  name: dev\n  labels: {env: dev}\nspec:\n  path: clusters/dev\n' \
    > "$t/destinations.yaml"
  for ((i = 0; i < INSTANCES; i++)); do
    env=prod; ((i % 3 == 0)) && env=dev
    printf -- '---\napiVersion: example.com/v1\nkind: DB\nmetadata:\n  name: db-%05d\n  namespace: team-%d\n  labels: {env: %s}\nspec:\n  size: %d\n' \
      "$i" $((i % 7)) "$env" $((1 + i % 50))
  done > "$t/requests/fleet.yaml"
  echo 'store: {folder: state}' > "$t/vow.yaml"
  (cd "$t" && "$VOW" plan --now "$NOW" --out plan.json > /dev/null)
}

# A fresh workspace DIR for store KIND (folder or git, the git one with its own bare remote).
fresh() {
  local dir=$1 kind=$2
  rm -rf "$dir" "$dir.git"
  cp -r "$work/template" "$dir"
  if [ "$kind" = git ]; then
    git init -q --bare "$dir.git"
    echo "store: {git: {url: \"file://$dir.git\", branch: main}}" > "$dir/vow.yaml"
  fi
}

apply() { (cd "$1" && shift && "$VOW" apply plan.json --now "$NOW" --gate-cmd true "$@"); }

# The --force-unlock arguments a lock left in DIR needs, read the way vow's message says.
unlock_args() {
  local lock
  lock=$(ls "$1"/state/.vow/lock "$1"/.vow/cache/git-*.lock 2> /dev/null | head -1 || true)
  [ -n "$lock" ] || return 0
  local id
  id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$lock" 2> /dev/null || echo unreadable)
  echo --force-unlock "$id"
}

done_run() { (cd "$1" && "$VOW" status 2> /dev/null | grep -q ': done'); }

# Applies DIR until the run is done (no kills); gives up after 8 tries.
finish() {
  for _ in 1 2 3 4 5 6 7 8; do
    # shellcheck disable=SC2046
    apply "$1" $(unlock_args "$1") > /dev/null 2>> "$1.log" || true
    if done_run "$1"; then
      # shellcheck disable=SC2046
      [ -z "$(unlock_args "$1")" ] || apply "$1" $(unlock_args "$1") > /dev/null 2>> "$1.log"
      return 0
    fi
  done
  return 1
}

# Does DIR's store equal the reference's? (folder: every file; git: the tree, one commit a wave)
same() {
  local dir=$1 kind=$2 ref=$work/ref-$2
  if [ "$kind" = folder ]; then
    diff -r "$ref/state" "$dir/state" > /dev/null
  else
    [ "$(git --git-dir="$ref.git" rev-parse 'main^{tree}')" = "$(git --git-dir="$dir.git" rev-parse 'main^{tree}' 2> /dev/null)" ] || return 1
    local waves i n
    waves=$(git --git-dir="$ref.git" log --format=%B main | grep -c '^Vow-Wave: [0-9]* ')
    for ((i = 0; i < waves; i++)); do
      n=$(git --git-dir="$dir.git" log --format=%B main | grep -c "^Vow-Wave: $i ")
      [ "$n" = 1 ] || return 1
    done
    [ "$(git --git-dir="$dir.git" rev-list --count main)" = "$(git --git-dir="$ref.git" rev-list --count main)" ]
  fi
}

check() {
  if ! same "$1" "$2"; then
    failures=$((failures + 1))
    echo "FAILED: $1 ($3) differs from an uninterrupted apply" >&2
  fi
}

# Random kills: each cycle starts an apply and SIGKILLs it after a random delay up to the time
# an uninterrupted apply takes; a fleet is resumed until done, checked, and a new fleet begun.
random_kills() {
  local kind=$1 ms=$2 cycles=0 fleets=0 dir
  declare -A after=()
  while ((cycles < CYCLES)); do
    fleets=$((fleets + 1))
    dir=$work/$kind-$fleets
    fresh "$dir" "$kind"
    while ((cycles < CYCLES)) && ! done_run "$dir"; do
      rm -f "$dir.trace"
      # shellcheck disable=SC2046
      (cd "$dir" && exec env VOW_TEST_CRASH_TRACE="$dir.trace" "$VOW" apply plan.json --now "$NOW" \
        --gate-cmd true $(unlock_args "$dir") > /dev/null 2>> "$dir.log") &
      local pid=$! delay=$((RANDOM % ms))
      sleep "$(printf '0.%03d' $((delay % 1000)))"
      sleep $((delay / 1000))
      kill -9 "$pid" 2> /dev/null || true
      local rc=0
      wait "$pid" 2> /dev/null || rc=$?
      if [ "$rc" = 137 ]; then
        # Killed: the next one lives a little longer; finished first: the next is killed sooner
        # (the time an apply takes varies with the machine's load, so the window follows it).
        ms=$((ms + ms / 10))
        cycles=$((cycles + 1))
        local last
        last=$(tail -1 "$dir.trace" 2> /dev/null || true)
        after[${last:-start}]=$((${after[${last:-start}]:-0} + 1))
      else
        ms=$((ms * 3 / 4 + 50))
      fi
    done
    finish "$dir" || { failures=$((failures + 1)); echo "FAILED: $dir did not finish" >&2; continue; }
    check "$dir" "$kind" "random kills"
  done
  local points=""
  for k in "${!after[@]}"; do points+="$k ${after[$k]}, "; done
  echo "$kind: $cycles kill-and-resume cycles over $fleets fleets; kills landed after: ${points%, }"
}

# A kill at every named crash point of the git apply.
every_point() {
  local ref=$work/ref-git dir cases=0
  fresh "$work/trace-git" git
  (cd "$work/trace-git" && rm -rf .vow/cache && VOW_TEST_CRASH_TRACE="$work/points" "$VOW" apply plan.json --now "$NOW" \
    --gate-cmd true > /dev/null 2>&1)
  declare -A hits=()
  while read -r p; do hits[$p]=$((${hits[$p]:-0} + 1)); done < "$work/points"
  for p in $(printf '%s\n' "${!hits[@]}" | sort); do
    local ns
    case $p in
      cache-rename | cache-set-aside | ref | commit | push | sync-head) ns=$(seq 1 "${hits[$p]}") ;;
      *) ns=$(printf '%s\n' 1 "${hits[$p]}" | sort -un) ;;
    esac
    for n in $ns; do
      cases=$((cases + 1))
      dir=$work/point-$p-$n
      fresh "$dir" git
      # (bash's own "Killed" notice is silenced: a kill is what is wanted here)
      { (cd "$dir" && VOW_TEST_CRASH_AT="$p:$n" exec "$VOW" apply plan.json --now "$NOW" --gate-cmd true > /dev/null 2>> "$dir.log"); } 2> /dev/null &&
        { failures=$((failures + 1)); echo "FAILED: $p:$n was not reached" >&2; }
      finish "$dir" || { failures=$((failures + 1)); echo "FAILED: $dir did not finish" >&2; continue; }
      check "$dir" git "killed at $p:$n"
    done
  done
  local summary=""
  for p in $(printf '%s\n' "${!hits[@]}" | sort); do summary+="$p ×${hits[$p]}, "; done
  echo "git: a kill at every crash point: $cases runs; points of an uninterrupted apply: ${summary%, }"
}

start=$(date +%s)
template
for kind in ${STORES:-folder git}; do
  fresh "$work/ref-$kind" "$kind"
  t0=$(date +%s%N)
  apply "$work/ref-$kind" > /dev/null 2> "$work/ref-$kind.log"
  ms=$((($(date +%s%N) - t0) / 1000000))
  waves=$(grep -c '^applied wave' "$work/ref-$kind.log")
  echo "$kind: an uninterrupted apply of $INSTANCES instances in $waves waves takes ${ms} ms"
  random_kills "$kind" $((ms + ms / 5))
done
every_point
echo "crash-cycles: $failures failures in $(($(date +%s) - start)) s (VOW=$VOW INSTANCES=$INSTANCES CYCLES=$CYCLES SEED=${SEED:-1}; work in $work)"
[ "$failures" = 0 ]
