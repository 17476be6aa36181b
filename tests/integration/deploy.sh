#!/usr/bin/env bash
# deploy.sh - panefs as an operator installs and mounts it.
#
#   - meson install (staged with --destdir): bin/panefs and
#     share/man/man1/panefs.1; the man page renders without a warning
#     (groff -ww, mandoc -T lint), man -l shows it, its .TH version is
#     --version's, and it lists the same options as --help (manopts.py);
#   - the systemd .mount unit in README.md passes systemd-analyze verify;
#   - log_level with -f: what reaches stderr at error, warning, notice
#     (default), debug and with -d; a bad level is exit 2;
#   - daemon mode: `panefs SRC MNT` returns 0 only once the mount answers
#     (the next line uses it), the daemon leads a session of its own, in
#     /, stdio on /dev/null, and outlives its shell; a failure after the
#     fork and a mount the kernel refuses are exit 1 with the reason, bad
#     input exit 2, nothing left mounted, no daemon left;
#   - then, in a private mount namespace (unshare) with an empty tmpfs on
#     /usr/local and a /dev of its own with a /dev/log that reaper.py
#     listens on: meson install for real into /usr/local; /bin/sh with no
#     PATH (what mount(8) leaves mount.fuse3) finds panefs, man finds the
#     page; mount -t fuse.panefs ... -o window=64K,cache=8M and an fstab
#     line (mount --fstab FILE) through mount.fuse3; read, write, umount;
#     the daemon's real exit status (reaper.py is a subreaper) is 0; what
#     it sent to syslog (daemon.notice records, nothing with
#     log_level=error).
# Nothing of the host is changed: the real install happens in the
# namespace, whose mounts vanish with it. Mounts this script makes itself
# are unmounted by its EXIT trap (fusermount3 -u, then -uz) in every
# outcome, and leftover daemons killed by pid.
#
# Internal modes (the namespace part): deploy.sh --ns PANEFS OUT runs as
# root in the new namespace, sets up /dev and /usr/local, and execs
# reaper.py, which runs deploy.sh --inner PANEFS OUT.

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
self=$here/$(basename "${BASH_SOURCE[0]}")

# --- the namespace set-up (no lib.sh: it runs before the test proper) ---
if [ "${1:-}" = --ns ]; then
	set -euo pipefail
	panefs=$2 out=$3
	# The interpreter must not live where the tmpfs goes.
	py=$(python3 -c 'import sys; print(sys.executable)')
	case $py in /usr/local/*)
		echo "deploy --ns: python3 is under /usr/local ($py)" >&2
		exit 77 ;;
	esac
	# A /dev of our own: the host has no /dev/log, and creating one in
	# the shared /dev would catch every process's syslog().
	mkdir -p "$out/olddev"
	mount --rbind /dev "$out/olddev"
	mount -t tmpfs -o mode=0755,size=1m panefs-test-dev /dev
	for n in null zero full random urandom tty fuse; do
		[ -e "$out/olddev/$n" ] || continue
		: >"/dev/$n"
		mount --bind "$out/olddev/$n" "/dev/$n"
	done
	ln -s /proc/self/fd /dev/fd
	ln -s /proc/self/fd/0 /dev/stdin
	ln -s /proc/self/fd/1 /dev/stdout
	ln -s /proc/self/fd/2 /dev/stderr
	mkdir /dev/shm /dev/pts
	mount -t tmpfs -o mode=1777 tmpfs /dev/shm
	umount -l "$out/olddev"
	# An empty /usr/local for the real `meson install`.
	mount -t tmpfs -o mode=0755 panefs-test-usrlocal /usr/local
	exec "$py" "$here/reaper.py" --syslog /dev/log "$out/syslog.txt" \
		"$out/reaped.txt" 10 -- bash "$self" --inner "$panefs" "$out"
fi

MODE=outer
if [ "${1:-}" = --inner ]; then
	MODE=inner
	NS_OUT=$3
	set -- "$2"
fi

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
need_panefs "deployment checks need the panefs binary and its build"

BUILD=$(dirname "$PANEFS")
export PANEFS BUILD

# --- cleanup of mounts made here (not through pfs_mount) -----------------
DEP_MNTS=()
dep_mounted() {
	awk -v m="$1" '$5 == m { found = 1 } END { exit !found }' /proc/self/mountinfo
}
# pids of panefs daemons serving mount point $1 (argv[0] panefs, an
# argument equal to $1)
dep_pids() {
	local d a0
	for d in /proc/[0-9]*; do
		[ -r "$d/cmdline" ] || continue
		a0=$(tr '\0' '\n' <"$d/cmdline" 2>/dev/null | head -n 1) || continue
		case $a0 in panefs | */panefs) ;; *) continue ;; esac
		tr '\0' '\n' <"$d/cmdline" 2>/dev/null | grep -qxF -- "$1" &&
			echo "${d#/proc/}"
	done
	return 0
}
dep_cleanup() {
	local m p
	cd / 2>/dev/null || true
	for m in "${DEP_MNTS[@]}"; do
		if dep_mounted "$m"; then
			echo "[$PFS_NAME] cleanup: unmounting $m" >&2
			timeout -k 2 10 fusermount3 -u "$m" 2>/dev/null ||
				timeout -k 2 10 fusermount3 -uz "$m" 2>/dev/null || true
		fi
		for p in $(dep_pids "$m"); do
			echo "[$PFS_NAME] cleanup: killing daemon $p ($m)" >&2
			kill -TERM "$p" 2>/dev/null || true
			_pfs_wait_gone "$p" 5 || kill -KILL "$p" 2>/dev/null || true
		done
	done
}
# Ours first, then lib.sh's (which reads $? on entry).
trap '_dep_rc=$?; trap - ERR; set +e; dep_cleanup; (exit $_dep_rc); _pfs_exit' EXIT

