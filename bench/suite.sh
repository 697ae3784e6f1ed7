#!/usr/bin/env bash
# The benchmark suite, one command: for each size, `vow plan` on a generated fleet (YAML and
# NDJSON; with an empty store: every request a create, and with a store at the previous Promise
# versions: an upgrade of every instance) and `vow scan` of that store; `plan --timings` once per
# size when vow has it; bench/compare.sh when it exists; `vow check` on the example workspace.
# Prints one line per measurement: median wall time of RUNS runs, items per second, peak memory
# (max RSS, /usr/bin/time), and repeats them as one table at the end.
#   bench/suite.sh [SIZE...]          default: 10000 100000 (1000000 works: without a store, see STORE_MAX)
# Environment:
#   RUNS (3)              runs per measurement (the median is printed)
#   FORMATS ("yaml ndjson")
#   PLAN_STORES ("empty old")   stores to plan against
#   STORE_MAX (100000)    sizes above it get no store at the old versions (building one takes about
#                         15 s per 10k requests and 4 GB per 100k on disk): plan with the empty store
#                         only, no scan
#   CHECK_RUNS (11)       runs of `vow check` on the example workspace
#   COMPARE (1)           0 skips bench/compare.sh (when it exists); COMPARE_ARGS are its arguments
#                         (default: the largest SIZE up to STORE_MAX, else the smallest)
#   SEED, VIOLATIONS, RULES, OUT (/tmp/vow-bench), FRESH   as for bench/fleet.sh (workspaces are cached)
#   VOW                   the vow binary to measure (default: target/release/vow, built here), e.g.
#                         an older build for before/after figures on the same fleets
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
FORMATS=${FORMATS:-"yaml ndjson"}
PLAN_STORES=${PLAN_STORES:-"empty old"}
STORE_MAX=${STORE_MAX:-100000}
CHECK_RUNS=${CHECK_RUNS:-11}
OUT=${OUT:-/tmp/vow-bench}
export SEED=${SEED:-1} VIOLATIONS=${VIOLATIONS:-5} RULES=${RULES:-example} OUT SKIP_BUILD=1
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(10000 100000)
cargo build --release --quiet --bin vow --example fleet
VOW=${VOW:-$PWD/target/release/vow}
mkdir -p "$OUT"
TMP="$OUT/suite"
mkdir -p "$TMP"
LINES=()

# measure WHAT COUNT UNIT LABEL RUNS -- COMMAND...: COMMAND's stdout goes to $TMP/out, its stderr
# to $TMP/err (of the last run); exit codes 0 and 1 (findings) count as success.
measure() {
  local what=$1 count=$2 unit=$3 label=$4 runs=$5
  shift 6
  local times=() mems=() s e rc t m
  for _ in $(seq "$runs"); do
    s=$(date +%s%N)
    rc=0
    /usr/bin/time -f "%e %M" -o "$TMP/time.txt" "$@" > "$TMP/out" 2> "$TMP/err" || rc=$?
    e=$(date +%s%N)
    if [ "$rc" -gt 1 ]; then
      echo "suite: \`$*\` exited $rc:" >&2
      tail -5 "$TMP/err" >&2
      LINES+=("$(printf '%-5s %8d %-9s %-22s FAILED (exit %d)' "$what" "$count" "$unit" "$label" "$rc")")
      echo "${LINES[-1]}"
      return 0
    fi
    read -r t m < <(tail -1 "$TMP/time.txt")
    times+=("$(python3 -c "print(f'{($e - $s) / 1e9:.3f}')")")
    mems+=("$m")
  done
  local median peak rate
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
  peak=$(printf '%s\n' "${mems[@]}" | sort -n | tail -1)
  rate=$(python3 -c "print(round($count / $median))")
  LINES+=("$(printf '%-5s %8d %-9s %-22s median %8.3fs  %8d %s/s  peak %5d MiB  (runs: %s)' \
    "$what" "$count" "$unit" "$label" "$median" "$rate" "${unit%s}" "$((peak / 1024))" "${times[*]}")")
  echo "${LINES[-1]}"
}

