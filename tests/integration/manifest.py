#!/usr/bin/env python3
"""manifest.py [--no-mtime] [--no-dir-mtime] DIR - describe a tree so two
copies can be compared with diff.

One line per entry, sorted by path (paths and link targets are printed with
repr() so spaces, newlines and non-ASCII names are unambiguous):
    PATH type=T mode=OOOO uid=U gid=G [size=N] [mtime=S] [target=...]
         [sha256=...] [links=GROUP] [xattr NAME=HEX ...]
Hard links: every non-directory with st_nlink > 1 gets links=FIRST, the
first path (in sort order) of the group of paths in the tree sharing its
inode, plus nlink=N; the groups must be the same in both copies. Only user.*
extended attributes are listed. Directory sizes are left out (they depend on
the file system).
"""
import hashlib
import os
import stat
import sys

TYPES = {stat.S_IFREG: "f", stat.S_IFDIR: "d", stat.S_IFLNK: "l",
         stat.S_IFIFO: "p", stat.S_IFSOCK: "s", stat.S_IFCHR: "c",
         stat.S_IFBLK: "b"}


ZERO = bytes(1 << 20)


def sha256(path):
    """sha256 over (offset, block) of every 1 MiB block that is not all
    zeros: determined by the content alone (holes and written zeros hash
    the same), but cheap for big sparse files. Every byte is still read."""
    h = hashlib.sha256()
    off = 0
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            if b != ZERO[:len(b)]:
                h.update(b"%d:" % off)
                h.update(b)
            off += len(b)
    h.update(b"size:%d" % off)
    return h.hexdigest()


def xattrs(path):
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return []
    out = []
    for n in sorted(names):
        if not n.startswith("user."):
            continue
        v = os.getxattr(path, n, follow_symlinks=False)
        out.append("xattr %s=%s" % (n, v.hex()))
    return out


def main():
    args = sys.argv[1:]
    no_mtime = "--no-mtime" in args
    no_dir_mtime = "--no-dir-mtime" in args
    root = [a for a in args if not a.startswith("--")][0]
    entries = []
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            entries.append(os.path.relpath(p, root))
    entries.append(".")
    entries.sort()
    st = {p: os.lstat(os.path.join(root, p)) for p in entries}
    groups = {}
    for p in entries:
        s = st[p]
        if not stat.S_ISDIR(s.st_mode) and s.st_nlink > 1:
            groups.setdefault((s.st_dev, s.st_ino), []).append(p)
    for p in entries:
        s = st[p]
        full = os.path.join(root, p)
        t = TYPES.get(stat.S_IFMT(s.st_mode), "?")
        f = [repr(p), "type=" + t, "mode=%04o" % stat.S_IMODE(s.st_mode),
             "uid=%d" % s.st_uid, "gid=%d" % s.st_gid]
        if t in "fl":
            f.append("size=%d" % s.st_size)
        if not no_mtime and not (t == "d" and no_dir_mtime):
            f.append("mtime=%d" % int(s.st_mtime))
        if t == "l":
            f.append("target=" + repr(os.readlink(full)))
        if t == "f":
            f.append("sha256=" + sha256(full))
        if t != "d" and s.st_nlink > 1:
            f.append("nlink=%d" % s.st_nlink)
            f.append("links=" + repr(groups[(s.st_dev, s.st_ino)][0]))
        f += xattrs(full)
        print(" ".join(f))


main()
