# semantics.sh - POSIX behaviour through the mount, compared with the
# backing dir: open-unlinked files, rename over open files, concurrent
# writers, truncate, append, times, modes, owners, special files, links,
# renameat2 flags, locks, statfs, errno values, 30,000 files under
# RLIMIT_NOFILE, and the mount root as a boundary (.., symlinks out).
. "$(dirname "$0")/lib.sh"

MiB=1048576
# SRC one level deeper than MNT so "MNT/.." and "SRC/.." are different dirs
mkdir -p "$PFS_TMP/outer/src"
rmdir "$SRC"
SRC=$PFS_TMP/outer/src
echo "outside the backing dir" >"$PFS_TMP/outer/OUTSIDE-MARKER"
mkdir "$PFS_TMP/outside"
pfs_mount cache=8M,window=1M
cd "$PFS_TMP"

py() { t 60 python3 - "$@"; }

# --- unlinked open file --------------------------------------------------
note "unlinked open file stays readable and writable"
mkrand "$PFS_TMP/u" $((2 * MiB + 5))
cp "$PFS_TMP/u" "$SRC/unlinked"
py "$MNT/unlinked" "$PFS_TMP/u" "$SRC/unlinked" <<'EOF' || fail "unlinked open file (see above)"
import os, sys
p, ref, back = sys.argv[1:]
want = open(ref, "rb").read()
fd = os.open(p, os.O_RDWR)
os.unlink(p)
assert not os.path.exists(p), "name still visible through the mount"
assert not os.path.exists(back), "name still present in the backing dir"
assert os.pread(fd, len(want) + 10, 0) == want, "content changed after unlink"
os.pwrite(fd, b"after-unlink", 1048570)
assert os.pread(fd, 12, 1048570) == b"after-unlink", "write after unlink lost"
assert os.fstat(fd).st_size == len(want), "fstat size after unlink"
os.close(fd)
EOF
[ -z "$(ls -A "$SRC")" ] || fail "backing dir not empty after unlinked file closed: $(ls -A "$SRC" | head)"

# --- rename over an open file --------------------------------------------
note "rename over an open file"
echo "old content" >"$MNT/victim"
echo "new content" >"$MNT/replacement"
py "$MNT/victim" "$MNT/replacement" <<'EOF' || fail "rename over an open file (see above)"
import os, sys
victim, repl = sys.argv[1:]
fd = os.open(victim, os.O_RDONLY)
os.rename(repl, victim)
assert os.pread(fd, 100, 0) == b"old content\n", "open reader lost the old file"
assert open(victim, "rb").read() == b"new content\n", "new name shows wrong content"
assert not os.path.exists(repl)
assert os.pread(fd, 100, 0) == b"old content\n", "old content changed after reopen"
os.close(fd)
EOF
check_eq "backing victim after rename" "new content" "$(cat "$SRC/victim")"

# --- two concurrent writers ----------------------------------------------
note "two writers to different regions of one file at once"
mkrand "$PFS_TMP/w1" $((24 * MiB))
mkrand "$PFS_TMP/w2" $((24 * MiB))
PFS_BG_TIMEOUT=120 bg dd if="$PFS_TMP/w1" of="$MNT/shared" bs=64K seek=0 conv=notrunc status=none
P1=$BG_PID
PFS_BG_TIMEOUT=120 bg dd if="$PFS_TMP/w2" of="$MNT/shared" bs=64K seek=$((40 * 16)) conv=notrunc status=none
P2=$BG_PID
bg_wait "$P1" || fail "writer 1 failed"
bg_wait "$P2" || fail "writer 2 failed"
check_eq "size after two writers" $((64 * MiB)) "$(fsize "$MNT/shared")"
for f in "$MNT/shared" "$SRC/shared"; do
	check "region 1 of $f" cmp -n $((24 * MiB)) "$f" "$PFS_TMP/w1"
	check "region 2 of $f" cmp -i $((40 * MiB)):0 -n $((24 * MiB)) "$f" "$PFS_TMP/w2"
	check "gap of $f is zeros" cmp -i $((24 * MiB)):0 -n $((16 * MiB)) "$f" /dev/zero
