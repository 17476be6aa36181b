# lib.sh - shared harness for the integration tests that mount panefs.
#
# Sourced by every test script, which meson runs as
#     bash tests/integration/NAME.sh /path/to/panefs
# What it guarantees:
#   - exit 77 (skip) when FUSE is unusable here (/dev/fuse or fusermount3
#     missing, or the kernel refuses the mount);
#   - a private temp dir on the local disk with SRC (backing) and MNT;
#   - every command run through t/step/tsh/check has a time limit (timeout -k),
#     and the whole script has a watchdog, so nothing hangs;
#   - the mount is unmounted and the daemon gone in every outcome (success,
#     failure, timeout, SIGINT/SIGTERM), then the temp dir is removed;
#   - the daemon's stderr is scanned for ASan/UBSan reports at unmount and the
#     test fails if one is found; the log is printed when a test fails.
#
# Environment:
#   PANEFS_TEST_STANDIN=bindfs  mount with `bindfs -f [-s] SRC MNT` instead of
#                               panefs (panefs -o options are ignored); tests
#                               that only make sense for panefs skip.
#   PANEFS_MOUNT_CMD="cmd args" any other stand-in: run `cmd args [-s] SRC MNT`
#                               (must stay in the foreground).
#   PANEFS_SANITIZED=1          the binary is built with ASan (also detected
#                               from the binary): RSS figures are meaningless.
#   PANEFS_TEST_TMPDIR=DIR      where temp dirs go (default /var/tmp).
#   PANEFS_TEST_KEEP=1          keep the temp dir (when nothing is mounted).
#   PANEFS_TEST_TIMEOUT=SECS    watchdog for the whole script (default 540).
#   PANEFS_WRAPPER="cmd args"   run the daemon under a wrapper:
#                               `cmd args panefs -f ... SRC MNT` (e.g.
#                               valgrind; the wrapper must exec panefs in
#                               its own process so PFS_PID is the daemon).
#                               Read by pfs_mount: a test may set it after
#                               sourcing lib.sh (e.g. to log into PFS_TMP).
#   PANEFS_DAEMON_WAIT=SECS     how long the mount may take to appear and
#                               the daemon to exit after unmount (default
#                               10; slow wrappers need more).
#
# API for test scripts:
#   pfs_mount [-s|-d ...] [OPT,OPT...]   mount SRC on MNT (panefs -f -o OPTS)
#   pfs_umount                           unmount, check daemon exit + log
#   pfs_crash                            kill -KILL the daemon, clean up
#   t SECS CMD...                        run CMD with a time limit, return rc
#   run CMD...                           t with the default limit (60 s)
#   step [-t SECS] DESC -- CMD...        run CMD, fail the test if it fails
#   tsh [-t SECS] 'SHELL TEXT'           bash -c with a time limit (fails test)
#   check DESC CMD...                    fail with DESC unless CMD succeeds
#   check_eq DESC EXPECTED GOT           fail unless the strings are equal
#   fail MSG / skip MSG / note MSG
#   fail_later MSG                       report, continue, exit 1 at the end
#   bg CMD... ; bg_wait PID              background job under a time limit
#   need_panefs                          skip when running against a stand-in
#   pfs_sanitized                        true when the daemon has ASan
#   pfs_refused DESC PREFIX PATTERN OPTS  bad input: exit 2, one line, no mount

set -Eeuo pipefail
shopt -s inherit_errexit 2>/dev/null || true

PANEFS=${1:-}
PFS_NAME=$(basename "$0" .sh)
PFS_LIBDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PFS_DEFAULT_TIMEOUT=${PFS_DEFAULT_TIMEOUT:-60}
PFS_PID=
PFS_CHILD=
PFS_LAST=
PFS_BG=()
PFS_MOUNTS=0
PFS_LOG=
PFS_TMP=
PFS_WATCHDOG=
PFS_T0=$SECONDS
PFS_IN_EXIT=0

note() { printf '[%s %3ds] %s\n' "$PFS_NAME" $((SECONDS - PFS_T0)) "$*" >&2; }

