# split.sh - split mode (-o split=SIZE): every regular file F of SOURCE is
# a directory F of SIZE-byte chunk files 000000, 000001, ... (the last one
# shorter; wider names when the last index needs more than 6 digits).
# Covers:
#   - round trips `cat F/* | cmp - SRC/F` for 0, 1, S-1, S, S+1, 3S, 3S+7
#     bytes and 50 MiB of random data, with split=64K, 1M and 10000 (not a
#     page multiple: one warning line, rounded up to the page size);
#     names in `ls` order, chunk sizes, mode/owner/mtime, own inode numbers
#     (the same in readdir and stat);
#   - widths: 10^6 chunks -> 6 digits, 1,048,577 chunks -> 7 digits (sparse);
#   - a 3 TiB sparse file with split=1G: 3072 entries, its last and a middle
#     chunk read whole and compared with dd skip of the backing file;
#   - reading chunk N maps only windows inside chunk N's byte range of the
#     backing file (/proc/PID/maps of the daemon, fresh mounts), also when
#     window= does not divide SIZE;
#   - in-place writes land at k*S+off; past a full chunk's end ENOSPC (a
#     straddling write is cut short); the last chunk grows up to S and the
#     backing file with it, then ENOSPC; a new chunk appears within 2 s when
#     the backing file grows outside the mount;
#   - directories and symlinks pass through (find, tar, mkdir, symlink,
#     rmdir); `find -type f` lists only chunks;
#   - EPERM: new files, mknod, removing/creating/renaming chunks, truncating
#     chunks, rmdir of a split file; ro mount: EROFS.
. "$(dirname "$0")/lib.sh"

need_panefs "split mode is a panefs feature"

KiB=1024
MiB=$((1024 * KiB))
GiB=$((1024 * MiB))
TiB=$((1024 * GiB))
PAGE=$(getconf PAGESIZE)
MTIME=@1500000000.123456789

# --- helper: errno checks, exact pwrite, maps sampler, expected trees -----
SP=$PFS_TMP/split.py
cat >"$SP" <<'EOF'
import errno, os, random, stat, sys, time


def ename(e):
    return errno.errorcode.get(e, str(e))


def width(n):
    return max(6, len(str(n - 1))) if n else 6


def chunk_names(size, s):
    n = -(-size // s)
    w = width(n)
    return ["%0*d" % (w, i) for i in range(n)]


def cmd_errno(want, op, path, *rest):
    """errno WANT OP PATH [ARG]: OP must fail with WANT (or succeed: OK)."""
    try:
        if op == "create":
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o644))
        elif op == "openw":
            os.close(os.open(path, os.O_WRONLY))
        elif op == "append":
            fd = os.open(path, os.O_WRONLY | os.O_APPEND)
            try:
                os.write(fd, b"x")
            finally:
                os.close(fd)
        elif op == "unlink":
            os.unlink(path)
        elif op == "rmdir":
            os.rmdir(path)
        elif op == "mkdir":
            os.mkdir(path)
        elif op == "mknod":
            os.mknod(path, stat.S_IFREG | 0o644)
        elif op == "truncate":
            os.truncate(path, int(rest[0]))
        elif op == "rename":
            os.rename(path, rest[0])
        elif op == "symlink":
            os.symlink(rest[0], path)
        elif op == "stat":
            os.stat(path)
        else:
            sys.exit("unknown op " + op)
        got = "OK"
    except OSError as e:
        got = ename(e.errno)
    if got != want:
        print("%s %s %s: expected %s, got %s" % (op, path, " ".join(rest), want, got))
        sys.exit(1)


