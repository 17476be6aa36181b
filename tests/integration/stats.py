"""stats.py - helpers of stats.sh: read the stats of a mounted panefs, check
the Prometheus text strictly, and run the scenarios whose figures must move.

    python3 stats.py validate FILE|-          strict exposition check
    python3 stats.py watch FILE SECS [N]       read FILE in a loop; every read
                                               must be complete and valid, and
                                               N contents must be seen
    python3 stats.py value FILE|- SERIES       print one sample's value
    python3 stats.py read MNT FILE WINDOW      cold then warm read, exact moves
    python3 stats.py small MNT FILE WINDOW BUDGET   evictions within budget
    python3 stats.py enoent MNT                negative lookups count ENOENT
    python3 stats.py control MNT WINDOW FILE   user.panefs.cache, bad input,
                                               unknown names, probe, list
    python3 stats.py nonroot MNT               (as another uid) read ok, EPERM
    python3 stats.py views MNT VIEW LEN        stats on a synthetic root

Every check failure exits non-zero with one line saying what moved how.
"""
import ctypes
import errno
import os
import re
import sys
import time

STATS = "user.panefs.stats"
CACHE = "user.panefs.cache"
KiB = 1024
MiB = 1024 * KiB

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
SAMPLE = re.compile(r"^(%s)(\{(.*)\})? (\S+)$" % NAME)
LABEL = re.compile(r'(%s)="((?:[^"\\\n]|\\[\\"n])*)"' % "[a-zA-Z_][a-zA-Z0-9_]*")


def die(msg):
    sys.exit("stats.py: " + msg)


def en(e):
    return errno.errorcode.get(e, str(e))


def parse(text):
    """Strict text format 0.0.4 check; returns {series: value}."""
    if not text:
        die("empty exposition")
    if not text.endswith("\n"):
        die("exposition does not end in a newline")
    if len(text.encode()) >= 65536:
        die("exposition is %d bytes, over XATTR_SIZE_MAX" % len(text.encode()))
    families = {}
    series = {}
    cur = None
    lines = text[:-1].split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        where = "line %d: %r" % (i + 1, line[:120])
        if line.startswith("# HELP "):
            parts = line.split(" ", 3)
            if len(parts) < 4 or not re.fullmatch(NAME, parts[2]) or not parts[3]:
                die("bad HELP " + where)
            name = parts[2]
            if name in families:
                die("metric described twice " + where)
            if i + 1 >= len(lines):
                die("HELP without TYPE " + where)
            t = lines[i + 1].split(" ")
            if len(t) != 4 or t[:3] != ["#", "TYPE", name] or t[3] not in ("counter", "gauge"):
                die("HELP not followed by its TYPE at line %d: %r" % (i + 2, lines[i + 1]))
            if t[3] == "counter" and not name.endswith("_total"):
                die("counter %s does not end in _total" % name)
            families[name] = t[3]
            cur = name
            i += 2
            continue
        if line.startswith("#") or not line:
            die("unexpected line " + where)
        m = SAMPLE.match(line)
        if not m:
            die("malformed sample " + where)
        name, labels, value = m.group(1), m.group(3), m.group(4)
        if name != cur:
            die("sample of %s outside its family (%s) %s" % (name, cur, where))
        key = name
        if labels is not None:
            pos = 0
            seen = []
            while True:
                lm = LABEL.match(labels, pos)
                if not lm:
                    die("malformed labels " + where)
                seen.append(lm.group(1))
                pos = lm.end()
                if pos == len(labels):
                    break
                if labels[pos] != ",":
                    die("malformed labels " + where)
                pos += 1
            if len(set(seen)) != len(seen):
                die("repeated label " + where)
            key = "%s{%s}" % (name, labels)
        try:
            v = float(value)
        except ValueError:
            die("bad value " + where)
        if v < 0:
            die("negative value " + where)
        if key in series:
            die("series twice " + where)
        series[key] = v
        i += 1
    for need in ("panefs_cache_windows", "panefs_cache_bytes", "panefs_cache_budget_bytes",
                 "panefs_cache_hits_total", "panefs_cache_misses_total",
                 "panefs_cache_evictions_total", "panefs_faults_caught_total",
                 'panefs_requests_total{op="read"}', 'panefs_bytes_total{op="read"}',
                 'panefs_bytes_total{op="write"}', "panefs_uptime_seconds"):
        if need not in series:
            die("no sample %s" % need)
    if "panefs_errors_total" not in families:
        die("no panefs_errors_total family")
    return series


def stats(mnt):
    """The stats as os.getxattr returns them (parsed)."""
    return parse(os.getxattr(mnt, STATS).decode())


