# lifecycle.sh - the daemon's life and death (issue 4, faults 5 and 6):
#  1. SIGKILL mid-stream, several seeded rounds: every record a write()
#     acknowledged is in the backing files (checksums), the writer gets an
#     error instead of hanging, `fusermount3 -u` (not lazy) cleans the
#     mount point up, and a remount serves the data.
#  2. fsync and fdatasync reach the daemon as msync(MS_SYNC) of every
#     window of the file, then fsync/fdatasync of the backing descriptor,
#     then the reply (strace of the daemon).
#  3. SIGTERM, SIGINT and `fusermount3 -u` unmount cleanly, exit 0, and
#     flush: open files are msynced and fsynced, SOURCE is syncfs'd
#     (strace), and the data written just before is in the backing files.
#  4. SIGTERM while 64 MiB reads and writes are in flight: the daemon exits
#     0, the callers get an error (no hang), acknowledged writes are on disk.
# (external.sh has the single basic SIGKILL check; this goes further.)
. "$(dirname "$0")/lib.sh"
need_panefs "signals and traces the panefs daemon"

# LeakSanitizer cannot run under ptrace and would turn a traced daemon's
# clean exit into status 1 (meson sets this already; direct runs need it).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

H=$PFS_LIBDIR/lifecycle.py
MiB=1048576
ROUNDS=${LIFECYCLE_ROUNDS:-6}

# Wait for the daemon (a child of this shell) to exit within $1 seconds;
# its exit status goes to DAEMON_RC; fail on a timeout. Clears PFS_PID.
daemon_exit() {
	local pid=$PFS_PID
	DAEMON_RC=0
	_pfs_wait_gone "$pid" "$1" || fail "daemon (pid $pid) still running $1 s after $2"
	wait "$pid" || DAEMON_RC=$?
	PFS_PID=
	_pfs_check_log
}

