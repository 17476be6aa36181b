#!/usr/bin/env python3
"""lifecycle.py - helpers for lifecycle.sh (daemon killed, fsync, shutdown).

  writer DIR LOG SEED NFILES MAXREC
      Stream 1 MiB records of a known pattern into NFILES files under DIR
      (the mount): files 0 and 1 with os.write (sequential), the others
      with os.pwrite at a seeded permutation of slots. After every write()
      that returns, append "ack FILE SLOT NBYTES" to LOG (on a non-FUSE
      file system) and flush it, so LOG lists exactly what the file system
      acknowledged. Ends at the first OSError, logging "err ERRNO"; exits 0
      if that errno is one a dead mount gives (ENOTCONN, ECONNABORTED, EIO,
      ENODEV), 2 for any other, 3 if all MAXREC records went through.
  waitlog LOG N SECS       wait until LOG holds N "ack" lines (exit 1 on
                           timeout)
  verify LOG DIR SEED      every acknowledged record is in DIR's files,
                           byte for byte; prints counts
  fsyncer FILE STATE       write 6 MiB, then on STATE.go: fsync; rewrite
                           1 MiB; fdatasync; then STATE.done (waits for
                           STATE.exit before closing)
  check-fsync TRACE MAPS BACKING
                           strace output: each of fsync and fdatasync of
                           BACKING came after msync(MS_SYNC) of every
                           window in MAPS, in the same daemon thread, and
                           before that thread's reply (writev to /dev/fuse)
  maps PID BACKING         the daemon's mappings of BACKING (dev/ino), as
                           "start end" lines of addresses
  holder FILE SEED STATE [keep]
                           write 8 MiB of pattern to FILE; with keep, keep
                           it open: write STATE.ready, wait for STATE.exit
  longio DIR BIG STATE SEED
                           a reader (64 MiB read() calls over BIG) and a
                           writer (64 MiB write() calls, acked prefixes
                           logged to STATE.log) through the mount until
                           they fail; STATE.ready once both made progress.
                           Exit 0 if both ended with a dead-mount errno.
"""
import errno
import hashlib
import os
import random
import re
import sys
import threading
import time

MiB = 1 << 20
DEAD = (errno.ENOTCONN, errno.ECONNABORTED, errno.EIO, errno.ENODEV)


def record(seed, f, slot):
    return random.Random("%s/%d/%d" % (seed, f, slot)).randbytes(MiB)


def fname(d, seed, f):
    return os.path.join(d, "s%s-f%d" % (seed, f))


def slots(seed, f, maxrec):
    order = list(range(maxrec))
    if f >= 2:
        random.Random("%s/order/%d" % (seed, f)).shuffle(order)
    return order


def writer(d, log, seed, nfiles, maxrec):
    nfiles, maxrec = int(nfiles), int(maxrec)
    lfd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND,
                  0o644)
    fds, pos = [], []
    try:
        for f in range(nfiles):
            fds.append(os.open(fname(d, seed, f),
                               os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644))
            pos.append(0)
        order = [slots(seed, f, maxrec) for f in range(nfiles)]
        for k in range(maxrec):
            for f in range(nfiles):
                slot = order[f][k]
                data = record(seed, f, slot)
                if f < 2:
                    n = os.write(fds[f], data)
                else:
                    n = os.pwrite(fds[f], data, slot * MiB)
                os.write(lfd, b"ack %d %d %d\n" % (f, slot, n))
                if n != MiB:
                    os.write(lfd, b"short %d\n" % n)
                    return 2
    except OSError as e:
        os.write(lfd, b"err %d\n" % e.errno)
        print("writer: %s" % e, file=sys.stderr)
        return 0 if e.errno in DEAD else 2
    finally:
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass
        os.close(lfd)
    return 3


def acks(log):
    out = []
    with open(log) as fh:
        for line in fh:
            p = line.split()
            if p and p[0] == "ack":
                out.append((int(p[1]), int(p[2]), int(p[3])))
    return out


def waitlog(log, n, secs):
    n, deadline = int(n), time.monotonic() + float(secs)
    while time.monotonic() < deadline:
        try:
            if len(acks(log)) >= n:
                return 0
        except FileNotFoundError:
            pass
        time.sleep(0.002)
    print("waitlog: fewer than %s records acknowledged in %s s" % (n, secs),
          file=sys.stderr)
    return 1


