# stress.sh - concurrent metadata and data churn from 6 processes
# (stress.py), multi-threaded and with -s; afterwards every worker's
# directory, seen on the backing dir and through the mount, holds exactly
# what the worker last wrote.
. "$(dirname "$0")/lib.sh"

state() { # DIR -> "name size sha256" of the regular files, sorted
	t 60 python3 - "$1" <<'PY'
import hashlib, os, sys
d = sys.argv[1]
for n in sorted(os.listdir(d)):
    p = os.path.join(d, n)
    if os.path.isfile(p) and not os.path.islink(p):
        b = open(p, "rb").read()
        print(n, len(b), hashlib.sha256(b).hexdigest())
PY
}

churn() { # LABEL SECONDS MOUNT-ARGS...
	local label=$1 secs=$2
	shift 2
	rm -rf "${SRC:?}"/* "$PFS_TMP/expect"
	mkdir "$PFS_TMP/expect"
	pfs_mount "$@"
	step -t $((secs + 60)) "$label: 6 processes of churn for ${secs} s" -- \
		python3 "$PFS_LIBDIR/stress.py" "$MNT" "$secs" "$PFS_TMP/expect"
	local k
	for k in 0 1 2 3 4 5; do
		state "$SRC/w$k" >"$PFS_TMP/got.b" || fail "listing backing w$k"
		state "$MNT/w$k" >"$PFS_TMP/got.m" || fail "listing mount w$k"
		diff -u "$PFS_TMP/expect/expect-$k" "$PFS_TMP/got.b" >&2 ||
			fail "$label: worker $k: backing dir differs from what it wrote"
		diff -u "$PFS_TMP/expect/expect-$k" "$PFS_TMP/got.m" >&2 ||
			fail "$label: worker $k: mount differs from what it wrote"
	done
	check "$label: find over the mount" bash -c 'find "$1" >/dev/null' _ "$MNT"
	pfs_umount
}

churn "cache=8M,window=64K" 15 cache=8M,window=64K
churn "-s" 8 -s cache=8M,window=64K
