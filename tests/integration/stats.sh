# stats.sh - the stats and the runtime control (README "Stats and runtime
# control"), on real mounts:
#   - the figures move as expected (stats.py): a cold read of an 8 MiB file
#     with window=1M raises misses by 8, bytes and windows mapped by 8 MiB
#     and 8, bytes{op=read} by 8 MiB, requests{op=read} by 8..2048; a warm
#     re-read (kernel pages dropped) raises hits, not misses; cache=1M,
#     window=64K and a 16 MiB read: >= 240 evictions, bytes <= budget;
#     lookups of missing names raise errors{errno="ENOENT"} one each, a
#     missing attribute of a file errors{errno="ENODATA"};
#   - every text is a valid exposition (strict checker: HELP and TYPE per
#     metric, `name{labels} value` samples), through getfattr and os.getxattr;
#   - user.panefs.cache: getfattr shows the budget; setfattr shrinks it and
#     evicts at once; bad sizes and sizes below the window -> EINVAL and no
#     change; XATTR_CREATE -> EEXIST; unknown user.panefs.* names ENODATA
#     (get) / EINVAL (set, remove); another uid -> EPERM (kernel EACCES when
#     it may not write the root); ro mount -> EROFS;
#   - the size-0 probe and ERANGE; listxattr of the root never shows
#     user.panefs.* (not even the backing root's own), rsync -aX of the
#     mount copies none; user.panefs.* on other files is an ordinary
#     attribute of the backing file;
#   - stats_file: written before the mount, rewritten within 2 intervals
#     after activity, always complete and valid while being rewritten, a
#     last time at unmount, no temporary left; a path that cannot be
#     written -> exit 2, one line, nothing mounted;
#   - the same on the root in views mode (synthetic root) and split mode;
#   - kcache.h: a re-open of an unchanged file is served from the kernel's
#     page cache (no read request); an outside overwrite of the same size,
#     or a writer's close, makes the next open read from the daemon again;
#   - readahead=: the mount's read_ahead_kb is 1024 by default, 4096 with
#     readahead=4M, the kernel's 128 with readahead=0.
. "$(dirname "$0")/lib.sh"
need_panefs "reads panefs's own stats"
[ "$(id -u)" = 0 ] || skip "needs root (allow_other, setpriv to another uid)"
for c in getfattr setfattr setpriv rsync; do
	command -v "$c" >/dev/null || skip "$c missing"
done

KiB=1024
MiB=$((1024 * KiB))
ST=$PFS_LIBDIR/stats.py
U1=1234 # the other user
INTERVAL=5 # PANEFS_STATS_INTERVAL

# sp DESC ARGS... : a stats.py scenario under a time limit; fails the test
sp() {
	local desc=$1
	shift
	step -t 120 "$desc" -- python3 "$ST" "$@"
}
# stats_text: the stats through getfattr (size probe, then the value)
stats_text() {
	t 20 getfattr --absolute-names --only-values -n user.panefs.stats "$MNT"
}
# value SERIES : one figure of the stats, through getfattr
value() {
	stats_text | t 20 python3 "$ST" value - "$1"
}
# expect_fail DESC PATTERN CMD... : CMD must fail and say PATTERN
expect_fail() {
	local desc=$1 pat=$2 rc=0
	shift 2
	t 20 "$@" >"$PFS_TMP/out" 2>"$PFS_TMP/err" || rc=$?
	[ "$rc" != 0 ] || fail "$desc: succeeded, should fail ($*)"
	grep -q "$pat" "$PFS_TMP/err" ||
		fail "$desc: expected '$pat', got: $(cat "$PFS_TMP/err")"
	note "ok: $desc ($(head -n 1 "$PFS_TMP/err"))"
}

mkrand "$SRC/f8" $((8 * MiB))
mkrand "$SRC/f16" $((16 * MiB))
PROM_DIR=$PFS_TMP/prom
PROM=$PROM_DIR/panefs.prom
mkdir "$PROM_DIR"
# the other uid must reach MNT and its own copy of stats.py (mktemp made
# PFS_TMP 0700), with a python3 it may run (not a shim under /root)
chmod 755 "$PFS_TMP"
cp "$ST" "$PFS_TMP/stats.py"
chmod 644 "$PFS_TMP/stats.py"
SYSPY=/usr/bin/python3
[ -x "$SYSPY" ] || SYSPY=$(command -v python3)

# --- a stats file that cannot be written: bad input -------------------------
pfs_refused "stats_file in a missing directory" \
	"panefs: cannot write stats file '$PFS_TMP/missing/panefs.prom': " \
	"No such file or directory$" "stats_file=$PFS_TMP/missing/panefs.prom"
