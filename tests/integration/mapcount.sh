# mapcount.sh - vm.max_map_count reached (issue 4, item 4).
#
# panefs runs with window=64K,cache=1G: the budget alone would allow 16384
# windows. While a 384 MiB file (6144 windows) is read through the mount,
# vm.max_map_count is lowered to the daemon's current number of mappings
# plus 40, so mmap fails with ENOMEM after a few dozen windows; the cache
# must evict unpinned windows and retry (and a zero-copy read that cannot
# pin all its windows falls back to copying). The read must still return
# the right bytes (cmp), and the daemon's mappings (sampled from
# /proc/PID/maps) stay under the limit: with the budget never reached, only
# evict-and-retry on ENOMEM can have kept them there. The sysctl is shared
# by the whole machine: it is lowered only for the read and restored in
# every outcome (before the unmount, and in the exit trap).
. "$(dirname "$0")/lib.sh"

need_panefs "the window cache is a panefs property"
SYSCTL=/proc/sys/vm/max_map_count
MiB=1048576
[ -w "$SYSCTL" ] || skip "$SYSCTL is not writable here"
# ASan's own allocator maps memory too and aborts ("ERROR: Failed to mmap")
# when the limit refuses it: the fault is for the real binary.
pfs_sanitized && skip "sanitized build: ASan aborts when mmap fails"
ORIG=$(cat "$SYSCTL")
LOWERED=0
restore_maps() {
	if [ "$LOWERED" = 1 ]; then
		echo "$ORIG" >"$SYSCTL" 2>/dev/null || true
		LOWERED=0
	fi
}
# errexit and the ERR trap off first: a failing command in here must not
# end the shell before lib.sh's _pfs_exit ran (it unmounts, reports).
_pfs_rc() { return "$1"; }
trap '_rc=$?; set +eE; trap - ERR; restore_maps; _pfs_rc "$_rc"; _pfs_exit' EXIT

SIZE=$((384 * MiB))
note "make a $((SIZE / MiB)) MiB file"
mkrand "$SRC/big" $SIZE
pfs_mount window=64K,cache=1G
# look the file up (no window mapped yet: base counts no window)
check "stat through the mount" stat -c %s "$MNT/big" >/dev/null
t 30 cat "$SRC/big" >/dev/null   # warm: measure the daemon, not the disk

base=$(wc -l <"/proc/$PFS_PID/maps")
limit=$((base + 40))
rm -f "$PFS_TMP/stop"
PFS_BG_TIMEOUT=120 bg bash -c 'exec python3 "$1/mapwatch.py" "$2" "$3" "$4" 0.05 >"$5"' _ \
	"$PFS_LIBDIR" "$PFS_PID" "$SRC/big" "$PFS_TMP/stop" "$PFS_TMP/watch.out"
WATCH=$BG_PID
note "daemon has $base mappings; lowering vm.max_map_count $ORIG -> $limit"
LOWERED=1
echo "$limit" >"$SYSCTL"
rc=0
t 60 cmp "$MNT/big" "$SRC/big" || rc=$?
dmaps=$(wc -l <"/proc/$PFS_PID/maps")
restore_maps
note "vm.max_map_count restored to $(cat "$SYSCTL")"
touch "$PFS_TMP/stop"
bg_wait "$WATCH" || fail "mapwatch.py failed"
[ "$rc" = 0 ] || fail "read under vm.max_map_count=$limit: cmp exit $rc"
read -r watch <"$PFS_TMP/watch.out"
maxmaps=${watch#*maxmaps=}
maxmaps=${maxmaps%% *}
note "read $((SIZE / MiB)) MiB in 64 KiB windows under a limit of $limit maps; window mappings of the file: $watch; daemon maps at the end $dmaps"
# Without the limit all 6144 windows would stay mapped (384 MiB is within
# the 1 GiB budget, nothing is evicted for the budget).
[ "$maxmaps" -lt "$limit" ] || fail "daemon held $maxmaps windows of the file; the limit was $limit mappings"
[ "$maxmaps" -gt 0 ] || fail "no window of the file was ever seen mapped"
_pfs_alive "$PFS_PID" || fail "the daemon died"
check "the whole file again at the normal limit" cmp "$MNT/big" "$SRC/big"
pfs_umount
