#!/usr/bin/env python3
"""sweep_table.py OUT SETTING... - one line per setting of a sweep.sh run:
panefs's figures for rows 1, 3a, 3b and 5 (and native's, for scale), read
from each setting's results.csv; also written to OUT/sweep.csv."""
import csv
import os
import sys

ROWS = [("1", "seq read MB/s"), ("3a", "rand read 1 job IOPS"),
        ("3b", "rand read 2 jobs IOPS"), ("5", "rand write IOPS")]


def figures(path):
    got = {}
    try:
        with open(path) as f:
            for r in csv.DictReader(f):
                if r["value"]:
                    got[(r["row"], r["system"])] = float(r["value"])
    except OSError:
        pass
    return got


def main():
    out, settings = sys.argv[1], sys.argv[2:]
    lines = [["setting"] + [name for _, name in ROWS]]
    for s in settings + ["native"]:
        d = os.path.join(out, s.replace("=", "-").replace(",", "-"))
        if s == "native":
            d = os.path.join(out, settings[0].replace("=", "-")
                             .replace(",", "-"))
        got = figures(os.path.join(d, "results.csv"))
        system = "native" if s == "native" else "panefs"
        lines.append([s] + ["%.0f" % got[(r, system)]
                            if (r, system) in got else "fail"
                            for r, _ in ROWS])
    with open(os.path.join(out, "sweep.csv"), "w", newline="") as f:
        csv.writer(f).writerows(lines)
    width = [max(len(l[i]) for l in lines) for i in range(len(lines[0]))]
    for l in lines:
        print("  ".join(c.rjust(w) if i else c.ljust(w)
                        for i, (c, w) in enumerate(zip(l, width))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
