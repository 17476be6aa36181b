#!/usr/bin/env python3
"""mapwatch.py PID FILE STOPFILE [INTERVAL] - sample /proc/PID/maps every
INTERVAL seconds (default 0.2) until STOPFILE exists or PID exits; sum the
sizes of the mappings of FILE (matched by device and inode, so renames and
" (deleted)" do not matter). Prints "peak=BYTES samples=N maxmaps=M last=B".
"""
import os
import sys
import time

pid, path, stop = sys.argv[1], sys.argv[2], sys.argv[3]
interval = float(sys.argv[4]) if len(sys.argv) > 4 else 0.2
st = os.stat(path)
dev = (os.major(st.st_dev), os.minor(st.st_dev))
ino = st.st_ino


def sample():
    total = 0
    n = 0
    with open("/proc/%s/maps" % pid) as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) < 5 or int(parts[4]) != ino:
                continue
            ma, mi = parts[3].split(":")
            if (int(ma, 16), int(mi, 16)) != dev:
                continue
            lo, hi = parts[0].split("-")
            total += int(hi, 16) - int(lo, 16)
            n += 1
    return total, n


peak = maxmaps = samples = last = 0
while True:
    try:
        last, n = sample()
    except (FileNotFoundError, ProcessLookupError):
        break
    samples += 1
    peak = max(peak, last)
    maxmaps = max(maxmaps, n)
    if os.path.exists(stop):
        break
    time.sleep(interval)
print("peak=%d samples=%d maxmaps=%d last=%d" % (peak, samples, maxmaps, last))