done
rm -f "$MNT/shared"

# --- truncate down and up ------------------------------------------------
note "truncate down and up"
mkrand "$PFS_TMP/t0" $((3 * MiB + 7))
cp "$PFS_TMP/t0" "$MNT/tr"
check "content before truncate" cmp "$PFS_TMP/t0" "$MNT/tr"
step "truncate -s 1000000" -- truncate -s 1000000 "$MNT/tr"
head -c 1000000 "$PFS_TMP/t0" >"$PFS_TMP/t1"
check_eq "size after truncate down (mount)" 1000000 "$(fsize "$MNT/tr")"
check_eq "size after truncate down (backing)" 1000000 "$(fsize "$SRC/tr")"
check "content after truncate down (mount)" cmp "$PFS_TMP/t1" "$MNT/tr"
check "content after truncate down (backing)" cmp "$PFS_TMP/t1" "$SRC/tr"
step "truncate -s 5M" -- truncate -s 5M "$MNT/tr"
{ cat "$PFS_TMP/t1"; head -c $((5 * MiB - 1000000)) /dev/zero; } >"$PFS_TMP/t2"
check_eq "size after truncate up (mount)" $((5 * MiB)) "$(fsize "$MNT/tr")"
check "content after truncate up: old data then zeros (mount)" cmp "$PFS_TMP/t2" "$MNT/tr"
check "content after truncate up (backing)" cmp "$PFS_TMP/t2" "$SRC/tr"
step "truncate -s 0" -- truncate -s 0 "$MNT/tr"
check_eq "size after truncate to 0" 0 "$(fsize "$MNT/tr")"
step "write 1 byte at 2 MiB after truncate to 0" -- \
	dd if=/dev/urandom of="$MNT/tr" bs=1 count=1 seek=$((2 * MiB)) conv=notrunc status=none
check "hole after truncate to 0 then write reads as zeros" \
	cmp -n $((2 * MiB)) "$MNT/tr" /dev/zero
check "truncated file: mount equals backing" cmp "$MNT/tr" "$SRC/tr"
# ftruncate on an open fd with a mapping-sized read in between
py "$MNT/tr2" <<'EOF' || fail "ftruncate shrink/grow on one fd (see above)"
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
os.pwrite(fd, b"\xab" * (2 << 20), 0)
assert os.pread(fd, 16, (1 << 20) + 5) == b"\xab" * 16
os.ftruncate(fd, 100)
os.ftruncate(fd, 2 << 20)
got = os.pread(fd, 2 << 20, 0)
assert got[:100] == b"\xab" * 100, "data below the cut lost"
bad = got[100:].find(b"\xab")
assert bad < 0, "stale data at offset %d after ftruncate down and up" % (100 + bad)
os.close(fd)
EOF

# reads racing O_TRUNC rewrites of the same file, both through the mount:
# a read may see old data, new data or 0 bytes, but never fail (ext4 never
# returns EIO here; compare the same race on the backing dir)
note "reads racing O_TRUNC rewrites: no EIO"
py "$MNT/race" "$SRC/race2" <<'EOF' || fail_later "reads racing O_TRUNC rewrites of the same file through the mount failed (see above)"
import errno, json, os, sys, time
def race(p, secs, nreaders=2):
    """one process rewrites p with O_TRUNC in a loop, nreaders read it"""
    open(p, "wb").write(b"x" * 200000)
    end = time.time() + secs
    pid = os.fork()
    if pid == 0:
        while time.time() < end:
            with open(p, "wb") as f:
                f.write(b"y" * 200000)
        os._exit(0)
    readers = []
    for _ in range(nreaders):
        r, w = os.pipe()
        rp = os.fork()
        if rp == 0:
            os.close(r)
            reads, errs = 0, {}
            while time.time() < end:
                try:
                    with open(p, "rb") as f:
                        f.read()
                    reads += 1
                except OSError as e:
                    n = errno.errorcode.get(e.errno, str(e.errno))
                    errs[n] = errs.get(n, 0) + 1
            os.write(w, json.dumps([reads, errs]).encode())
            os._exit(0)
        os.close(w)
        readers.append((rp, r))
    reads, errs = 0, {}
    for rp, r in readers:
        out = b""
        while True:
            b = os.read(r, 4096)
            if not b:
                break
            out += b
        os.waitpid(rp, 0)
        n, e = json.loads(out)
        reads += n
        for k, v in e.items():
            errs[k] = errs.get(k, 0) + v
    os.waitpid(pid, 0)
    return reads, errs
