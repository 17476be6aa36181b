#!/usr/bin/env python3
"""coherence.py MNT SRC DAEMON_PID TIMEOUT - the backing tree changed from
outside the mount, while the file is open through it and its windows are
mapped: append, overwrite in place, truncate shorter, truncate longer,
replace by rename, delete. After TIMEOUT seconds (a little more than the
attribute/entry timeout) the mount must show:

  - stat through the mount: the new size (ENOENT once deleted);
  - a new open: the new content;
  - the already-open descriptor: the new content for changes to the same
    file that change its size; after a same-size overwrite, every page is
    the old or the new one (the kernel may keep the pages it cached: see
    AUTO_INVAL_DATA in fs/ops.c); the old file's content after a rename over
    it or a delete (it is open, so it still exists: POSIX semantics, as on
    a local file system);
  - /proc/DAEMON/maps: no mapping of the backing file reaches past
    round_up(new size, page) once a getattr or read has been answered.

Each case runs twice: with the changed file open through the mount, and
with it closed (only the kernel's caches are involved). Prints one line
per case; exits 1 on the first mismatch.
"""
import errno
import os
import random
import sys
import time

MNT, SRC, PID = sys.argv[1], sys.argv[2], int(sys.argv[3])
WAIT = float(sys.argv[4])
PAGE = os.sysconf("SC_PAGE_SIZE")
MiB = 1 << 20
rng = random.Random(4077)
checks = 0


