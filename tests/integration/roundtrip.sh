# roundtrip.sh - file data survives the trip through the mount, both ways.
#
# Random files of sizes around page and window boundaries plus one of
# 300 MiB (much larger than cache=8M) are written with cp through the mount
# and compared on the backing dir, then written on the backing dir and read
# through the mount; then 3 parallel readers and a writer. Four
# configurations: window=1M, window=64K, -s, and a one-window cache.
. "$(dirname "$0")/lib.sh"

SIZES=(0 1 4095 4096 4097 $((1048576 - 1)) 1048576 $((1048576 + 1)) $((300 * 1048576)))
DATA=$PFS_TMP/data
mkdir "$DATA"
note "making random data"
for n in "${SIZES[@]}"; do
	mkrand "$DATA/f$n" "$n"
done
declare -A SUM
for n in "${SIZES[@]}"; do
	SUM[$n]=$(sha "$DATA/f$n")
done

roundtrip() { # LABEL PARALLEL(0|1) MOUNT-ARGS...
	local label=$1 par=$2
	shift 2
	pfs_mount "$@"
	local n
	for n in "${SIZES[@]}"; do
		# through the mount -> backing
		step -t 120 "$label: cp $n bytes into the mount" -- \
			cp "$DATA/f$n" "$MNT/w$n"
		check_eq "$label: size on backing of w$n" "$n" "$(fsize "$SRC/w$n")"
		check_eq "$label: size through mount of w$n" "$n" "$(fsize "$MNT/w$n")"
		check "$label: backing copy of w$n differs from source (cmp)" \
			cmp "$DATA/f$n" "$SRC/w$n"
		check_eq "$label: sha256 of backing w$n" "${SUM[$n]}" "$(sha "$SRC/w$n")"
		dropcache "$MNT/w$n"
		check "$label: w$n read back through the mount differs (cmp)" \
			cmp "$DATA/f$n" "$MNT/w$n"

		# backing -> through the mount
		step "$label: cp $n bytes onto the backing dir" -- \
			cp "$DATA/f$n" "$SRC/r$n"
		check_eq "$label: size through mount of r$n" "$n" "$(fsize "$MNT/r$n")"
		check "$label: r$n read through the mount differs (cmp)" \
			cmp "$DATA/f$n" "$MNT/r$n"
		check_eq "$label: sha256 through mount of r$n" "${SUM[$n]}" "$(sha "$MNT/r$n")"

		# overwrite in place through the mount (no truncate): cp onto an
		# existing file with other content of the same size
		if [ "$n" -gt 0 ] && [ "$n" -le 2000000 ]; then
			mkrand "$PFS_TMP/other" "$n"
			step "$label: overwrite w$n in place" -- \
				dd if="$PFS_TMP/other" of="$MNT/w$n" bs=64K conv=notrunc status=none
			check "$label: overwritten w$n on backing differs" \
				cmp "$PFS_TMP/other" "$SRC/w$n"
			dropcache "$MNT/w$n"
			check "$label: overwritten w$n through mount differs" \
				cmp "$PFS_TMP/other" "$MNT/w$n"
		fi
		run rm -f "$MNT/w$n" "$MNT/r$n"
		[ ! -e "$SRC/w$n" ] || fail "$label: rm through mount left $SRC/w$n"
		[ ! -e "$SRC/r$n" ] || fail "$label: rm through mount left $SRC/r$n"
	done
	# parallel: 3 readers of one big file (cache pressure, shared windows)
	# and a writer of another, all at once
	if [ "$par" = 1 ]; then
		local big=$((300 * 1048576))
		cp "$DATA/f$big" "$SRC/par"
		step -t 240 "$label: 3 parallel readers of 300 MiB + 1 writer" -- \
			bash -c 'set -e; pids=()
			for i in 1 2 3; do cmp "$1" "$2/par" & pids+=($!); done
			cp "$1" "$2/pw1" & pids+=($!)
			for p in "${pids[@]}"; do wait "$p"; done' _ "$DATA/f$big" "$MNT"
		check "$label: parallel writer (backing)" cmp "$DATA/f$big" "$SRC/pw1"
		run rm -f "$MNT/par" "$MNT/pw1"
	fi
	pfs_umount
}

roundtrip "cache=8M,window=1M" 1 cache=8M,window=1M
roundtrip "cache=8M,window=64K" 0 cache=8M,window=64K
roundtrip "-s cache=8M,window=1M" 0 -s cache=8M,window=1M
# smallest budget: one 64 KiB window; 128 KiB+ requests span several
roundtrip "cache=64K,window=64K" 1 cache=64K,window=64K
