# valgrind.sh - one integration run of the daemon under valgrind memcheck:
# no invalid access, no use of uninitialised memory, no definite leak.
#
# The daemon runs as
#   valgrind --tool=memcheck --error-exitcode=99 --leak-check=full
#            --errors-for-leak-kinds=definite panefs -f ...
# (through lib.sh's PANEFS_WRAPPER) while ordinary tools use the mount:
# cp/cmp of files spanning several windows with a cache of a few windows
# (eviction runs), truncate up and down, rename (also over a file),
# hard links, symlinks, chmod, xattrs, readdir of a few hundred names, a
# small sqlite database, an mmap write, and a backing file truncated from
# outside under a live window, which makes the daemon's copy fault with
# SIGBUS: valgrind must deliver it to safecopy's handler, whose siglongjmp
# turns it into EIO or a short read (checked: the daemon lives on).
# Pass = clean unmount, exit 0, and "ERROR SUMMARY: 0 errors" in the log.
#
# Skips (77) when valgrind is missing or the binary has ASan (the two do
# not mix). Everything under valgrind is ~20-50x slower: small files,
# generous per-step limits, the whole script under 3 minutes.
PANEFS_TEST_TIMEOUT=${PANEFS_TEST_TIMEOUT:-175}
. "$(dirname "$0")/lib.sh"

need_panefs "valgrind runs the panefs daemon itself"
pfs_sanitized && skip "the daemon is built with ASan; valgrind needs a plain build"
command -v valgrind >/dev/null || skip "valgrind missing"

VG_LOG=$PFS_TMP/valgrind.log
# --fair-sched: libfuse's worker threads get turns in order (valgrind runs
# one thread at a time). --trace-signals: proof below that the SIGBUS went
# to our handler. Suppressions: none needed so far.
export PANEFS_WRAPPER="valgrind --tool=memcheck --error-exitcode=99 \
--leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
--fair-sched=yes --num-callers=30 --trace-signals=yes --log-file=$VG_LOG"
export PANEFS_DAEMON_WAIT=60
PFS_DEFAULT_TIMEOUT=90

KiB=1024
MiB=1048576
alive() {
	kill -0 "$PFS_PID" 2>/dev/null || fail "$1: the daemon died (see valgrind.log)"
	t 30 stat "$MNT" >/dev/null || fail "$1: the mount no longer answers"
}

# window 64K, cache 256K: a 1 MiB file is 16 windows, 4 mapped at a time.
pfs_mount window=64K,cache=256K

# --- files across windows: cp in and out, cmp ---------------------------
mkrand "$PFS_TMP/a" $((MiB + 12345))
mkrand "$PFS_TMP/b" $((200 * KiB))
: >"$PFS_TMP/empty"
step "cp into the mount" -- cp "$PFS_TMP/a" "$PFS_TMP/b" "$PFS_TMP/empty" "$MNT/"
check "a through the mount" cmp "$PFS_TMP/a" "$MNT/a"
check "a in SOURCE" cmp "$PFS_TMP/a" "$SRC/a"
check "b through the mount" cmp "$PFS_TMP/b" "$MNT/b"
check_eq "empty file size" 0 "$(fsize "$MNT/empty")"
step "cp out of the mount" -- cp "$MNT/a" "$PFS_TMP/a.out"
check "a copied out" cmp "$PFS_TMP/a" "$PFS_TMP/a.out"
step "cp within the mount" -- cp "$MNT/a" "$MNT/a2"
check "a2" cmp "$PFS_TMP/a" "$SRC/a2"

# --- truncate, partial overwrite ---------------------------------------
step "truncate down" -- truncate -s 70000 "$MNT/a2"
check "truncated prefix" cmp -n 70000 "$PFS_TMP/a" "$MNT/a2"
check_eq "size after truncate down" 70000 "$(fsize "$MNT/a2")"
step "truncate up" -- truncate -s $((300 * KiB)) "$MNT/a2"
tsh "cmp -s <(head -c \$((300 * 1024 - 70000)) /dev/zero) <(tail -c +70001 '$MNT/a2')"
step "overwrite in the middle" -- dd if="$PFS_TMP/b" of="$MNT/a" bs=4K seek=30 \
	count=10 conv=notrunc status=none