mkdir "$PFS_TMP/isdir"
pfs_refused "stats_file naming a directory" \
	"panefs: cannot write stats file '$PFS_TMP/isdir': " \
	"Is a directory$" "stats_file=$PFS_TMP/isdir"
[ ! -e "$PFS_TMP/isdir.tmp" ] || fail_later "a refused stats_file left $PFS_TMP/isdir.tmp"

# --- passthrough: figures, control, names, stats_file -----------------------
# The backing root has attributes of its own, one in our namespace.
setfattr -n user.keep -v kept "$SRC"
setfattr -n user.panefs.hidden -v backing "$SRC"
chmod 0777 "$SRC" # the other uid may write the root: EPERM is ours to say

pfs_mount window=1M,cache=64M,allow_other,stats_file="$PROM"
step "stats_file written before the mount" -- python3 "$ST" validate "$PROM"
step "getfattr gives a valid exposition" -- \
	bash -c 'getfattr --absolute-names --only-values -n user.panefs.stats "$1" |
		python3 "$2" validate -' _ "$MNT" "$ST"
sp "figures of a cold and a warm read" read "$MNT" "$MNT/f8" $MiB
sp "the kernel's page cache across opens" kcache "$MNT" "$MNT/f8" "$SRC/f8"
# readahead=: the mount's read_ahead_kb (bdi.h), 1M unless told
check_eq "read_ahead_kb by default" 1024 \
	"$(cat "/sys/class/bdi/$(mountpoint -d "$MNT")/read_ahead_kb")"
sp "errors by errno" enoent "$MNT"
sp "user.panefs.cache, bad input, unknown names, probe" control "$MNT" $MiB "$MNT/f8"

# the same through the command-line tools
check_eq "getfattr user.panefs.cache" $((64 * MiB)) \
	"$(t 10 getfattr --absolute-names --only-values -n user.panefs.cache "$MNT")"
step "setfattr user.panefs.cache 16M" -- setfattr -n user.panefs.cache -v 16M "$MNT"
check_eq "getfattr after setfattr" $((16 * MiB)) \
	"$(t 10 getfattr --absolute-names --only-values -n user.panefs.cache "$MNT")"
check_eq "budget in the stats" $((16 * MiB)) "$(value panefs_cache_budget_bytes)"
expect_fail "setfattr of a bad size" "Invalid argument" \
	setfattr -n user.panefs.cache -v 16X "$MNT"
expect_fail "setfattr below the window" "Invalid argument" \
	setfattr -n user.panefs.cache -v 512K "$MNT"
expect_fail "setfattr of an unknown name" "Invalid argument" \
	setfattr -n user.panefs.bogus -v 1 "$MNT"
expect_fail "setfattr -x of the cache" "Invalid argument" \
	setfattr -x user.panefs.cache "$MNT"
expect_fail "getfattr of an unknown name" "No such attribute" \
	getfattr --absolute-names -n user.panefs.bogus "$MNT"
check_eq "budget unchanged by refused values" $((16 * MiB)) "$(value panefs_cache_budget_bytes)"

# listed: the backing root's other names; never ours
t 10 getfattr --absolute-names -d -m - "$MNT" >"$PFS_TMP/list"
grep -q '^user.keep="kept"' "$PFS_TMP/list" || fail "user.keep of the backing root not listed"
! grep -q 'user.panefs' "$PFS_TMP/list" || fail "user.panefs.* listed: $(cat "$PFS_TMP/list")"
expect_fail "the backing root's user.panefs.hidden is not passed through" \
	"No such attribute" getfattr --absolute-names -n user.panefs.hidden "$MNT"
check_eq "the backing root's own attribute untouched" backing \
	"$(t 10 getfattr --absolute-names --only-values -n user.panefs.hidden "$SRC")"
# rsync -X copies the root's attributes, but none of ours
mkdir "$PFS_TMP/copy"
step "rsync -aX of the mount" -- rsync -aX "$MNT/" "$PFS_TMP/copy/"
t 10 getfattr --absolute-names -d -m - "$PFS_TMP/copy" >"$PFS_TMP/list"
grep -q '^user.keep="kept"' "$PFS_TMP/list" || fail "rsync -aX did not copy user.keep"
! grep -q 'user.panefs' "$PFS_TMP/list" || fail "rsync -aX copied: $(cat "$PFS_TMP/list")"
# on any other inode user.panefs.* is an ordinary attribute
step "user.panefs.* on a file" -- setfattr -n user.panefs.note -v hi "$MNT/f8"
check_eq "stored on the backing file" hi \
	"$(t 10 getfattr --absolute-names --only-values -n user.panefs.note "$SRC/f8")"