def verify(log, d, seed):
    got = acks(log)
    if not got:
        print("verify: no record was acknowledged", file=sys.stderr)
        return 1
    bad = 0
    files = {}
    for f, slot, n in got:
        if f not in files:
            files[f] = os.open(fname(d, seed, f), os.O_RDONLY)
        want = record(seed, f, slot)[:n]
        have = os.pread(files[f], n, slot * MiB)
        if hashlib.sha256(have).digest() != hashlib.sha256(want).digest():
            bad += 1
            print("verify: file %d record %d (%d bytes): %s" % (
                f, slot, n, "short" if len(have) < n else "differs"),
                file=sys.stderr)
    for fd in files.values():
        os.close(fd)
    with open(log) as fh:
        last = fh.read().split("\n")[-2]
    print("verified %d records (%d MiB) in %d files; writer ended with '%s'"
          % (len(got), sum(n for _, _, n in got) // MiB, len(files), last))
    return 1 if bad else 0


def fsyncer(path, state):
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, random.Random(1).randbytes(6 * MiB))
    open(state + ".ready", "w").close()
    while not os.path.exists(state + ".go"):
        time.sleep(0.01)
    os.fsync(fd)
    os.pwrite(fd, random.Random(2).randbytes(MiB), 2 * MiB)
    os.fdatasync(fd)
    open(state + ".done", "w").close()
    while not os.path.exists(state + ".exit"):
        time.sleep(0.01)
    os.close(fd)
    return 0


def devino(path):
    st = os.stat(path)
    return (os.major(st.st_dev), os.minor(st.st_dev)), st.st_ino


def maps(pid, backing):
    dev, ino = devino(backing)
    with open("/proc/%s/maps" % pid) as fh:
        for line in fh:
            p = line.split(None, 5)
            if len(p) < 5 or int(p[4]) != ino:
                continue
            ma, mi = p[3].split(":")
            if (int(ma, 16), int(mi, 16)) != dev:
                continue
            lo, hi = (int(x, 16) for x in p[0].split("-"))
            print("%d %d" % (lo, hi))
    return 0


# "TID [time] name(args) = ret", with -y fds as N</path>; strace may split a
# call into "<unfinished ...>" and "<... name resumed>" lines.
LINE = re.compile(r"^(\d+)\s+(?:[\d:.]+\s+)?(.*)$")


def calls(trace):
    """Per thread, the list of (name, args, ret) in order of completion."""
    pending = {}
    out = []
    with open(trace) as fh:
        for raw in fh:
            m = LINE.match(raw.rstrip("\n"))
            if not m:
                continue
            tid, text = int(m.group(1)), m.group(2)
            if text.endswith("<unfinished ...>"):
                pending[tid] = text[:-len("<unfinished ...>")]
                continue
            r = re.match(r"^<\.\.\. (\w+) resumed>(.*)$", text)
            if r:
                text = pending.pop(tid, r.group(1) + "(") + r.group(2)
            c = re.match(r"^(\w+)\((.*)\)\s*=\s*(-?\w+)", text)
            if c:
                out.append((tid, c.group(1), c.group(2), c.group(3)))
    return out


def check_fsync(trace, mapsfile, backing):
    wins = []
    with open(mapsfile) as fh:
        for line in fh:
            lo, hi = (int(x) for x in line.split())
            wins.append((lo, hi))
    if not wins:
        print("check-fsync: no window of the file was mapped", file=sys.stderr)
        return 1
    cs = calls(trace)
    real = os.path.realpath(backing)
    ok = 0
    for sync in ("fsync", "fdatasync"):
        idx = [i for i, (_, name, args, _) in enumerate(cs)
               if name == sync and args.endswith("<%s>" % real)]
        if len(idx) != 1:
            print("check-fsync: %d %s calls on %s (want 1)"
                  % (len(idx), sync, real), file=sys.stderr)
            return 1
        i = idx[0]
        tid, _, _, ret = cs[i]
        if ret != "0":
            print("check-fsync: %s returned %s" % (sync, ret), file=sys.stderr)
            return 1
        mine = [c for c in cs if c[0] == tid]
        j = mine.index(cs[i])
        # Back to the previous reply of this thread: the request's calls.
        k = j - 1
        while k >= 0 and mine[k][1] != "writev":
            k -= 1
        synced = []
        for _, name, args, r in mine[k + 1:j]:
            if name == "msync" and "MS_SYNC" in args and r == "0":
                a = [x.strip() for x in args.split(",")]
                synced.append((int(a[0], 16), int(a[0], 16) + int(a[1])))
        for lo, hi in wins:
            if not any(s <= lo and hi <= e for s, e in synced):
                print("check-fsync: window %#x-%#x not msynced before %s "
                      "(msynced: %s)" % (lo, hi, sync,
                                         ["%#x+%d" % (s, e - s)
                                          for s, e in synced]),
                      file=sys.stderr)
                return 1
        if j + 1 >= len(mine) or mine[j + 1][1] != "writev" or \
                "/dev/fuse" not in mine[j + 1][2]:
            print("check-fsync: %s not followed by the reply in thread %d"
                  % (sync, tid), file=sys.stderr)
            return 1
        print("%s: msync of %d windows (%d calls), then %s, then the reply"
              % (sync, len(wins), len(synced), sync))
        ok += 1
    return 0 if ok == 2 else 1


def holder(path, seed, state, keep=""):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    for slot in range(8):
        os.write(fd, record(seed, 0, slot))
    if keep != "keep":
        os.close(fd)
        return 0
    open(state + ".ready", "w").close()
    while not os.path.exists(state + ".exit"):
        time.sleep(0.01)
    try:
        os.close(fd)
    except OSError:
        pass
    return 0


def expect(path, seed):
    """Compare FILE with what holder wrote."""
    with open(path, "rb") as fh:
        have = fh.read()
    want = b"".join(record(seed, 0, s) for s in range(8))
    return 0 if have == want else 1


def longio(d, big, state, seed):
    res = {}
    progress = {"r": 0, "w": 0}
    lfd = os.open(state + ".log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC |
                  os.O_APPEND, 0o644)
    chunk = 64 * MiB
    pattern = b"".join(record(seed, 0, s) for s in range(64))

    def reader():
        try:
            fd = os.open(big, os.O_RDONLY)
            while True:
                off = 0
                while True:
                    b = os.pread(fd, chunk, off)
                    if not b:
                        break
                    off += len(b)
                    progress["r"] += 1
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        except OSError as e:
            res["reader"] = e.errno

    def writer_():
        try:
            fd = os.open(os.path.join(d, "long-w"),
                         os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            k = 0
            while True:
                off = (k % 4) * chunk   # at most 256 MiB on disk
                n = os.pwrite(fd, pattern, off)
                os.write(lfd, b"%d %d\n" % (off, n))
                progress["w"] += 1
                k += 1
        except OSError as e:
            res["writer"] = e.errno

    ts = [threading.Thread(target=reader), threading.Thread(target=writer_)]
    for t in ts:
        t.start()
    while (progress["r"] < 1 or progress["w"] < 1) and len(res) < 2 and \
            all(t.is_alive() for t in ts):
        time.sleep(0.01)
    open(state + ".ready", "w").close()
    for t in ts:
        t.join()
    os.close(lfd)
    print("longio: reader %d reads then %s; writer %d writes then %s" % (
        progress["r"], errno.errorcode.get(res.get("reader"), res.get("reader")),
        progress["w"], errno.errorcode.get(res.get("writer"), res.get("writer"))))
    return 0 if all(res.get(k) in DEAD for k in ("reader", "writer")) else 1


def longio_verify(state, back, seed):
    """Every acked (prefix of a) 64 MiB write is in the backing file."""
    pattern = b"".join(record(seed, 0, s) for s in range(64))
    final = {}
    with open(state + ".log") as fh:
        for line in fh:
            off, n = (int(x) for x in line.split())
            final[off] = n   # a later write of the same range supersedes
    fd = os.open(back, os.O_RDONLY)
    total = 0
    for off, n in final.items():
        have = os.pread(fd, n, off)
        if have != pattern[:n]:
            print("longio-verify: acked write at %d (%d bytes) not on disk"
                  % (off, n), file=sys.stderr)
            return 1
        total += n
    os.close(fd)
    print("longio-verify: %d acked ranges, %d MiB verified"
          % (len(final), total // MiB))
    return 0


CMDS = {
    "writer": writer, "waitlog": waitlog, "verify": verify,
    "fsyncer": fsyncer, "check-fsync": check_fsync, "maps": maps,
    "holder": holder, "expect": expect, "longio": longio,
    "longio-verify": longio_verify,
}

if __name__ == "__main__":
    sys.exit(CMDS[sys.argv[1]](*sys.argv[2:]))