fail() {
	printf '[%s] FAIL: %s\n' "$PFS_NAME" "$*" >&2
	_pfs_daemon_died
	exit 1
}

# fail_later MSG: report a failure now, go on with the test, exit 1 at the
# end (for independent checks, so one bug does not hide the others).
PFS_LATER=()
fail_later() {
	printf '[%s] FAIL (continuing): %s\n' "$PFS_NAME" "$*" >&2
	PFS_LATER+=("$*")
}

skip() {
	printf '[%s] SKIP: %s\n' "$PFS_NAME" "$*" >&2
	exit 77
}

_pfs_on_err() {
	local rc=$1 cmd=$3   # $2: $LINENO, superseded by the call chain
	[ "$PFS_IN_EXIT" = 1 ] && return 0
	# a forked child (command substitution, a job between fork and exec):
	# the parent reports the failure
	[ "$BASHPID" = "$$" ] || return 0
	# where: the call chain, innermost first (file:line function)
	local i where=""
	for ((i = 1; i < ${#BASH_SOURCE[@]}; i++)); do
		where+="${where:+ < }$(basename "${BASH_SOURCE[$i]}"):${BASH_LINENO[$((i - 1))]} ${FUNCNAME[$i]}"
	done
	[ "$cmd" = 'return "$rc"' ] && [ -n "$PFS_LAST" ] && cmd="$PFS_LAST"
	printf '[%s] FAIL: command exited %s: %s\n    at %s\n' \
		"$PFS_NAME" "$rc" "$cmd" "$where" >&2
	_pfs_daemon_died
}

# Say so when the daemon is gone while the test still expects it.
_pfs_daemon_died() {
	[ -n "$PFS_PID" ] || return 0
	_pfs_alive "$PFS_PID" && return 0
	local st=0
	wait "$PFS_PID" 2>/dev/null || st=$?
	if [ "$st" -gt 128 ]; then
		printf '[%s] the daemon (pid %s) died of signal %s (%s)\n' "$PFS_NAME" \
			"$PFS_PID" $((st - 128)) "$(kill -l $((st - 128)) 2>/dev/null)" >&2
	else
		printf '[%s] the daemon (pid %s) is gone, exit status %s\n' "$PFS_NAME" "$PFS_PID" "$st" >&2
	fi
	PFS_PID=
}
trap '_pfs_on_err $? $LINENO "$BASH_COMMAND"' ERR

# --- what to mount -------------------------------------------------------

PFS_STANDIN=
if [ -n "${PANEFS_MOUNT_CMD:-}" ]; then
	PFS_STANDIN=${PANEFS_TEST_STANDIN:-custom}
	read -r -a PFS_CMD <<<"$PANEFS_MOUNT_CMD"
elif [ -n "${PANEFS_TEST_STANDIN:-}" ]; then
	PFS_STANDIN=$PANEFS_TEST_STANDIN
	case $PFS_STANDIN in
	bindfs) PFS_CMD=(bindfs -f) ;;
	*) echo "unknown PANEFS_TEST_STANDIN=$PFS_STANDIN" >&2; exit 1 ;;
	esac
else
	[ -n "$PANEFS" ] || { echo "usage: bash $0 /path/to/panefs" >&2; exit 1; }
	[ -x "$PANEFS" ] || fail "panefs binary not executable: $PANEFS"
	PFS_CMD=("$PANEFS" -f)
fi
command -v "${PFS_CMD[0]}" >/dev/null || skip "mount command not found: ${PFS_CMD[0]}"

need_panefs() {
	[ -z "$PFS_STANDIN" ] || skip "${1:-panefs-only test} (stand-in: $PFS_STANDIN)"
}

pfs_sanitized() {
	[ -z "$PFS_STANDIN" ] || return 1
	[ "${PANEFS_SANITIZED:-0}" = 1 ] && return 0
	ldd "$PANEFS" 2>/dev/null | grep -q 'libasan' && return 0
	nm "$PANEFS" 2>/dev/null | grep -q '__asan_init' && return 0
	return 1
}

# --- environment checks --------------------------------------------------

[ -c /dev/fuse ] || skip "/dev/fuse missing"
[ -r /dev/fuse ] && [ -w /dev/fuse ] || skip "/dev/fuse not accessible"
command -v fusermount3 >/dev/null || skip "fusermount3 missing"
for _c in timeout mountpoint python3; do
	command -v "$_c" >/dev/null || skip "$_c missing"
done

# --- time limits ---------------------------------------------------------

# t SECS CMD... : run CMD under timeout; return its status. Runs in the
# background and waits so that a trapped SIGINT/SIGTERM interrupts us at
# once (bash defers traps while a foreground child runs). stdin is passed
# on explicitly (background jobs would get /dev/null).
t() {
	local secs=$1 rc=0
	shift
	PFS_LAST="$*"
	timeout -k 5 "$secs" "$@" <&0 &
	PFS_CHILD=$!
	wait "$PFS_CHILD" || rc=$?
	PFS_CHILD=
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		printf '[%s] TIMEOUT after %ss: %s\n' "$PFS_NAME" "$secs" "$*" >&2
		_pfs_dump_daemon "$PFS_PID" "a step timed out"
	fi
	return "$rc"
}

run() { t "$PFS_DEFAULT_TIMEOUT" "$@"; }

# step [-t SECS] DESC -- CMD...
step() {
	local secs=$PFS_DEFAULT_TIMEOUT rc=0
	if [ "$1" = -t ]; then secs=$2; shift 2; fi
	local desc=$1
	shift
	[ "$1" = -- ] && shift
	note "$desc"
	t "$secs" "$@" || rc=$?
	[ "$rc" = 0 ] || fail "$desc: exit $rc from: $*"
}

# tsh [-t SECS] 'SHELL TEXT' : run text with bash -c (errexit, pipefail) under
# a time limit; the test fails if it fails. SRC MNT PFS_TMP are exported.
tsh() {
	local secs=$PFS_DEFAULT_TIMEOUT rc=0
	if [ "$1" = -t ]; then secs=$2; shift 2; fi
	t "$secs" bash -c "set -euo pipefail; $1" || rc=$?
	[ "$rc" = 0 ] || fail "shell step exited $rc: $1"
}

# check DESC CMD... : CMD under the default limit; fail with DESC if false.
check() {
	local desc=$1 rc=0
	shift
	t "$PFS_DEFAULT_TIMEOUT" "$@" || rc=$?
	[ "$rc" = 0 ] || fail "$desc (exit $rc from: $*)"
}

check_eq() {
	[ "$2" = "$3" ] || fail "$1: expected [$2], got [$3]"
}

# bg CMD... : start CMD under the default limit in the background; sets
# BG_PID. Killed at exit if still running.
bg() {
	timeout -k 5 "${PFS_BG_TIMEOUT:-$PFS_DEFAULT_TIMEOUT}" "$@" </dev/null &
	BG_PID=$!
	PFS_BG+=("$BG_PID")
}

# bg_wait PID : wait for a job started with bg, return its status.
bg_wait() {
	local rc=0
	wait "$1" || rc=$?
	return "$rc"
}

# --- temp dir ------------------------------------------------------------

_pfs_tmpbase=${PANEFS_TEST_TMPDIR:-/var/tmp}
[ -d "$_pfs_tmpbase" ] || _pfs_tmpbase=/tmp
PFS_TMP=$(mktemp -d "$_pfs_tmpbase/panefs-it-$PFS_NAME.XXXXXX")
SRC=$PFS_TMP/src
MNT=$PFS_TMP/mnt
mkdir "$SRC" "$MNT"
export SRC MNT PFS_TMP PFS_LIBDIR

# --- mount state ---------------------------------------------------------

pfs_is_mounted() {
	# Read mountinfo instead of stat-ing MNT: a hung daemon cannot block us.
	awk -v m="$MNT" '$5 == m { found = 1 } END { exit !found }' \
		/proc/self/mountinfo
}

# pfs_refused DESC PREFIX PATTERN OPTS: `panefs -o OPTS SRC MNT` must exit
# with status 2 and exactly one stderr line that starts with PREFIX and
# matches PATTERN (grep -E), mounting nothing. Run without -f: input wrongly
# accepted would daemonize and mount, which is caught and undone. A wrong
# answer is reported with fail_later; returns 0.
pfs_refused() {
	local desc=$1 prefix=$2 pat=$3 opts=$4 rc=0 lines msg
	t 20 "$PANEFS" -o "$opts" "$SRC" "$MNT" >"$PFS_TMP/out" 2>"$PFS_TMP/err" || rc=$?
	if pfs_is_mounted; then
		timeout 5 fusermount3 -u "$MNT" || timeout 5 fusermount3 -uz "$MNT" || true
		fail "$desc: accepted and mounted (exit $rc) with -o $opts"
	fi
	lines=$(wc -l <"$PFS_TMP/err")
	[ -s "$PFS_TMP/err" ] && [ "$(tail -c 1 "$PFS_TMP/err" | od -An -c | tr -d ' ')" != '\n' ] &&
		lines=$((lines + 1))
	msg=$(head -c 600 "$PFS_TMP/err")
	if [ "$rc" != 2 ]; then
		fail_later "$desc: expected exit status 2, got $rc; stderr: $msg"; return 0
	fi
	if [ "$lines" != 1 ]; then
		fail_later "$desc: expected one line on stderr, got $lines: $msg"; return 0
	fi
	if [ "${msg#"$prefix"}" = "$msg" ]; then
		fail_later "$desc: stderr does not start with [$prefix]: $msg"; return 0
	fi
	if ! grep -qE -- "$pat" "$PFS_TMP/err"; then
		fail_later "$desc: stderr does not give the reason (/$pat/): $msg"; return 0
	fi
	note "ok: $desc -> $msg"
}

_pfs_alive() {
	# A dead child stays a zombie until reaped: treat Z as gone.
	local st
	[ -n "$1" ] || return 1
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# Wait up to $2 seconds for pid $1 to exit; 0 if it did.
_pfs_wait_gone() {
	local pid=$1 deadline=$((SECONDS + $2))
	while _pfs_alive "$pid"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.05
	done
	return 0
}

_pfs_log_has_sanitizer() {
	[ -n "$1" ] && [ -f "$1" ] &&
		grep -qE 'ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer|SUMMARY: (Address|UndefinedBehavior|Thread)Sanitizer' "$1"
}

PFS_PRINTED=" "
_pfs_print_log() {
	local f=$1
	[ -s "$f" ] || return 0
	case $PFS_PRINTED in *" $f "*) return 0 ;; esac
	PFS_PRINTED="$PFS_PRINTED$f "
	printf '[%s] ---- %s (last 200 lines) ----\n' "$PFS_NAME" "$(basename "$f")" >&2
	tail -n 200 "$f" >&2
	printf '[%s] ---- end of %s ----\n' "$PFS_NAME" "$(basename "$f")" >&2
}

# Print every thread's stack of a live daemon (gdb if present, else the
# kernel wait channels): what a hang or a deadlock looks like from inside.
# Once per test; a hung daemon is usually the cause of a timeout.
PFS_DUMPED=0
_pfs_dump_daemon() {
	local pid=${1:-$PFS_PID} why=${2:-}
	[ -n "$pid" ] && _pfs_alive "$pid" || return 0
	[ "$PFS_DUMPED" = 0 ] || return 0
	PFS_DUMPED=1
	printf '[%s] ---- daemon (pid %s) threads%s ----\n' "$PFS_NAME" "$pid" "${why:+ ($why)}" >&2
	local tk
	for tk in /proc/"$pid"/task/*; do
		printf '  tid %s %s: %s\n' "${tk##*/}" "$(cat "$tk/comm" 2>/dev/null)" \
			"$(cat "$tk/wchan" 2>/dev/null)" >&2
	done
	if command -v gdb >/dev/null; then
		timeout -k 2 30 gdb -p "$pid" -batch -nx -ex 'set pagination off' \
			-ex 'thread apply all bt' </dev/null 2>&1 |
			grep -vE '^\[(New LWP|Thread debugging|Inferior)|^Using host libthread' |
			head -n 400 >&2 || true
	fi
	printf '[%s] ---- end of daemon threads ----\n' "$PFS_NAME" >&2
}

