# cli.sh - the command-line contract: bad input gives exit status 2, one
# line on stderr naming the problem, and nothing mounted; --help and
# --version exit 0.
. "$(dirname "$0")/lib.sh"

need_panefs "command-line contract of panefs"
echo "not a dir" >"$PFS_TMP/file"

# bad_input DESC PATTERN ARGS... : panefs ARGS must exit 2 with exactly one
# non-empty line on stderr matching PATTERN (grep -iE), and mount nothing.
# Run without -f: if panefs wrongly accepted the input it would daemonize
# and return instead of serving in the foreground.
bad_input() {
	local desc=$1 pat=$2 rc=0
	shift 2
	t 10 "$PANEFS" "$@" >"$PFS_TMP/out" 2>"$PFS_TMP/err" || rc=$?
	if pfs_is_mounted; then
		timeout 5 fusermount3 -u "$MNT" || timeout 5 fusermount3 -uz "$MNT" || true
		fail "$desc: panefs $* mounted $MNT (exit $rc)"
	fi
	local lines
	lines=$(wc -l <"$PFS_TMP/err")
	# a last line without newline counts too
	[ -s "$PFS_TMP/err" ] && [ "$(tail -c 1 "$PFS_TMP/err" | od -An -c | tr -d ' ')" != '\n' ] &&
		lines=$((lines + 1))
	[ "$rc" = 2 ] || fail "$desc: panefs $*: expected exit status 2, got $rc; stderr: $(head -c 500 "$PFS_TMP/err")"
	[ "$lines" = 1 ] || fail "$desc: panefs $*: expected one line on stderr, got $lines: $(head -c 500 "$PFS_TMP/err")"
	grep -qiE "$pat" "$PFS_TMP/err" ||
		fail "$desc: panefs $*: stderr does not name the problem (/$pat/): $(cat "$PFS_TMP/err")"
	[ ! -s "$PFS_TMP/out" ] || note "$desc: note: stdout not empty: $(head -c 200 "$PFS_TMP/out")"
	note "ok: $desc -> $(cat "$PFS_TMP/err")"
}

bad_input "unknown option" 'foo' -o foo "$SRC" "$MNT"
bad_input "unknown option among good ones" 'bogus' -o cache=8M,bogus=1 "$SRC" "$MNT"
bad_input "bad size window=12X" 'window|12X' -o window=12X "$SRC" "$MNT"
bad_input "bad size cache=-1" 'cache|-1' -o cache=-1 "$SRC" "$MNT"
bad_input "empty size window=" 'window' -o window= "$SRC" "$MNT"
bad_input "overflowing size" 'cache|99999999999999999999' -o cache=99999999999999999999T "$SRC" "$MNT"
bad_input "missing SOURCE" 'source|usage|argument|missing' 
bad_input "missing MOUNTPOINT" 'mount ?point|usage|argument|missing' "$SRC"
bad_input "SOURCE not a directory" 'file|directory|source' "$PFS_TMP/file" "$MNT"
bad_input "MOUNTPOINT not a directory" 'file|directory|mount' "$SRC" "$PFS_TMP/file"
bad_input "nonexistent SOURCE" 'nonexistent|source|no such' "$PFS_TMP/nonexistent" "$MNT"
bad_input "nonexistent MOUNTPOINT" 'nonexistent|mount|no such' "$SRC" "$PFS_TMP/nonexistent"
bad_input "too many arguments" 'argument|usage|extra|third|too many' "$SRC" "$MNT" "$PFS_TMP"
bad_input "unknown flag" 'nosuchflag|unknown|usage|option' --nosuchflag "$SRC" "$MNT"

for h in --help -h; do
	rc=0
	t 10 "$PANEFS" "$h" >"$PFS_TMP/out" 2>&1 || rc=$?
	[ "$rc" = 0 ] || fail "panefs $h: expected exit status 0, got $rc"
	for w in 'window=' 'cache='; do
		grep -q -- "$w" "$PFS_TMP/out" || fail "panefs $h does not list $w: $(head -c 300 "$PFS_TMP/out")"
	done
	pfs_is_mounted && fail "panefs $h mounted something"
done
note "ok: --help, -h"
for v in --version -V; do
	rc=0
	t 10 "$PANEFS" "$v" >"$PFS_TMP/out" 2>&1 || rc=$?
	[ "$rc" = 0 ] || fail "panefs $v: expected exit status 0, got $rc"
	[ -s "$PFS_TMP/out" ] || fail "panefs $v printed nothing"
	grep -q '[0-9]\+\.[0-9]\+' "$PFS_TMP/out" || fail "panefs $v shows no version number: $(cat "$PFS_TMP/out")"
done
note "ok: --version, -V ($(head -n 1 "$PFS_TMP/out"))"

# good sizes with every suffix are accepted: mount, check, unmount
pfs_mount window=64K,cache=1M
pfs_umount
pfs_mount window=65536,cache=1G
pfs_umount
pfs_mount window=1m,cache=2G
pfs_umount
