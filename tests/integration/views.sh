# views.sh - views mode (-o views=FILE): a table of byte ranges of backing
# files shown as fixed-size files.
#   - every table error: exit status 2, one stderr line
#     "panefs: FILE:LINE: reason" with the right line, nothing mounted;
#   - stat of views (size = view, mode/owner/mtime = backing file's) and of
#     the made-up directories (r-x of SOURCE's root, SOURCE's owner);
#   - cat/cp/sha256sum/mmap of views = dd of the backing ranges;
#   - reads and writes at the edges: last byte, one past, straddling writes
#     (dd conv=notrunc and os.pwrite: exact counts, ENOSPC);
#   - truncate and O_TRUNC refused (EPERM), ro views (EROFS), chmod/chown
#     EPERM, times set through rw views land on the backing file;
#   - no namespace changes (create/mkdir/unlink/rename/link: EPERM);
#   - overlapping rw views see each other's writes at once;
#   - a "-" view follows an outside append; a view above 2 TiB of a 3 TiB
#     sparse file; a 1,000-view table mounts and lists quickly;
#   - a read-only mount (-o ro): every write EROFS.
. "$(dirname "$0")/lib.sh"
need_panefs "views mode is panefs-only"

KiB=1024
MiB=$((1024 * KiB))
GiB=$((1024 * MiB))
TiB=$((1024 * GiB))

# --- python helpers: exact return values and errnos -----------------------
PYPRE='
import errno, mmap, os, stat, sys, time
def en(e):
    return errno.errorcode.get(e, str(e))
def expect_err(what, want, fn, *a):
    """fn(*a) must fail with errno want (or one of the tuple want)."""
    ws = want if isinstance(want, tuple) else (want,)
    try:
        r = fn(*a)
    except OSError as e:
        if e.errno not in ws:
            sys.exit("%s: expected %s, got %s" % (what, "/".join(map(en, ws)), en(e.errno)))
        return
    sys.exit("%s: expected %s, succeeded (returned %r)" % (what, "/".join(map(en, ws)), r))
def expect_eq(what, want, got):
    if want == got:
        return
    if isinstance(want, bytes) and isinstance(got, bytes):
        i = next((k for k in range(min(len(want), len(got))) if want[k] != got[k]), min(len(want), len(got)))
        sys.exit("%s: %d bytes expected, %d got, first difference at byte %d (expected %r, got %r)"
                 % (what, len(want), len(got), i, want[i:i + 8], got[i:i + 8]))
    sys.exit("%s: expected %s, got %s" % (what, repr(want)[:200], repr(got)[:200]))
def backing(path, off, n):
    with open(path, "rb") as f:
        f.seek(off)
        return f.read(n)
'
# py CODE ARGS... : run python with the helpers above, under a time limit
py() {
	local code=$1
	shift
	t 60 python3 -c "$PYPRE$code" "$@"
}
# pycheck DESC CODE ARGS... : like py; a failure is reported and the test
# goes on (fails at the end)
pycheck() {
	local desc=$1 rc=0
	shift
	py "$@" || rc=$?
	if [ "$rc" = 0 ]; then note "ok: $desc"; else fail_later "$desc (python exit $rc)"; fi
}
# range_sha FILE OFF LEN : sha256 of LEN bytes at OFF of FILE (dd)
range_sha() {
	t 120 bash -c 'set -o pipefail
		dd if="$1" iflag=skip_bytes,count_bytes skip="$2" count="$3" bs=1M status=none |
		sha256sum | cut -d" " -f1' _ "$@"
}
# range_to FILE OFF LEN OUT : copy LEN bytes at OFF of FILE to OUT (dd)
range_to() {
	t 120 dd if="$1" of="$4" iflag=skip_bytes,count_bytes skip="$2" count="$3" bs=1M status=none
}

# --- backing tree -----------------------------------------------------------
mkrand "$SRC/data" $((8 * MiB))
cp "$SRC/data" "$PFS_TMP/data.orig"
mkdir "$SRC/sub" "$SRC/adir"
mkrand "$SRC/sub/small" 5000
echo "outside SOURCE" >"$PFS_TMP/outside"
ln -s /etc/passwd "$SRC/abs_link"       # absolute symlink: leaves SOURCE
ln -s ../outside "$SRC/rel_out"         # relative symlink out of SOURCE
ln -s sub/small "$SRC/in_link"          # relative symlink staying inside: fine
truncate -s 1M "$SRC/zeros"             # no partition table
mkrand "$SRC/growing" 1000
mkrand "$SRC/meta" 3000
chmod 0604 "$SRC/meta"
chown 1234:2345 "$SRC/meta"
touch -d @1500000000 "$SRC/meta"
truncate -s $((3 * TiB)) "$SRC/huge"    # sparse
HI_OFF=$((2 * TiB + 5 * MiB + 7))       # above 2 TiB, unaligned
HI_LEN=$((4 * MiB))

# ===========================================================================
# 1. errors in the table: exit 2, one line "panefs: FILE:LINE: reason",
#    nothing mounted
# ===========================================================================
TAB=$PFS_TMP/bad.views
NBAD=0

# table LINE... : write the lines to $TAB
table() {
	printf '%s\n' "$@" >"$TAB"
}

