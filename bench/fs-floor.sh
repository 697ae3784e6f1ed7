#!/usr/bin/env bash
# The floor a store's apply cannot go under on this machine: replacing COUNT small files
# (1.5 KiB each, in 200 folders) the way the stores do (a temporary file renamed over the old
# one), with no vow code at all. An apply that writes N files costs at least N times this.
#   bench/fs-floor.sh [COUNT]        default 20000
set -euo pipefail
COUNT=${1:-20000}
DIR=${OUT:-/tmp/vow-bench-fs-floor}
rm -rf "$DIR"
python3 - "$DIR" "$COUNT" <<'PY'
import os, sys, time
root, n = sys.argv[1], int(sys.argv[2])
paths = [f"{root}/{i % 200}/{i // 200}/f.yaml" for i in range(n)]
for p in paths:
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        f.write("x" * 1500)
data = b"y" * 1500
t, c = time.time(), os.times()
for p in paths:
    fd = os.open(p + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, data)
    os.close(fd)
    os.rename(p + ".tmp", p)
wall, c2 = time.time() - t, os.times()
print(f"replaced {n} files in {wall:.2f} s ({wall / n * 1e6:.0f} us each; "
      f"sys {c2.system - c.system:.2f} s, user {c2.user - c.user:.2f} s)")
PY
rm -rf "$DIR"