# another uid: may read, may not set
step "another uid: reads, EPERM on set" -- \
	setpriv --reuid=$U1 --regid=$U1 --clear-groups -- "$SYSPY" "$PFS_TMP/stats.py" nonroot "$MNT"
chmod 0755 "$SRC"
sleep 1.2 # the kernel's attribute timeout of the root
expect_fail "another uid, root not writable: the kernel says EACCES" "Permission denied" \
	setpriv --reuid=$U1 --regid=$U1 --clear-groups -- setfattr -n user.panefs.cache -v 8M "$MNT"

# stats_file: rewritten within two intervals, complete at every read
before=$(t 10 python3 "$ST" value "$PROM" 'panefs_bytes_total{op="read"}')
# (the uptime changes every time: 2 intervals and more see 3 contents)
PFS_BG_TIMEOUT=60 bg python3 "$ST" watch "$PROM" $((2 * INTERVAL + 2)) 3
WATCH=$BG_PID
step "read 16 MiB" -- cat "$MNT/f16" >/dev/null
want=$(value 'panefs_bytes_total{op="read"}')
[ "$want" -ge $((before + 16 * MiB)) ] || fail "bytes{op=read} $want after reading 16 MiB (was $before)"
deadline=$((SECONDS + 2 * INTERVAL + 1))
got=$before
while [ "$SECONDS" -le "$deadline" ]; do
	got=$(t 10 python3 "$ST" value "$PROM" 'panefs_bytes_total{op="read"}')
	[ "$got" -ge "$want" ] && break
	sleep 0.2
done
[ "$got" -ge "$want" ] ||
	fail "stats_file not rewritten within $((2 * INTERVAL + 1)) s: bytes{op=read} $got, want $want"
note "ok: stats_file rewritten (bytes{op=read} $before -> $got)"
bg_wait "$WATCH" || fail "stats_file was incomplete or invalid while being rewritten"
last=$(value 'panefs_requests_total{op="getxattr"}')
pfs_umount
final=$(t 10 python3 "$ST" value "$PROM" 'panefs_requests_total{op="getxattr"}')
[ "$final" -ge "$last" ] || fail "stats_file not written at unmount: getxattr $final < $last"
[ ! -e "$PROM.tmp" ] || fail "$PROM.tmp left behind"
note "ok: last rewrite at unmount (getxattr requests $final >= $last)"

# --- a small cache: evictions, bytes within the budget -----------------------
# readahead=0: 128 KiB requests, so that few windows are pinned at once
# (the bound stats.py allows is 2 MiB of requests in flight)
pfs_mount cache=1M,window=64K,readahead=0
sp "cache=1M,window=64K, 16 MiB read" small "$MNT" "$MNT/f16" $((64 * KiB)) $MiB
check_eq "read_ahead_kb with readahead=0 (the kernel's)" 128 \
	"$(cat "/sys/class/bdi/$(mountpoint -d "$MNT")/read_ahead_kb")"
pfs_umount

# --- read-only mount: stats readable, the kernel refuses setxattr -------------
pfs_mount ro
step "ro: stats readable" -- \
	bash -c 'getfattr --absolute-names --only-values -n user.panefs.stats "$1" |
		python3 "$2" validate -' _ "$MNT" "$ST"
expect_fail "ro: setfattr user.panefs.cache" "Read-only file system" \
	setfattr -n user.panefs.cache -v 8M "$MNT"
pfs_umount

# --- views mode: the root is synthetic ---------------------------------------
printf 'v1 f8 4096 1M\nsub/v2 f16 0 -\n' >"$PFS_TMP/t.views"
pfs_mount views="$PFS_TMP/t.views",readahead=4M
sp "views: stats on the synthetic root" views "$MNT" v1 $MiB
check_eq "read_ahead_kb with readahead=4M" 4096 \
	"$(cat "/sys/class/bdi/$(mountpoint -d "$MNT")/read_ahead_kb")"
pfs_umount

# --- split mode ---------------------------------------------------------------
pfs_mount split=1M
step "split: stats readable" -- \
	bash -c 'getfattr --absolute-names --only-values -n user.panefs.stats "$1" |
		python3 "$2" validate -' _ "$MNT" "$ST"
before=$(value 'panefs_bytes_total{op="read"}')
step "split: read one chunk" -- cat "$MNT/f8/000003" >/dev/null
check_eq "split: bytes{op=read} of one chunk" $((before + MiB)) \
	"$(value 'panefs_bytes_total{op="read"}')"
step "split: setfattr user.panefs.cache" -- setfattr -n user.panefs.cache -v 8M "$MNT"
check_eq "split: budget" $((8 * MiB)) "$(value panefs_cache_budget_bytes)"
pfs_umount