def cmd_pwrite(path, off, n, seed, model=None, moff=None):
    """pwrite PATH OFF LEN SEED [MODEL MODELOFF]: one pwrite(2) of LEN
    bytes; prints the count or the errno name. What was written is also
    written into MODEL at MODELOFF."""
    data = random.Random(int(seed)).randbytes(int(n))
    fd = os.open(path, os.O_WRONLY)
    try:
        got = os.pwrite(fd, data, int(off))
    except OSError as e:
        print(ename(e.errno))
        return
    finally:
        os.close(fd)
    if model and got > 0:
        mfd = os.open(model, os.O_WRONLY)
        os.pwrite(mfd, data[:got], int(moff))
        os.close(mfd)
    print(got)


def cmd_mapread(pid, chunk, backing, lo, hi):
    """mapread PID CHUNK BACKING LO HI: read CHUNK whole (compared with
    BACKING's bytes from LO) while a thread samples /proc/PID/maps, and
    once more before closing it (the daemon may drop a file's windows at
    the last close). Every mapping of BACKING (by device and inode) must
    lie inside [LO, HI) of the file; at least one must be seen."""
    import threading
    lo, hi = int(lo), int(hi)
    st = os.stat(backing)
    dev = (os.major(st.st_dev), os.minor(st.st_dev))
    seen, bad, samples = set(), [], [0]

    def sample():
        with open("/proc/%s/maps" % pid) as f:
            for line in f:
                p = line.split(None, 5)
                if len(p) < 5 or int(p[4]) != st.st_ino:
                    continue
                ma, mi = p[3].split(":")
                if (int(ma, 16), int(mi, 16)) != dev:
                    continue
                a, b = (int(x, 16) for x in p[0].split("-"))
                off = int(p[2], 16)
                w = (off, off + b - a)
                if w not in seen and (w[0] < lo or w[1] > hi):
                    bad.append(line.strip())
                seen.add(w)
        samples[0] += 1

    done = threading.Event()

    def watch():
        while not done.is_set():
            sample()
            time.sleep(0.005)

    th = threading.Thread(target=watch)
    th.start()
    fd = os.open(chunk, os.O_RDONLY)
    bfd = os.open(backing, os.O_RDONLY)
    pos, err = 0, None
    try:
        while True:
            d = os.read(fd, 1 << 20)
            if not d:
                break
            if d != os.pread(bfd, len(d), lo + pos):
                err = "%s differs from the backing file near %d" % (chunk, pos)
                break
            pos += len(d)
        done.set()
        th.join()
        sample()
    finally:
        done.set()
        os.close(fd)
        os.close(bfd)
    ws = sorted(seen)
    print("read %d B; samples=%d windows=%d range=[%s, %s) allowed=[%d, %d)" % (
        pos, samples[0], len(ws), ws[0][0] if ws else "-",
        max(w[1] for w in ws) if ws else "-", lo, hi))
    for line in bad[:10]:
        print("outside the chunk: " + line)
    if not ws:
        print("no mapping of %s seen" % backing)
    if err:
        print(err)
    if bad or not ws or err:
        sys.exit(1)


def cmd_attrs(d, src, s):
    """attrs DIR SRCFILE S: DIR shows SRCFILE as chunks: names, sizes,
    mode bits, owner, mtime, distinct inode numbers."""
    s = int(s)
    fs = os.stat(src)
    want = chunk_names(fs.st_size, s)
    errs = []
    ds = os.stat(d)
    if not stat.S_ISDIR(ds.st_mode):
        errs.append("%s is not a directory" % d)
    names = sorted(os.listdir(d))
    if names != want:
        errs.append("names %s... != %s..." % (names[:3], want[:3]))
    inos = set()
    d_ino = {e.name: e.inode() for e in os.scandir(d)}
    for i, nm in enumerate(want):
        c = os.lstat(os.path.join(d, nm))
        size = s if i < len(want) - 1 else fs.st_size - s * (len(want) - 1)
        got = (stat.S_IFMT(c.st_mode), c.st_size, stat.S_IMODE(c.st_mode),
               c.st_uid, c.st_gid, c.st_mtime_ns)
        exp = (stat.S_IFREG, size, stat.S_IMODE(fs.st_mode) & 0o777,
               fs.st_uid, fs.st_gid, fs.st_mtime_ns)
        if got != exp:
            errs.append("%s/%s: (type, size, mode, uid, gid, mtime_ns) %s != %s"
                        % (d, nm, got, exp))
        inos.add(c.st_ino)
        if d_ino.get(nm) != c.st_ino:
            errs.append("%s/%s: readdir d_ino %s != st_ino %d"
                        % (d, nm, d_ino.get(nm), c.st_ino))
    if len(inos) != len(want) or ds.st_ino in inos:
        errs.append("%s: %d distinct inode numbers for %d chunks (dir %d)"
                    % (d, len(inos), len(want), ds.st_ino))
    for e in errs[:10]:
        print(e)
    if errs:
        sys.exit(1)