m = race(sys.argv[1], 5.0)
b = race(sys.argv[2], 1.0)
print("through the mount: %d reads, failures %s; on the backing dir: %d reads, failures %s"
      % (m[0], m[1] or "none", b[0], b[1] or "none"))
if m[1]:
    sys.exit("reads through the mount failed while another process rewrote the file with O_TRUNC")
EOF
rm -f "$MNT/race" "$SRC/race2"

# --- append --------------------------------------------------------------
note "append with >> and O_APPEND"
echo one >"$MNT/ap"
echo two >>"$MNT/ap"
printf 'three\n' >>"$MNT/ap"
check_eq "appended content (backing)" "$(printf 'one\ntwo\nthree')" "$(cat "$SRC/ap")"
py "$MNT/ap2" "$SRC/ap2" <<'EOF' || fail "O_APPEND (see above)"
import os, sys
p, back = sys.argv[1:]
open(p, "wb").write(b"0123456789")
a = os.open(p, os.O_WRONLY | os.O_APPEND)
w = os.open(p, os.O_WRONLY)
os.write(a, b"A")
os.pwrite(w, b"XYZ", 20)            # grows the file through another fd
os.write(a, b"B")                   # must land at the new end (23)
os.lseek(a, 0, os.SEEK_SET)
os.write(a, b"C")                   # lseek does not matter with O_APPEND
os.close(a); os.close(w)
want = b"0123456789A" + b"\0" * 9 + b"XYZBC"
for f in (p, back):
    got = open(f, "rb").read()
    assert got == want, (f, got, want)
