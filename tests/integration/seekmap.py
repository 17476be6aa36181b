#!/usr/bin/env python3
"""seekmap.py FILE - print the data segments of FILE found with
SEEK_DATA/SEEK_HOLE, one "START END" line each, then "size SIZE".
Used to compare a file seen through the mount with its backing file."""
import errno
import os
import sys


def segments(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        off = 0
        out = []
        while off < size:
            try:
                start = os.lseek(fd, off, os.SEEK_DATA)
            except OSError as e:
                if e.errno == errno.ENXIO:   # no data after off
                    break
                raise
            end = os.lseek(fd, start, os.SEEK_HOLE)
            out.append((start, end))
            off = end
        return size, out
    finally:
        os.close(fd)


size, segs = segments(sys.argv[1])
for s, e in segs:
    print(s, e)
print("size", size)
