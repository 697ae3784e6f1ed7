#!/usr/bin/env bash
# The floor a store's apply cannot go under on this machine: replacing COUNT small files
# (1.5 KiB each, in 200 folders) with no vow code at all, in each of the ways a store can:
#   rename   a temporary file renamed over the old one (a new inode per file)
#   inplace  the old file overwritten in place and cut to the new length (no new inode; what
#            the folder store's replay does, safe because its redo log holds the contents)
#   trunc    the old file opened with O_TRUNC and rewritten (no new inode, but ext4's
#            auto_da_alloc then allocates the blocks at close)
# An apply that writes N files costs at least N times the way it uses.
#   bench/fs-floor.sh [COUNT]        default 20000
#   MODES="inplace" bench/fs-floor.sh  only some of the ways (default: rename inplace trunc)
set -euo pipefail
COUNT=${1:-20000}
DIR=${OUT:-/tmp/vow-bench-fs-floor}
for mode in ${MODES:-rename inplace trunc}; do
rm -rf "$DIR"
python3 - "$DIR" "$COUNT" "$mode" <<'PY'
import os, sys, time
root, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
paths = [f"{root}/{i % 200}/{i // 200}/f.yaml" for i in range(n)]
for p in paths:
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        f.write("x" * 1500)
data = b"y" * 1400
t, c = time.time(), os.times()
for p in paths:
    if mode == "rename":
        fd = os.open(p + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(fd, data)
        os.close(fd)
        os.rename(p + ".tmp", p)
    elif mode == "inplace":
        fd = os.open(p, os.O_WRONLY | os.O_CREAT, 0o644)
        os.write(fd, data)
        os.ftruncate(fd, len(data))
        os.close(fd)
    else:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, data)
        os.close(fd)
wall, c2 = time.time() - t, os.times()
print(f"{mode:8} replaced {n} files in {wall:.2f} s ({wall / n * 1e6:.0f} us each; "
      f"sys {c2.system - c.system:.2f} s, user {c2.user - c.user:.2f} s)")
PY
done
rm -rf "$DIR"