EOF
# two processes appending at once: no record lost or torn
py "$MNT/ap3" <<'EOF' || fail "concurrent O_APPEND writers (see above)"
import os, sys
p = sys.argv[1]
pids = []
for k in (b"a", b"b"):
    pid = os.fork()
    if pid == 0:
        fd = os.open(p, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        for i in range(2000):
            os.write(fd, k * 15 + b"\n")
        os._exit(0)
    pids.append(pid)
for pid in pids:
    assert os.waitpid(pid, 0)[1] == 0
lines = open(p, "rb").read().split(b"\n")[:-1]
assert len(lines) == 4000, "expected 4000 records, got %d" % len(lines)
assert all(l in (b"a" * 15, b"b" * 15) for l in lines), "torn record"
EOF

# --- times ---------------------------------------------------------------
note "timestamps"
echo t >"$MNT/tm"
step "touch -d" -- touch -d '2001-02-03 04:05:06.123456789 UTC' "$MNT/tm"
check_eq "mtime (backing)" 981173106 "$(stat -c %Y "$SRC/tm")"
check_eq "mtime (mount)" 981173106 "$(stat -c %Y "$MNT/tm")"
check_eq "atime (backing)" 981173106 "$(stat -c %X "$SRC/tm")"
check_eq "mtime nanoseconds (backing)" \
	"2001-02-03 04:05:06.123456789 +0000" "$(TZ=UTC stat -c %y "$SRC/tm")"
check_eq "mtime nanoseconds (mount)" \
	"2001-02-03 04:05:06.123456789 +0000" "$(TZ=UTC stat -c %y "$MNT/tm")"
if [ "$PFS_STANDIN" = bindfs ]; then
	note "touch -a / touch -m (UTIME_OMIT): skipped (bindfs 1.14 bug)"
else
	step "touch -a -d" -- touch -a -d '2002-01-01 00:00:00 UTC' "$MNT/tm"
	check_eq "atime after touch -a (backing)" 1009843200 "$(stat -c %X "$SRC/tm")"
	check_eq "mtime kept by touch -a (backing)" 981173106 "$(stat -c %Y "$SRC/tm")"
	step "touch -m -d" -- touch -m -d '2003-01-01 00:00:00 UTC' "$MNT/tm"
	check_eq "mtime after touch -m (backing)" 1041379200 "$(stat -c %Y "$SRC/tm")"
	check_eq "atime kept by touch -m (backing)" 1009843200 "$(stat -c %X "$SRC/tm")"
fi
mkdir "$MNT/tdir"
step "touch -d on a directory" -- touch -d '2004-01-01 00:00:00 UTC' "$MNT/tdir"
check_eq "dir mtime (backing)" 1072915200 "$(stat -c %Y "$SRC/tdir")"
ln -s tm "$MNT/tlink"
tm_mtime=$(stat -c %Y "$SRC/tm")
step "touch -h on a symlink" -- touch -h -d '2005-01-01 00:00:00 UTC' "$MNT/tlink"
check_eq "symlink mtime (backing)" 1104537600 "$(stat -c %Y "$SRC/tlink")"
check_eq "target mtime untouched by touch -h" "$tm_mtime" "$(stat -c %Y "$SRC/tm")"
before=$(stat -c %Y "$SRC/tm")
sleep 1.1
echo more >>"$MNT/tm"
[ "$(stat -c %Y "$SRC/tm")" -gt "$before" ] || fail "write through the mount did not update mtime"
[ "$(stat -c %Y "$MNT/tm")" -gt "$before" ] || fail "mtime through the mount not updated after write"

# --- modes and owners ----------------------------------------------------
note "chmod / chown"
echo m >"$MNT/perm"
for m in 640 4755 2711 1700 0; do
	step "chmod $m" -- chmod "$m" "$MNT/perm"
	check_eq "mode $m (backing)" "$m" "$(stat -c %a "$SRC/perm")"
	check_eq "mode $m (mount)" "$m" "$(stat -c %a "$MNT/perm")"
done
step "chown 1234:5678" -- chown 1234:5678 "$MNT/perm"
check_eq "owner (backing)" 1234:5678 "$(stat -c %u:%g "$SRC/perm")"
check_eq "owner (mount)" 1234:5678 "$(stat -c %u:%g "$MNT/perm")"
step "chgrp 42" -- chgrp 42 "$MNT/perm"
check_eq "owner after chgrp (backing)" 1234:42 "$(stat -c %u:%g "$SRC/perm")"
step "chown -h on a symlink" -- chown -h 777:778 "$MNT/tlink"
check_eq "symlink owner (backing)" 777:778 "$(stat -c %u:%g "$SRC/tlink")"
check_eq "symlink target owner untouched" 0:0 "$(stat -c %u:%g "$SRC/tm")"
printf '#!/bin/sh\necho ran\n' >"$MNT/script"
chmod 755 "$MNT/script"
check_eq "execute a script on the mount" ran "$(t 10 "$MNT/script")"

# --- special files -------------------------------------------------------
note "fifo, device node, socket"
step "mkfifo" -- mkfifo "$MNT/ff"
check_eq "fifo type (backing)" "fifo" "$(stat -c %F "$SRC/ff")"
check_eq "fifo type (mount)" "fifo" "$(stat -c %F "$MNT/ff")"
check_eq "data through a fifo on the mount" through-fifo \
	"$(t 10 bash -c 'echo through-fifo >"$1" & cat "$1"; wait' _ "$MNT/ff")"
step "mknod c 1 3" -- mknod "$MNT/null" c 1 3
check_eq "char device (backing)" "character special file 1,3" \
	"$(stat -c '%F %t,%T' "$SRC/null")"
check_eq "char device (mount)" "character special file 1,3" \
	"$(stat -c '%F %t,%T' "$MNT/null")"
py "$MNT/sock" <<'EOF' || fail "unix socket on the mount"
import socket, sys, os, stat
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
assert stat.S_ISSOCK(os.lstat(sys.argv[1]).st_mode)
s.close()
EOF
check_eq "socket type (backing)" "socket" "$(stat -c %F "$SRC/sock")"

# --- links ---------------------------------------------------------------
note "hard links and symlinks"
echo link >"$MNT/l1"
step "ln" -- ln "$MNT/l1" "$MNT/l2"
check_eq "same inode on backing" "$(stat -c %i "$SRC/l1")" "$(stat -c %i "$SRC/l2")"
check_eq "same inode through the mount" "$(stat -c %i "$MNT/l1")" "$(stat -c %i "$MNT/l2")"
# bindfs (high-level API) has one FUSE inode per path, attributes cached
# for 1 s: let them expire. panefs must be right at once.
settle() { [ "$PFS_STANDIN" != bindfs ] || sleep 1.1; }
settle
check_eq "nlink through the mount" 2 "$(stat -c %h "$MNT/l1")"
echo more >>"$MNT/l2"
settle
check_eq "write through one link seen through the other" "$(printf 'link\nmore')" "$(cat "$MNT/l1")"
rm "$MNT/l1"
settle
check_eq "nlink after rm of one link" 1 "$(stat -c %h "$MNT/l2")"
step "ln -s" -- ln -s "../some/where" "$MNT/sl"
check_eq "symlink target (backing)" "../some/where" "$(readlink "$SRC/sl")"
check_eq "symlink target (mount)" "../some/where" "$(readlink "$MNT/sl")"
check_eq "symlink size (mount)" 13 "$(stat -c %s "$MNT/sl")"

# --- rename --------------------------------------------------------------
note "mv -T, renameat2"
mkdir "$MNT/d1" "$MNT/d2"
echo in-d1 >"$MNT/d1/f"
step "mv -T dir over empty dir" -- mv -T "$MNT/d1" "$MNT/d2"
[ ! -e "$SRC/d1" ] && [ "$(cat "$SRC/d2/f")" = in-d1 ] || fail "mv -T result on backing"
echo a >"$MNT/fa"
echo b >"$MNT/fb"
step "mv -T file over file" -- mv -T "$MNT/fa" "$MNT/fb"
check_eq "mv -T file content" a "$(cat "$SRC/fb")"
mkdir -p "$MNT/x/y"
echo deep >"$MNT/x/y/z"
step "mv a directory across directories" -- mv "$MNT/x/y" "$MNT/d2/y"
check_eq "moved dir content (mount)" deep "$(cat "$MNT/d2/y/z")"
check_eq "moved dir content (backing)" deep "$(cat "$SRC/d2/y/z")"
echo A >"$MNT/ea"
mkdir "$MNT/eb"
echo B >"$MNT/eb/inner"
py "$MNT" "$PFS_STANDIN" <<'EOF' || fail "renameat2 (see above)"
import ctypes, errno, os, sys
m, standin = sys.argv[1], sys.argv[2]
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
def r2(a, b, flags):
    if libc.renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), flags) == 0:
        return 0
    return ctypes.get_errno()