def cmd_tree(root, s):
    """tree ROOT S: `find -printf '%y %P\\n'` as the mount should show ROOT."""
    s = int(s)
    for dp, dns, fns in os.walk(root):
        for nm in dns + fns:
            p = os.path.join(dp, nm)
            r = os.path.relpath(p, root)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                print("l " + r)
            elif stat.S_ISDIR(st.st_mode):
                print("d " + r)
            elif stat.S_ISREG(st.st_mode):
                print("d " + r)
                for c in chunk_names(st.st_size, s):
                    print("f %s/%s" % (r, c))
            else:
                print("? " + r)


def cmd_poll(path, secs, size):
    """poll PATH SECS SIZE: PATH must exist with SIZE bytes within SECS."""
    t0 = time.monotonic()
    while True:
        try:
            if os.stat(path).st_size == int(size):
                print("%.2f s" % (time.monotonic() - t0))
                return
        except FileNotFoundError:
            pass
        if time.monotonic() - t0 > float(secs):
            print("%s: no %s-byte file after %s s" % (path, size, secs))
            sys.exit(1)
        time.sleep(0.05)


globals()["cmd_" + sys.argv[1]](*sys.argv[2:])
EOF
sp() { t 120 python3 "$SP" "$@"; }
# expect WANT OP PATH [ARG]: the call fails with errno WANT (or succeeds: OK)
expect() { check "$2 $3 ${4:-}: $1" python3 "$SP" errno "$@"; }

