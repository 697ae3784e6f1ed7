#!/usr/bin/env bash
# The benchmark matrix of input shapes: the same fleet, the same three rules, handed to each tool
# the ways users have it, whole process from files on disk.
#   bench/shapes.sh [SIZE...]        default: 10000 100000 (1000000 works; converting takes minutes)
# Environment: RUNS (3; medians), SHAPES ("ndjson array list yaml1 files"), TOOLS ("vow floor
# regorus-cli regorus opa"), OUT (/tmp/vow-shapes), VOW (default target/release/vow, built here),
# VENV, PYTHON (as for bench/compare.sh), REGORUS_CLI (default target/ci-tools/regorus/bin/regorus,
# installed here from crates.io: `cargo install regorus --example regorus`).
#
# The shapes (each a folder with the fleet in it; bench/fleet.rs makes the requests):
#   ndjson  one NDJSON file, one request a line          array  one JSON array
#   list    one Kubernetes List (`kubectl get -o json`)  yaml1  one multi-document YAML file
#   files   YAML files of 1,000 documents (bench/fleet.rs's own output)
# The tools:
#   vow          `vow check --format sarif` on a policy-only workspace (bench/rego-lib.sh)
#   floor        bench/floor (vow-floor): vow's own crates doing the same check written straight:
#                the floor each vow figure is divided by
#   regorus-cli  the regorus CLI as its users run it, `regorus eval` on one thread over the fleet
#                as one JSON array (bench/compare/policy-array.rego): it reads JSON only, so it
#                gets the `array` file whatever the shape (its time is the same in every row)
#   regorus      bench/compare's regorus-count, the threaded harness (one thread per core, files
#                shared out, so a single file runs on one thread)
#   opa          bench/compare/opa_count.py: OPA v1.20's Go engine through
#                opa-golib-python-bindings, one process per core (the OPA CLI itself is not
#                reachable from this machine: no GitHub downloads, no Go module proxy)
# Runs alternate: run 1 of every tool, then run 2, and so on. Every tool must report the same
# number of violations (and the floor, regorus and OPA the same number of documents), or the
# script fails. Prints one line per shape and tool: median wall, median CPU (user + system of all
# processes), peak memory, the count, and vow's ratios to the floor, to regorus-cli and to OPA.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
RUNS=${RUNS:-3}
SHAPES=${SHAPES:-"ndjson array list yaml1 files"}
TOOLS=${TOOLS:-"vow floor regorus-cli regorus opa"}
OUT=${OUT:-/tmp/vow-shapes}
JOBS=${JOBS:-}
VENV=${VENV:-$REPO/target/ci-tools/opa-venv}
OPA_BINDINGS=opa-golib-python-bindings==0.4.4
REGORUS_CLI=${REGORUS_CLI:-$REPO/target/ci-tools/regorus/bin/regorus}
RULES=(encryption-at-rest postgres-cve-2026-4412 allowed-regions)
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(10000 100000)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
# shellcheck source=bench/rego-lib.sh
source bench/rego-lib.sh

echo "building vow, the fleet generator, regorus-count, vow-floor and the regorus CLI" >&2
cargo build --release --quiet --bin vow --example fleet
VOW=${VOW:-$REPO/target/release/vow}
cargo build --release --quiet --manifest-path bench/compare/Cargo.toml
cargo build --release --quiet --manifest-path bench/floor/Cargo.toml
[ -x "$REGORUS_CLI" ] || cargo install --quiet --root "$(dirname "$(dirname "$REGORUS_CLI")")" \
  regorus --version 0.14.1 --example regorus
opa_venv

# make_shapes SIZE: the fleet in every shape under $OUT/SIZE (made once, reused).
make_shapes() {
  local size=$1 dir=$OUT/$1
  [ -f "$dir/done" ] && return 0
  rm -rf "$dir"
  mkdir -p "$dir"/{ndjson,array,list,yaml1}
  target/release/examples/fleet --count "$size" --out "$dir/fleet" --format yaml >&2
  ln -s fleet/requests "$dir/files"
  "$VENV/bin/python" - "$dir" <<'EOF'
import glob, json, os, sys, yaml
sys.path.insert(0, "bench/compare")
from opa_count import Loader  # YAML read as vow reads it (YAML 1.2 core schema)
d = sys.argv[1]
docs, texts = [], []
for f in sorted(glob.glob(os.path.join(d, "files", "*.yaml"))):
    text = open(f, encoding="utf-8").read()
    texts.append(text if text.endswith("\n") else text + "\n")
    docs.extend(x for x in yaml.load_all(text, Loader=Loader) if x is not None)
with open(os.path.join(d, "ndjson", "fleet.ndjson"), "w") as out:
    for x in docs:
        out.write(json.dumps(x, separators=(",", ":")) + "\n")
json.dump(docs, open(os.path.join(d, "array", "fleet.json"), "w"), separators=(",", ":"))
json.dump({"apiVersion": "v1", "kind": "List", "items": docs}, open(os.path.join(d, "list", "fleet.json"), "w"), indent=1)
with open(os.path.join(d, "yaml1", "fleet.yaml"), "w") as out:
    out.write("---\n".join(texts))
EOF
  touch "$dir/done"
}