tsh "cmp -s <(head -c 40960 '$PFS_TMP/b') <(tail -c +\$((30 * 4096 + 1)) '$SRC/a' | head -c 40960)"

# --- names: rename, links, modes ---------------------------------------
step "rename" -- mv "$MNT/a2" "$MNT/renamed"
check "old name gone" test ! -e "$MNT/a2"
step "rename over a file" -- mv "$MNT/renamed" "$MNT/b"
check_eq "b replaced" $((300 * KiB)) "$(fsize "$SRC/b")"
step "mkdir -p" -- mkdir -p "$MNT/d/e/f"
step "rename a dir" -- mv "$MNT/d/e" "$MNT/d/g"
check "renamed dir" test -d "$SRC/d/g/f"
step "hard link" -- ln "$MNT/a" "$MNT/d/hard"
check_eq "link count" 2 "$(stat -c %h "$MNT/a")"
step "symlink" -- ln -s ../a "$MNT/d/soft"
check_eq "readlink" ../a "$(readlink "$MNT/d/soft")"
check "through the symlink" cmp "$MNT/a" "$MNT/d/soft"
step "chmod" -- chmod 640 "$MNT/a"
check_eq "mode" 640 "$(stat -c %a "$SRC/a")"
step "touch -d" -- touch -d '2001-02-03 04:05:06' "$MNT/empty"
check_eq "mtime" 981173106 "$(stat -c %Y "$SRC/empty")"
step "rm" -- rm "$MNT/d/hard" "$MNT/d/soft"
step "rmdir" -- rmdir "$MNT/d/g/f" "$MNT/d/g"

# --- xattrs -------------------------------------------------------------
if setfattr -n user.probe -v 1 "$SRC/empty" 2>/dev/null; then
	step "setfattr" -- setfattr -n user.panefs -v hello "$MNT/b"
	check_eq "getfattr" hello "$(getfattr --only-values -n user.panefs "$MNT/b")"
	tsh "getfattr -d '$MNT/b' | grep -q user.panefs"
	step "removexattr" -- setfattr -x user.panefs "$MNT/b"
	tsh "! getfattr -n user.panefs '$SRC/b' 2>/dev/null"
else
	note "no user xattrs on the backing file system: skipping that part"
fi

# --- readdir ------------------------------------------------------------
step "300 files" -- bash -c 'for i in $(seq 1 300); do : >"$MNT/d/f$i"; done'
check_eq "readdir" "$(ls -a "$SRC/d" | sort)" "$(ls -a "$MNT/d" | sort)"
check_eq "readdirplus (ls -l) count" 303 "$(ls -la "$MNT/d" | wc -l)"
step "find" -- find "$MNT" -xdev -type f -newer "$MNT/empty" -print -quit

# --- sqlite -------------------------------------------------------------
if command -v sqlite3 >/dev/null; then
	step -t 120 "sqlite3 small database" -- sqlite3 "$MNT/db.sqlite" \
		"create table t(k integer primary key, v text);" \
		"with recursive c(x) as (select 1 union all select x + 1 from c where x < 500) insert into t select x, hex(randomblob(40)) from c;" \
		"delete from t where k % 3 = 0;" "vacuum;"
	check_eq "sqlite integrity" ok "$(t 60 sqlite3 "$MNT/db.sqlite" 'pragma integrity_check;')"
	check_eq "sqlite rows" 334 "$(t 60 sqlite3 "$SRC/db.sqlite" 'select count(*) from t;')"
fi

# --- mmap through the mount ----------------------------------------------
tsh "python3 - '$MNT/b' <<'PY'
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, 0)
m[100:105] = b'MMAPW'
m.flush()
m.close()
os.close(fd)
PY"
check_eq "mmap write reached SOURCE" MMAPW "$(dd if="$SRC/b" bs=1 skip=100 count=5 status=none)"