# names N: the names of chunks 0 .. N-1, one a line
names() {
	local n=$1 w=6 last
	[ "$n" -gt 0 ] || return 0
	last=$((n - 1))
	[ ${#last} -le 6 ] || w=${#last}
	printf "%0${w}d\n" $(seq 0 "$last")
}

# split_check F S: MNT/F shows SRC/F as S-byte chunks, in `ls` order, and
# `cat MNT/F/*` gives SRC/F back.
split_check() {
	local f=$1 s=$2 len n
	len=$(fsize "$SRC/$f")
	n=$(((len + s - 1) / s))
	check "$f is a directory in the mount" test -d "$MNT/$f"
	check_eq "ls $f (split=$s)" "$(names "$n")" "$(t 60 ls "$MNT/$f")"
	if [ "$n" = 0 ]; then
		check_eq "empty $f is an empty directory" "" "$(t 60 ls -A "$MNT/$f")"
	else
		check "cat $f/* | cmp - SRC/$f (split=$s)" \
			bash -c 'set -o pipefail; cat "$1"/* | cmp - "$2"' _ "$MNT/$f" "$SRC/$f"
	fi
	check "chunk attributes of $f (split=$s)" python3 "$SP" attrs "$MNT/$f" "$SRC/$f" "$s"
}

# maps_check F K S: on a mount that has read nothing yet, read chunk K of
# F whole (compared with the backing file's bytes) while sampling the
# daemon's mappings of SRC/F: all of them inside [K*S, (K+1)*S).
maps_check() {
	local f=$1 k=$2 s=$3 name last w=6 rc=0
	last=$((($(fsize "$SRC/$f") + s - 1) / s - 1))
	[ ${#last} -le 6 ] || w=${#last}
	name=$(printf "%0${w}d" "$k")
	note "read chunk $f/$name ($(fsize "$MNT/$f/$name") B at $((k * s))), watching the daemon's maps"
	t 150 python3 "$SP" mapread "$PFS_PID" "$MNT/$f/$name" "$SRC/$f" \
		$((k * s)) $(((k + 1) * s)) >"$PFS_TMP/maps.out" || rc=$?
	note "maps of $f while reading $name: $(head -n 1 "$PFS_TMP/maps.out")"
	[ "$rc" = 0 ] || fail "reading chunk $name of $f (exit $rc): $(cat "$PFS_TMP/maps.out")"
}

# cmd_fails ERRTEXT CMD...: CMD fails, saying ERRTEXT on stderr
cmd_fails() {
	local want=$1 rc=0
	shift
	t 30 "$@" 2>"$PFS_TMP/cmd.err" || rc=$?
	[ "$rc" != 0 ] || fail "succeeded but should fail ($want): $*"
	grep -q "$want" "$PFS_TMP/cmd.err" ||
		fail "$* failed (exit $rc) without '$want': $(cat "$PFS_TMP/cmd.err")"
}

# --- SOURCE --------------------------------------------------------------
mkdir -p "$SRC/rt" "$SRC/w"
mkrt() { # DIR S: files of 0, 1, S-1, S, S+1, 3S, 3S+7 bytes
	local d=$SRC/rt/$1 s=$2 spec
	mkdir "$d"
	for spec in "0:0" "1:1" "sm1:$((s - 1))" "s:$s" "sp1:$((s + 1))" \
		"s3:$((3 * s))" "s3p7:$((3 * s + 7))"; do
		mkrand "$d/${spec%%:*}" "${spec#*:}"
	done
}
mkrt k64 $((64 * KiB))
mkrt m1 $MiB
R10000=$(((10000 + PAGE - 1) / PAGE * PAGE))   # 12288 with 4 KiB pages
mkrt r10000 "$R10000"
mkrand "$SRC/rt/rand50" $((50 * MiB))
chmod 0640 "$SRC"/rt/*/* "$SRC/rt/rand50"
touch -h -d "$MTIME" "$SRC"/rt/*/* "$SRC/rt/rand50"
RT_FILES=$(cd "$SRC" && find rt -type f | LC_ALL=C sort)

# a tree: nested dirs, an empty dir, symlinks (relative, absolute, to a dir)
mkdir -p "$SRC/tree/a/b/c" "$SRC/tree/a/empty_dir"
mkrand "$SRC/tree/a/b/c/deep" 200000
mkrand "$SRC/tree/a/file1" 10
: >"$SRC/tree/a/b/zero"
ln -s a/file1 "$SRC/tree/link_rel"
ln -s /nonexistent/target "$SRC/tree/link_abs"
ln -s a "$SRC/tree/link_dir"

S=$((64 * KiB))
mkrand "$SRC/w/f" $((3 * S + 7))
MODEL=$PFS_TMP/model
cp "$SRC/w/f" "$MODEL"
MW=$MNT/w/f

# ==== split=64K ===========================================================
pfs_mount split=64K
maps_check rt/rand50 400 "$S"
grep -q 'warning' "$PFS_LOG" && fail "split=64K (a page multiple) warned: $(cat "$PFS_LOG")"

for f in $RT_FILES; do split_check "$f" "$S"; done
note "round trips with split=64K: $(echo $RT_FILES | wc -w) files"

# -- directories and symlinks pass through --
t 60 python3 "$SP" tree "$SRC" "$S" | LC_ALL=C sort >"$PFS_TMP/tree.want"
t 60 find "$MNT" -mindepth 1 -printf '%y %P\n' | LC_ALL=C sort >"$PFS_TMP/tree.got"
if ! cmp -s "$PFS_TMP/tree.want" "$PFS_TMP/tree.got"; then
	diff "$PFS_TMP/tree.want" "$PFS_TMP/tree.got" | head -n 20 >&2 || true
	fail "find of the mount differs from SOURCE as split=64K shows it"
fi
check_eq "find -type f lists only chunks" 0 \
	"$(t 60 find "$MNT" -type f | grep -cvE '/[^/]+/[0-9]{6}$' || true)"
check_eq "find -type f: one line per chunk" "$(grep -c '^f ' "$PFS_TMP/tree.want")" \
	"$(t 60 find "$MNT" -type f | wc -l)"
for l in link_rel link_abs link_dir; do
	check_eq "readlink $l" "$(readlink "$SRC/tree/$l")" "$(t 10 readlink "$MNT/tree/$l")"
done
check "a symlink to a file leads to its split directory" test -d "$MNT/tree/link_rel"
check "link_dir/file1/000000 through a symlinked dir" \
	cmp "$MNT/tree/link_dir/file1/000000" "$SRC/tree/a/file1"
mkdir "$PFS_TMP/untar"
step "tar of the mount's tree" -- tar -C "$MNT/tree" -cf "$PFS_TMP/tree.tar" .
step "untar" -- tar -C "$PFS_TMP/untar" -xf "$PFS_TMP/tree.tar"
check_eq "tar of the mount has the tree find sees" \
	"$(t 30 find "$MNT/tree" -mindepth 1 -printf '%y %P\n' | LC_ALL=C sort)" \
	"$(t 30 find "$PFS_TMP/untar" -mindepth 1 -printf '%y %P\n' | LC_ALL=C sort)"
check "tar'd chunks of a/b/c/deep give the file back" \
	bash -c 'cat "$1"/* | cmp - "$2"' _ "$PFS_TMP/untar/a/b/c/deep" "$SRC/tree/a/b/c/deep"
step "mkdir -p nested dirs" -- mkdir -p "$MNT/tree/new/x/y"
check "nested dir made in SOURCE" test -d "$SRC/tree/new/x/y"
step "symlink in a new dir" -- ln -s ../a "$MNT/tree/new/sl"
check_eq "readlink of the new symlink in SOURCE" ../a "$(readlink "$SRC/tree/new/sl")"
check "a split file through the new symlink" test -f "$MNT/tree/new/sl/file1/000000"
step "rm the symlink" -- rm "$MNT/tree/new/sl"
step "rmdir the nested dirs" -- rmdir "$MNT/tree/new/x/y" "$MNT/tree/new/x" "$MNT/tree/new"
check "nested dirs gone from SOURCE" test ! -e "$SRC/tree/new"

# -- in-place writes into a middle chunk --
mkrand "$PFS_TMP/pat" 3000
step "dd conv=notrunc 3000 B at 5000 into chunk 000001" -- \
	dd if="$PFS_TMP/pat" of="$MW/000001" bs=3000 seek=5000 oflag=seek_bytes \
	conv=notrunc status=none
dd if="$PFS_TMP/pat" of="$MODEL" bs=3000 seek=$((S + 5000)) oflag=seek_bytes \
	conv=notrunc status=none
check "bytes landed at 1*S+5000 of the backing file" \
	cmp -i $((S + 5000)):0 -n 3000 "$SRC/w/f" "$PFS_TMP/pat"
check_eq "pwrite 100 B at S-50 of full chunk 000001: cut short" 50 \
	"$(sp pwrite "$MW/000001" $((S - 50)) 100 1 "$MODEL" $((2 * S - 50)))"
check_eq "pwrite at the end of full chunk 000001" ENOSPC "$(sp pwrite "$MW/000001" "$S" 1 2)"
check_eq "pwrite past the end of full chunk 000001" ENOSPC \
	"$(sp pwrite "$MW/000001" $((S + 4096)) 10 3)"
check_eq "pwrite 10 B at S-3 of chunk 000000: cut short" 3 \
	"$(sp pwrite "$MW/000000" $((S - 3)) 10 4 "$MODEL" $((S - 3)))"
check_eq "pwrite 10 B at 0 of chunk 000002" 10 \
	"$(sp pwrite "$MW/000002" 0 10 5 "$MODEL" $((2 * S)))"
cmd_fails "No space left on device" dd if="$PFS_TMP/pat" of="$MW/000002" bs=100 count=1 \
	seek="$S" oflag=seek_bytes conv=notrunc status=none
# a straddling dd: 1000 bytes land, then ENOSPC
cmd_fails "No space left on device" dd if="$PFS_TMP/pat" of="$MW/000002" bs=3000 count=1 \
	seek=$((S - 1000)) oflag=seek_bytes conv=notrunc status=none
dd if="$PFS_TMP/pat" of="$MODEL" bs=1000 count=1 seek=$((3 * S - 1000)) \
	oflag=seek_bytes conv=notrunc status=none
check_eq "backing size after writes into full chunks" $((3 * S + 7)) "$(fsize "$SRC/w/f")"
check "backing file = model after in-place writes" cmp "$SRC/w/f" "$MODEL"

# -- the last chunk grows up to S --
tsh 'printf APPENDED >>"$MNT/w/f/000003"'
printf APPENDED >>"$MODEL"
check_eq "backing size after >> to the last chunk" $((3 * S + 15)) "$(fsize "$SRC/w/f")"
check_eq "last chunk size after >>" 15 "$(fsize "$MW/000003")"
check_eq "pwrite 10 B at 1000 of the last chunk (past its end)" 10 \
	"$(sp pwrite "$MW/000003" 1000 10 6 "$MODEL" $((3 * S + 1000)))"
check_eq "backing size after pwrite past the last chunk's end" $((3 * S + 1010)) "$(fsize "$SRC/w/f")"
check_eq "pwrite 2*S at 2000 of the last chunk: cut at S" $((S - 2000)) \
	"$(sp pwrite "$MW/000003" 2000 $((2 * S)) 7 "$MODEL" $((3 * S + 2000)))"
check_eq "pwrite at S of the now full last chunk" ENOSPC "$(sp pwrite "$MW/000003" "$S" 1 8)"
expect ENOSPC append "$MW/000003"
check_eq "backing size after filling the last chunk" $((4 * S)) "$(fsize "$SRC/w/f")"
check "backing file = model after growing the last chunk" cmp "$SRC/w/f" "$MODEL"
check_eq "chunks after filling the last one" "$(names 4)" "$(t 10 ls "$MW")"
expect ENOENT stat "$MW/000004"
expect EPERM create "$MW/000004"

# -- a new chunk appears when the backing file grows outside the mount --
truncate -s $((4 * S + 5)) "$SRC/w/f" "$MODEL"
note "new chunk after outside growth: $(sp poll "$MW/000004" 2 5)"
check_eq "chunks after outside growth" "$(names 5)" "$(t 10 ls "$MW")"
check_eq "pwrite 10 B at 5 of the new last chunk" 10 \
	"$(sp pwrite "$MW/000004" 5 10 9 "$MODEL" $((4 * S + 5)))"
check_eq "backing size after writing the new chunk" $((4 * S + 15)) "$(fsize "$SRC/w/f")"
check "backing file = model" cmp "$SRC/w/f" "$MODEL"
check "cat w/f/* = model" bash -c 'set -o pipefail; cat "$1"/* | cmp - "$2"' _ "$MW" "$MODEL"

# -- EPERM --
cmd_fails "Operation not permitted" touch "$MNT/newfile"
cmd_fails "Operation not permitted" rm -f "$MW/000000"
cmd_fails "Operation not permitted" truncate -s 10 "$MW/000000"
expect EPERM create "$MNT/tree/newfile"
expect EPERM mknod "$MNT/tree/nod"
expect EPERM unlink "$MW/000000"
expect EPERM create "$MW/000009"
expect EPERM create "$MNT/rt/k64/0/000000"
expect EPERM rename "$MW/000000" "$MW/000099"
expect EPERM rename "$MW/000000" "$MNT/w/moved"
expect EPERM truncate "$MW/000000" 10
expect EPERM truncate "$MW/000000" $((S + 1))
expect OK truncate "$MW/000000" "$S"
expect EPERM truncate "$MW/000004" 0
expect EPERM truncate "$MW/000004" "$S"
expect OK truncate "$MW/000004" 15
expect EPERM rmdir "$MW"
expect EPERM rmdir "$MNT/rt/k64/0"
expect EPERM mkdir "$MW/sub"
expect EPERM symlink "$MW/sl" 000000
for p in newfile tree/newfile tree/nod w/moved; do
	check "nothing made in SOURCE: $p" test ! -e "$SRC/$p"
done
check_eq "SOURCE dir w still has only f" f "$(ls -A "$SRC/w")"
check "backing file unchanged by refused calls" cmp "$SRC/w/f" "$MODEL"
check "empty file still an empty dir" test -d "$MNT/rt/k64/0"

# -- a chunk the file shrank away from (outside) stays gone: writes and
#    fallocate through a descriptor opened before fail with ENOSPC and
#    never grow the file back over a hole --
head -c $((4 * S)) /dev/urandom >"$SRC/gone"
tsh "python3 - '$MNT/gone/000003' '$SRC/gone' <<'PY'
import errno, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.truncate(sys.argv[2], 10)
for what, call in (('pwrite', lambda: os.pwrite(fd, b'abc', 0)),
                   ('fallocate', lambda: os.posix_fallocate(fd, 0, 100))):
    try:
        call()
        sys.exit(what + ' into a gone chunk succeeded')
    except OSError as e:
        if e.errno != errno.ENOSPC:
            sys.exit(what + ': ' + os.strerror(e.errno))
os.close(fd)
size = os.stat(sys.argv[2]).st_size
if size != 10:
    sys.exit('backing file grew to %d' % size)
PY"
pfs_umount
check "a clean unmount keeps the writes" cmp "$SRC/w/f" "$MODEL"

# ==== split=1M, window=768K (does not divide 1M: cut to 512K) ==============
pfs_mount split=1M,window=768K
maps_check rt/rand50 17 "$MiB"
for f in $RT_FILES; do split_check "$f" "$MiB"; done
note "round trips with split=1M: $(echo $RT_FILES | wc -w) files"
pfs_umount

# ==== split=10000: rounded up to the page size, with a warning =============
pfs_mount split=10000
check_eq "one warning line for split=10000" 1 \
	"$(grep -c "warning: split=10000.*using split=$R10000" "$PFS_LOG" || true)"
note "daemon said: $(grep warning "$PFS_LOG")"
maps_check rt/rand50 1000 "$R10000"
for f in $RT_FILES; do split_check "$f" "$R10000"; done
note "round trips with split=10000 (-> $R10000): $(echo $RT_FILES | wc -w) files"
pfs_umount

# ==== read-only split mount ================================================
SHA=$(sha "$SRC/w/f")
pfs_mount split=64K,ro
check "ro: chunk reads" bash -c 'cmp "$1" <(head -c "$2" "$3")' _ "$MW/000000" "$S" "$SRC/w/f"
expect EROFS openw "$MW/000000"
expect EROFS append "$MW/000004"
expect EROFS truncate "$MW/000000" "$S"
expect EROFS create "$MNT/tree/rofile"
expect EROFS mkdir "$MNT/tree/rodir"
expect EROFS rmdir "$MNT/tree/a/empty_dir"
expect EROFS unlink "$MW/000000"
cmd_fails "Read-only file system" dd if="$PFS_TMP/pat" of="$MW/000001" bs=100 count=1 \
	conv=notrunc status=none
pfs_umount
check_eq "ro mount left the backing file alone" "$SHA" "$(sha "$SRC/w/f")"
check "ro mount made nothing" test ! -e "$SRC/tree/rofile" -a ! -e "$SRC/tree/rodir"

# ==== widths: 10^6 chunks -> 6 digits, 2^20 + 1 chunks -> 7 digits ========
mkdir "$SRC/wide"
truncate -s $((PAGE * 1000000)) "$SRC/wide/exact"
truncate -s $((PAGE * 1048576 + 1)) "$SRC/wide/big"   # 4 GiB + 1 with 4 KiB pages
printf Z | dd of="$SRC/wide/big" bs=1 seek=$((PAGE * 1048576)) conv=notrunc status=none
pfs_mount split=$((PAGE / KiB))K
maps_check wide/big 1048576 "$PAGE"
check_eq "last chunk of 2^20+1: 7 digits, 1 byte" 1 "$(fsize "$MNT/wide/big/1048576")"
check_eq "first chunk of 2^20+1: 7 digits" "$PAGE" "$(fsize "$MNT/wide/big/0000000")"
expect ENOENT stat "$MNT/wide/big/000000"
expect ENOENT stat "$MNT/wide/big/1048577"
expect ENOENT stat "$MNT/wide/big/01048576"
check_eq "ls -f of 2^20+1 chunks: entries, names not 7 digits" "1048579 0" \
	"$(t 120 ls -f "$MNT/wide/big" | awk '$0 != "." && $0 != ".." && !/^[0-9][0-9][0-9][0-9][0-9][0-9][0-9]$/ { bad++ } END { print NR, bad + 0 }')"
check_eq "last chunk of 10^6: 6 digits" "$PAGE" "$(fsize "$MNT/wide/exact/999999")"
expect ENOENT stat "$MNT/wide/exact/0999999"
expect ENOENT stat "$MNT/wide/exact/1000000"
check_eq "ls -f of 10^6 chunks: entries, names not 6 digits" "1000002 0" \
	"$(t 120 ls -f "$MNT/wide/exact" | awk '$0 != "." && $0 != ".." && !/^[0-9][0-9][0-9][0-9][0-9][0-9]$/ { bad++ } END { print NR, bad + 0 }')"
pfs_umount
rm -rf "$SRC/wide"

# ==== 3 TiB sparse file, split=1G =========================================
truncate -s $((3 * TiB)) "$SRC/huge"
for m in "$((3 * TiB - 100)):MARKER-AT-3T-100" "$((1536 * GiB + 7)):MIDDLE-START" \
	"$((1537 * GiB - 50)):MIDDLE-END"; do
	printf %s "${m#*:}" | dd of="$SRC/huge" bs=1M seek="${m%%:*}" oflag=seek_bytes \
		conv=notrunc status=none
done
pfs_mount split=1G
maps_check huge 3071 "$GiB"
check_eq "marker at 3T-100 through the last chunk" MARKER-AT-3T-100 \
	"$(t 30 dd if="$MNT/huge/003071" bs=1 skip=$((GiB - 100)) count=16 status=none)"
check_eq "ls of the 3 TiB file: 3072 chunks" "$(names 3072)" "$(t 60 ls "$MNT/huge")"
check_eq "size of chunk 001536" "$GiB" "$(fsize "$MNT/huge/001536")"
check_eq "size of chunk 003071" "$GiB" "$(fsize "$MNT/huge/003071")"
step -t 150 "read middle chunk 001536 whole, compare with dd skip" -- \
	bash -c 'set -o pipefail; dd if="$1" bs=1M skip=$((1536 * 1024)) count=1024 status=none |
		cmp "$2" -' _ "$SRC/huge" "$MNT/huge/001536"
check_eq "marker near the end of chunk 001536" MIDDLE-END \
	"$(t 30 dd if="$MNT/huge/001536" bs=1 skip=$((GiB - 50)) count=10 status=none)"
pfs_umount
DU=$(du_k "$SRC/huge")
[ "$DU" -lt $((64 * 1024)) ] || fail "3 TiB file not sparse after reads: du ${DU} KiB"