# strace the daemon in the background (all threads) into $1; calls $2.
# Sets TRACE_PID once every thread is attached.
trace_daemon() {
	local out=$1 calls=$2 deadline=$((SECONDS + 10)) tid st n
	strace -f -qq -y -o "$out" -e trace="$calls" -p "$PFS_PID" </dev/null 2>"$out.err" &
	TRACE_PID=$!
	PFS_BG+=("$TRACE_PID")
	while :; do
		n=0
		for st in /proc/"$PFS_PID"/task/*/status; do
			tid=$(awk '/^TracerPid:/ { print $2 }' "$st" 2>/dev/null) || continue
			[ "$tid" = "$TRACE_PID" ] || n=$((n + 1))
		done
		[ "$n" = 0 ] && break
		_pfs_alive "$TRACE_PID" || fail "strace could not attach: $(cat "$out.err")"
		[ "$SECONDS" -lt "$deadline" ] || fail "strace did not attach to every daemon thread"
		sleep 0.05
	done
}

untrace() {
	kill -INT "$TRACE_PID" 2>/dev/null || true
	_pfs_wait_gone "$TRACE_PID" 10 || fail "strace did not detach"
	wait "$TRACE_PID" 2>/dev/null || true
}

# Wait for a file to appear (a helper's progress mark).
await() {
	local deadline=$((SECONDS + $2))
	until [ -e "$1" ]; do
		[ "$SECONDS" -lt "$deadline" ] || fail "timed out waiting for $(basename "$1")"
		sleep 0.02
	done
}

# --- 1. SIGKILL mid-stream ------------------------------------------------
OPTS=(cache=16M,window=1M cache=1M,window=64K "-s cache=4M,window=256K")
total_recs=0
for ((r = 1; r <= ROUNDS; r++)); do
	seed=$((1000 + r))
	# The kill moment, from the seed: after N acknowledged records plus
	# up to 30 ms, so it lands anywhere within a write.
	N=$((16 + (seed * 7919) % 97))
	delay=$(printf '0.%03d' $(((seed * 104729) % 31)))
	# shellcheck disable=SC2086
	pfs_mount ${OPTS[$((r % ${#OPTS[@]}))]}
	mkdir -p "$MNT/kill"
	log=$PFS_TMP/kill.$r.log
	PFS_BG_TIMEOUT=120 bg python3 "$H" writer "$MNT/kill" "$log" "$seed" 3 400
	wpid=$BG_PID
	step "round $r: wait for $N acknowledged records" -- python3 "$H" waitlog "$log" "$N" 60
	sleep "$delay"
	pid=$PFS_PID
	disown "$pid"
	kill -KILL "$pid"
	_pfs_wait_gone "$pid" 10 || fail "daemon survived SIGKILL for 10 s"
	PFS_PID=
	# The writer must see the dead mount (ENOTCONN) promptly, not hang.
	_pfs_wait_gone "$wpid" 15 || fail "round $r: writer hangs on the dead mount"
	wrc=0
	bg_wait "$wpid" || wrc=$?
	[ "$wrc" = 0 ] || fail "round $r: writer exit $wrc (2: unexpected errno, 3: finished before the kill)"
	# Nothing holds the dead mount open any more: a plain unmount works.
	step "round $r: fusermount3 -u after SIGKILL" -- fusermount3 -u "$MNT"
	pfs_is_mounted && fail "round $r: still mounted after fusermount3 -u"
	_pfs_check_log
	out=$(t 120 python3 "$H" verify "$log" "$SRC/kill" "$seed") ||
		fail "round $r: acknowledged records missing from the backing files"
	note "round $r (killed after >= $N records + ${delay}s): $out"
	total_recs=$((total_recs + $(wc -l <"$log") - 1))
done
# A remount serves what every round wrote.
pfs_mount cache=8M,window=1M
for ((r = 1; r <= ROUNDS; r++)); do
	out=$(t 120 python3 "$H" verify "$PFS_TMP/kill.$r.log" "$MNT/kill" $((1000 + r))) ||
		fail "round $r: acknowledged records wrong when read through a new mount"
done
note "SIGKILL: $ROUNDS rounds, $total_recs acknowledged records verified in the backing files and through a remount"
rm -rf "$MNT/kill"
pfs_umount

# --- 2. fsync and fdatasync: msync every window, then fsync, then reply ----
pfs_mount cache=32M,window=1M
st=$PFS_TMP/fsync
PFS_BG_TIMEOUT=60 bg python3 "$H" fsyncer "$MNT/synced" "$st"
fpid=$BG_PID
await "$st.ready" 30
python3 "$H" maps "$PFS_PID" "$SRC/synced" >"$st.maps"
[ "$(wc -l <"$st.maps")" -ge 6 ] || fail "expected 6 windows of 'synced' mapped, got $(wc -l <"$st.maps")"
trace_daemon "$st.trace" msync,fsync,fdatasync,writev
touch "$st.go"
await "$st.done" 30
untrace
touch "$st.exit"
bg_wait "$fpid" || fail "fsyncer failed"
step "fsync ordering in the daemon" -- python3 "$H" check-fsync "$st.trace" "$st.maps" "$SRC/synced"
pfs_umount

# --- 3. clean shutdown: SIGTERM, SIGINT, fusermount3 -u ---------------------
# A shell starts background jobs with SIGINT ignored, and libfuse (like
# nohup) keeps an inherited SIG_IGN: give the daemon a default SIGINT, as
# it has when started from a terminal or a service manager.
PFS_CMD=(env --default-signal=INT "${PFS_CMD[@]}")
for how in TERM INT umount; do
	pfs_mount cache=16M,window=1M
	s=$PFS_TMP/shut-$how
	seed=$how
	# One file written and closed (only syncfs covers it), and for the
	# signals one still open (its windows must be msynced and fsynced).
	step "$how: write a closed file" -- python3 "$H" holder "$MNT/closed-$how" "$seed-c" "$s.c"
	hpid=
	if [ "$how" != umount ]; then
		PFS_BG_TIMEOUT=90 bg python3 "$H" holder "$MNT/open-$how" "$seed" "$s" keep
		hpid=$BG_PID
		await "$s.ready" 30
	fi
	trace_daemon "$s.trace" msync,fsync,fdatasync,syncfs
	if [ "$how" = umount ]; then
		cd "$PFS_TMP"
		step "fusermount3 -u" -- fusermount3 -u "$MNT"
	else
		kill -"$how" "$PFS_PID"
	fi
	daemon_exit 30 "SIG$how/unmount"
	check_eq "daemon exit status after $how" 0 "$DAEMON_RC"
	pfs_is_mounted && fail "$how: $MNT still mounted after the daemon exited"
	_pfs_wait_gone "$TRACE_PID" 10 || fail "strace outlived the daemon"
	wait "$TRACE_PID" 2>/dev/null || true
	grep -qE '^[0-9]+ +syncfs\(.*\) = 0' "$s.trace" ||
		fail "$how: no successful syncfs of SOURCE at exit: $(cat "$s.trace")"
	if [ -n "$hpid" ]; then
		grep -qE "^[0-9]+ +fsync\([0-9]+<$SRC/open-$how>\) += 0" "$s.trace" ||
			fail "$how: the open file was not fsynced at exit: $(cat "$s.trace")"
		awk -v f="<$SRC/open-$how>" '/msync\(/ { m = 1 } index($0, "fsync(") && index($0, f) { exit !m }' "$s.trace" ||
			fail "$how: no msync before the fsync of the open file"
		check "$how: the open file's data is in the backing file" \
			python3 "$H" expect "$SRC/open-$how" "$seed"
		touch "$s.exit"
		bg_wait "$hpid" || fail "$how: holder failed"
	fi
	check "$how: the closed file's data is in the backing file" \
		python3 "$H" expect "$SRC/closed-$how" "$seed-c"
	note "$how: exit 0, $(grep -c 'msync(' "$s.trace") msync, $(grep -c ' fsync(' "$s.trace") fsync, syncfs at exit"
done

# --- 4. SIGTERM during long reads and writes -------------------------------
head -c $((256 * MiB)) /dev/urandom >"$SRC/big"
pfs_mount cache=8M,window=1M
s=$PFS_TMP/long
PFS_BG_TIMEOUT=120 bg python3 "$H" longio "$MNT" "$MNT/big" "$s" 77
lpid=$BG_PID
await "$s.ready" 60
sleep 0.3
kill -TERM "$PFS_PID"
daemon_exit 30 "SIGTERM during long I/O"
check_eq "daemon exit status after SIGTERM during I/O" 0 "$DAEMON_RC"
_pfs_wait_gone "$lpid" 20 || fail "readers/writers hang after SIGTERM"
bg_wait "$lpid" || fail "long I/O did not end with a dead-mount error"
pfs_is_mounted && fail "still mounted after SIGTERM"
step "acknowledged long writes are on disk" -- python3 "$H" longio-verify "$s" "$SRC/long-w" 77
