# coherence.sh - the backing tree changed from outside the mount (append,
# overwrite in place, truncate shorter and longer, replace by rename,
# delete) while the file is open through it with windows mapped, and while
# it is closed. Within the attribute timeout (1 s) the mount shows the new
# size and content, and no window maps past a new end of file (checked in
# /proc/DAEMON/maps). The cases and what "new" means for an open
# descriptor are in coherence.py; the model is in README.md ("Coherence").
. "$(dirname "$0")/lib.sh"
need_panefs "reads the daemon's /proc/PID/maps"

# Small windows and a cache larger than one file: windows stay cached.
for opts in cache=32M,window=1M cache=32M,window=256K; do
	pfs_mount "$opts"
	step -t 120 "outside changes ($opts)" -- \
		python3 "$PFS_LIBDIR/coherence.py" "$MNT" "$SRC" "$PFS_PID" 1.2
	kill -0 "$PFS_PID" 2>/dev/null || fail "the daemon died"
	pfs_umount
done
