#!/usr/bin/env python3
"""userns.py - run a command the way a rootless container runtime does.

    python3 userns.py INSIDE:OUTSIDE:COUNT SRC DST UID:GID -- CMD...

Run as root. A child process enters a new user namespace and a new mount
namespace (owned by it); the parent writes the uid and gid maps
"INSIDE OUTSIDE COUNT" (as newuidmap does for rootless podman with a
/etc/subuid range, e.g. 0:100000:65536), the child makes its mounts
private, bind-mounts SRC on DST, drops to UID:GID (ids inside the
namespace) and execs CMD. The exit status is CMD's (1 on setup errors,
128+N when CMD dies of signal N).

Why not `unshare --user ... setpriv ...`: the shell unshare execs runs
before any map exists, so exec drops its capabilities in the new
namespace, and `unshare --map-users` needs newuidmap and /etc/subuid
entries for root. Here the child keeps the capabilities that unshare(2)
gives it until the maps are written, mounts, then drops them.
"""
import ctypes
import os
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
MS_REC = 0x4000
MS_BIND = 0x1000
MS_PRIVATE = 1 << 18

libc = ctypes.CDLL(None, use_errno=True)


def check(rc, what):
    if rc != 0:
        e = ctypes.get_errno()
        raise OSError(e, "%s: %s" % (what, os.strerror(e)))


def mount(src, dst, flags):
    check(libc.mount(src and src.encode(), dst.encode(), None, flags, None),
          "mount %s %s" % (src, dst))


def main():
    if len(sys.argv) < 7 or sys.argv[5] != "--":
        sys.exit("usage: userns.py IN:OUT:COUNT SRC DST UID:GID -- CMD...")
    inside, outside, count = sys.argv[1].split(":")
    src, dst = sys.argv[2], sys.argv[3]
    uid, gid = (int(x) for x in sys.argv[4].split(":"))
    cmd = sys.argv[6:]
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(ready_r)
            os.close(go_w)
            check(libc.unshare(CLONE_NEWUSER | CLONE_NEWNS), "unshare")
            os.write(ready_w, b"u")
            if os.read(go_r, 1) != b"g":
                os._exit(1)
            mount(None, "/", MS_REC | MS_PRIVATE)
            mount(src, dst, MS_BIND | MS_REC)
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
            os.execvp(cmd[0], cmd)
        except OSError as e:
            sys.stderr.write("userns.py: %s\n" % e)
            os._exit(1)
    os.close(ready_w)
    os.close(go_r)
    ok = False
    try:
        if os.read(ready_r, 1) == b"u":
            line = "%s %s %s\n" % (inside, outside, count)
            for f in ("uid_map", "gid_map"):
                with open("/proc/%d/%s" % (pid, f), "w") as m:
                    m.write(line)
            ok = True
    except OSError as e:
        sys.stderr.write("userns.py: writing the id maps: %s\n" % e)
    os.write(go_w, b"g" if ok else b"x")
    os.close(go_w)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        sys.exit(128 + os.WTERMSIG(status))
    sys.exit(os.WEXITSTATUS(status) if ok else 1)


if __name__ == "__main__":
    main()
