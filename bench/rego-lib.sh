#!/usr/bin/env bash
# What bench/compare.sh and bench/shapes.sh share: the OPA environment, the policy-only vow
# workspace, and reading the counts each tool prints. Sourced, not run; the caller sets REPO,
# RULES, VENV, OPA_BINDINGS and JOBS, and runs from the repository root.

opa_venv() {
  if ! "$VENV/bin/python" -c 'import importlib.metadata as m, yaml; assert m.version("opa-golib-python-bindings") == "0.4.4"' 2>/dev/null; then
    PYTHON=${PYTHON:-$(command -v python3.14 || command -v python3)}
    echo "creating $VENV with $PYTHON" >&2
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    pip_flags=()
    # The bindings declare Requires-Python >=3.14, but they are a ctypes wrapper (standard library
    # only) around a Go library, and run on older interpreters; where no 3.14 is installed
    # (Debian 12 has 3.11), pip is told to install them anyway.
    if ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 14))'; then
      echo "note: $("$VENV/bin/python" -V) is older than the 3.14 the bindings ask for: installing with --ignore-requires-python" >&2
      pip_flags+=(--ignore-requires-python)
    fi
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "${pip_flags[@]}" "$OPA_BINDINGS" PyYAML
  fi
  "$VENV/bin/python" -c 'import yaml, sys; yaml.CSafeLoader or sys.exit(1)' 2>/dev/null ||
    echo "note: PyYAML has no C loader here; opa_count.py parses with the pure-Python one" >&2
}

# policy_workspace DIR REQUESTS: the policy-only vow workspace over REQUESTS.
policy_workspace() {
  local ws=$1 requests=$2 dir name rule f
  rm -rf "$ws"
  mkdir -p "$ws/rules" "$ws/state"
  for dir in promises/*/; do
    name=$(basename "$dir")
    mkdir -p "$ws/promises/$name"
    # Drop `spec.workflows` (its line and every line indented deeper than it): the Promise keeps
    # its API, destination selectors and rollout; no step runs.
    awk '/^  workflows:/ { skip = 1; next }
         skip && match($0, /[^ ]/) && RSTART <= 3 && substr($0, RSTART, 1) != "#" { skip = 0 }
         !skip' "$dir/promise.yaml" > "$ws/promises/$name/promise.yaml"
    if grep -q 'workflows:' "$ws/promises/$name/promise.yaml"; then
      echo "error: could not remove the workflows of $dir/promise.yaml" >&2
      exit 1
    fi
  done
  for rule in "${RULES[@]}"; do
    cp "rules/$rule.yaml" "$ws/rules/"
    # Scripts a rule keeps in a file beside it (`file: allowed-regions.rhai`).
    for f in $(sed -n 's/^ *file: *//p' "rules/$rule.yaml"); do
      cp "rules/$f" "$ws/rules/"
    done
  done
  cat > "$ws/vow.yaml" <<EOF
promises: promises
rules: rules
requests: $requests
destinations: $REPO/fixtures/example/destinations.yaml
store: {folder: state}
labels: {team: team, environment: env}
EOF
}

jobs_flag() { if [ -n "$JOBS" ]; then echo "-j $JOBS"; fi; }

# vow_violations REPORT: the findings of the three rules in vow's JSON report; fails on any
# other finding.
vow_violations() {
  python3 - "$1" "${RULES[@]}" <<'EOF'
import collections, json, sys
report = json.load(open(sys.argv[1]))
rules = set(sys.argv[2:])
violations, other = 0, collections.Counter()
for f in report["findings"]:
    if f["code"] == "V500" and f.get("rule") in rules:
        violations += 1
    else:
        other[f["code"], f.get("rule")] += 1
if other:
    sys.exit(f"error: vow reported findings the comparison does not expect: {dict(other)}")
print(violations)
EOF
}

# rego_violations OUTPUT DOCUMENTS: the count printed by regorus-count or opa_count.py, after
# checking that it read DOCUMENTS documents.
rego_violations() {
  local documents violations
  read -r documents violations < <(sed -n 's/^documents=\([0-9]*\) violations=\([0-9]*\)$/\1 \2/p' "$1")
  if [ "${documents:-}" != "$2" ]; then
    echo "error: $1: read ${documents:-no} documents, not $2" >&2
    exit 1
  fi
  echo "$violations"
}