def delta(a, b, key):
    return b.get(key, 0) - a.get(key, 0)


def expect(what, cond, detail):
    if not cond:
        die("%s: %s" % (what, detail))
    print("ok: %s (%s)" % (what, detail))


def expect_err(what, want, fn, *a):
    ws = want if isinstance(want, tuple) else (want,)
    try:
        r = fn(*a)
    except OSError as e:
        if e.errno not in ws:
            die("%s: expected %s, got %s" % (what, "/".join(map(en, ws)), en(e.errno)))
        print("ok: %s -> %s" % (what, en(e.errno)))
        return
    die("%s: expected %s, succeeded (%r)" % (what, "/".join(map(en, ws)), r))


def drop(fd):
    """Drop the kernel's pages of the open file: the next read reaches
    the daemon."""
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)


def read_all(fd, size, every_4m=None):
    """pread fd in 1 MiB pieces up to size; calls every_4m() after each
    4 MiB. Returns the bytes read."""
    got = 0
    while got < size:
        b = os.pread(fd, 1 * MiB, got)
        if not b:
            break
        got += len(b)
        if every_4m and got % (4 * MiB) == 0:
            every_4m()
    return got


# ---- scenarios ----------------------------------------------------------

def cmd_read(mnt, path, window):
    size = os.stat(path).st_size
    nwin = (size + window - 1) // window
    fd = os.open(path, os.O_RDONLY)
    try:
        drop(fd)
        s0 = stats(mnt)
        expect("nothing mapped before the read", s0["panefs_cache_bytes"] == 0,
               "bytes %d" % s0["panefs_cache_bytes"])
        if read_all(fd, size) != size:
            die("short read of %s" % path)
        s1 = stats(mnt)
        d = lambda k: delta(s0, s1, k)
        # One miss per window, plus one for each thread that lost a race
        # to map the same window (readahead sends requests in parallel).
        expect("cold read: misses +%d..%d (one per window)" % (nwin, 2 * nwin),
               nwin <= d("panefs_cache_misses_total") <= 2 * nwin,
               "misses +%d, hits +%d" % (d("panefs_cache_misses_total"),
                                        d("panefs_cache_hits_total")))
        expect("cold read: bytes mapped +%d" % size,
               d("panefs_cache_bytes") == size and d("panefs_cache_windows") == nwin,
               "bytes +%d, windows +%d" % (d("panefs_cache_bytes"), d("panefs_cache_windows")))
        expect("cold read: bytes{op=read} +%d" % size,
               d('panefs_bytes_total{op="read"}') == size,
               "+%d" % d('panefs_bytes_total{op="read"}'))
        reqs = d('panefs_requests_total{op="read"}')
        expect("cold read: requests{op=read} between %d and %d" % (size // MiB, size // 4096),
               size // MiB <= reqs <= size // 4096, "+%d" % reqs)
        expect("cold read: replies counted by path",
               d('panefs_read_replies_total{path="zero_copy"}') +
               d('panefs_read_replies_total{path="copy"}') == reqs, "")
        expect("getxattr requests counted", d('panefs_requests_total{op="getxattr"}') >= 1,
               "+%d" % d('panefs_requests_total{op="getxattr"}'))
        expect("no errors from a read", d('panefs_errors_total{errno="EIO"}') == 0, "")

        drop(fd)
        if read_all(fd, size) != size:
            die("short read of %s" % path)
        s2 = stats(mnt)
        d = lambda k: delta(s1, s2, k)
        expect("warm read: hits >= %d, no miss" % nwin,
               d("panefs_cache_hits_total") >= nwin and d("panefs_cache_misses_total") == 0,
               "hits +%d, misses +%d" % (d("panefs_cache_hits_total"),
                                         d("panefs_cache_misses_total")))
        expect("warm read: bytes{op=read} +%d" % size,
               d('panefs_bytes_total{op="read"}') == size,
               "+%d" % d('panefs_bytes_total{op="read"}'))
        expect("warm read: nothing more mapped", d("panefs_cache_bytes") == 0,
               "bytes %d" % s2["panefs_cache_bytes"])
        expect("counters only grow", all(s2[k] >= s1[k] for k in s1 if k.endswith("}") or
                                          k.endswith("_total")), "")
    finally:
        os.close(fd)
    # RELEASE is sent after close() returns: give it a moment
    end = time.time() + 5
    while True:
        s3 = stats(mnt)
        if s3["panefs_cache_bytes"] == 0 or time.time() > end:
            break
        time.sleep(0.02)
    expect("last close unmaps the file's windows", s3["panefs_cache_bytes"] == 0,
           "bytes %d" % s3["panefs_cache_bytes"])


def read_through(mnt, path):
    """Open, read whole, close: (bytes, read requests the daemon saw)."""
    s0 = stats(mnt)
    with open(path, "rb") as f:
        data = f.read()
    n = delta(s0, stats(mnt), 'panefs_requests_total{op="read"}')
    return data, n


def cmd_kcache(mnt, path, backing):
    """kcache.h: an open keeps the kernel's pages only while the backing
    file is unchanged and no writer closed since."""
    size = os.stat(backing).st_size
    # a known starting point: an outside change drops whatever was kept
    with open(backing, "r+b") as f:
        f.write(b"A" * 4096)
    os.utime(backing, ns=(10**18, 10**18))
    data, n = read_through(mnt, path)
    expect("changed file: read from the daemon", n >= size // MiB and
           data == open(backing, "rb").read(), "read requests +%d" % n)
    data, n = read_through(mnt, path)
    expect("unchanged file: served from the kernel's cache", n == 0 and
           data == open(backing, "rb").read(), "read requests +%d" % n)
    # outside overwrite, same size: the next open reads it afresh
    with open(backing, "r+b") as f:
        f.write(b"B" * 4096)
    os.utime(backing, ns=(2 * 10**18, 2 * 10**18))
    data, n = read_through(mnt, path)
    expect("outside overwrite seen at the next open", data[:4096] == b"B" * 4096
           and n >= 1, "read requests +%d, first byte %r" % (n, data[:1]))
    # a write through the mount, then close: the next open starts clean
    with open(path, "r+b") as f:
        f.write(b"C" * 4096)
    data, n = read_through(mnt, path)
    expect("after a writer closed: read from the daemon",
           data[:4096] == b"C" * 4096 and n >= 1 and
           data == open(backing, "rb").read(), "read requests +%d" % n)
    data, n = read_through(mnt, path)
    expect("and kept again after that", n == 0, "read requests +%d" % n)


def cmd_small(mnt, path, window, budget):
    size = os.stat(path).st_size
    nwin = size // window
    fd = os.open(path, os.O_RDONLY)
    try:
        drop(fd)
        s0 = stats(mnt)
        expect("budget is cache=", s0["panefs_cache_budget_bytes"] == budget,
               "%d" % s0["panefs_cache_budget_bytes"])
        samples = [0]
        read_all(fd, size,
                 lambda: samples.append(stats(mnt)["panefs_cache_bytes"]))
        top = max(samples)
        s1 = stats(mnt)
    finally:
        os.close(fd)
    d = lambda k: delta(s0, s1, k)
    ev = d("panefs_cache_evictions_total")
    expect("evictions >= %d" % (nwin - budget // window), ev >= nwin - budget // window,
           "+%d" % ev)
    # Only pinned windows may push past the budget: those of the requests
    # in flight, which read-ahead keeps going past the reader (about two
    # 1 MiB requests for one reader).
    pinned = 2 * MiB + 2 * window
    expect("bytes mapped within budget + pinned windows while reading",
           top <= budget + pinned, "at most %d of %d" % (top, budget))
    expect("peak within budget + pinned windows",
           s1["panefs_cache_peak_bytes"] <= budget + pinned,
           "peak %d" % s1["panefs_cache_peak_bytes"])
    # Once no reply is in flight the cache is back within the budget.
    deadline = time.monotonic() + 5
    now = stats(mnt)["panefs_cache_bytes"]
    while now > budget and time.monotonic() < deadline:
        time.sleep(0.05)
        now = stats(mnt)["panefs_cache_bytes"]
    expect("bytes mapped within the budget when idle", now <= budget,
           "%d of %d" % (now, budget))
    expect("bytes{op=read} +%d" % size, d('panefs_bytes_total{op="read"}') == size,
           "+%d" % d('panefs_bytes_total{op="read"}'))


def cmd_enoent(mnt):
    s0 = stats(mnt)
    names = ["missing-%d-%d" % (os.getpid(), i) for i in range(3)]
    for n in names:
        expect_err("stat %s" % n, errno.ENOENT, os.stat, os.path.join(mnt, n))
    s1 = stats(mnt)
    e = delta(s0, s1, 'panefs_errors_total{errno="ENOENT"}')
    expect("errors{errno=ENOENT} +3", e == 3, "+%d" % e)
    expect("requests{op=lookup} +3 or more",
           delta(s0, s1, 'panefs_requests_total{op="lookup"}') >= 3, "")
    # an error the backing file gives: a missing attribute -> ENODATA
    f = os.path.join(mnt, "errfile-%d" % os.getpid())
    with open(f, "w"):
        pass
    expect_err("getxattr of a missing attribute", errno.ENODATA, os.getxattr, f,
               "user.missing")
    os.unlink(f)
    s2 = stats(mnt)
    e = delta(s1, s2, 'panefs_errors_total{errno="ENODATA"}')
    expect("errors{errno=ENODATA} +1", e == 1, "+%d" % e)
    expect("create/unlink counted",
           all(delta(s1, s2, 'panefs_requests_total{op="%s"}' % o) >= 1
               for o in ("create", "unlink")), "")


def budget(mnt):
    return int(os.getxattr(mnt, CACHE).decode())


libc = ctypes.CDLL(None, use_errno=True)
libc.getxattr.restype = ctypes.c_ssize_t
libc.getxattr.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t]


def raw_getxattr(path, name, size):
    buf = ctypes.create_string_buffer(size) if size else None
    n = libc.getxattr(path.encode(), name.encode(), buf, size)
    if n < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return n if size == 0 else buf.raw[:n]


def cmd_control(mnt, window, path):
    size = os.stat(path).st_size
    # the size protocol
    n = raw_getxattr(mnt, STATS, 0)
    text = raw_getxattr(mnt, STATS, n).decode()
    parse(text)
    expect("size probe answers room for the value", n >= len(text.encode()),
           "probe %d, value %d" % (n, len(text.encode())))
    expect_err("getxattr stats into 16 bytes", errno.ERANGE, raw_getxattr, mnt, STATS, 16)
    expect_err("getxattr cache into 2 bytes", errno.ERANGE, raw_getxattr, mnt, CACHE, 2)
    b0 = budget(mnt)
    expect("user.panefs.cache = the budget in the stats",
           b0 == stats(mnt)["panefs_cache_budget_bytes"], "%d" % b0)

    # fill the cache, then shrink it under the open file
    fd = os.open(path, os.O_RDONLY)
    try:
        drop(fd)
        read_all(fd, size)
        s0 = stats(mnt)
        expect("windows cached before the shrink", s0["panefs_cache_bytes"] >= 4 * window,
               "bytes %d" % s0["panefs_cache_bytes"])
        small = 2 * window
        os.setxattr(mnt, CACHE, b"%d" % small)
        s1 = stats(mnt)
        expect("shrink evicts at once", s1["panefs_cache_bytes"] <= small and
               s1["panefs_cache_windows"] <= 2,
               "bytes %d, windows %d" % (s1["panefs_cache_bytes"], s1["panefs_cache_windows"]))
        expect("shrink counted as evictions",
               delta(s0, s1, "panefs_cache_evictions_total") >= s0["panefs_cache_windows"] - 2, "")
        expect("budget shown", s1["panefs_cache_budget_bytes"] == small and budget(mnt) == small,
               "%d" % budget(mnt))
        # reading on keeps within the new budget
        drop(fd)
        read_all(fd, size)
        s2 = stats(mnt)
        expect("reads keep within the new budget", s2["panefs_cache_bytes"] <= small,
               "bytes %d" % s2["panefs_cache_bytes"])
    finally:
        os.close(fd)

    # SIZE forms: suffixes, a newline, exactly one window
    for val, want in ((b"3M", 3 * MiB), (b"%dK\n" % (4 * window // KiB), 4 * window),
                      (b"%d" % window, window), (b"1G", 1 << 30)):
        os.setxattr(mnt, CACHE, val)
        expect("set %r" % val, budget(mnt) == want, "%d" % budget(mnt))
    os.setxattr(mnt, CACHE, b"64M", os.XATTR_REPLACE)
    expect("XATTR_REPLACE is fine", budget(mnt) == 64 * MiB, "")

    # bad input: EINVAL and nothing changes
    before = budget(mnt)
    for bad in (b"", b"junk", b"12Q", b"-5", b"1.5M", b"0", b"%d" % (window - 4096),
                b"%dK" % (window // KiB // 2), b"99999999999999999999999", b"1M junk",
                b"1" * 70):
        expect_err("set cache to %r" % bad[:30], errno.EINVAL, os.setxattr, mnt, CACHE, bad)
        if budget(mnt) != before or stats(mnt)["panefs_cache_budget_bytes"] != before:
            die("a refused value %r changed the budget to %d" % (bad, budget(mnt)))
    expect_err("XATTR_CREATE of the cache", errno.EEXIST, os.setxattr, mnt, CACHE, b"8M",
               os.XATTR_CREATE)
    expect("unchanged after bad input", budget(mnt) == before, "%d" % before)

    # unknown and read-only names
    expect_err("getxattr user.panefs.nope", errno.ENODATA, os.getxattr, mnt, "user.panefs.nope")
    expect_err("getxattr user.panefs.", errno.ENODATA, os.getxattr, mnt, "user.panefs.")
    expect_err("setxattr user.panefs.nope", errno.EINVAL, os.setxattr, mnt, "user.panefs.nope",
               b"1")
    expect_err("setxattr user.panefs.stats", errno.EINVAL, os.setxattr, mnt, STATS, b"1")
    expect_err("removexattr user.panefs.nope", errno.EINVAL, os.removexattr, mnt,
               "user.panefs.nope")
    expect_err("removexattr user.panefs.cache", errno.EINVAL, os.removexattr, mnt, CACHE)
    expect_err("removexattr user.panefs.stats", errno.EINVAL, os.removexattr, mnt, STATS)
    expect("still unchanged", budget(mnt) == before, "")

    # never listed, never the backing directory's
    names = os.listxattr(mnt)
    expect("listxattr of the root shows no user.panefs.*",
           not [x for x in names if x.startswith("user.panefs.")], "%r" % names)


def cmd_nonroot(mnt):
    s = stats(mnt)
    expect("another uid reads the stats", s["panefs_cache_budget_bytes"] > 0, "")
    b = budget(mnt)
    expect_err("another uid sets the cache", errno.EPERM, os.setxattr, mnt, CACHE, b"8M")
    expect_err("another uid sets a bad size", errno.EPERM, os.setxattr, mnt, CACHE, b"junk")
    expect("budget unchanged", budget(mnt) == b, "%d" % b)
    names = os.listxattr(mnt)
    expect("listxattr (another uid) shows no user.panefs.*",
           not [x for x in names if x.startswith("user.panefs.")], "%r" % names)


def cmd_views(mnt, view, length):
    length = int(length)
    s0 = stats(mnt)
    with open(os.path.join(mnt, view), "rb") as f:
        data = f.read()
    if len(data) != length:
        die("view read %d bytes, expected %d" % (len(data), length))
    s1 = stats(mnt)
    expect("view read: bytes{op=read} +%d" % length,
           delta(s0, s1, 'panefs_bytes_total{op="read"}') == length,
           "+%d" % delta(s0, s1, 'panefs_bytes_total{op="read"}'))
    expect("view read: misses moved", delta(s0, s1, "panefs_cache_misses_total") >= 1, "")
    expect("listxattr of the root shows no user.panefs.*",
           not [x for x in os.listxattr(mnt) if x.startswith("user.panefs.")], "")
    os.setxattr(mnt, CACHE, b"32M")
    expect("cache set on the root", budget(mnt) == 32 * MiB, "")
    expect_err("getxattr user.panefs.nope", errno.ENODATA, os.getxattr, mnt, "user.panefs.nope")


def cmd_watch(path, secs, least):
    end = time.time() + float(secs)
    seen = []
    reads = 0
    while time.time() < end:
        with open(path) as f:
            text = f.read()
        parse(text)
        reads += 1
        if not seen or seen[-1] != text:
            seen.append(text)
        time.sleep(0.02)
    print("%d reads, %d distinct contents, all complete and valid" % (reads, len(seen)))
    if len(seen) < least:
        die("%s: %d distinct contents in %s s, expected %d or more rewrites"
            % (path, len(seen), secs, least))


def main():
    a = sys.argv[1:]
    if not a:
        die("usage: see the top of the file")
    c = a[0]
    if c == "validate":
        text = sys.stdin.read() if a[1] == "-" else open(a[1]).read()
        s = parse(text)
        print("valid: %d samples" % len(s))
    elif c == "value":
        text = sys.stdin.read() if a[1] == "-" else open(a[1]).read()
        v = parse(text)[a[2]]
        print(int(v) if v == int(v) else v)
    elif c == "watch":
        cmd_watch(a[1], a[2], int(a[3]) if len(a) > 3 else 1)
    elif c == "read":
        cmd_read(a[1], a[2], int(a[3]))
    elif c == "kcache":
        cmd_kcache(a[1], a[2], a[3])
    elif c == "small":
        cmd_small(a[1], a[2], int(a[3]), int(a[4]))
    elif c == "enoent":
        cmd_enoent(a[1])
    elif c == "control":
        cmd_control(a[1], int(a[2]), a[3])
    elif c == "nonroot":
        cmd_nonroot(a[1])
    elif c == "views":
        cmd_views(a[1], a[2], a[3])
    else:
        die("unknown command %s" % c)


if __name__ == "__main__":
    main()