j = lambda n: os.path.join(m, n)
# RENAME_NOREPLACE onto an existing name: EEXIST, nothing changes
e = r2(j("ea"), j("fb"), 1)
assert e == errno.EEXIST, "RENAME_NOREPLACE: expected EEXIST, got %s" % errno.errorcode.get(e, e)
assert open(j("ea")).read() == "A\n" and open(j("fb")).read() == "a\n"
if standin == "bindfs":
    print("renameat2 flags: skipped (bindfs 1.14 returns EINVAL for any flag)")
    sys.exit(0)
# RENAME_NOREPLACE onto a free name works
e = r2(j("ea"), j("ea2"), 1)
assert e == 0, "RENAME_NOREPLACE to a free name: %s" % errno.errorcode.get(e, e)
os.rename(j("ea2"), j("ea"))
# RENAME_EXCHANGE a file and a directory
e = r2(j("ea"), j("eb"), 2)
assert e == 0, "RENAME_EXCHANGE: %s" % errno.errorcode.get(e, e)
assert os.path.isdir(j("ea")) and open(j("ea/inner")).read() == "B\n"
assert open(j("eb")).read() == "A\n"
# RENAME_EXCHANGE with a missing name: ENOENT
e = r2(j("eb"), j("nope"), 2)
assert e == errno.ENOENT, "RENAME_EXCHANGE with missing target: %s" % errno.errorcode.get(e, e)
EOF
if [ "$PFS_STANDIN" != bindfs ]; then
	[ -d "$SRC/ea" ] && [ "$(cat "$SRC/eb")" = A ] || fail "RENAME_EXCHANGE not done on the backing dir"
