#!/usr/bin/env python3
"""faults_race.py MNTFILE BACKFILE ROUNDS SEED - the backing file is truncated
by this (outside) process while reader and writer processes use it through
the mount.

Each round: start 3 reader and 2 writer processes on MNTFILE, truncate
BACKFILE to a random size (shrinking or growing, 0..12 MiB) twice while they
run, then stop them. A worker may see a short read, EIO or (a writer) ENOSPC;
any other error, or a worker that does not stop within 10 s (a hang), fails.
Then, with no writer left, the size seen through the mount must become the
backing size within 3 s (attribute timeout 1 s), and a fresh read through the
mount must equal the backing file byte for byte.
Prints one summary line of counts.
"""
import errno
import multiprocessing as mp
import os
import random
import sys
import time

MiB = 1 << 20
OK_ERRNOS = {errno.EIO}
OK_WRITE_ERRNOS = {errno.EIO, errno.ENOSPC}


def reader(path, seed, stop, q):
    rnd = random.Random(seed)
    n = short = eio = 0
    bad = None
    fd = os.open(path, os.O_RDONLY)
    while not stop.is_set():
        off = rnd.randrange(0, 12 * MiB)
        size = rnd.choice((4096, 65536, 300000, MiB))
        try:
            # make the kernel ask the daemon instead of its page cache
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            got = os.pread(fd, size, off)
            n += 1
            if len(got) < size:
                short += 1
        except OSError as e:
            if e.errno not in OK_ERRNOS:
                bad = "read %d@%d: %s" % (size, off, e)
                break
            eio += 1
    os.close(fd)
    q.put(("r", n, short, eio, bad))


def writer(path, seed, stop, q):
    rnd = random.Random(seed)
    n = err = 0
    bad = None
    fd = os.open(path, os.O_RDWR)
    while not stop.is_set():
        off = rnd.randrange(0, 10 * MiB)
        size = rnd.choice((512, 65536, 200000))
        try:
            os.pwrite(fd, bytes([rnd.randrange(256)]) * size, off)
            n += 1
        except OSError as e:
            if e.errno not in OK_WRITE_ERRNOS:
                bad = "write %d@%d: %s" % (size, off, e)
                break
            err += 1
    os.close(fd)
    q.put(("w", n, 0, err, bad))


def main():
    mnt, back, rounds, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    rnd = random.Random(seed)
    tot = {"reads": 0, "short": 0, "eio": 0, "writes": 0, "werr": 0,
           "truncates": 0, "verified": 0}
    ctx = mp.get_context("fork")
    for r in range(rounds):
        with open(back, "wb") as f:
            f.write(os.urandom(rnd.randrange(1, 12) * MiB + rnd.randrange(4096)))
        stop = ctx.Event()
        q = ctx.Queue()
        procs = [ctx.Process(target=reader, args=(mnt, seed * 1000 + r * 10 + i, stop, q))
                 for i in range(3)]
        procs += [ctx.Process(target=writer, args=(mnt, seed * 1000 + r * 10 + 5 + i, stop, q))
                  for i in range(2)]
        for p in procs:
            p.start()
        for _ in range(2):
            time.sleep(rnd.uniform(0.05, 0.25))
            os.truncate(back, rnd.randrange(0, 12 * MiB))
            tot["truncates"] += 1
        time.sleep(rnd.uniform(0.05, 0.2))
        stop.set()
        deadline = time.monotonic() + 10
        for p in procs:
            p.join(max(0.1, deadline - time.monotonic()))
        hung = [p.pid for p in procs if p.is_alive()]
        if hung:
            for p in procs:
                if p.is_alive():
                    p.kill()
            sys.exit("round %d: workers %s hung (did not stop within 10 s)" % (r, hung))
        for _ in procs:
            kind, n, short, err, bad = q.get(timeout=5)
            if bad:
                sys.exit("round %d: unexpected error: %s" % (r, bad))
            if kind == "r":
                tot["reads"] += n
                tot["short"] += short
                tot["eio"] += err
            else:
                tot["writes"] += n
                tot["werr"] += err
        # no writer left: the mount must converge on the backing file
        want = os.path.getsize(back)
        deadline = time.monotonic() + 3
        while os.stat(mnt).st_size != want:
            if time.monotonic() > deadline:
                sys.exit("round %d: mount shows size %d, backing %d after 3 s"
                         % (r, os.stat(mnt).st_size, want))
            time.sleep(0.1)
        fd = os.open(mnt, os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        got = b""
        while True:
            b = os.pread(fd, MiB, len(got))
            if not b:
                break
            got += b
        os.close(fd)
        with open(back, "rb") as f:
            exp = f.read()
        if got != exp:
            i = next((k for k in range(min(len(got), len(exp))) if got[k] != exp[k]),
                     min(len(got), len(exp)))
            sys.exit("round %d: mount and backing differ at byte %d (sizes %d, %d)"
                     % (r, i, len(got), len(exp)))
        tot["verified"] += len(exp)
    print(" ".join("%s=%d" % kv for kv in tot.items()))


if __name__ == "__main__":
    main()
