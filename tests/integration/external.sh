# external.sh - the daemon survives what other processes do to the backing
# files, and loses nothing when killed (DESIGN.md "Hard problems"):
#  - a backing file truncated under the daemon's windows: reads through the
#    mount past the new end give EIO or a short read (never hang, never
#    kill the daemon), and the mount keeps working;
#  - the same with a write into the cut-off range;
#  - data written through the mount is in the backing file after the daemon
#    is killed with SIGKILL (it lived in MAP_SHARED pages).
. "$(dirname "$0")/lib.sh"

MiB=1048576
pfs_mount cache=16M,window=1M
mkrand "$PFS_TMP/pat" $((8 * MiB))

alive() {
	[ -z "$PFS_PID" ] || kill -0 "$PFS_PID" 2>/dev/null ||
		fail "$1: the daemon died (see its log below)"
	t 10 stat "$MNT" >/dev/null || fail "$1: the mount no longer answers"
}

# --- truncated under a window, then read --------------------------------
cp "$PFS_TMP/pat" "$MNT/victim"
check "read victim through the mount" cmp "$PFS_TMP/pat" "$MNT/victim"
t 60 python3 - "$MNT/victim" "$SRC/victim" "$PFS_TMP/pat" <<'EOF' || fail "read after the backing file was truncated (see above)"
import errno, os, sys
mnt, back, pat = sys.argv[1:]
want = open(pat, "rb").read()
fd = os.open(mnt, os.O_RDONLY)
assert os.pread(fd, 1 << 20, 4 << 20) == want[4 << 20:5 << 20]   # window now mapped
os.truncate(back, 1 << 20)                                      # behind the daemon's back
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)              # make the kernel ask again
res = []
for off in (4 << 20, (1 << 20) - 100, 6 << 20):
    try:
        got = os.pread(fd, 65536, off)
        # data past the new end must not be the old bytes
        keep = max(0, (1 << 20) - off)
        assert got[:keep] == want[off:off + keep], "data below the new end changed"
        tail = got[keep:]
        assert tail.strip(b"\0") == b"", "old data returned past the new end at %d" % off
        res.append("%d:%d bytes" % (off, len(got)))
    except OSError as e:
        assert e.errno == errno.EIO, "read at %d: expected EIO or a short read, got %s" % (off, e)
        res.append("%d:EIO" % off)
os.close(fd)
print("reads after truncation:", ", ".join(res))
EOF
alive "after reads past a backing truncation"
sleep 1.1   # let cached attributes expire
check_eq "size through the mount after backing truncation" $MiB "$(fsize "$MNT/victim")"
check "content through the mount after backing truncation" \
	cmp -n $MiB "$MNT/victim" "$PFS_TMP/pat"

# --- truncated under a window, then written -----------------------------
cp "$PFS_TMP/pat" "$MNT/victim2"
t 60 python3 - "$MNT/victim2" "$SRC/victim2" <<'EOF' || fail "write after the backing file was truncated (see above)"
import errno, os, sys
mnt, back = sys.argv[1:]
fd = os.open(mnt, os.O_RDWR)
os.pread(fd, 4096, 5 << 20)                   # map the window at 5 MiB
os.truncate(back, 4096)
try:
    n = os.pwrite(fd, b"W" * 8192, (5 << 20) + 100)
    print("write after truncation: %d bytes" % n)
    os.fsync(fd)
    d = open(back, "rb").read()
    assert d[(5 << 20) + 100:(5 << 20) + 8292] == b"W" * 8192, "accepted write not in the backing file"
except OSError as e:
    assert e.errno in (errno.EIO, errno.ENOSPC), "write: expected success, EIO or ENOSPC, got %s" % e
    print("write after truncation:", errno.errorcode[e.errno])
os.close(fd)
EOF
alive "after a write past a backing truncation"

# --- many readers racing a truncating process ----------------------------
cp "$PFS_TMP/pat" "$SRC/race"
t 60 python3 - "$MNT/race" "$SRC/race" "$PFS_TMP/pat" <<'EOF' || fail "readers racing truncation (see above)"
import os, sys, threading
mnt, back, pat = sys.argv[1:]
data = open(pat, "rb").read()
stop = False
errs = []
def reader():
    while not stop:
        try:
            fd = os.open(mnt, os.O_RDONLY)
            for off in range(0, 8 << 20, 1 << 20):
                os.pread(fd, 1 << 20, off)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            os.close(fd)
        except OSError as e:
            if e.errno != 5:
                errs.append(e)
ts = [threading.Thread(target=reader) for _ in range(3)]
for t in ts: t.start()
for i in range(30):
    os.truncate(back, (i % 8) << 20)
    with open(back, "r+b") as f:
        f.write(data)
stop = True
for t in ts: t.join()
assert not errs, errs[:3]
print("racing readers: ok")
EOF
alive "after readers raced a truncating process"

# --- SIGKILL loses nothing already written -------------------------------
step "write 8 MiB through the mount" -- cp "$PFS_TMP/pat" "$MNT/durable"
step "overwrite 1 MiB in place" -- \
	dd if=/dev/zero of="$MNT/durable" bs=1M count=1 seek=3 conv=notrunc status=none
pfs_crash
{ head -c $((3 * MiB)) "$PFS_TMP/pat"; head -c $MiB /dev/zero; tail -c $((4 * MiB)) "$PFS_TMP/pat"; } >"$PFS_TMP/expect"
check "backing file after SIGKILL of the daemon holds every written byte" \
	cmp "$PFS_TMP/expect" "$SRC/durable"
pfs_mount cache=16M,window=1M
check "content through a new mount after the crash" cmp "$PFS_TMP/expect" "$MNT/durable"
pfs_umount