fi

# --- locks ---------------------------------------------------------------
note "flock and fcntl locks between processes"
echo lock >"$MNT/lockfile"
py "$MNT/lockfile" <<'EOF' || fail "locks (see above)"
import fcntl, os, sys, time
p = sys.argv[1]
def child(fn):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            res = fn()
        except Exception as e:
            res = "exc:%r" % e
        os.write(w, res.encode())
        os._exit(0)
    os.close(w)
    out = b""
    while True:
        b = os.read(r, 100)
        if not b:
            break
        out += b
    os.waitpid(pid, 0)
    return out.decode()

def try_flock():
    fd = os.open(p, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return "got"
    except BlockingIOError:
        return "busy"

def try_lockf(start, length):
    def f():
        fd = os.open(p, os.O_RDWR)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, length, start)
            return "got"
        except (BlockingIOError, PermissionError):
            return "busy"
    return f

fd = os.open(p, os.O_RDWR)
fcntl.flock(fd, fcntl.LOCK_EX)
assert child(try_flock) == "busy", "flock: second process got an exclusive lock"
fcntl.flock(fd, fcntl.LOCK_UN)
assert child(try_flock) == "got", "flock: lock not released"
fcntl.flock(fd, fcntl.LOCK_SH)
def try_sh():
    fd2 = os.open(p, os.O_RDONLY)
    fcntl.flock(fd2, fcntl.LOCK_SH | fcntl.LOCK_NB)
    return "got"
assert child(try_sh) == "got", "flock: shared lock refused"
fcntl.flock(fd, fcntl.LOCK_UN)

fcntl.lockf(fd, fcntl.LOCK_EX, 100, 0)        # bytes 0..99
assert child(try_lockf(50, 10)) == "busy", "fcntl: overlapping range not locked"
assert child(try_lockf(100, 100)) == "got", "fcntl: disjoint range refused"
fcntl.lockf(fd, fcntl.LOCK_UN, 100, 0)
assert child(try_lockf(50, 10)) == "got", "fcntl: range not released"
# F_GETLK reports the holder
fcntl.lockf(fd, fcntl.LOCK_EX, 0, 0)
def getlk():
    import struct
    fd2 = os.open(p, os.O_RDWR)
    arg = struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 0, 0)
    res = fcntl.fcntl(fd2, fcntl.F_GETLK, arg)
    typ, _, _, _, pid = struct.unpack("hhqqi", res)
    return "%d %d" % (typ, pid)
typ, pid = child(getlk).split()
assert int(typ) == fcntl.F_WRLCK and int(pid) == os.getpid(), ("F_GETLK", typ, pid, os.getpid())
os.close(fd)
EOF