def fail(msg):
    print("coherence: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def data(n):
    return rng.randbytes(n)


def round_up(n, m):
    return (n + m - 1) // m * m


def mappings(dev, ino):
    """(start offset, end offset, deleted) of each mapping of (dev, ino)."""
    out = []
    with open("/proc/%d/maps" % PID) as f:
        for line in f:
            p = line.split(None, 5)
            if len(p) < 5 or int(p[4]) != ino:
                continue
            ma, mi = p[3].split(":")
            if (int(ma, 16), int(mi, 16)) != dev:
                continue
            lo, hi = (int(x, 16) for x in p[0].split("-"))
            off = int(p[2], 16)
            out.append((off, off + hi - lo, p[-1].rstrip().endswith("(deleted)")))
    return out


def devino(path):
    st = os.stat(path)
    return (os.major(st.st_dev), os.minor(st.st_dev)), st.st_ino


def expect_eq(what, want, got):
    global checks
    checks += 1
    if want != got:
        if isinstance(want, bytes):
            n = len(want) if len(want) == len(got) else min(len(want), len(got))
            first = next((i for i in range(n) if want[i] != got[i]), n)
            fail("%s: %d bytes expected, %d read, first difference at %d"
                 % (what, len(want), len(got), first))
        fail("%s: expected %r, got %r" % (what, want, got))


def expect_pages(what, old, new, got):
    """Every page of got is that page of old or of new."""
    global checks
    if len(got) != len(new):
        fail("%s: %d bytes, want %d" % (what, len(got), len(new)))
    fresh = 0
    for off in range(0, len(new), PAGE):
        page = got[off:off + PAGE]
        if page == new[off:off + PAGE]:
            fresh += 1
        elif page != old[off:off + PAGE]:
            fail("%s: page at %d is neither the old nor the new one"
                 % (what, off))
    checks += 1
    print("ok: %s (%d of %d pages new)" % (what, fresh,
                                          len(new) // PAGE))


def read_all(fd):
    out = []
    off = 0
    while True:
        b = os.pread(fd, 4 * MiB, off)
        if not b:
            return b"".join(out)
        out.append(b)
        off += len(b)


def read_path(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        return read_all(fd)
    finally:
        os.close(fd)


def no_map_past(what, dev, ino, size):
    global checks
    checks += 1
    limit = round_up(size, PAGE)
    for lo, hi, _ in mappings(dev, ino):
        if hi > limit:
            fail("%s: a window maps backing bytes [%d, %d) past the end %d "
                 "(page-rounded %d)" % (what, lo, hi, size, limit))


# --- the outside changes: f(back) -> new content, or None when deleted.
# "same" says whether the open descriptor follows the change (same file).
def append(back, old):
    extra = data(3 * MiB + 123)
    with open(back, "ab") as f:
        f.write(extra)
    return old + extra


def overwrite(back, old):
    new = bytearray(old)
    patch = data(2 * MiB)
    pos = 3 * MiB - 777
    new[pos:pos + len(patch)] = patch
    with open(back, "r+b") as f:
        f.seek(pos)
        f.write(patch)
    return bytes(new)


def shrink(back, old):
    n = 2 * MiB + 1000   # not a window or page boundary
    os.truncate(back, n)
    return old[:n]


def grow(back, old):
    n = len(old) + 5 * MiB + 4321
    os.truncate(back, n)
    return old + b"\0" * (n - len(old))


def rename_over(back, old):
    new = data(5 * MiB + 99)
    tmp = back + ".new"
    with open(tmp, "wb") as f:
        f.write(new)
    os.rename(tmp, back)
    return new


def delete(back, old):
    os.unlink(back)
    return None


CASES = [
    ("append", append, True),
    ("overwrite", overwrite, True),
    ("truncate-shorter", shrink, True),
    ("truncate-longer", grow, True),
    ("rename-over", rename_over, False),
    ("delete", delete, False),
]


def run(name, change, same, keep_open):
    base = "coh-%s-%s" % (name, "open" if keep_open else "closed")
    back = os.path.join(SRC, base)
    path = os.path.join(MNT, base)
    old = data(8 * MiB)
    with open(back, "wb") as f:
        f.write(old)
    dev, ino = devino(back)
    # Through the mount: open, read all (maps the windows), stat (caches
    # the attributes in the kernel).
    fd = os.open(path, os.O_RDONLY)
    expect_eq(base + ": first read", old, read_all(fd))
    expect_eq(base + ": first size", len(old), os.stat(path).st_size)
    if keep_open and not mappings(dev, ino):
        fail(base + ": no window of the file is mapped after reading it")
    if not keep_open:
        os.close(fd)
        fd = -1
    time.sleep(0.05)   # a later coarse timestamp for the outside change
    new = change(back, old)
    time.sleep(WAIT)

    # stat through the mount: the new size, or gone.
    try:
        st = os.stat(path)
        got = st.st_size
    except OSError as e:
        if e.errno != errno.ENOENT:
            raise
        got = None
    expect_eq(base + ": size through the mount",
              None if new is None else len(new), got)
    if keep_open:
        if same:
            no_map_past(base + " after getattr", dev, ino, len(new))
        # fstat of the open descriptor: the same file's size
        want = len(new) if same else len(old)
        expect_eq(base + ": fstat of the open descriptor", want,
                  os.fstat(fd).st_size)
        got = read_all(fd)
        if same and new is not None and len(new) == len(old):
            expect_pages(base + ": read through the open descriptor",
                         old, new, got)
        else:
            want = new if same else old
            expect_eq(base + ": read through the open descriptor", want,
                      got)
        if same:
            no_map_past(base + " after read", dev, ino, len(new))
    if new is not None:
        expect_eq(base + ": read through a new open", new, read_path(path))
        if same:
            no_map_past(base + " after new open", dev, ino, len(new))
    if fd >= 0:
        os.close(fd)
    # RELEASE reaches the daemon shortly after close() returns.
    deadline = time.monotonic() + 5
    while mappings(dev, ino) and time.monotonic() < deadline:
        time.sleep(0.02)
    maps = mappings(dev, ino)
    if maps:
        fail("%s: %d windows of the file still mapped after the last close"
             % (base, len(maps)))
    print("coherence: %-26s ok" % base)
    if new is not None:
        os.unlink(back)


for name, change, same in CASES:
    for keep_open in (True, False):
        run(name, change, same, keep_open)
print("coherence: %d cases, %d checks passed" % (2 * len(CASES), checks))
