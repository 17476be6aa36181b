# fsx.sh - the random-operation model test (pfsx, fsx.c) through the mount.
#
#     bash tests/integration/fsx.sh /path/to/panefs /path/to/pfsx
#
# Two mounts whose cache holds only a few windows, so eviction runs all the
# time: window=64K,cache=256K (multi-threaded daemon) and window=1M,cache=4M
# (-s). On each, two pfsx processes run at once on two files: one in the
# first 8 MiB of a file, one 8 MiB window above 5 GiB of a sparse file.
# pfsx checks every step against its model, and at the end the file through
# a fresh open and the backing file; this script then compares the mount
# with the backing file and checks the backing file is unchanged by the
# unmount. The runs share PFSX_OPS (default 200,000) as 30/20/30/20 %.
#
# Soak: PFSX_OPS and PFSX_SEED (the seeds are PFSX_SEED+1 .. +4) come from
# the environment, e.g.
#     PFSX_OPS=5000000 PFSX_SEED=123 meson test -C build fsx \
#         --timeout-multiplier 0
# (PANEFS_TEST_TIMEOUT is then raised to fit). One failing pfsx run is
# reproduced alone with the command line it prints (same seed, count and
# options) on a mount with the same options.
# Under ASan (pfs_sanitized) the default count is 100,000: the daemon is
# about 3 times slower there.
# The whole script's limit (lib.sh's watchdog): 840 s (meson: 900) for the
# default count, which takes about 1 min of CPU (2 min with ASan) but far
# longer on a machine busy with other tests; more for a soak.
if [ -z "${PANEFS_TEST_TIMEOUT:-}" ]; then
	export PANEFS_TEST_TIMEOUT=$((840 + ${PFSX_OPS:-0} / 250))
fi
. "$(dirname "$0")/lib.sh"

PFSX=${2:-}
[ -n "$PFSX" ] && [ -x "$PFSX" ] || fail "usage: fsx.sh PANEFS PFSX (pfsx not executable: $PFSX)"

OPS=${PFSX_OPS:-200000}
if [ -z "${PFSX_OPS:-}" ] && pfs_sanitized; then
	OPS=100000
	note "sanitizer build: $OPS operations instead of 200000"
fi
SEED=${PFSX_SEED:-1}
FAR=5G
FARB=$((5 << 30))
export FARB
# a step's time limit: 4 ms per op (loaded machine, ASan) + 60 s
lim() { echo $(($1 * 4 / 1000 + 60)); }

TOTAL_OPS=0
TOTAL_MIB=0

# run_pair LABEL WINDOW SEED1 OPS1 SEED2 OPS2 : pfsx on a near file and on
# a far (sparse) file at once on the current mount, then compare.
run_pair() {
	local label=$1 win=$2 s1=$3 n1=$4 s2=$5 n2=$6 p1 p2 rc1=0 rc2=0 big
	big=$((n1 > n2 ? n1 : n2))
	PFS_BG_TIMEOUT=$(lim "$big")
	note "$label: pfsx seed $s1 x $n1 ops (near), seed $s2 x $n2 ops (at $FAR)"
	bg "$PFSX" -q -w "$win" -B "$SRC/near$s1" "$MNT/near$s1" "$s1" "$n1" \
		>"$PFS_TMP/out.$s1" 2>&1
	p1=$BG_PID
	bg "$PFSX" -q -w "$win" -b "$FAR" -B "$SRC/far$s2" "$MNT/far$s2" "$s2" \
		"$n2" >"$PFS_TMP/out.$s2" 2>&1
	p2=$BG_PID
	bg_wait "$p1" || rc1=$?
	bg_wait "$p2" || rc2=$?
	cat "$PFS_TMP/out.$s1" "$PFS_TMP/out.$s2" >&2
	[ "$rc1" = 0 ] || fail "$label: pfsx seed $s1 (near) exited $rc1"
	[ "$rc2" = 0 ] || fail "$label: pfsx seed $s2 (far) exited $rc2"
	TOTAL_OPS=$((TOTAL_OPS + n1 + n2))
	local m
	for m in $(sed -n 's/.* \([0-9]*\) MiB verified.*/\1/p' \
		"$PFS_TMP/out.$s1" "$PFS_TMP/out.$s2"); do
		TOTAL_MIB=$((TOTAL_MIB + m))
	done
	check "$label: near$s1 on the mount equals the backing file" \
		cmp "$MNT/near$s1" "$SRC/near$s1"
	check "$label: far$s2 on the mount equals the backing file past $FAR" \
		cmp -i "$FARB" "$MNT/far$s2" "$SRC/far$s2"
	check_eq "$label: far$s2 size" "$(fsize "$SRC/far$s2")" "$(fsize "$MNT/far$s2")"
}

# one_mount LABEL WINDOW MOUNT-ARGS... : a pair of runs, unmount, and the
# backing files must not change across the unmount.
one_mount() {
	local label=$1 win=$2
	shift 2
	rm -f "$SRC"/*
	pfs_mount "$@"
	run_pair "$label" "$win" "$S1" "$N1" "$S2" "$N2"
	sums "$PFS_TMP/sums.1"
	pfs_umount
	sums "$PFS_TMP/sums.2"
	check "$label: backing files unchanged by the unmount" \
		cmp "$PFS_TMP/sums.1" "$PFS_TMP/sums.2"
}

# sums OUT : size and sha256 of each backing file (of a far file, from FAR
# on: the hole below is spot-checked by pfsx and costs 5 GiB to hash)
sums() {
	tsh "cd \"\$SRC\"
	for f in near* far*; do
		skip=0
		case \$f in far*) skip=\$FARB ;; esac
		printf '%s %s %s\\n' \"\$f\" \"\$(stat -c %s \"\$f\")\" \\
			\"\$(tail -c +\$((skip + 1)) \"\$f\" | sha256sum)\"
	done >'$1'"
}

N1=$((OPS * 3 / 10)) N2=$((OPS * 2 / 10)) S1=$((SEED + 1)) S2=$((SEED + 2))
one_mount "window=64K,cache=256K" 64K window=64K,cache=256K
N1=$((OPS * 3 / 10)) N2=$((OPS - OPS * 8 / 10)) S1=$((SEED + 3)) S2=$((SEED + 4))
one_mount "window=1M,cache=4M -s" 1M -s window=1M,cache=4M
note "total: $TOTAL_OPS operations, $TOTAL_MIB MiB verified against the model"