# --- xattrs and fsync ----------------------------------------------------
note "xattrs, fsync, fallocate"
echo x >"$MNT/xa"
step "setfattr" -- setfattr -n user.key -v value "$MNT/xa"
check_eq "xattr on backing" value "$(getfattr --absolute-names --only-values -n user.key "$SRC/xa")"
check_eq "xattr through mount" value "$(getfattr --absolute-names --only-values -n user.key "$MNT/xa")"
check_eq "listxattr through mount" "user.key" "$(getfattr -m 'user\.' --absolute-names "$MNT/xa" | grep -v '^#' | grep .)"
step "setfattr -x" -- setfattr -x user.key "$MNT/xa"
if getfattr -n user.key "$SRC/xa" >/dev/null 2>&1; then fail "xattr not removed on backing"; fi
py "$MNT/xa" <<'EOF' || fail "fsync/fdatasync/syncfs"
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.pwrite(fd, b"synced", 0)
os.fsync(fd)
os.fdatasync(fd)
import ctypes
assert ctypes.CDLL(None, use_errno=True).syncfs(fd) == 0
os.close(fd)
EOF
check_eq "content after fsync (backing)" synced "$(head -c 6 "$SRC/xa")"
if t 10 fallocate -l 8M "$MNT/fa8" 2>"$PFS_TMP/fa.err"; then
	check_eq "size after fallocate (backing)" $((8 * MiB)) "$(fsize "$SRC/fa8")"
	k=$(du_k "$SRC/fa8")
	[ "$k" -ge 8192 ] || fail "fallocate did not allocate on backing: du ${k} KiB"
	step "fallocate --punch-hole" -- fallocate -p -o 1M -l 4M "$MNT/fa8"
	k=$(du_k "$SRC/fa8")
	[ "$k" -le 5000 ] || fail "punch hole did not free space on backing: du ${k} KiB"
	check_eq "size kept by punch hole" $((8 * MiB)) "$(fsize "$MNT/fa8")"
	check "punched range reads zeros" cmp -i $((1 * MiB)):0 -n $((4 * MiB)) "$MNT/fa8" /dev/zero
elif [ "$PFS_STANDIN" = bindfs ]; then
	note "fallocate: not supported by bindfs ($(cat "$PFS_TMP/fa.err"))"
else
	fail "fallocate -l 8M on the mount failed: $(cat "$PFS_TMP/fa.err")"
fi

# --- errno values match the backing dir ----------------------------------
note "errno values compared with the backing dir"
for r in errm errb; do
	mkdir -p "$SRC/$r/dir" "$SRC/$r/full/sub"
	echo f >"$SRC/$r/file"
	echo f2 >"$SRC/$r/file2"
	setfattr -n user.k -v v "$SRC/$r/file"
	ln -s file "$SRC/$r/link"
done
t 60 python3 "$PFS_LIBDIR/errnos.py" "$MNT/errm" "$SRC/errb" >"$PFS_TMP/errnos.out" || {
	cat "$PFS_TMP/errnos.out" >&2
	fail "errno values through the mount differ from the backing dir (see above)"
}

# --- statfs --------------------------------------------------------------
note "statfs"
check "df on the mount" bash -c 'df -P "$1" >/dev/null' _ "$MNT"
check_eq "statfs total bytes (mount vs backing)" \
	$(($(stat -f -c '%b*%S' "$SRC"))) $(($(t 10 stat -f -c '%b*%S' "$MNT")))
check_eq "statfs total inodes (mount vs backing)" \
	"$(stat -f -c '%c' "$SRC")" "$(t 10 stat -f -c '%c' "$MNT")"

