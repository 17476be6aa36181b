# concur.sh - the concurrency stress (concur, concur.c) through the mount.
#
#     bash tests/integration/concur.sh /path/to/panefs /path/to/concur
#
# 5 writer and 3 reader threads (one reading through mmap) on 4 files of
# 16 MiB plus a churn file that a truncate thread cuts and extends while an
# fsync thread syncs, with a cache far smaller than the 80 MiB working set:
# window=1M,cache=8M and window=64K,cache=1M, each with the daemon
# multi-threaded and with -s; about 12 s each (CONCUR_SECS). concur checks
# every record it reads, each writer's read-back of its own stripes, the
# exact final state through a fresh open and the backing files byte for
# byte; its watchdog exits 2 ("deadlock?") when a thread makes no progress
# for 30 s, and every run has a time limit here as well.
#
# A read racing a shrinking truncate made through the mount must see data
# or a short count, never EIO: backing_truncate() waits for zero-copy
# replies in flight (concur's -E would tolerate such EIOs; it is not used).
. "$(dirname "$0")/lib.sh"

CONCUR=${2:-}
[ -n "$CONCUR" ] && [ -x "$CONCUR" ] || fail "usage: concur.sh PANEFS CONCUR (concur not executable: $CONCUR)"
SECS=${CONCUR_SECS:-12}
SEED=${CONCUR_SEED:-1}
RUN=0

# stress LABEL MOUNT-ARGS...
stress() {
	local label=$1 out
	shift
	RUN=$((RUN + 1))
	rm -f "$SRC"/*
	pfs_mount "$@"
	out=$PFS_TMP/concur.$RUN
	note "$label: concur for ${SECS} s, seed $((SEED + RUN))"
	t $((SECS + 150)) "$CONCUR" -t "$SECS" -s $((SEED + RUN)) \
		-B "$SRC" "$MNT" >"$out" 2>&1 || {
		cat "$out" >&2
		fail "$label: concur failed"
	}
	cat "$out" >&2
	local f
	for f in c0 c1 c2 c3 churn; do
		check "$label: $f on the mount equals the backing file" \
			cmp "$MNT/$f" "$SRC/$f"
	done
	pfs_umount
}

stress "window=1M,cache=8M" window=1M,cache=8M
stress "window=64K,cache=1M" window=64K,cache=1M
stress "window=1M,cache=8M -s" -s window=1M,cache=8M
stress "window=64K,cache=1M -s" -s window=64K,cache=1M