# input_of TOOL SHAPE_DIR: what the tool is given.
run_tool() { local tool=$1 dir=$2 shape=$3 out=$4; shift 4
  case $tool in
    # shellcheck disable=SC2046
    vow) "$@" "$VOW" -C "$dir/ws-$shape" $(jobs_flag) check --format sarif > "$out" ;;
    floor) "$@" bench/floor/target/release/vow-floor "$(single "$dir/$shape")" "${RULE_FILES[@]}" > "$out" ;;
    regorus-cli) "$@" "$REGORUS_CLI" eval -d bench/compare/policy.rego -d bench/compare/policy-array.rego \
      -i "$dir/array/fleet.json" data.vowbench_array.violations > "$out" ;;
    # shellcheck disable=SC2046
    regorus) "$@" bench/compare/target/release/regorus-count $(jobs_flag) bench/compare/policy.rego "$dir/$shape" > "$out" ;;
    # shellcheck disable=SC2046
    opa) "$@" "$VENV/bin/python" bench/compare/opa_count.py $(jobs_flag) bench/compare/policy.rego "$dir/$shape" > "$out" ;;
  esac
}

# single DIR: the one file in DIR, or DIR itself when it holds several (the `files` shape).
single() { local files=("$1"/*); if [ ${#files[@]} -eq 1 ]; then echo "${files[0]}"; else echo "$1/"; fi; }

# count_of TOOL OUTPUT SIZE: the violations the tool reported (checking the documents it read).
count_of() { local tool=$1 out=$2 size=$3
  case $tool in
    vow) python3 -c 'import json, sys; print(sum(len(r["results"]) for r in json.load(open(sys.argv[1]))["runs"]))' "$out" ;;
    regorus-cli) python3 -c 'import json, sys; v = json.load(open(sys.argv[1])); v = v.get("result", [{}])[0].get("expressions", [{}])[0].get("value", v) if isinstance(v, dict) else v; print(v)' "$out" ;;
    *) rego_violations "$out" "$size" ;;
  esac
}

RULE_FILES=()
for rule in "${RULES[@]}"; do RULE_FILES+=("$REPO/rules/$rule.yaml"); done
TABLE=()
for size in "${SIZES[@]}"; do
  make_shapes "$size"
  dir=$OUT/$size
  for shape in $SHAPES; do
    [ -d "$dir/ws-$shape" ] || policy_workspace "$dir/ws-$shape" "$dir/$shape"
    declare -A WALLS=() CPUS=() PEAKS=() COUNTS=()
    for run in $(seq "$RUNS"); do
      for tool in $TOOLS; do
        rc=0
        run_tool "$tool" "$dir" "$shape" "$OUT/out-$tool" /usr/bin/time -f "%e %M %U %S" -o "$OUT/time.txt" \
          2> "$OUT/err-$tool" || rc=$?
        if [ "$rc" -gt 1 ] || { [ "$rc" -eq 1 ] && [ "$tool" != vow ]; }; then
          echo "error: $tool on $size/$shape exited $rc:" >&2; tail -5 "$OUT/err-$tool" >&2; exit 1
        fi
        read -r t m u s < <(tail -1 "$OUT/time.txt")
        WALLS[$tool]+="$t "; CPUS[$tool]+="$(echo "$u + $s" | bc) "; PEAKS[$tool]+="$m "
        [ "$run" -gt 1 ] || COUNTS[$tool]=$(count_of "$tool" "$OUT/out-$tool" "$size")
      done
    done
    median() { tr ' ' '\n' <<< "$1" | grep . | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p"; }
    first=""
    for tool in $TOOLS; do
      [ -n "$first" ] || first=${COUNTS[$tool]}
      if [ "${COUNTS[$tool]}" != "$first" ]; then
        echo "error: $size/$shape: counts differ: $(for t in $TOOLS; do printf '%s=%s ' "$t" "${COUNTS[$t]}"; done)" >&2
        exit 1
      fi
    done
    vow_wall=$(median "${WALLS[vow]:-}")
    for tool in $TOOLS; do
      wall=$(median "${WALLS[$tool]}"); cpu=$(median "${CPUS[$tool]}")
      peak=$(( $(tr ' ' '\n' <<< "${PEAKS[$tool]}" | sort -n | tail -1) / 1024 ))
      ratio=""
      if [ -n "$vow_wall" ] && [ "$tool" != vow ]; then ratio=$(python3 -c "import sys; print(f'vow/{sys.argv[1]}={float(sys.argv[2]) / float(sys.argv[3]):.2f}')" "$tool" "$vow_wall" "$wall"); fi
      TABLE+=("$(printf '| %7d | %-6s | %-11s | %7.2f s | %7.2f s | %6d MiB | %7s | %s |' "$size" "$shape" "$tool" "$wall" "$cpu" "$peak" "${COUNTS[$tool]}" "$ratio")")
      echo "${TABLE[-1]}"
    done
    unset WALLS CPUS PEAKS COUNTS
  done
done
echo
echo "median of $RUNS alternating runs; cpu = user + system of every process; rules: ${RULES[*]}"
echo "| size | shape | tool | wall | cpu | peak | violations | ratio |"
echo "|---:|---|---|---:|---:|---:|---:|---|"
printf '%s\n' "${TABLE[@]}"