# bad_table DESC LINE PATTERN : panefs -o views=$TAB must refuse the table
# with exit status 2 and exactly one stderr line that starts with
# "panefs: $TAB:LINE: " (LINE "-": "panefs: ", no line number) and matches
# PATTERN (grep -E). Run without -f: a table wrongly accepted would
# daemonize and mount, which is caught and undone.
bad_table() {
	local prefix="panefs: $TAB:$2: "
	NBAD=$((NBAD + 1))
	[ "$2" = - ] && prefix="panefs: "
	pfs_refused "$1" "$prefix" "$3" "views=$TAB"
}

table '# views' '' 'good  data  0  100' 'bad   nosuch  0  10'
bad_table "unknown BACKING (line 4 after a comment and a blank line)" 4 'unknown BACKING'
table 'x  sub/nosuch  0  1'
bad_table "unknown BACKING in a subdirectory" 1 'unknown BACKING'
table 'a data 0 1' 'x  /etc/passwd  0  10'
bad_table "absolute BACKING" 2 'leaves SOURCE'
table 'a data 0 1' 'b data 1 1' 'x  ../outside  0  1'
bad_table "BACKING with .." 3 'leaves SOURCE'
table 'x  sub/../../outside  0  1'
bad_table "BACKING with .. in the middle" 1 'leaves SOURCE'
table '# symlinks' 'x  abs_link  0  1'
bad_table "BACKING an absolute symlink out of SOURCE" 2 'leaves SOURCE'
table 'ok in_link 0 1' 'x  rel_out  0  1'
bad_table "BACKING a relative symlink out of SOURCE" 2 'leaves SOURCE'
table 'x  sub/small  5001  -'
bad_table "OFFSET past the end (size 5000)" 1 'past the end'
table 'fits sub/small 4000 1000' 'x  sub/small  4000  1001'
bad_table "OFFSET + LENGTH one past the end" 2 'past the end'
table 'x  sub/small  5000  1'
bad_table "OFFSET at the end, LENGTH 1" 1 'past the end'
table 'x  data  9T  1K'
bad_table "OFFSET in TiB past the end" 1 'past the end'
table 'a data 0 1' 'b data 0 1' 'a data 5 1'
bad_table "duplicate NAME" 3 'duplicate NAME'
table 'd/e data 0 1' '# same after normalisation' 'd//e/ data 5 1'
bad_table "duplicate NAME after normalisation" 3 'duplicate NAME'
table 'a data 0 1' 'c data 0 1' 'a/b data 0 1'
bad_table "NAME also a directory (file first)" 3 'is also a directory|is under .a., which is a view'
table 'a/b/c data 0 1' 'x data 0 1' 'a/b data 0 1'
bad_table "NAME also a directory (directory first)" 3 'is also a directory'
table 'x  data  12X  10'
bad_table "bad OFFSET 12X" 1 'bad OFFSET'
table 'ok data 0 1' 'x  data  -  10'
bad_table "bad OFFSET -" 2 'bad OFFSET'
table 'x  data  0  abc'
bad_table "bad LENGTH abc" 1 'bad LENGTH'
table 'x  data  0  -5'
bad_table "bad LENGTH -5" 1 'bad LENGTH'
table 'ok data 0 1' '' 'p  zeros  partitions'
bad_table "partitions of an image with no table" 3 'no partition table'
table 'x  adir  0  1'
bad_table "BACKING a directory" 1 'not a regular file'
TAB=$PFS_TMP/no-such.views
bad_table "missing views file" - "cannot read views file"
TAB=$PFS_TMP/empty.views
table '# nothing' ''
bad_table "a table with no views" - 'no views'
TAB=$PFS_TMP/bad.views
note "$NBAD bad tables checked"
pfs_is_mounted && fail "something is mounted on $MNT after the bad tables"

# ===========================================================================
# 2. one mount with many kinds of views
# ===========================================================================
EDGE_OFF=$((MiB + 3))
EDGE_LEN=10000
GROW_LEN0=900
TAB=$PFS_TMP/main.views
# the directories' attributes come from SOURCE's root
chmod 0750 "$SRC"
chown 1234:2345 "$SRC"
cat >"$TAB" <<EOF
# NAME          BACKING     OFFSET          LENGTH      MODE
edge		data		$EDGE_OFF	$EDGE_LEN	# unaligned, crosses a window
head            data        0               65536
whole           data        0               -
tail            data        $((7 * MiB + 1))   -
ro1             data        4096            8192        ro
big             data        1M              3M          rw
suf             data        1K              2K
o/one           data        2M              128K
o/two           data        $((2 * MiB + 64 * KiB))   128K
deep/a/b/c      sub/small   10              100
link            in_link     7               -
empty           data        5               0
sp\ ace         data        100             100
grow            growing     100             -
growfix         growing     0               500
hi              huge        $HI_OFF         $HI_LEN
meta            meta        0               -
metaro          meta        3               5           ro
EOF
pfs_mount window=64K,cache=1M,views="$TAB"

# --- the tree -----------------------------------------------------------------
check_eq "names at the top" \
	"big deep edge empty grow growfix head hi link meta metaro o ro1 sp ace suf tail whole" \
	"$(LC_ALL=C t 10 ls -A "$MNT" | tr '\n' ' ' | sed 's/ $//')"
