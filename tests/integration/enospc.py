#!/usr/bin/env python3
"""enospc.py fill|holes MNTFILE OUT - disk-full helpers for enospc.sh.

fill: write random 1 MiB chunks through the mount into the holes of the
  sparse file MNTFILE, front to back, until a write fails. The failure must
  be ENOSPC (EDQUOT accepted); a partial write counts what it acknowledged.
  Every acknowledged byte is appended to OUT. Prints "acked=N errno=NAME".
holes: read MNTFILE from the size of OUT to its end through the mount (the
  holes left): every byte must read as zero. Prints "read=N".
"""
import errno
import os
import sys

MiB = 1 << 20
mode, path, out = sys.argv[1:4]

if mode == "fill":
    fd = os.open(path, os.O_WRONLY)
    size = os.fstat(fd).st_size
    acked = 0
    err = None
    with open(out, "wb") as o:
        while acked < size:
            buf = os.urandom(MiB)
            view = memoryview(buf)
            while len(view):
                try:
                    n = os.pwrite(fd, view, acked)
                except OSError as e:
                    err = e
                    break
                o.write(view[:n])
                acked += n
                view = view[n:]
            if err:
                break
    os.close(fd)
    if err is None:
        sys.exit("filled all %d bytes: the file system never got full" % size)
    if err.errno not in (errno.ENOSPC, errno.EDQUOT):
        sys.exit("write at %d: expected ENOSPC, got %s" % (acked, err))
    print("acked=%d errno=%s" % (acked, errno.errorcode[err.errno]))
elif mode == "holes":
    start = os.path.getsize(out)
    fd = os.open(path, os.O_RDONLY)
    size = os.fstat(fd).st_size
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    off = start
    while off < size:
        b = os.pread(fd, MiB, off)
        if not b:
            sys.exit("short read at %d of %d" % (off, size))
        if b.count(0) != len(b):
            sys.exit("non-zero bytes in a hole near %d" % off)
        off += len(b)
    os.close(fd)
    print("read=%d" % (off - start))
else:
    sys.exit("usage: enospc.py fill|holes MNTFILE OUT")
