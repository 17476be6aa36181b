# faults.sh - faults provoked for real in the data path (DESIGN.md "Hard
# problems"; issue 4, items 1 and 2). Beyond external.sh (one truncate under
# one reader or writer):
#  (a) the backing file truncated (shrunk or grown) by another process, 40
#      times over 20 rounds with random sizes, while 3 reader and 2 writer
#      processes use it through the mount: callers get data, short reads,
#      EIO or ENOSPC, never a hang (10 s per round to stop); the daemon lives;
#      once the mount shows the new size, a fresh read equals the backing
#      file byte for byte.
#  (b) the kernel faulting while it copies a zero-copy read reply out of a
#      window: the test-only hook PANEFS_TEST_REPLY_DELAY_US holds the pinned
#      reply back while the backing file is truncated below the read. The
#      kernel fails the reply (EFAULT to the daemon, EIO to the reader): the
#      reader gets EIO (or a short read) promptly, the daemon lives and logs
#      each faulted reply, and later reads are correct.
. "$(dirname "$0")/lib.sh"

need_panefs "fault handling of panefs"
MiB=1048576

alive() {
	_pfs_alive "$PFS_PID" || fail "$1: the daemon died (see its log below)"
	t 10 stat "$MNT" >/dev/null || fail "$1: the mount no longer answers"
}

# --- (a) truncation races with readers and writers ----------------------
# Small windows and a small cache: many windows live, evicted all the time.
pfs_mount cache=4M,window=256K
: >"$SRC/race"
out=$(t 120 python3 "$PFS_LIBDIR/faults_race.py" "$MNT/race" "$SRC/race" 20 4) ||
	fail "truncation race (see above)"
# libfuse logs every reply the kernel refused ("fuse: writing device:
# Bad address"): here, zero-copy replies that met a truncated page.
efault=$(grep -c 'writing device: Bad address' "$PFS_LOG" || true)
note "race: $out; zero-copy replies faulted in the kernel: $efault"
alive "after 20 rounds of truncation races"
pfs_umount

# --- (b) a zero-copy reply that faults in the kernel ---------------------
export PANEFS_TEST_REPLY_DELAY_US=400000
pfs_mount cache=16M,window=1M
unset PANEFS_TEST_REPLY_DELAY_US
mkrand "$PFS_TMP/pat" $((8 * MiB))
rounds=0
# (read offset, read size, new size): past the new end, straddling it, and
# the whole range gone
for spec in "$((4 * MiB)) $MiB $MiB" "$MiB $MiB $((MiB + MiB / 2))" \
	"$((6 * MiB)) 65536 0" "$((2 * MiB)) $((2 * MiB)) $((3 * MiB - 4096))"; do
	read -r roff rsize nsize <<<"$spec"
	# a new name each round: no attributes cached by the kernel yet
	f=ef$rounds
	cp "$PFS_TMP/pat" "$SRC/$f"
	t 30 python3 - "$MNT/$f" "$SRC/$f" "$PFS_TMP/pat" "$roff" "$rsize" "$nsize" <<'EOF' || fail "faulted reply: read $rsize@$roff, truncate to $nsize (see above)"
import errno, os, sys, threading, time
mnt, back, pat = sys.argv[1:4]
roff, rsize, nsize = map(int, sys.argv[4:7])
want = open(pat, "rb").read()
fd = os.open(mnt, os.O_RDONLY)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
res = {}
def rd():
    t0 = time.monotonic()
    try:
        res["got"] = os.pread(fd, rsize, roff)
    except OSError as e:
        res["err"] = e.errno
    res["secs"] = time.monotonic() - t0
th = threading.Thread(target=rd)
th.start()
time.sleep(0.15)              # the daemon has pinned and sleeps before replying
os.truncate(back, nsize)      # behind its back
th.join(10)
assert not th.is_alive(), "reader still blocked 10 s after the truncate"
os.close(fd)
if "err" in res:
    assert res["err"] == errno.EIO, "expected EIO, got %s" % errno.errorcode[res["err"]]
    what = "EIO"
else:
    # A short read is allowed. Below the new end: the old bytes; past it:
    # never old data (the kernel may zero-fill a page it had asked for).
    got = res["got"]
    keep = max(0, nsize - roff)
    assert got[:keep] == want[roff:roff + len(got[:keep])], "data below the new end changed"
    assert got[keep:].strip(b"\0") == b"", "old data returned past the new end"
    what = "short read of %d" % len(got)
assert res["secs"] < 5, "reader took %.1f s" % res["secs"]
print("read %d@%d, truncated to %d: %s after %.2f s" % (rsize, roff, nsize, what, res["secs"]))
EOF
	alive "after a faulted reply"
	# The mount converges: new size within the attribute timeout, and a
	# fresh read (its replies delayed too) equals the backing file.
	tsh -t 20 'for i in $(seq 30); do [ "$(stat -c %s "$MNT/'"$f"'")" = '"$nsize"' ] && exit 0; sleep 0.1; done; exit 1'
	check "content after the faulted reply" cmp "$MNT/$f" "$SRC/$f"
	rounds=$((rounds + 1))
done
faults=$(grep -c 'read reply faulted (EFAULT)' "$PFS_LOG" || true)
note "$rounds truncations inside a pinned reply; daemon counted $faults faulted replies"
[ "$faults" -ge 1 ] || fail "no reply faulted: the EFAULT path was not exercised"
alive "after the faulted replies"
pfs_umount