summary() {
  python3 -c "
import json, sys
s = json.load(open('$TMP/out'))['summary']
print('  plan holds: ' + ', '.join(f'{k} {s[k]}' for k in ('create', 'update', 'delete', 'unchanged', 'blocked', 'findings')))"
}

has_timings=0
"$VOW" plan --help 2>/dev/null | grep -q -- '--timings' && has_timings=1

for size in "${SIZES[@]}"; do
  stores=$PLAN_STORES
  if [ "$size" -gt "$STORE_MAX" ]; then
    stores=empty
    echo "suite: $size requests is above STORE_MAX=$STORE_MAX: the empty store only, no scan" >&2
  fi
  for format in $FORMATS; do
    # Built first (and cached), so that generation and the store never count in a measurement.
    for store in $stores; do
      ws=$(bench/fleet.sh "$size" "$format" "$store" 2> "$TMP/fleet.log") || { cat "$TMP/fleet.log" >&2; exit 1; }
      if [ "$format" = "${FORMATS%% *}" ]; then
        [ "$store" = "${stores%% *}" ] && pattern='^(violations|  |not injected|store at|fleet: store)' || pattern='^(store at|fleet: store)'
        grep -E "$pattern" "$TMP/fleet.log" | sed 's/^/  /' >&2 || true
      fi
      measure plan "$size" requests "$format store=$store" "$RUNS" -- "$VOW" -C "$ws" plan --format json
      summary || true
    done
    case " $stores " in
      *" old "*)
        ws=$(bench/fleet.sh "$size" "$format" old 2>/dev/null)
        applied=$(python3 -c "import json; s = json.load(open('$ws/store-plan.json'))['summary']; print(s['create'])")
        measure scan "$applied" instances "$format store=old" "$RUNS" -- "$VOW" -C "$ws" scan --fail-on never --format json
        python3 -c "
import json
s = json.load(open('$TMP/out'))
print('  scan: ' + ', '.join(f'{k} {v}' for k, v in s['summary'].items()))" ;;
    esac
  done
  first=${FORMATS%% *}
  if [ "$has_timings" = 1 ]; then
    store=empty; case " $stores " in *" old "*) store=old ;; esac
    ws=$(bench/fleet.sh "$size" "$first" "$store" 2>/dev/null)
    echo "plan --timings, $size requests, $first, store=$store:"
    "$VOW" -C "$ws" plan --timings --format json > "$TMP/timings.out" 2> "$TMP/timings.err" || true
    sed 's/^/  /' "$TMP/timings.err"
  else
    echo "suite: \`vow plan --help\` shows no --timings: skipped"
  fi
done

if [ "${COMPARE:-1}" = 1 ] && [ -f bench/compare.sh ]; then
  if [ -z "${COMPARE_ARGS:-}" ]; then
    # The largest size up to STORE_MAX, else the smallest.
    COMPARE_ARGS=$(printf '%s\n' "${SIZES[@]}" | sort -n | awk -v max="$STORE_MAX" '$1 <= max {c = $1} NR == 1 {s = $1} END {print c ? c : s}')
  fi
  echo "bench/compare.sh $COMPARE_ARGS:"
  # Its own OUT and defaults, not the suite's.
  # shellcheck disable=SC2086
  env -u OUT -u SKIP_BUILD -u FRESH VOW="$VOW" bash bench/compare.sh $COMPARE_ARGS 2>&1 | tee "$TMP/compare.txt" | sed 's/^/  /' \
    || echo "suite: bench/compare.sh failed"
  while IFS= read -r line; do LINES+=("compare $COMPARE_ARGS: $line"); done \
    < <(grep -E '^(vow|regorus|opa|ratio) ' "$TMP/compare.txt" || true)
elif [ "${COMPARE:-1}" = 1 ]; then
  echo "suite: bench/compare.sh does not exist: skipped"
fi

# The example workspace: vow.yaml at the repository root (70 requests, 9 rules, the test cases).
measure check 70 requests "example workspace" "$CHECK_RUNS" -- "$VOW" check --fail-on never

echo
echo "what  count    unit      workload               median wall     rate           peak memory"
printf '%s\n' "${LINES[@]}"
