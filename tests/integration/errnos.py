#!/usr/bin/env python3
"""errnos.py ROOT_A ROOT_B - run the same failing (and succeeding)
operations under two roots (the mount and the backing dir, each with the
same fixture: see semantics.sh) and print any case where the outcome
(errno name, or "ok") differs. Exit 1 if one does."""
import errno
import os
import sys


def outcome(fn):
    try:
        fn()
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def cases(r):
    j = lambda *p: os.path.join(r, *p)
    return [
        ("open missing", lambda: os.close(os.open(j("missing"), os.O_RDONLY))),
        ("open missing/dir/file", lambda: os.close(os.open(j("missing", "x"), os.O_RDONLY))),
        ("open O_CREAT|O_EXCL existing", lambda: os.close(os.open(j("file"), os.O_CREAT | os.O_EXCL | os.O_WRONLY))),
        ("open file O_DIRECTORY", lambda: os.close(os.open(j("file"), os.O_RDONLY | os.O_DIRECTORY))),
        ("open dir O_WRONLY", lambda: os.close(os.open(j("dir"), os.O_WRONLY))),
        ("open file/child", lambda: os.close(os.open(j("file", "child"), os.O_RDONLY))),
        ("open symlink O_NOFOLLOW", lambda: os.close(os.open(j("link"), os.O_RDONLY | os.O_NOFOLLOW))),
        ("mkdir existing", lambda: os.mkdir(j("dir"))),
        ("rmdir non-empty", lambda: os.rmdir(j("full"))),
        ("rmdir file", lambda: os.rmdir(j("file"))),
        ("unlink dir", lambda: os.unlink(j("dir"))),
        ("unlink missing", lambda: os.unlink(j("missing"))),
        ("rename dir over non-empty dir", lambda: os.rename(j("dir"), j("full"))),
        ("rename dir over file", lambda: os.rename(j("dir"), j("file"))),
        ("rename file over dir", lambda: os.rename(j("file"), j("dir"))),
        ("rename dir into itself", lambda: os.rename(j("full"), j("full", "sub"))),
        ("link dir", lambda: os.link(j("dir"), j("dirlink"))),
        ("link onto existing", lambda: os.link(j("file"), j("file2"))),
        ("symlink onto existing", lambda: os.symlink("x", j("file"))),
        ("readlink file", lambda: os.readlink(j("file"))),
        ("getxattr missing attr", lambda: os.getxattr(j("file"), "user.none")),
        ("removexattr missing attr", lambda: os.removexattr(j("file"), "user.none")),
        ("setxattr XATTR_CREATE existing", lambda: os.setxattr(j("file"), "user.k", b"v", os.XATTR_CREATE)),
        ("setxattr XATTR_REPLACE missing", lambda: os.setxattr(j("file"), "user.new", b"v", os.XATTR_REPLACE)),
        ("truncate dir", lambda: os.truncate(j("dir"), 0)),
        ("truncate negative", lambda: os.truncate(j("file"), -1)),
        ("lstat missing", lambda: os.lstat(j("missing"))),
        ("listdir file", lambda: os.listdir(j("file"))),
        ("name too long", lambda: os.lstat(j("n" * 256))),
        ("create name too long", lambda: os.close(os.open(j("n" * 256), os.O_CREAT | os.O_WRONLY))),
        ("read a directory fd", lambda: os.read(os.open(j("dir"), os.O_RDONLY), 1)),
    ]


def main():
    a, b = sys.argv[1], sys.argv[2]
    bad = 0
    for (name, fa), (_, fb) in zip(cases(a), cases(b)):
        oa, ob = outcome(fa), outcome(fb)
        mark = "" if oa == ob else "   <-- DIFFERS"
        if oa != ob:
            bad += 1
        print("%-34s mount=%-10s backing=%-10s%s" % (name, oa, ob, mark))
    sys.exit(1 if bad else 0)


main()