check_eq "names in o/" "one two" "$(LC_ALL=C t 10 ls -A "$MNT/o" | tr '\n' ' ' | sed 's/ $//')"
check_eq "names in deep/a/b" "c" "$(t 10 ls -A "$MNT/deep/a/b")"
for d in "" /o /deep /deep/a /deep/a/b; do
	check_eq "directory $MNT$d: type, mode (r-x of SOURCE's 0750), owner" \
		"directory 550 1234 2345" "$(t 10 stat -c '%F %a %u %g' "$MNT$d")"
done

# --- stat: size from the view, the rest from the backing file -----------------
check_eq "meta: size mode uid gid mtime = backing's" \
	"$(stat -c '%s %a %u %g %Y' "$SRC/meta")" "$(t 10 stat -c '%s %a %u %g %Y' "$MNT/meta")"
check_eq "metaro: size 5, mode uid gid mtime = backing's" \
	"5 $(stat -c '%a %u %g %Y' "$SRC/meta")" "$(t 10 stat -c '%s %a %u %g %Y' "$MNT/metaro")"
check_eq "meta: mtime is the one set on the backing file" 1500000000 "$(t 10 stat -c %Y "$MNT/meta")"
check_eq "edge: size mode uid = view, backing's" \
	"$EDGE_LEN $(stat -c '%a %u %g' "$SRC/data")" "$(t 10 stat -c '%s %a %u %g' "$MNT/edge")"
check_eq "regular files" "regular file" "$(t 10 stat -c %F "$MNT/edge")"
# the size of every view
while read -r n s; do
	check_eq "size of $n" "$s" "$(t 10 stat -c %s "$MNT/$n")"
done <<EOF
edge $EDGE_LEN
head 65536
whole $((8 * MiB))
tail $((MiB - 1))
ro1 8192
big $((3 * MiB))
suf 2048
o/one $((128 * KiB))
o/two $((128 * KiB))
deep/a/b/c 100
link 4993
empty 0
grow $GROW_LEN0
growfix 500
hi $HI_LEN
meta 3000
metaro 5
EOF
check_eq "size of 'sp ace'" 100 "$(t 10 stat -c %s "$MNT/sp ace")"
note "ok: sizes of 18 views"

# --- content: cat, cp, sha256sum, mmap = dd of the backing ranges -------------
while read -r n b off len; do
	[ "$len" = - ] && len=$(($(stat -c %s "$SRC/$b") - off))
	want=$(range_sha "$SRC/$b" "$off" "$len")
	got=$(t 60 sha256sum "$MNT/$n" | cut -d' ' -f1)
	[ "$got" = "$want" ] || fail_later "sha256sum $n differs from dd of $b at $off+$len"
	got=$(t 60 bash -c 'cat "$1" | sha256sum' _ "$MNT/$n" | cut -d' ' -f1)
	[ "$got" = "$want" ] || fail_later "cat $n | sha256sum differs from dd of $b at $off+$len"
	rm -f "$PFS_TMP/cp.out" "$PFS_TMP/dd.out"
	t 60 cp "$MNT/$n" "$PFS_TMP/cp.out" || fail_later "cp $n failed"
	range_to "$SRC/$b" "$off" "$len" "$PFS_TMP/dd.out"
	t 60 cmp "$PFS_TMP/cp.out" "$PFS_TMP/dd.out" || fail_later "cp of $n differs from dd of $b at $off+$len"
done <<EOF
edge data $EDGE_OFF $EDGE_LEN
head data 0 65536
whole data 0 -
tail data $((7 * MiB + 1)) -
ro1 data 4096 8192
big data $MiB $((3 * MiB))
suf data 1024 2048
o/one data $((2 * MiB)) $((128 * KiB))
o/two data $((2 * MiB + 64 * KiB)) $((128 * KiB))
deep/a/b/c sub/small 10 100
link sub/small 7 -
empty data 5 0
grow growing 100 -
growfix growing 0 500
meta meta 0 -
metaro meta 3 5
EOF
check "'sp ace' (escaped space in NAME) = data at 100" \
	cmp -n 100 -i 0:100 "$MNT/sp ace" "$SRC/data"
note "ok (unless reported above): sha256sum/cat/cp of 17 views = dd of the backing ranges"
# Views that overlap another (all of these overlap "whole") are served with
# direct I/O, so they map privately only; a view that overlaps nothing
# (hi, the only view of huge) maps shared as well. (deep/a/b/c and link
# overlap: in_link is a symlink to sub/small.)
pycheck "mmap read of edge, big, tail = the backing ranges" '
for name, off, n in (("edge", int(sys.argv[3]), int(sys.argv[4])),
                     ("big", 1 << 20, 3 << 20), ("tail", 7 * (1 << 20) + 1, (1 << 20) - 1)):
    with open(os.path.join(sys.argv[1], name), "rb") as f:
        m = mmap.mmap(f.fileno(), 0, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ)
        expect_eq("mmap length of " + name, n, len(m))
        if m[:] != backing(sys.argv[2], off, n):
            sys.exit("mmap of %s differs from the backing range" % name)
        m.close()
