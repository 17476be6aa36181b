# sparse.sh - 64-bit offsets: data above 4 GiB and above 2 TiB in a sparse
# file, holes read as zeros, the backing file stays sparse, and
# SEEK_DATA/SEEK_HOLE through the mount agree with the backing file.
. "$(dirname "$0")/lib.sh"

MiB=1048576
GiB=$((1024 * MiB))
TiB=$((1024 * GiB))
OFF1=$((5 * GiB))                 # above 4 GiB
OFF2=$((5 * TiB / 2))             # 2.5 TiB
OFF3=$((4 * GiB - 100))           # straddles the 4 GiB line, unaligned
PAT=$PFS_TMP/pat                  # 4 MiB of random data
mkrand "$PAT" $((4 * MiB))
mkrand "$PFS_TMP/small" 200

pfs_mount cache=8M,window=1M
F=$MNT/sparse
B=$SRC/sparse

step "dd 4 MiB at 5 GiB through the mount" -- \
	dd if="$PAT" of="$F" bs=1M seek=$((OFF1 / MiB)) conv=notrunc status=none
step "dd 4 MiB at 2.5 TiB through the mount" -- \
	dd if="$PAT" of="$F" bs=1M seek=$((OFF2 / MiB)) conv=notrunc status=none
step "dd 200 bytes across 4 GiB through the mount" -- \
	dd if="$PFS_TMP/small" of="$F" bs=200 seek=$OFF3 oflag=seek_bytes \
	conv=notrunc status=none

SIZE=$((OFF2 + 4 * MiB))
check_eq "size through the mount" "$SIZE" "$(fsize "$F")"
check_eq "size of the backing file" "$SIZE" "$(fsize "$B")"

# data where written (through the mount and on the backing file)
for f in "$F" "$B"; do
	check "data at 5 GiB in $f" cmp -i "$OFF1:0" -n $((4 * MiB)) "$f" "$PAT"
	check "data at 2.5 TiB in $f" cmp -i "$OFF2:0" -n $((4 * MiB)) "$f" "$PAT"
	check "data across 4 GiB in $f" cmp -i "$OFF3:0" -n 200 "$f" "$PFS_TMP/small"
done
# holes read as zeros
for r in "0 $((4 * MiB))" "$((GiB)) $((8 * MiB))" "$((OFF3 - 8 * MiB)) $((8 * MiB))" \
	"$((OFF1 + 4 * MiB)) $((16 * MiB))" "$((2 * TiB)) $((8 * MiB))" \
	"$((OFF2 - 8 * MiB)) $((8 * MiB))"; do
	set -- $r
	check "hole at $1 (+$2) reads as zeros through the mount" \
		cmp -i "$1:0" -n "$2" "$F" /dev/zero
done
# a read crossing hole -> data -> hole at 5 GiB
{ head -c "$MiB" /dev/zero; cat "$PAT"; head -c "$MiB" /dev/zero; } >"$PFS_TMP/expect"
check "read across hole/data/hole at 5 GiB" \
	cmp -i $((OFF1 - MiB)):0 -n $((6 * MiB)) "$F" "$PFS_TMP/expect"
check "dd bs=1M read at 2.5 TiB through the mount" \
	bash -c 'dd if="$1" bs=1M skip=$2 count=4 status=none | cmp - "$3"' _ \
	"$F" $((OFF2 / MiB)) "$PAT"

# the backing file stays sparse
DU=$(du_k "$B")
note "backing file: size $SIZE, du ${DU} KiB"
[ "$DU" -lt $((64 * 1024)) ] || fail "backing file not sparse: du ${DU} KiB >= 64 MiB"

# data written on the backing side, read at > 2 TiB through the mount
# (a file never looked up before, so no cached attributes)
step "dd on the backing dir at 3 TiB + 7" -- \
	dd if="$PAT" of="$SRC/sparse2" bs=1M count=3 seek=$((3 * TiB + 7)) \
	oflag=seek_bytes status=none
check_eq "size of sparse2 through the mount" $((3 * TiB + 7 + 3 * MiB)) "$(fsize "$MNT/sparse2")"
check "sparse2 data at 3 TiB + 7 through the mount" \
	cmp -i $((3 * TiB + 7)):0 -n $((3 * MiB)) "$MNT/sparse2" "$PAT"
check "sparse2 hole below 3 TiB through the mount" \
	cmp -i $((3 * TiB - 4 * MiB)):0 -n $((4 * MiB + 7)) "$MNT/sparse2" /dev/zero

# SEEK_DATA / SEEK_HOLE
if [ "$PFS_STANDIN" = bindfs ]; then
	note "SEEK_DATA/SEEK_HOLE: skipped (bindfs has no lseek)"
else
	for n in sparse sparse2; do
		t 60 python3 "$PFS_LIBDIR/seekmap.py" "$SRC/$n" >"$PFS_TMP/seek.b" ||
			fail "seekmap of backing $n failed"
		t 60 python3 "$PFS_LIBDIR/seekmap.py" "$MNT/$n" >"$PFS_TMP/seek.m" ||
			fail "seekmap through the mount of $n failed"
		if ! cmp -s "$PFS_TMP/seek.b" "$PFS_TMP/seek.m"; then
			echo "backing:" >&2; head -20 "$PFS_TMP/seek.b" >&2
			echo "through the mount:" >&2; head -20 "$PFS_TMP/seek.m" >&2
			fail "SEEK_DATA/SEEK_HOLE through the mount disagree with the backing file ($n)"
		fi
		note "seek map of $n: $(($(wc -l <"$PFS_TMP/seek.m") - 1)) data segments, same as backing"
	done
fi
# the reads must not have filled the holes
DU=$(du_k "$B")
[ "$DU" -lt $((64 * 1024)) ] || fail "backing file grew to du ${DU} KiB after reads"
DU=$(du_k "$SRC/sparse2")
[ "$DU" -lt $((64 * 1024)) ] || fail "sparse2 grew to du ${DU} KiB after reads"

pfs_umount
