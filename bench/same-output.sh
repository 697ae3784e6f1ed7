#!/usr/bin/env bash
# Compares what two commits produce on the example fleet (plan, scan, check, applied store),
# byte for byte, with tests/golden/produce.sh:
#
#   bench/same-output.sh BASE [HEAD]     # HEAD defaults to the working tree
#
# Each commit is built in release mode in its own worktree under target/same-output/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
base=$1
head=${2:-}
work="$root/target/same-output"
mkdir -p "$work"
build() { # build REV DIR: prints the path of the built binary
  local rev=$1 dir=$2
  [ -d "$dir" ] || git -C "$root" worktree add --detach "$dir" "$rev" >/dev/null
  git -C "$dir" checkout -q --detach "$rev"
  cargo build -q --release --manifest-path "$dir/Cargo.toml" --bin vow >&2
  echo "$dir/target/release/vow"
}
base_vow=$(build "$base" "$work/base")
if [ -n "$head" ]; then head_vow=$(build "$head" "$work/head"); else
  cargo build -q --release --manifest-path "$root/Cargo.toml" --bin vow >&2
  head_vow="$root/target/release/vow"
fi
rm -rf "$work/out-base" "$work/out-head"
"$root/tests/golden/produce.sh" "$base_vow" "$work/out-base"
"$root/tests/golden/produce.sh" "$head_vow" "$work/out-head"
if diff -r "$work/out-base" "$work/out-head"; then
  echo "same output: $(ls "$work/out-base" | wc -l) files from $base and ${head:-the working tree}"
else
  echo "outputs differ" >&2
  exit 1
fi
