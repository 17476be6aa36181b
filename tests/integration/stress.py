#!/usr/bin/env python3
"""stress.py MNT SECONDS OUTDIR - concurrent metadata and data churn on the mount.

Each of W worker processes owns a directory and does create / write /
rename / link / unlink / mkdir / rmdir / truncate / setxattr in a loop,
checking every read against what it wrote. All workers also race on a
shared directory with a small set of names (create, rename over, unlink,
readdir), where only the errnos a real file system gives are accepted
(ENOENT, EEXIST, ENOTEMPTY). At the end each worker writes its expected
final state to OUTDIR/expect-K so the test can compare the backing
dir. Exit 1 with a message on the first unexpected result.
"""
import errno
import os
import random
import sys
import time

mnt, seconds, outdir = sys.argv[1], float(sys.argv[2]), sys.argv[3]
W = 6
OK_RACE = {errno.ENOENT, errno.EEXIST, errno.ENOTEMPTY}


def content(k, i, n):
    return (b"%d-%d|" % (k, i)) * n


def worker(k):
    rnd = random.Random(k)
    mine = os.path.join(mnt, "w%d" % k)
    shared = os.path.join(mnt, "shared")
    os.makedirs(mine, exist_ok=True)
    os.makedirs(shared, exist_ok=True)
    state = {}      # name -> bytes expected in mine/
    end = time.time() + seconds
    i = 0
    while time.time() < end:
        i += 1
        op = rnd.randrange(10)
        name = "f%d" % rnd.randrange(40)
        p = os.path.join(mine, name)
        if op <= 2:                               # write via temp + rename
            data = content(k, i, rnd.randrange(1, 3000))
            tmp = p + ".tmp"
            with open(tmp, "wb") as f:
                f.write(data)
            os.rename(tmp, p)
            state[name] = data
        elif op == 3 and name in state:           # read and check
            with open(p, "rb") as f:
                got = f.read()
            if got != state[name]:
                sys.exit("worker %d: %s: read %d bytes, expected %d (content differs)"
                         % (k, p, len(got), len(state[name])))
        elif op == 4 and name in state:           # truncate
            n = rnd.randrange(0, len(state[name]) + 100)
            os.truncate(p, n)
            state[name] = state[name][:n] + b"\0" * max(0, n - len(state[name]))
            if os.stat(p).st_size != n:
                sys.exit("worker %d: size after truncate" % k)
        elif op == 5 and name in state:           # hard link, then drop one
            q = p + ".lnk"
            os.link(p, q)
            if os.stat(q).st_nlink != 2 or os.stat(p).st_ino != os.stat(q).st_ino:
                sys.exit("worker %d: link %s: nlink/ino wrong" % (k, q))
            os.unlink(p)
            os.rename(q, p)
        elif op == 6 and name in state:           # unlink
            os.unlink(p)
            del state[name]
        elif op == 7:                             # directory churn
            d = os.path.join(mine, "d%d" % rnd.randrange(5))
            try:
                os.mkdir(d)
                with open(os.path.join(d, "x"), "w") as f:
                    f.write("x")
                os.setxattr(d, "user.k", b"%d" % i)
                os.unlink(os.path.join(d, "x"))
                os.rmdir(d)
            except FileExistsError:
                sys.exit("worker %d: mkdir %s: EEXIST for a dir it removed" % (k, d))
        elif op == 8:                             # racing on shared names
            a = os.path.join(shared, "s%d" % rnd.randrange(8))
            b = os.path.join(shared, "s%d" % rnd.randrange(8))
            try:
                r = rnd.randrange(4)
                if r == 0:
                    with open(a, "wb") as f:
                        f.write(b"shared %d %d" % (k, i))
                elif r == 1:
                    os.rename(a, b)
                elif r == 2:
                    os.unlink(a)
                else:
                    with open(a, "rb") as f:
                        got = f.read()
                        # empty: read between another writer's O_TRUNC and write
                        if got and not got.startswith(b"shared "):
                            sys.exit("worker %d: shared file with foreign content" % k)
            except OSError as e:
                if e.errno not in OK_RACE:
                    sys.exit("worker %d: shared op: %s" % (k, e))
        else:                                     # readdir both dirs
            names = set(os.listdir(mine))
            want = set(state)
            extra = {n for n in names - want if not n.startswith("d") and not n.endswith((".tmp", ".lnk"))}
            if want - names or extra:
                sys.exit("worker %d: listdir differs: missing %s extra %s"
                         % (k, sorted(want - names)[:5], sorted(extra)[:5]))
            try:
                os.listdir(shared)
            except OSError as e:
                sys.exit("worker %d: listdir shared: %s" % (k, e))
    with open(os.path.join(outdir, "expect-%d" % k), "w") as f:
        for n in sorted(state):
            f.write("%s %d %s\n" % (n, len(state[n]), hash_(state[n])))
    print("worker %d: %d operations" % (k, i))


def hash_(b):
    import hashlib
    return hashlib.sha256(b).hexdigest()


pids = []
for k in range(W):
    pid = os.fork()
    if pid == 0:
        try:
            worker(k)
            code = 0
        except SystemExit as e:
            print(e, file=sys.stderr)
            code = 1
        except Exception as e:
            print("worker %d: %r" % (k, e), file=sys.stderr)
            code = 1
        sys.stdout.flush()
        os._exit(code)
    pids.append(pid)
bad = 0
for pid in pids:
    _, st = os.waitpid(pid, 0)
    bad += st != 0
sys.exit(1 if bad else 0)