# pfs_mount [-s|-d|-f...] [OPTS]  (OPTS: comma-separated panefs -o options)
pfs_mount() {
	local flags=() opts=()
	local a
	for a in "$@"; do
		case $a in
		-*) flags+=("$a") ;;
		*) opts+=("$a") ;;
		esac
	done
	[ -z "$PFS_PID" ] || fail "pfs_mount: already mounted"
	pfs_is_mounted && fail "pfs_mount: something is already mounted on $MNT"
	local cmd=("${PFS_CMD[@]}") wrap=()
	if [ -z "$PFS_STANDIN" ] && [ -n "${PANEFS_WRAPPER:-}" ]; then
		read -r -a wrap <<<"$PANEFS_WRAPPER"
		cmd=("${wrap[@]}" "${cmd[@]}")
	fi
	[ ${#flags[@]} -eq 0 ] || cmd+=("${flags[@]}")
	if [ -z "$PFS_STANDIN" ] && [ ${#opts[@]} -gt 0 ]; then
		local IFS=,
		cmd+=(-o "${opts[*]}")
		unset IFS
	fi
	cmd+=("$SRC" "$MNT")
	PFS_MOUNTS=$((PFS_MOUNTS + 1))
	PFS_LOG=$PFS_TMP/daemon.$PFS_MOUNTS.log
	note "mount: ${cmd[*]}"
	"${cmd[@]}" </dev/null >"$PFS_LOG" 2>&1 &
	PFS_PID=$!
	echo "$PFS_PID" >"$PFS_TMP/.daemon.pid"   # for the watchdog
	local deadline=$((SECONDS + ${PANEFS_DAEMON_WAIT:-10}))
	until pfs_is_mounted; do
		if ! _pfs_alive "$PFS_PID"; then
			local rc=0
			wait "$PFS_PID" || rc=$?
			PFS_PID=
			if grep -qiE 'fuse: device not found|failed to open /dev/fuse|fusermount3?: mount failed: Operation not permitted|fuse: mount failed: Operation not permitted' "$PFS_LOG"; then
				skip "cannot mount FUSE here: $(head -n 1 "$PFS_LOG")"
			fi
			_pfs_print_log "$PFS_LOG"
			fail "daemon exited with status $rc before the mount appeared: ${cmd[*]}"
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			fail "mount did not appear on $MNT within ${PANEFS_DAEMON_WAIT:-10} s: ${cmd[*]}"
		fi
		sleep 0.05
	done
	# The first request waits for INIT: make sure the mount answers.
	t 10 stat "$MNT" >/dev/null || fail "mount appeared but stat $MNT fails/hangs"
}

# Check the current daemon's log for sanitizer reports.
_pfs_check_log() {
	if _pfs_log_has_sanitizer "$PFS_LOG"; then
		_pfs_print_log "$PFS_LOG"
		fail "sanitizer report in daemon log $(basename "$PFS_LOG")"
	fi
}

# pfs_umount: clean unmount. Fails the test if the unmount fails, the daemon
# does not exit by itself within 10 s, exits non-zero, or logged a
# sanitizer report. Always leaves nothing mounted and no daemon.
pfs_umount() {
	[ -n "$PFS_PID" ] || fail "pfs_umount: not mounted"
	local pid=$PFS_PID rc=0 problem=
	# cwd must not be inside the mount
	cd "$PFS_TMP"
	if ! timeout -k 2 10 fusermount3 -u "$MNT" 2>"$PFS_TMP/umount.err"; then
		problem="fusermount3 -u $MNT failed: $(cat "$PFS_TMP/umount.err")"
	fi
	if [ -z "$problem" ] && ! _pfs_wait_gone "$pid" "${PANEFS_DAEMON_WAIT:-10}"; then
		problem="daemon (pid $pid) still running ${PANEFS_DAEMON_WAIT:-10} s after unmount"
	fi
	if [ -n "$problem" ]; then
		_pfs_dump_daemon "$pid" "$problem"
		_pfs_force_umount
		_pfs_print_log "$PFS_LOG"
		fail "$problem"
	fi
	wait "$pid" || rc=$?
	PFS_PID=
	rm -f "$PFS_TMP/.daemon.pid"
	_pfs_check_log
	if [ "$rc" != 0 ]; then
		_pfs_print_log "$PFS_LOG"
		fail "daemon exited with status $rc after a clean unmount"
	fi
	note "unmounted; daemon exited 0"
}

# pfs_crash: kill -KILL the daemon (as a crash would) and clean the mount
# up; the log is still scanned for sanitizer reports.
pfs_crash() {
	[ -n "$PFS_PID" ] || fail "pfs_crash: not mounted"
	local pid=$PFS_PID
	disown "$pid"   # no "Killed" job notice
	kill -KILL "$pid"
	_pfs_wait_gone "$pid" 10 || fail "daemon survived SIGKILL for 10 s"
	PFS_PID=
	rm -f "$PFS_TMP/.daemon.pid"
	timeout -k 2 5 fusermount3 -uz "$MNT" 2>/dev/null || true
	pfs_is_mounted && fail "could not unmount $MNT after killing the daemon"
	_pfs_check_log
	note "daemon killed with SIGKILL; mount cleaned up"
}

# Unmount in any state: lazy unmount, TERM, KILL. Never fails.
_pfs_force_umount() {
	local pid=$PFS_PID
	cd "$PFS_TMP" 2>/dev/null || cd /
	if pfs_is_mounted; then
		timeout -k 2 5 fusermount3 -uz "$MNT" 2>/dev/null || true
	fi
	if [ -n "$pid" ]; then
		if _pfs_alive "$pid"; then
			kill -TERM "$pid" 2>/dev/null || true
			_pfs_wait_gone "$pid" 5 || {
				_pfs_dump_daemon "$pid" "ignored SIGTERM for 5 s"
				kill -KILL "$pid" 2>/dev/null || true
				_pfs_wait_gone "$pid" 5 || true
			}
		fi
		# reaped by the caller (pfs_umount) or at exit; never `wait` here
	fi
	PFS_PID=
	rm -f "$PFS_TMP/.daemon.pid"
	if pfs_is_mounted; then
		timeout -k 2 5 fusermount3 -uz "$MNT" 2>/dev/null ||
			timeout -k 2 5 umount -l "$MNT" 2>/dev/null || true
	fi
}

# --- exit ----------------------------------------------------------------

_pfs_exit() {
	local rc=$?
	# Only the test's own shell cleans up, never a forked child that was
	# signalled between fork and exec.
	[ "$BASHPID" = "$$" ] || exit "$rc"
	PFS_IN_EXIT=1
	# checks that failed with fail_later
	if [ "$rc" = 0 ] && [ ${#PFS_LATER[@]} -gt 0 ]; then
		rc=1
		for f in "${PFS_LATER[@]}"; do
			echo "[$PFS_NAME] FAIL: $f" >&2
		done
	fi
	set +eEu
	trap - ERR INT TERM
	# No `wait` in here: after a trap interrupted a `wait`, bash may block
	# in a later `wait PID` for unrelated children. Poll /proc instead.
	[ -n "$PFS_WATCHDOG" ] && kill -KILL "$PFS_WATCHDOG" 2>/dev/null
	if [ -n "$PFS_CHILD" ]; then
		kill -TERM "$PFS_CHILD" 2>/dev/null
		sleep 0.2
		kill -KILL "$PFS_CHILD" 2>/dev/null
	fi
	local p
	for p in "${PFS_BG[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	if [ -n "$PFS_PID" ] || pfs_is_mounted; then
		[ "$rc" = 0 ] && { echo "[$PFS_NAME] FAIL: still mounted at exit" >&2; rc=1; }
		_pfs_force_umount
	fi
	for p in "${PFS_BG[@]}"; do
		_pfs_wait_gone "$p" 2 || kill -KILL "$p" 2>/dev/null
	done
	local f
	for f in "$PFS_TMP"/daemon.*.log; do
		[ -f "$f" ] || continue
		if _pfs_log_has_sanitizer "$f" && [ "$rc" = 0 ]; then
			echo "[$PFS_NAME] FAIL: sanitizer report in $(basename "$f")" >&2
			rc=1
		fi
		if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
			_pfs_print_log "$f"
		fi
	done
	if pfs_is_mounted; then
		echo "[$PFS_NAME] WARNING: $MNT still mounted; leaving $PFS_TMP" >&2
		[ "$rc" = 0 ] && rc=1
	elif [ "${PANEFS_TEST_KEEP:-0}" = 1 ]; then
		echo "[$PFS_NAME] keeping $PFS_TMP" >&2
	else
		# make 0000 dirs removable, never cross into another mount
		chmod -R u+rwx "$PFS_TMP" 2>/dev/null
		rm -rf --one-file-system "$PFS_TMP"
	fi
	case $rc in
	0) echo "[$PFS_NAME] PASS ($((SECONDS - PFS_T0)) s)" >&2 ;;
	77) ;;
	*) echo "[$PFS_NAME] FAILED (exit $rc, $((SECONDS - PFS_T0)) s)" >&2 ;;
	esac
	exit "$rc"
}
trap _pfs_exit EXIT
trap 'echo "[$PFS_NAME] interrupted (SIGINT) during: $BASH_COMMAND" >&2; exit 130' INT
trap 'echo "[$PFS_NAME] terminated (SIGTERM) during: $BASH_COMMAND" >&2; exit 143' TERM

# Watchdog: the whole script must finish in time. On expiry it TERMs the
# test shell, whose EXIT trap unmounts and cleans up. If the shell is stuck
# in a system call on the mount (only SIGKILL ends a FUSE request the
# daemon never answers), the watchdog prints the daemon's threads and kills
# the daemon, which aborts the connection and frees the shell; as a last
# resort it kills the shell. One plain process (a bash subshell would
# inherit our traps), killed at exit.
python3 -c '
import os, signal, subprocess, sys, time
secs, shell, name, pidfile = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False
def wait_gone(pid, t):
    end = time.time() + t
    while time.time() < end:
        if not alive(pid):
            return True
        time.sleep(0.1)
    return False
time.sleep(secs)
sys.stderr.write("[%s] watchdog: test exceeded %d s\n" % (name, secs))
os.kill(shell, signal.SIGTERM)
if wait_gone(shell, 20):
    sys.exit(0)
try:
    daemon = int(open(pidfile).read())
except (OSError, ValueError):
    daemon = 0
if daemon and alive(daemon):
    sys.stderr.write("[%s] watchdog: test shell stuck; daemon %d threads:\n" % (name, daemon))
    subprocess.call(["timeout", "-k", "2", "30", "gdb", "-p", str(daemon), "-batch", "-nx",
                     "-ex", "thread apply all bt"], stdin=subprocess.DEVNULL,
                    stdout=sys.stderr, stderr=subprocess.DEVNULL)
    sys.stderr.write("[%s] watchdog: killing the daemon to free the test shell\n" % name)
    os.kill(daemon, signal.SIGKILL)
    if wait_gone(shell, 30):
        sys.exit(0)
sys.stderr.write("[%s] watchdog: killing the test shell\n" % name)
os.kill(shell, signal.SIGKILL)
' "${PANEFS_TEST_TIMEOUT:-540}" $$ "$PFS_NAME" "$PFS_TMP/.daemon.pid" </dev/null &
PFS_WATCHDOG=$!
disown "$PFS_WATCHDOG"  # no "Killed" notice when we kill it at exit

# --- small helpers shared by tests ---------------------------------------

# random file: mkrand PATH BYTES
mkrand() {
	head -c "$2" /dev/urandom >"$1"
}

# drop the kernel's cached pages of files (on the mount: the next read goes
# to the daemon instead of the FUSE page cache)
dropcache() {
	t 30 python3 -c '
import os, sys
for p in sys.argv[1:]:
    fd = os.open(p, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)
' "$@"
}

# sizes and hashes
fsize() { stat -c %s "$1"; }
sha() { t "$PFS_DEFAULT_TIMEOUT" sha256sum <"$1" | cut -d' ' -f1; }
# disk usage in KiB
du_k() { du -k "$1" | cut -f1; }