with open(os.path.join(sys.argv[1], "edge"), "rb") as f:
    try:
        mmap.mmap(f.fileno(), 0, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
        sys.exit("MAP_SHARED of an overlapping view worked")
    except OSError as e:
        if e.errno != errno.ENODEV:
            raise
' "$MNT" "$SRC/data" "$EDGE_OFF" "$EDGE_LEN"
pycheck "MAP_SHARED of a view that overlaps nothing (hi) = the backing range" '
off, n = int(sys.argv[3]), int(sys.argv[4])
with open(os.path.join(sys.argv[1], "hi"), "rb") as f:
    m = mmap.mmap(f.fileno(), 0, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
    expect_eq("mmap length of hi", n, len(m))
    if m[:] != backing(sys.argv[2], off, n):
        sys.exit("mmap of hi differs from the backing range")
    m.close()
' "$MNT" "$SRC/huge" "$HI_OFF" "$HI_LEN"

# --- reads and writes at the edges (edge: 10000 bytes at 1 MiB + 3) ----------
pycheck "edge reads: last byte, one past, straddling, far past" '
v, b, off, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
fd = os.open(v, os.O_RDONLY)
expect_eq("pread last byte", backing(b, off + n - 1, 1), os.pread(fd, 1, n - 1))
expect_eq("pread one past the end", b"", os.pread(fd, 1, n))
expect_eq("pread 100 at end-10 (10 bytes)", backing(b, off + n - 10, 10), os.pread(fd, 100, n - 10))
expect_eq("pread far past the end", b"", os.pread(fd, 4096, n + 12345))
expect_eq("pread 1 MiB at 0 (whole view)", backing(b, off, n), os.pread(fd, 1 << 20, 0))
os.lseek(fd, n, os.SEEK_SET)
expect_eq("read at EOF", b"", os.read(fd, 10))
os.close(fd)
' "$MNT/edge" "$SRC/data" "$EDGE_OFF" "$EDGE_LEN"
check "dd of the last byte of edge" \
	bash -c 'cmp <(dd if="$1" bs=1 skip=$(($3 - 1)) count=1 status=none) \
		<(dd if="$2" bs=1 skip=$(($4 + $3 - 1)) count=1 status=none)' _ \
	"$MNT/edge" "$SRC/data" "$EDGE_LEN" "$EDGE_OFF"
check_eq "dd one past the end of edge reads 0 bytes" 0 \
	"$(t 10 dd if="$MNT/edge" bs=1 skip="$EDGE_LEN" count=1 status=none | wc -c)"

pycheck "edge writes: last byte, one past (ENOSPC), straddling (short), far past" '
v, b, off, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
after = backing(b, off + n, 4096)          # bytes just past the view
fd = os.open(v, os.O_RDWR)
expect_eq("pwrite of the last byte", 1, os.pwrite(fd, b"L", n - 1))
expect_eq("backing has the last byte", b"L", backing(b, off + n - 1, 1))
expect_err("pwrite 1 byte one past the end", errno.ENOSPC, os.pwrite, fd, b"X", n)
expect_err("pwrite 10 bytes far past the end", errno.ENOSPC, os.pwrite, fd, b"Y" * 10, n + 100000)
expect_eq("pwrite 100 bytes at end-40 (cut to 40)", 40, os.pwrite(fd, b"S" * 100, n - 40))
expect_eq("backing has the 40 bytes", b"S" * 40, backing(b, off + n - 40, 40))
expect_eq("pwrite 64 KiB at end-4096 (cut to 4096)", 4096, os.pwrite(fd, b"T" * 65536, n - 4096))
expect_eq("backing has the 4096 bytes", b"T" * 4096, backing(b, off + n - 4096, 4096))
os.lseek(fd, n, os.SEEK_SET)
expect_err("write at EOF", errno.ENOSPC, os.write, fd, b"Z")
expect_eq("pwrite at 0 inside", 5, os.pwrite(fd, b"first", 0))
expect_eq("backing has the first bytes", b"first", backing(b, off, 5))
expect_eq("size after the writes", n, os.fstat(fd).st_size)
os.fsync(fd)
os.close(fd)
expect_eq("bytes past the view untouched", after, backing(b, off + n, 4096))
expect_eq("backing file size unchanged", 8 << 20, os.stat(b).st_size)
expect_eq("view size unchanged", n, os.stat(v).st_size)
' "$MNT/edge" "$SRC/data" "$EDGE_OFF" "$EDGE_LEN"

# dd conv=notrunc: a block that fits exactly, one that straddles the end
mkrand "$PFS_TMP/pat300" 300
range_to "$SRC/data" $((EDGE_OFF + EDGE_LEN)) 4096 "$PFS_TMP/after.before"
check "dd bs=100 of the last block of edge (fits exactly)" \
	dd if="$PFS_TMP/pat300" of="$MNT/edge" bs=100 count=1 seek=$((EDGE_LEN / 100 - 1)) conv=notrunc status=none
check "the backing file has the last block" \
	cmp -n 100 -i 0:$((EDGE_OFF + EDGE_LEN - 100)) "$PFS_TMP/pat300" "$SRC/data"
rc=0
t 10 dd if="$PFS_TMP/pat300" of="$MNT/edge" bs=300 count=1 seek=$((EDGE_LEN - 200)) \
	oflag=seek_bytes conv=notrunc status=none 2>"$PFS_TMP/dd.err" || rc=$?
[ "$rc" != 0 ] || fail_later "dd of 300 bytes at end-200 of edge succeeded (expected ENOSPC after 200)"
grep -q 'No space left on device' "$PFS_TMP/dd.err" ||
	fail_later "dd straddling the end of edge: no ENOSPC message: $(cat "$PFS_TMP/dd.err")"
check "straddling dd: the 200 bytes inside the view are written" \
	cmp -n 200 -i 0:$((EDGE_OFF + EDGE_LEN - 200)) "$PFS_TMP/pat300" "$SRC/data"
rc=0
t 10 dd if="$PFS_TMP/pat300" of="$MNT/edge" bs=100 count=1 seek=$((EDGE_LEN / 100)) \
	conv=notrunc status=none 2>"$PFS_TMP/dd.err" || rc=$?
[ "$rc" != 0 ] && grep -q 'No space left on device' "$PFS_TMP/dd.err" ||
	fail_later "dd of a block just past the end of edge: expected ENOSPC, got exit $rc: $(cat "$PFS_TMP/dd.err")"
range_to "$SRC/data" $((EDGE_OFF + EDGE_LEN)) 4096 "$PFS_TMP/after.now"
check "no dd wrote past the end of edge into the backing file" \
	cmp "$PFS_TMP/after.before" "$PFS_TMP/after.now"
check_eq "backing file size after the dd writes" $((8 * MiB)) "$(fsize "$SRC/data")"
check_eq "edge size after the dd writes" "$EDGE_LEN" "$(t 10 stat -c %s "$MNT/edge")"
note "ok: dd at the edge of a view"

# --- truncate and O_TRUNC: EPERM; the empty view may be opened with O_TRUNC ---
cp "$SRC/data" "$PFS_TMP/data.before-trunc"
pycheck "truncate / ftruncate / O_TRUNC of rw views fail EPERM" '
m = sys.argv[1]
for n in ("edge", "whole", "tail", "grow"):
    p = os.path.join(m, n)
    size = os.stat(p).st_size
    expect_err("truncate %s to 5" % n, errno.EPERM, os.truncate, p, 5)
    expect_err("truncate %s to size+1" % n, errno.EPERM, os.truncate, p, size + 1)
    expect_err("truncate %s to 0" % n, errno.EPERM, os.truncate, p, 0)
    fd = os.open(p, os.O_RDWR)
    expect_err("ftruncate %s to 1" % n, errno.EPERM, os.ftruncate, fd, 1)
    os.close(fd)
    expect_err("open %s O_WRONLY|O_TRUNC" % n, errno.EPERM, os.open, p, os.O_WRONLY | os.O_TRUNC)
    expect_err("open %s O_RDWR|O_TRUNC" % n, errno.EPERM, os.open, p, os.O_RDWR | os.O_TRUNC)
    expect_eq("size of %s after" % n, size, os.stat(p).st_size)
fd = os.open(os.path.join(m, "empty"), os.O_WRONLY | os.O_TRUNC)
expect_err("write to the empty view", errno.ENOSPC, os.write, fd, b"x")
os.close(fd)
expect_eq("empty view still empty", 0, os.stat(os.path.join(m, "empty")).st_size)
' "$MNT"
rc=0
t 10 truncate -s 5 "$MNT/edge" 2>"$PFS_TMP/tr.err" || rc=$?
[ "$rc" != 0 ] && grep -q 'Operation not permitted' "$PFS_TMP/tr.err" ||
	fail_later "truncate(1) of a view: expected EPERM, got exit $rc: $(cat "$PFS_TMP/tr.err")"
rc=0
t 10 dd if=/dev/zero of="$MNT/head" bs=1 count=1 status=none 2>"$PFS_TMP/dd.err" || rc=$?
[ "$rc" != 0 ] && grep -q 'Operation not permitted' "$PFS_TMP/dd.err" ||
	fail_later "dd without conv=notrunc (O_TRUNC): expected EPERM, got exit $rc: $(cat "$PFS_TMP/dd.err")"
rc=0
t 10 bash -c 'echo x >"$1"' _ "$MNT/head" 2>"$PFS_TMP/sh.err" || rc=$?
[ "$rc" != 0 ] || fail_later "shell > redirection into a view succeeded"
check "truncate attempts changed nothing in the backing file" \
	cmp "$PFS_TMP/data.before-trunc" "$SRC/data"
check_eq "backing size of growing after truncate attempts" 1000 "$(fsize "$SRC/growing")"

# --- ro views, chmod/chown, times --------------------------------------------
pycheck "ro views: open for write EROFS, reads work; chmod/chown EPERM; utimens" '
m, b, meta = sys.argv[1], sys.argv[2], sys.argv[3]
for n, off, size in (("ro1", 4096, 8192), ("metaro", 3, 5)):
    p = os.path.join(m, n)
    bp = b if n == "ro1" else meta
    expect_err("open %s O_WRONLY" % n, errno.EROFS, os.open, p, os.O_WRONLY)
    expect_err("open %s O_RDWR" % n, errno.EROFS, os.open, p, os.O_RDWR)
    expect_err("open %s O_WRONLY|O_APPEND" % n, errno.EROFS, os.open, p, os.O_WRONLY | os.O_APPEND)
    expect_err("truncate %s" % n, (errno.EROFS, errno.EPERM), os.truncate, p, 1)
    expect_eq("read of %s" % n, backing(bp, off, size), open(p, "rb").read())
    expect_err("utime of ro view %s" % n, (errno.EROFS, errno.EPERM), os.utime, p, (1, 1))
# mode and owner of views cannot change (ro or rw)
for n in ("ro1", "edge", "meta"):
    p = os.path.join(m, n)
    mode = stat.S_IMODE(os.stat(p).st_mode)
    expect_err("chmod %s" % n, errno.EPERM, os.chmod, p, 0o600)
    expect_err("chown %s" % n, errno.EPERM, os.chown, p, 4321, 4321)
    expect_err("chgrp %s" % n, errno.EPERM, os.chown, p, -1, 4321)
    expect_eq("mode of %s after chmod" % n, mode, stat.S_IMODE(os.stat(p).st_mode))
expect_eq("backing meta mode unchanged", 0o604, stat.S_IMODE(os.stat(meta).st_mode))
expect_eq("backing meta owner unchanged", (1234, 2345), (os.stat(meta).st_uid, os.stat(meta).st_gid))
# times through a rw view go to the backing file
p = os.path.join(m, "meta")
os.utime(p, (1600000000, 1600000001))
expect_eq("backing mtime after utime of the view", 1600000001, int(os.stat(meta).st_mtime))
expect_eq("backing atime after utime of the view", 1600000000, int(os.stat(meta).st_atime))
expect_eq("view mtime after utime", 1600000001, int(os.stat(p).st_mtime))
os.utime(p, ns=(1700000000123456789, 1700000000987654321))
expect_eq("backing mtime ns after utime", 1700000000987654321, os.stat(meta).st_mtime_ns)
expect_eq("other view of meta sees the mtime", 1700000000987654321, os.stat(os.path.join(m, "metaro")).st_mtime_ns)
' "$MNT" "$SRC/data" "$SRC/meta"

# --- no namespace changes -----------------------------------------------------
pycheck "directories: create/mkdir/unlink/rename/link/symlink/rmdir EPERM" '
m = sys.argv[1]
for d in (m, os.path.join(m, "o"), os.path.join(m, "deep/a/b")):
    expect_err("create in %s" % d, errno.EPERM, os.open, os.path.join(d, "new"), os.O_CREAT | os.O_WRONLY, 0o644)
    expect_err("mkdir in %s" % d, errno.EPERM, os.mkdir, os.path.join(d, "newdir"))
    expect_err("symlink in %s" % d, errno.EPERM, os.symlink, "edge", os.path.join(d, "sl"))
    expect_err("mknod fifo in %s" % d, errno.EPERM, os.mkfifo, os.path.join(d, "fifo"))
    expect_err("chmod dir %s" % d, errno.EPERM, os.chmod, d, 0o777)
expect_err("create an existing view O_EXCL", errno.EEXIST, os.open, os.path.join(m, "edge"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
expect_err("unlink a view", errno.EPERM, os.unlink, os.path.join(m, "edge"))
expect_err("unlink a view in o/", errno.EPERM, os.unlink, os.path.join(m, "o/one"))
expect_err("rename a view", errno.EPERM, os.rename, os.path.join(m, "edge"), os.path.join(m, "edge2"))
expect_err("rename a view over another", errno.EPERM, os.rename, os.path.join(m, "head"), os.path.join(m, "edge"))
expect_err("rename a view into o/", errno.EPERM, os.rename, os.path.join(m, "edge"), os.path.join(m, "o/edge"))
expect_err("rename a directory", errno.EPERM, os.rename, os.path.join(m, "o"), os.path.join(m, "p"))
expect_err("hard link of a view", errno.EPERM, os.link, os.path.join(m, "edge"), os.path.join(m, "edge.lnk"))
expect_err("rmdir of deep/a/b", (errno.EPERM, errno.ENOTEMPTY), os.rmdir, os.path.join(m, "deep/a/b"))
expect_err("unlink of a directory", (errno.EPERM, errno.EISDIR), os.unlink, os.path.join(m, "o"))
expect_eq("names unchanged", sorted("big deep edge empty grow growfix head hi link meta metaro o ro1 suf tail whole".split() + ["sp ace"]), sorted(os.listdir(m)))
' "$MNT"
check_eq "SOURCE unchanged by the namespace attempts" \
	"abs_link adir data growing huge in_link meta rel_out sub zeros" \
	"$(LC_ALL=C ls -A "$SRC" | tr '\n' ' ' | sed 's/ $//')"

# --- overlapping rw views: o/one = data[2M, 2M+128K), o/two = [2M+64K, 2M+192K)
mkrand "$PFS_TMP/p1" $((16 * KiB))
mkrand "$PFS_TMP/p2" $((4 * KiB))
# through one at 80K (= two at 16K), read through two (a fresh open)
check "dd 16 KiB into o/one at 80 KiB" \
	dd if="$PFS_TMP/p1" of="$MNT/o/one" bs=16K seek=5 conv=notrunc status=none
check "o/two at 16 KiB has the bytes written through o/one (fresh open)" \
	bash -c 'cmp <(dd if="$1" bs=16K skip=1 count=1 status=none) "$2"' _ "$MNT/o/two" "$PFS_TMP/p1"
check "the backing file has them at 2M+80K" \
	cmp -n $((16 * KiB)) -i $((2 * MiB + 80 * KiB)):0 "$SRC/data" "$PFS_TMP/p1"
# through two at 0 (= one at 64K), read through one
check "dd 4 KiB into o/two at 0" \
	dd if="$PFS_TMP/p2" of="$MNT/o/two" bs=4K conv=notrunc status=none
check "o/one at 64 KiB has the bytes written through o/two (fresh open)" \
	bash -c 'cmp <(dd if="$1" bs=4K skip=16 count=1 status=none) "$2"' _ "$MNT/o/one" "$PFS_TMP/p2"
check "the backing file has them at 2M+64K" \
	cmp -n $((4 * KiB)) -i $((2 * MiB + 64 * KiB)):0 "$SRC/data" "$PFS_TMP/p2"
check "whole view agrees with the backing file after the overlapping writes" \
	cmp "$MNT/whole" "$SRC/data"
# Both open at once, each with pages cached by the kernel: what is written
# through one descriptor, the other reads right after ("at once"), and not
# only after the attribute timeout (1 s) lets auto_inval_data drop pages.
OVERLAP_PY='
m, b, wait, rounds = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
one = os.open(os.path.join(m, "o/one"), os.O_RDWR)
two = os.open(os.path.join(m, "o/two"), os.O_RDWR)
K = 1024
def settle(what, fd, want, off):
    end = time.time() + wait
    got = os.pread(fd, len(want), off)
    while got != want and time.time() < end:
        time.sleep(0.05)
        got = os.pread(fd, len(want), off)
    expect_eq(what, want, got)
for i in range(rounds):
    # two reads [16K, 32K) first: the kernel caches those pages of two
    os.pread(two, 16 * K, 16 * K)
    pat = os.urandom(16 * K)
    expect_eq("pwrite one at 80K (round %d)" % i, 16 * K, os.pwrite(one, pat, 80 * K))
    settle("two at 16K has the write through one (round %d)" % i, two, pat, 16 * K)
    o = 4 * K * (i % 4)
    os.pread(one, 4 * K, 64 * K + o)
    pat = os.urandom(4 * K)
    expect_eq("pwrite two at %d (round %d)" % (o, i), 4 * K, os.pwrite(two, pat, o))
    settle("one at 64K+%d has the write through two (round %d)" % (o, i), one, pat, 64 * K + o)
    expect_eq("backing has it (round %d)" % i, pat, backing(b, (2 << 20) + 64 * K + o, 4 * K))
'
pycheck "overlapping views, both open: each sees the other's writes within 1.5 s" \
	"$OVERLAP_PY" "$MNT" "$SRC/data" 1.5 3
pycheck "overlapping views, both open: each sees the other's writes at once" \
	"$OVERLAP_PY" "$MNT" "$SRC/data" 0 8

# --- a "-" view follows an outside append; fixed views do not ---------------
mkrand "$PFS_TMP/app" 5000
cat "$PFS_TMP/app" >>"$SRC/growing"
pycheck "grow (100 -) follows an outside append of 5000 bytes within 3 s" '
p, b = sys.argv[1], sys.argv[2]
want = os.stat(b).st_size - 100
end = time.time() + 3
while os.stat(p).st_size != want and time.time() < end:
    time.sleep(0.1)
expect_eq("size of grow", want, os.stat(p).st_size)
expect_eq("content of grow", backing(b, 100, want), open(p, "rb").read())
fd = os.open(p, os.O_RDWR)
expect_err("pwrite at the end of grow", errno.ENOSPC, os.pwrite, fd, b"x", want)
expect_eq("pwrite straddling the end of grow", 3, os.pwrite(fd, b"abcdef", want - 3))
os.close(fd)
expect_eq("backing size after writes at the end of grow", want + 100, os.stat(b).st_size)
expect_eq("backing tail", b"abc", backing(b, want + 97, 3))
' "$MNT/grow" "$SRC/growing"
check_eq "growfix (0 500) keeps its size" 500 "$(t 10 stat -c %s "$MNT/growfix")"

# --- a view above 2 TiB of a 3 TiB sparse file --------------------------------
mkrand "$PFS_TMP/hipat" "$MiB"
check "dd 1 MiB into hi at 1 MiB + 3" \
	dd if="$PFS_TMP/hipat" of="$MNT/hi" bs=1M seek=$((MiB + 3)) oflag=seek_bytes conv=notrunc status=none
dropcache "$MNT/hi"
check "hi read back at 1 MiB + 3" \
	bash -c 'cmp <(dd if="$1" bs=1M skip=$((1048576 + 3)) count=1048576 iflag=skip_bytes,count_bytes status=none) "$2"' \
	_ "$MNT/hi" "$PFS_TMP/hipat"
check "the backing file has them at 2 TiB + 6 MiB + 10 (dd skip)" \
	bash -c 'cmp <(dd if="$1" bs=1M skip=$2 count=1048576 iflag=skip_bytes,count_bytes status=none) "$3"' \
	_ "$SRC/huge" $((HI_OFF + MiB + 3)) "$PFS_TMP/hipat"
check "hi: the bytes around the write are zeros" \
	bash -c 'cmp -n $((1048576 + 3)) "$1" /dev/zero &&
		cmp -n $((2 * 1048576 - 3)) -i $((2 * 1048576 + 3)):0 "$1" /dev/zero' _ "$MNT/hi"
pycheck "hi: last byte, one past, straddling write" '
p, b, off, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
fd = os.open(p, os.O_RDWR)
expect_eq("straddling pwrite at the end of hi", 2, os.pwrite(fd, b"HIGH", n - 2))
expect_err("pwrite one past the end of hi", errno.ENOSPC, os.pwrite, fd, b"x", n)
expect_eq("pread last 2 bytes", b"HI", os.pread(fd, 10, n - 2))
os.close(fd)
expect_eq("backing at the end of hi", b"HI\0\0", backing(b, off + n - 2, 4))
expect_eq("backing size", 3 << 40, os.stat(b).st_size)
' "$MNT/hi" "$SRC/huge" "$HI_OFF" "$HI_LEN"
DU=$(du_k "$SRC/huge")
[ "$DU" -lt $((64 * 1024)) ] || fail_later "huge is not sparse any more: du $DU KiB"

# --- everything still consistent: whole = data, sha of several views --------
check "whole = data after all the writes" cmp "$MNT/whole" "$SRC/data"
for v in "edge $EDGE_OFF $EDGE_LEN" "big $MiB $((3 * MiB))" "o/two $((2 * MiB + 64 * KiB)) $((128 * KiB))"; do
	set -- $v
	dropcache "$MNT/$1"
	check_eq "sha256 of $1 after the writes = dd of data" \
		"$(range_sha "$SRC/data" "$2" "$3")" "$(t 60 sha256sum "$MNT/$1" | cut -d' ' -f1)"
done
pfs_umount

# ===========================================================================
# 3. read-only mount: writes fail EROFS
# ===========================================================================
pfs_mount ro,views="$TAB"
cp "$SRC/data" "$PFS_TMP/data.before-ro"
pycheck "-o ro: open for write, truncate, utime fail EROFS; reads work" '
m, b = sys.argv[1], sys.argv[2]
for n in ("edge", "whole", "o/one", "meta", "empty"):
    p = os.path.join(m, n)
    expect_err("open %s O_WRONLY" % n, errno.EROFS, os.open, p, os.O_WRONLY)
    expect_err("open %s O_RDWR" % n, errno.EROFS, os.open, p, os.O_RDWR)
    expect_err("truncate %s" % n, errno.EROFS, os.truncate, p, 0)
    expect_err("utime %s" % n, errno.EROFS, os.utime, p, (5, 5))
    expect_err("chmod %s" % n, errno.EROFS, os.chmod, p, 0o600)
expect_err("create", errno.EROFS, os.open, os.path.join(m, "new"), os.O_CREAT | os.O_WRONLY, 0o644)
expect_err("mkdir", errno.EROFS, os.mkdir, os.path.join(m, "newdir"))
expect_eq("read whole", open(b, "rb").read(), open(os.path.join(m, "whole"), "rb").read())
' "$MNT" "$SRC/data"
rc=0
t 10 dd if=/dev/zero of="$MNT/edge" bs=1 count=1 conv=notrunc status=none 2>"$PFS_TMP/dd.err" || rc=$?
[ "$rc" != 0 ] && grep -q 'Read-only file system' "$PFS_TMP/dd.err" ||
	fail_later "-o ro: dd into a view: expected EROFS, got exit $rc: $(cat "$PFS_TMP/dd.err")"
check "-o ro: the backing file is unchanged" cmp "$PFS_TMP/data.before-ro" "$SRC/data"
pfs_umount

# ===========================================================================
# 4. a table of 1,000 views mounts and lists quickly
# ===========================================================================
TAB=$PFS_TMP/many.views
t 30 python3 -c '
import sys
with open(sys.argv[1], "w") as f:
    f.write("# 1000 views of 4 KiB, every third read-only\n")
    for i in range(1000):
        f.write("m/v%04d data %d 4096%s\n" % (i, i * 4096, " ro" if i % 3 == 0 else ""))
' "$TAB"
t0=$(date +%s%N)
pfs_mount views="$TAB"
t1=$(date +%s%N)
check_eq "1,000 names in m/" 1000 "$(t 30 ls "$MNT/m" | wc -l)"
check_eq "1,000 files of 4096 bytes (find + stat)" "1000 4096" \
	"$(t 30 find "$MNT/m" -type f -printf '%s\n' | sort | uniq -c | awk '{ print $1, $2 }')"
check "the 1,000 views concatenated = the first 4,000 KiB of data" \
	bash -c 'cmp <(cat "$1"/m/v*) <(head -c $((1000 * 4096)) "$2")' _ "$MNT" "$SRC/data"
t2=$(date +%s%N)
ms_mount=$(((t1 - t0) / 1000000))
ms_list=$(((t2 - t1) / 1000000))
note "1,000 views: mount ${ms_mount} ms; ls + find + cat of all ${ms_list} ms"
[ "$ms_mount" -lt 5000 ] || fail_later "mounting 1,000 views took ${ms_mount} ms (limit 5000)"
[ "$ms_list" -lt 10000 ] || fail_later "listing and reading 1,000 views took ${ms_list} ms (limit 10000)"
check_eq "v0999 is ro: open for write fails EROFS" "EROFS" \
	"$(t 10 python3 -c '
import errno, os, sys
try:
    os.open(sys.argv[1], os.O_WRONLY); print("opened")
except OSError as e:
    print(errno.errorcode[e.errno])' "$MNT/m/v0999")"
pfs_umount