# wait_gone_all MNT SECS: no daemon of MNT left within SECS
wait_no_daemon() {
	local deadline=$((SECONDS + $2))
	while [ -n "$(dep_pids "$1")" ]; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# ======================================================================
# The namespace part: a real install into /usr/local, mount(8), fstab.
# ======================================================================
inner_main() {
	local prefix out=$NS_OUT pid st
	[ -f "$BUILD/meson-private/install.dat" ] ||
		skip "no meson build dir next to $PANEFS"
	prefix=$(meson introspect --buildoptions "$BUILD" | python3 -c '
import json, sys
print([o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"][0])')
	[ "$prefix" = /usr/local ] || skip "build prefix is $prefix, not /usr/local"
	[ -z "$(ls -A /usr/local)" ] || fail "/usr/local is not the empty tmpfs"

	step "meson install into /usr/local (a tmpfs in this namespace)" -- \
		meson install -C "$BUILD" --no-rebuild --quiet
	check "installed binary" test -x /usr/local/bin/panefs
	check "installed man page" test -f /usr/local/share/man/man1/panefs.1
	# mount(8) gives mount.fuse3 no PATH; /bin/sh's default one must do.
	check_eq "panefs found by /bin/sh without PATH" /usr/local/bin/panefs \
		"$(env -i /bin/sh -c 'command -v panefs')"
	if command -v man >/dev/null; then
		check_eq "man finds the page" /usr/local/share/man/man1/panefs.1 \
			"$(t 20 man -w panefs)"
	fi

	echo 'hello from SRC' >"$SRC/hello.txt"
	mkrand "$SRC/big" $((3 << 20))
	mkdir "$SRC/dir"

	# --- mount -t fuse.panefs, through mount.fuse3 ---
	DEP_MNTS+=("$MNT")
	step "mount -t fuse.panefs SRC MNT -o window=64K,cache=8M" -- \
		mount -t fuse.panefs "$SRC" "$MNT" -o window=64K,cache=8M
	# The mount answers as soon as mount(8) returned.
	check_eq "read right after mount" 'hello from SRC' "$(t 10 cat "$MNT/hello.txt")"
	check_eq "type in the mount table" fuse.panefs \
		"$(awk -v m="$MNT" '$5 == m { for (i = 7; $i != "-"; i++); print $(i + 1) }' /proc/self/mountinfo)"
	check "3 MiB read back" cmp "$MNT/big" "$SRC/big"
	tsh 'echo written through the mount >"$MNT/dir/new.txt"'
	check_eq "write reached SRC" 'written through the mount' "$(cat "$SRC/dir/new.txt")"
	tsh 'dd if=/dev/urandom of="$MNT/w.bin" bs=64K count=40 status=none && cmp "$MNT/w.bin" "$SRC/w.bin"'
	pid=$(dep_pids "$MNT")
	[ -n "$pid" ] && [ "$(echo "$pid" | wc -w)" = 1 ] || fail "daemon of $MNT: [$pid]"
	note "daemon pid $pid (started by mount.fuse3)"
	step "umount MNT" -- umount "$MNT"
	dep_mounted "$MNT" && fail "still mounted after umount"
	wait_reaped "$pid"
	check_syslog "$pid" "$SRC mounted on $MNT (passthrough, window=65536, cache=8388608)" \
		"$MNT unmounted; exit status 0"

	# --- an fstab line, mount --fstab FILE MNT ---
	printf '# a test fstab\n%s  %s  fuse.panefs  defaults,window=1M,cache=64M,allow_other  0 0\n' \
		"$SRC" "$MNT" >"$PFS_TMP/fstab"
	step "mount --fstab FILE MNT (fuse.panefs, allow_other)" -- \
		mount --fstab "$PFS_TMP/fstab" "$MNT"
	check_eq "read right after mount --fstab" 'hello from SRC' "$(t 10 cat "$MNT/hello.txt")"
	# allow_other reached the kernel, with default_permissions
	tsh 'grep -E " $MNT .* - fuse.panefs .*allow_other" /proc/self/mountinfo | grep -q default_permissions'
	if command -v setpriv >/dev/null; then
		chmod 0644 "$SRC/hello.txt"
		chmod 0755 "$PFS_TMP" # mktemp -d made it 0700
		check_eq "another uid reads (allow_other)" 'hello from SRC' \
			"$(t 10 setpriv --reuid 65534 --regid 65534 --clear-groups cat "$MNT/hello.txt")"
	fi
	tsh 'echo fstab >"$MNT/fstab.txt"'
	check_eq "write through the fstab mount" fstab "$(cat "$SRC/fstab.txt")"
	pid=$(dep_pids "$MNT")
	[ -n "$pid" ] || fail "no daemon for the fstab mount"
	step "umount MNT (fstab mount)" -- umount "$MNT"
	wait_reaped "$pid"
	check_syslog "$pid" "$SRC mounted on $MNT (passthrough, window=1048576, cache=67108864)" \
		"$MNT unmounted; exit status 0"

	# --- log_level=error: nothing at all for a mount and an unmount ---
	step "mount -t fuse.panefs -o log_level=error" -- \
		mount -t fuse.panefs "$SRC" "$MNT" -o log_level=error
	check "read (log_level=error)" cmp "$MNT/big" "$SRC/big"
	pid=$(dep_pids "$MNT")
	step "umount (log_level=error)" -- umount "$MNT"
	wait_reaped "$pid"
	if grep -F "panefs[$pid]" "$out/syslog.txt"; then
		fail "log_level=error: daemon $pid still logged the lines above"
	fi
	note "log_level=error: daemon $pid sent nothing to syslog"
}

# wait_reaped PID: reaper.py saw PID exit, with status 0
wait_reaped() {
	local pid=$1 deadline=$((SECONDS + 15)) st
	until st=$(awk -v p="$pid" '$1 == p { print $2 }' "$NS_OUT/reaped.txt" 2>/dev/null) && [ -n "$st" ]; do
		[ "$SECONDS" -lt "$deadline" ] || fail "daemon $pid did not exit within 15 s of umount"
		sleep 0.1
	done
	check_eq "exit status of daemon $pid after umount" 0 "$st"
	note "daemon $pid exited with status 0"
}

# check_syslog PID TEXT...: daemon.notice (<29>) records from panefs[PID]
# holding each TEXT, without a doubled "panefs: " prefix
check_syslog() {
	local pid=$1 text
	shift
	for text in "$@"; do
		grep -F "panefs[$pid]: " "$NS_OUT/syslog.txt" | grep -F -- "$text" | grep -q '^<29>' ||
			fail "syslog: no daemon.notice record '$text' from panefs[$pid]: $(cat "$NS_OUT/syslog.txt")"
	done
	if grep -F "panefs[$pid]: panefs:" "$NS_OUT/syslog.txt"; then
		fail "syslog records repeat the 'panefs:' prefix"
	fi
	note "syslog from panefs[$pid]: $(grep -cF "panefs[$pid]" "$NS_OUT/syslog.txt") records, notices as expected:"
	grep -F "panefs[$pid]" "$NS_OUT/syslog.txt" | sed 's/^/    /' >&2
}

if [ "$MODE" = inner ]; then
	inner_main
	exit 0
fi

# ======================================================================
# The outer part.
# ======================================================================

# --- install, staged; the man page --------------------------------------
[ -f "$BUILD/meson-private/install.dat" ] ||
	skip "no meson build dir next to $PANEFS"
STAGE=$PFS_TMP/stage
step "meson install --destdir" -- meson install -C "$BUILD" --no-rebuild \
	--quiet --destdir "$STAGE"
bin=$(find "$STAGE" -path '*/bin/panefs' -type f)
man1=$(find "$STAGE" -path '*/share/man/man1/panefs.1' -type f)
[ -n "$bin" ] && [ -x "$bin" ] || fail "no bin/panefs under $STAGE: $(find "$STAGE" -type f)"
[ -n "$man1" ] || fail "no share/man/man1/panefs.1 under $STAGE: $(find "$STAGE" -type f)"
note "installed: ${bin#"$STAGE"} ${man1#"$STAGE"}"
cmp -s "$man1" "$PFS_LIBDIR/../../fs/panefs.1" || fail "installed man page differs from fs/panefs.1"

if command -v groff >/dev/null; then
	t 30 groff -man -ww -z "$man1" 2>"$PFS_TMP/groff.err" || true
	[ ! -s "$PFS_TMP/groff.err" ] || fail "groff -man -ww warns: $(cat "$PFS_TMP/groff.err")"
	note "groff -man -ww -z: no warning"
else
	note "SKIP groff check: groff not installed (run.sh installs groff-base)"
fi
if command -v mandoc >/dev/null; then
	t 30 mandoc -T lint -W all "$man1" >"$PFS_TMP/mandoc.out" 2>&1 ||
		fail "mandoc -T lint: $(cat "$PFS_TMP/mandoc.out")"
	note "mandoc -T lint -W all: clean"
else
	note "SKIP mandoc lint: mandoc not installed (run.sh installs it)"
fi
if command -v man >/dev/null; then
	MANWIDTH=80 t 30 man -l "$man1" >"$PFS_TMP/man.txt" 2>"$PFS_TMP/man.err" ||
		fail "man -l failed: $(cat "$PFS_TMP/man.err")"
	grep -q '^NAME' "$PFS_TMP/man.txt" || fail "man -l shows no NAME: $(head "$PFS_TMP/man.txt")"
	grep -qE '^ *panefs +- ' "$PFS_TMP/man.txt" || fail "man -l: NAME line missing"
	note "man -l: $(grep -c '' "$PFS_TMP/man.txt") lines, NAME: $(grep -A1 '^NAME' "$PFS_TMP/man.txt" | tail -n 1 | sed 's/^ *//')"
else
	note "SKIP man -l: man not installed"
fi

# --- --help, --version and the man page agree -----------------------------
t 10 "$PANEFS" --help >"$PFS_TMP/help.txt" || fail "panefs --help failed"
out=$(t 20 python3 "$PFS_LIBDIR/manopts.py" "$man1" "$PFS_TMP/help.txt") ||
	fail "options differ: $out"
note "$out"
t 10 "$PANEFS" --version >"$PFS_TMP/version.txt" || fail "panefs --version failed"
version=$(meson introspect --projectinfo "$BUILD" |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
check_eq "--version's first line" "panefs $version" "$(head -n 1 "$PFS_TMP/version.txt")"
grep -q '^FUSE library version' "$PFS_TMP/version.txt" || fail "--version: no libfuse version"
grep -q "^\.TH PANEFS 1 .*\"panefs $version\"" "$man1" || fail "man page .TH does not say panefs $version"
note "--version: panefs $version (the man page's too)"

# --- the systemd unit in README.md ----------------------------------------
if command -v systemd-analyze >/dev/null; then
	unit=$PFS_TMP/unit/mnt-data.mount
	mkdir -p "$(dirname "$unit")"
	awk '/mnt-data\.mount/ { seen = 1 } seen && /^```ini$/ { on = 1; next }
	     on && /^```$/ { exit } on { print }' "$PFS_LIBDIR/../../README.md" >"$unit"
	grep -q '^Type=fuse.panefs$' "$unit" || fail "no mnt-data.mount unit found in README.md"
	grep -q '^\[Install\]' "$unit" || fail "README's unit has no [Install] section"
	t 60 systemd-analyze verify --man=no "$unit" >"$PFS_TMP/verify.out" 2>&1 ||
		fail "systemd-analyze verify: $(cat "$PFS_TMP/verify.out")"
	[ ! -s "$PFS_TMP/verify.out" ] || fail "systemd-analyze verify warns: $(cat "$PFS_TMP/verify.out")"
	note "systemd-analyze verify mnt-data.mount (from README): clean"
else
	note "SKIP systemd-analyze verify: systemd-analyze not installed"
fi

# --- log_level with -f ----------------------------------------------------
echo 'hello from SRC' >"$SRC/hello.txt"
pfs_refused "bad log_level" "panefs: " "bad log_level 'loud'" "log_level=loud"

pfs_mount log_level=debug
check "read (log_level=debug)" cat "$MNT/hello.txt"
pfs_umount
grep -q '^panefs: .* session loop, max_threads=' "$PFS_LOG" || fail "log_level=debug: no debug line: $(cat "$PFS_LOG")"
grep -q "^panefs: $SRC mounted on $MNT" "$PFS_LOG" || fail "log_level=debug: no mount notice"
note "log_level=debug: $(wc -l <"$PFS_LOG") lines on stderr, debug ones included"

pfs_mount
check "read (default level)" cat "$MNT/hello.txt"
pfs_umount
grep -q "^panefs: $SRC mounted on $MNT (passthrough" "$PFS_LOG" || fail "notice level: no mount notice: $(cat "$PFS_LOG")"
grep -q "^panefs: $MNT unmounted; exit status 0" "$PFS_LOG" || fail "notice level: no unmount notice: $(cat "$PFS_LOG")"
grep -q 'session loop, max_threads=' "$PFS_LOG" && fail "notice level: debug output: $(cat "$PFS_LOG")"
note "log_level=notice (default): mount and unmount notices, no debug"

pfs_mount log_level=warning,split=10000
pfs_umount
grep -q '^panefs: warning: split=10000' "$PFS_LOG" || fail "log_level=warning: no warning: $(cat "$PFS_LOG")"
grep -q 'mounted on' "$PFS_LOG" && fail "log_level=warning: a notice got through: $(cat "$PFS_LOG")"
note "log_level=warning: the split= warning, no notice"

pfs_mount log_level=error,split=10000
check "read (log_level=error)" cat "$MNT/hello.txt/000000"
pfs_umount
[ ! -s "$PFS_LOG" ] || fail "log_level=error: stderr not empty: $(cat "$PFS_LOG")"
note "log_level=error: nothing on stderr (no warning, no notice)"

pfs_mount -d
check "read (-d)" cat "$MNT/hello.txt"
pfs_umount
grep -q 'opcode: LOOKUP' "$PFS_LOG" || fail "-d: no per-request debug output from libfuse"
grep -q 'session loop, max_threads=' "$PFS_LOG" || fail "-d: no panefs debug line"
note "-d: libfuse's per-request lines and panefs's debug lines"

# --- daemon mode ----------------------------------------------------------
DMNT=$PFS_TMP/dmnt
mkdir "$DMNT"
DEP_MNTS+=("$DMNT")
export DMNT
# Return, then use the mount on the very next command, no sleep; the shell
# that started panefs is gone by the time we look at the daemon.
tsh -t 30 '"$PANEFS" -o log_level=info "$SRC" "$DMNT"; cat "$DMNT/hello.txt" >"$PFS_TMP/d.out"'
check_eq "read on the line after panefs returned" 'hello from SRC' "$(cat "$PFS_TMP/d.out")"
dpid=$(dep_pids "$DMNT")
[ -n "$dpid" ] && [ "$(echo "$dpid" | wc -w)" = 1 ] || fail "daemon of $DMNT: [$dpid]"
read -r -a dstat < <(sed 's/.*) //' "/proc/$dpid/stat")
# after "comm)": state ppid pgrp session ...
check_eq "daemon leads its own session" "$dpid" "${dstat[3]}"
check_eq "daemon leads its own process group" "$dpid" "${dstat[2]}"
[ "${dstat[1]}" != "$$" ] || fail "daemon is the test shell's child"
check_eq "daemon's working directory" / "$(readlink "/proc/$dpid/cwd")"
for fd in 0 1 2; do
	check_eq "daemon's fd $fd" /dev/null "$(readlink "/proc/$dpid/fd/$fd")"
done
note "daemon $dpid: session and group leader, ppid ${dstat[1]}, cwd /, stdio on /dev/null"
tsh 'echo daemon >"$DMNT/d.txt"'
check_eq "write through the daemon" daemon "$(cat "$SRC/d.txt")"
step "fusermount3 -u (daemon mode)" -- fusermount3 -u "$DMNT"
wait_no_daemon "$DMNT" 10 || fail "daemon $dpid still running 10 s after unmount"
note "daemon gone after unmount"

# A failure after the fork reaches the caller: exit 1, the reason, no mount.
rc=0
PANEFS_TEST_DAEMON_FAIL=1 t 30 "$PANEFS" "$SRC" "$DMNT" 2>"$PFS_TMP/fail.err" || rc=$?
check_eq "exit status when the daemon fails after the fork" 1 "$rc"
grep -q 'PANEFS_TEST_DAEMON_FAIL' "$PFS_TMP/fail.err" || fail "no reason on stderr: $(cat "$PFS_TMP/fail.err")"
dep_mounted "$DMNT" && fail "still mounted after the daemon failed"
wait_no_daemon "$DMNT" 5 || fail "a daemon is left after the failure"
note "failure after the fork: exit 1, '$(head -n 1 "$PFS_TMP/fail.err")', nothing mounted"

# The kernel refuses the mount (fuseblk needs a block device): exit 1.
rc=0
t 30 "$PANEFS" -o blkdev "$SRC" "$DMNT" 2>"$PFS_TMP/blk.err" || rc=$?
dep_mounted "$DMNT" && fail "-o blkdev mounted"
check_eq "exit status for a mount the kernel refuses" 1 "$rc"
grep -qi 'mount failed\|cannot mount' "$PFS_TMP/blk.err" || fail "no reason on stderr: $(cat "$PFS_TMP/blk.err")"
wait_no_daemon "$DMNT" 5 || fail "a daemon is left after the refused mount"
note "refused mount: exit 1: $(tr '\n' ' ' <"$PFS_TMP/blk.err")"

# Bad input without -f: exit 2, one line, nothing mounted.
rc=0
t 10 "$PANEFS" "$PFS_TMP/nonexistent" "$DMNT" 2>"$PFS_TMP/bad.err" || rc=$?
check_eq "exit status for a missing SOURCE" 2 "$rc"
check_eq "stderr lines for a missing SOURCE" 1 "$(wc -l <"$PFS_TMP/bad.err")"
dep_mounted "$DMNT" && fail "mounted with a missing SOURCE"
note "bad input: exit 2: $(cat "$PFS_TMP/bad.err")"

# --- the namespace part ---------------------------------------------------
if ! command -v unshare >/dev/null || ! t 10 unshare --mount true 2>/dev/null; then
	note "SKIP /usr/local install, mount(8) and fstab checks: cannot unshare a mount namespace here"
	exit 0
fi
NS=$PFS_TMP/ns
mkdir "$NS"
: >"$NS/syslog.txt"
: >"$NS/reaped.txt"
rc=0
t 300 unshare --mount --propagation private -- bash "$self" --ns "$PANEFS" "$NS" || rc=$?
if [ "$rc" != 0 ]; then
	echo "---- syslog records ----" >&2
	cat "$NS/syslog.txt" >&2
	echo "---- reaped: pid status ----" >&2
	cat "$NS/reaped.txt" >&2
	[ "$rc" = 77 ] && skip "namespace part skipped (see above)"
	fail "namespace part (install to /usr/local, mount -t, fstab) failed: exit $rc"
fi
note "namespace part passed; $(grep -c '' "$NS/syslog.txt") syslog records, $(grep -c '' "$NS/reaped.txt") daemons reaped"