# --- SIGBUS: the backing file truncated under a live window --------------
# A read maps the window (its reply points into it); after the backing file
# is cut from outside, a read reply faults in the kernel (EFAULT path) and
# a write into the still-cached window faults in the daemon's own copy:
# that is the SIGBUS that safecopy's handler must catch, under valgrind.
mkrand "$PFS_TMP/v" $((MiB))
step "victim" -- cp "$PFS_TMP/v" "$MNT/victim"
step "victim2" -- cp "$PFS_TMP/v" "$MNT/victim2"
t 90 python3 - "$MNT/victim" "$SRC/victim" "$PFS_TMP/v" <<'PY' || fail "read after the backing file was truncated (see above)"
import errno, os, sys
mnt, back, pat = sys.argv[1:]
want = open(pat, "rb").read()
fd = os.open(mnt, os.O_RDONLY)
assert os.pread(fd, 65536, 512 << 10) == want[512 << 10:576 << 10]  # window mapped
os.truncate(back, 4096)                                           # from outside
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)                # ask the daemon again
faults = 0
for off in (512 << 10, 600 << 10):
    try:
        got = os.pread(fd, 65536, off)
        assert got.strip(b"\0") == b"", "old data past the new end"
    except OSError as e:
        assert e.errno == errno.EIO, "expected EIO or a short read, got %s" % e
        faults += 1
os.close(fd)
print("reads past a backing truncation: %d EIO" % faults)
PY
alive "after a read past a backing truncation"
t 90 python3 - "$MNT/victim2" "$SRC/victim2" <<'PY' || fail "write after the backing file was truncated (see above)"
import errno, os, sys
mnt, back = sys.argv[1:]
fd = os.open(mnt, os.O_RDWR)
os.pread(fd, 4096, 512 << 10)                   # map the window at 512 KiB
os.truncate(back, 4096)                         # from outside
try:
    n = os.pwrite(fd, b"W" * 8192, (512 << 10) + 100)
    os.fsync(fd)
    d = open(back, "rb").read()
    assert d[(512 << 10) + 100:(512 << 10) + 8292] == b"W" * 8192, "accepted write not in the backing file"
    print("write after truncation: %d bytes, in the backing file" % n)
except OSError as e:
    assert e.errno in (errno.EIO, errno.ENOSPC), "write: expected success, EIO or ENOSPC, got %s" % e
    print("write after truncation:", errno.errorcode[e.errno])
os.close(fd)
PY
alive "after a write past a backing truncation"
sleep 1.1 # cached attributes expire
check_eq "new size seen" 4096 "$(fsize "$MNT/victim")"
check "content below the new end" cmp -n 4096 "$PFS_TMP/v" "$MNT/victim"

# --- statfs, unmount, verdict -------------------------------------------
step "df" -- df "$MNT"
pfs_umount
grep -q 'ERROR SUMMARY: 0 errors' "$VG_LOG" || {
	cat "$VG_LOG" >&2
	fail "valgrind reported errors (log above)"
}
if grep -q 'Process terminating with default action' "$VG_LOG"; then
	cat "$VG_LOG" >&2
	fail "a signal killed the daemon under valgrind"
fi
# --trace-signals shows the SIGBUS of the write above going to the guest's
# handler (push_signal_frame), from the copy in safecopy.c, and the run
# went on: valgrind handles the handler's siglongjmp.
grep -q 'delivering signal 7 (SIGBUS)' "$VG_LOG" &&
	grep -q 'push_signal_frame (thread [0-9]*): signal 7' "$VG_LOG" || {
	cat "$VG_LOG" >&2
	fail "no SIGBUS reached the daemon's handler: the write past a backing truncation no longer faults in the daemon; update this test"
}
note "valgrind: $(grep -E 'ERROR SUMMARY|definitely lost|total heap usage' "$VG_LOG" | sed 's/^==[0-9]*== *//' | tr '\n' ';')"
