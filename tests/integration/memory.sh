# memory.sh - the cache budget holds: reading a 4 GiB file with cache=64M,
# the daemon never has more than 64 MiB of the file mapped (sampled from
# /proc/PID/maps every 0.2 s) and its peak RSS (VmHWM) stays under the
# budget plus a fixed overhead. Under ASan RSS is meaningless: set
# PANEFS_SANITIZED=1 (or it is detected from the binary) and only the
# mappings are checked.
. "$(dirname "$0")/lib.sh"

need_panefs "the cache budget is a panefs property"
MiB=1048576
GiB=$((1024 * MiB))
BUDGET=$((64 * MiB))
OVERHEAD=$((48 * MiB))
BIG=$SRC/big

# 4 GiB: allocated with fallocate (reads as zeros without disk I/O) and
# 4 MiB of random data at a few spread offsets, some unaligned.
if ! fallocate -l $((4 * GiB)) "$BIG" 2>/dev/null; then
	truncate -s $((4 * GiB)) "$BIG"
fi
mkrand "$PFS_TMP/pat" $((4 * MiB))
for off in 0 $((GiB + 12345)) $((2 * GiB)) $((3 * GiB + 4096 * 7)) $((4 * GiB - 4 * MiB)); do
	dd if="$PFS_TMP/pat" of="$BIG" bs=4M count=1 seek="$off" oflag=seek_bytes \
		conv=notrunc status=none
done

pfs_mount cache=64M
[ -n "$PFS_PID" ] || fail "no daemon pid"
rm -f "$PFS_TMP/stop"
PFS_BG_TIMEOUT=300 bg bash -c 'exec python3 "$1/mapwatch.py" "$2" "$3" "$4" 0.2 >"$5"' _ \
	"$PFS_LIBDIR" "$PFS_PID" "$BIG" "$PFS_TMP/stop" "$PFS_TMP/watch.out"
WATCH=$BG_PID

step -t 240 "read 4 GiB through the mount and compare with the backing file (cmp)" -- \
	cmp "$MNT/big" "$BIG"
step -t 240 "read 4 GiB again with dd bs=1M" -- \
	dd if="$MNT/big" of=/dev/null bs=1M status=none
touch "$PFS_TMP/stop"
bg_wait "$WATCH" || fail "mapwatch.py failed"
read -r watch <"$PFS_TMP/watch.out"
note "mappings of the backing file: $watch"
peak=${watch#peak=}
peak=${peak%% *}
[ "$peak" -le "$BUDGET" ] ||
	fail "daemon mapped $peak bytes of the backing file at once; cache=64M allows $BUDGET"
[ "$peak" -gt 0 ] ||
	fail "daemon never mapped the backing file while reading it (data path does not use windows?)"

hwm=$(awk '/^VmHWM:/ { print $2 * 1024 }' "/proc/$PFS_PID/status")
rss=$(awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$PFS_PID/status")
maps=$(wc -l <"/proc/$PFS_PID/maps")
note "daemon VmHWM $((hwm / MiB)) MiB, VmRSS $((rss / MiB)) MiB, $maps mappings (limit $(((BUDGET + OVERHEAD) / MiB)) MiB)"
if pfs_sanitized; then
	note "sanitized build: VmHWM not checked"
else
	[ "$hwm" -le $((BUDGET + OVERHEAD)) ] ||
		fail "daemon VmHWM $((hwm / MiB)) MiB > cache 64 MiB + overhead 48 MiB"
fi
pfs_umount