# --- the mount root is a boundary ----------------------------------------
note "mount root: .. and symlinks out"
ln -s /etc "$SRC/etclink"
ln -s "$PFS_TMP/outside" "$SRC/outlink"
mkdir -p "$SRC/sub/subsub"
ln -s ../../.. "$SRC/sub/subsub/up3"
check_eq "realpath MNT/.." "$PFS_TMP" "$(t 10 realpath "$MNT/..")"
check_eq "realpath MNT/sub/subsub/../../.." "$PFS_TMP" "$(t 10 realpath "$MNT/sub/subsub/../../..")"
check_eq "inode of MNT/.. is the dir holding MNT" "$(stat -c %d:%i "$PFS_TMP")" "$(t 10 stat -c %d:%i "$MNT/..")"
if t 10 ls -a "$MNT/.." | grep -q OUTSIDE-MARKER; then
	fail "ls MNT/.. lists the parent of SRC"
fi
check_eq "readlink of a symlink to /etc" /etc "$(t 10 readlink "$MNT/etclink")"
check_eq "type of the symlink to /etc" "symbolic link" "$(t 10 stat -c %F "$MNT/etclink")"
check_eq "readlink of ../../.." ../../.. "$(t 10 readlink "$MNT/sub/subsub/up3")"
# operations on a symlink must not follow it in the daemon
if t 10 setfattr -h -n user.evil -v 1 "$MNT/outlink" 2>/dev/null; then :; fi
if getfattr -n user.evil "$PFS_TMP/outside" >/dev/null 2>&1; then
	fail "setfattr -h on a symlink set the xattr on its target outside SRC"
fi
step "chown -h on a symlink pointing outside" -- chown -h 999:999 "$MNT/outlink"
check_eq "owner of the target outside SRC" 0:0 "$(stat -c %u:%g "$PFS_TMP/outside")"
step "touch -h on a symlink pointing outside" -- touch -h -d '2000-01-01 UTC' "$MNT/outlink"
[ "$(stat -c %Y "$PFS_TMP/outside")" != 946684800 ] || fail "touch -h changed the target outside SRC"
rm "$MNT/outlink"
[ -d "$PFS_TMP/outside" ] || fail "rm of a symlink removed its target"
[ ! -L "$SRC/outlink" ] || fail "rm of a symlink through the mount left it on backing"

# --- 30,000 files under RLIMIT_NOFILE ------------------------------------
N=30000
note "find over $N files (RLIMIT_NOFILE is $(ulimit -n))"
t 120 python3 - "$SRC/many" "$N" <<'EOF' || fail "creating $N files on the backing dir"
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for d in range(30):
    os.makedirs(os.path.join(root, "d%02d" % d))
for i in range(n):
    with open(os.path.join(root, "d%02d" % (i % 30), "f%05d" % i), "w") as f:
        f.write("%d\n" % i)
EOF
(cd "$SRC/many" && find . | LC_ALL=C sort) >"$PFS_TMP/find.b"
t 180 find "$MNT/many" -printf '%P %s %n\n' >"$PFS_TMP/find.m1" ||
	fail "find -printf (stat of every file) over $N files failed"
check_eq "entries seen by find" $((N + 30 + 1)) "$(wc -l <"$PFS_TMP/find.m1")"
t 180 bash -c 'cd "$1" && find . | LC_ALL=C sort' _ "$MNT/many" >"$PFS_TMP/find.m" ||
	fail "second find over $N files failed"
cmp -s "$PFS_TMP/find.b" "$PFS_TMP/find.m" || fail "find over $N files differs from the backing dir"
t 180 bash -c 'find "$1" -type f -exec cat {} + | wc -l' _ "$MNT/many" >"$PFS_TMP/catn" ||
	fail "opening all $N files through the mount failed"
check_eq "lines read from $N files" "$N" "$(cat "$PFS_TMP/catn")"
nfd=$(ls "/proc/$PFS_PID/fd" | wc -l)
note "daemon holds $nfd open descriptors after touching $N files"
[ "$nfd" -lt 10000 ] || fail "daemon holds $nfd descriptors after a find over $N files (limit 20000)"
t 120 rm -rf "$MNT/many" || fail "rm -rf of $N files through the mount"
[ ! -e "$SRC/many" ] || fail "rm -rf left files on the backing dir"

pfs_umount
