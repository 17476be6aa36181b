# container.sh - the mount as a container volume, the way container runtimes
# use it (README "Containers"; DESIGN.md: "Serve a container volume: the
# mount bind-mounted into containers that run as other users"). panefs runs
# as root with allow_other; each "container" gets the mount bind-mounted in
# at a path of its own and runs checks.sh (written below into the temp
# dir; POSIX sh, runs on busybox) as uid:gid 1234:1234, which checks that
# it reads what the modes allow, gets EACCES where they do not (a 0600 root
# file, a 0700 root dir, a 0644 root file to append to, a 0755 root dir to
# create in), owns what it creates, and gets EPERM for chmod of root's file
# and chown/chgrp of its own to root. From outside, SOURCE must show the
# uid the daemon was given and the bytes written.
#  1. ns:      unshare --mount --propagation private + mount --bind +
#              setpriv: a real uid 1234 in the daemon's request context.
#  2. userns:  a user namespace mapping 0:100000:65536 as rootless podman
#              does with /etc/subuid (userns.py): 1234 inside is 101234 to
#              the daemon, so files land in SOURCE as 101234, and root's
#              files look like 65534 (nobody) inside.
#  3. bwrap:   bwrap --unshare-user --uid 1234 run by root maps 1234 to
#              uid 0 outside: the daemon sees root, files are root's and the
#              0600 root file is readable. Documented caveat, not a panefs
#              bug (the kernel does the same on a local disk).
#  4. crun:    a real OCI runtime: a busybox rootfs, `crun spec`, a bind
#              mount of MNT at /vol (rbind,rw), user 1234:1234.
#  5. podman:  podman run --rootfs ... -v MNT:/vol:rw --user 1234:1234.
#  6. a mount namespace made before the mount does not see it (private
#     propagation: why the mount must exist before a container starts);
#  7. unmounting MNT from outside while a namespace still holds a bind of
#     it: fusermount3 -u returns at once, the daemon keeps serving the
#     namespace's copy (same superblock), writes through it still reach
#     SOURCE, and the daemon exits 0 by itself when the last namespace goes.
# crun and podman are tried as they are first; where they cannot run here
# the reason (command and error) is printed and a workaround is tried (see
# README); if that fails too, only that part is skipped, with its error.
. "$(dirname "$0")/lib.sh"

need_panefs "checks the ownership panefs gives other uids through allow_other"
[ "$(id -u)" = 0 ] || skip "needs root (allow_other, namespaces, setpriv)"
for c in unshare nsenter setpriv; do
	command -v "$c" >/dev/null || skip "$c missing (util-linux)"
done

U=1234             # the container's user: 1234:1234
SUB=100000         # start of the subordinate id range of the userns part
VOL=$PFS_TMP/vol   # where each namespace binds the volume
CHECKS=$PFS_TMP/checks.sh
ID=panefs-test-$$  # crun container id / podman container name
chmod 755 "$PFS_TMP" "$SRC" # other uids must reach VOL and MNT
mkdir "$VOL"

# --- cleanup: containers and namespace holders, before lib.sh's own -------
CRUN_IDS=()
PODMAN_NAMES=()
HOLDERS=() # pids of processes that keep a mount namespace alive
_cont_cleanup() {
	[ "$BASHPID" = "$$" ] || return 0
	local x
	for x in "${HOLDERS[@]}"; do
		kill -KILL "$x" 2>/dev/null
	done
	for x in "${CRUN_IDS[@]}"; do
		timeout -k 2 10 crun delete -f "$x" >/dev/null 2>&1
	done
	for x in "${PODMAN_NAMES[@]}"; do
		timeout -k 2 20 podman rm -f "$x" >/dev/null 2>&1
	done
}
# keep the exit status for lib.sh's handler; errexit/ERR off while cleaning
trap 'rc=$?; set +eE; trap - ERR; _cont_cleanup; (exit $rc); _pfs_exit' EXIT

# --- the checks each container runs ----------------------------------------
cat >"$CHECKS" <<'EOF'
# checks.sh VOL TAG UID:GID [ROOT_ID] - run inside a container as UID:GID
# against the volume at VOL. ROOT_ID: how root's files look inside (0, or
# 65534 in a user namespace that does not map uid 0). Prints "ok: ..." or
# "FAIL: ..." per check, exits 1 if any failed. POSIX sh, busybox too.
vol=$1 tag=$2 want=$3 root=${4:-0} bad=0
echo "checks: begin ($tag)"
ok() { echo "ok: $*"; }
no() { echo "FAIL: $*"; bad=1; }
# refused DESC PATTERN CMD...: CMD must fail, its message matching PATTERN
refused() {
	rd=$1 rp=$2
	shift 2
	if out=$("$@" 2>&1); then
		no "$rd: succeeded, should be refused"
		return
	fi
	case $out in
	*"$rp"*) ok "refused: $rd ($out)" ;;
	*) no "$rd: expected '$rp', got: $out" ;;
	esac
}
got=$(id -u):$(id -g)
[ "$got" = "$want" ] && ok "runs as $got" || no "runs as $got, expected $want"
o=$(stat -c %u:%g "$vol/pub")
[ "$o" = "$root:$root" ] && ok "root's file shows as $o" ||
	no "root's file shows as $o, expected $root:$root"
v=$(cat "$vol/pub" 2>&1)
[ "$v" = public ] && ok "reads a 0644 root file" || no "reads a 0644 root file: $v"
ls "$vol" >/dev/null && ok "lists the volume" || no "lists the volume"
refused "read a 0600 root file" "Permission denied" cat "$vol/secret"
refused "list a 0700 root dir" "Permission denied" ls "$vol/private"
refused "read in a 0700 root dir" "Permission denied" cat "$vol/private/f"
refused "append to a 0644 root file" "Permission denied" \
	sh -c 'echo x >>"$1"' _ "$vol/pub"
refused "create in a 0755 root dir" "Permission denied" touch "$vol/rootdir/x"
refused "chmod a root file" "Operation not permitted" chmod 666 "$vol/pub"
d=$vol/shared/$tag
if mkdir "$d" && echo "hello from $tag" >"$d/file" && mkdir "$d/dir" &&
	: >"$d/dir/sub" && seq 1 100000 >"$d/blob" && chmod 600 "$d/file"; then
	ok "creates a dir, files, a subdir, chmods its file"
else
	no "creating in $d"
fi
for n in "" /file /dir /dir/sub /blob; do
	o=$(stat -c %u:%g "$d$n")
	[ "$o" = "$want" ] && ok "owns $tag$n ($o)" || no "$tag$n is $o's, expected $want"
done
v=$(cat "$d/file")
[ "$v" = "hello from $tag" ] && ok "reads its file back" || no "read back: $v"
refused "chown its file to root" "Operation not permitted" chown 0 "$d/file"
refused "chown its dir to root" "Operation not permitted" chown 0:0 "$d/dir"
refused "chgrp its file to group 0" "Operation not permitted" chgrp 0 "$d/file"
echo "checks: end ($tag): $([ $bad = 0 ] && echo all passed || echo FAILED)"
exit $bad
EOF

# tout FILE SECS CMD... : t SECS CMD with its output in FILE. The redirection
# is done by the child: redirecting `t` itself would also send our own
# messages there (and lose them with the temp dir) if a signal ends the
# test while CMD runs.
tout() {
	local f=$1
	shift
	t "$1" sh -c 'f=$1; shift; exec "$@" >"$f" 2>&1' _ "$f" "${@:2}"
}

# incont TAG CMD... : run a container that runs checks.sh; its report is
# printed; returns 0 when every check passed, fails the test when the checks
# ran and one failed, returns 1 (the runtime's error in $PFS_TMP/TAG.out)
# when the checks never started (a runtime that cannot run here).
incont() {
	local tag=$1 rc=0
	shift
	note "$tag: $*"
	tout "$PFS_TMP/$tag.out" 60 "$@" || rc=$?
	sed "s/^/    [$tag] /" "$PFS_TMP/$tag.out" >&2
	grep -q "^checks: begin ($tag)" "$PFS_TMP/$tag.out" || return 1
	[ "$rc" = 0 ] || fail "$tag: exit $rc: a check failed inside the container (report above)"
	grep -q "^checks: end ($tag): all passed" "$PFS_TMP/$tag.out" ||
		fail "$tag: the checks did not finish (report above)"
}

# must_run TAG CMD... : incont for a container that must start here.
must_run() {
	incont "$@" || fail "$1: the container did not start: $(tail -n 3 "$PFS_TMP/$1.out")"
}

owner() { stat -c %u:%g "$1"; }

# verify TAG UID:GID : from outside, what TAG's container wrote is in SOURCE,
# owned by the uid:gid the daemon was given.
verify() {
	local tag=$1 want=$2 d=$SRC/shared/$1 n
	for n in "" /file /dir /dir/sub /blob; do
		check_eq "$tag: owner of shared/$tag$n in SOURCE" "$want" "$(owner "$d$n")"
	done
	check_eq "$tag: file content in SOURCE" "hello from $tag" "$(cat "$d/file")"
	check_eq "$tag: file mode set inside" 600 "$(stat -c %a "$d/file")"
	check_eq "$tag: 100,000 lines written inside" "$(seq 1 100000 | sha256sum)" \
		"$(sha256sum <"$d/blob")"
	note "ok: $tag: SOURCE has its files, owned by $want"
}

# holder PIDFILE CMD... : start a process that keeps a mount namespace
# alive (it writes its pid to PIDFILE, then sleeps); waits until it is up.
holder() {
	local pidfile=$1 i
	shift
	PFS_BG_TIMEOUT=120 bg "$@"
	disown "$BG_PID" # no "Killed" notice when we end it
	for ((i = 0; i < 200; i++)); do
		[ -s "$pidfile" ] && break
		_pfs_alive "$BG_PID" || fail "namespace holder died: $*"
		sleep 0.05
	done
	[ -s "$pidfile" ] || fail "namespace holder did not start: $*"
	HOLDERS+=("$(cat "$pidfile")")
}

# --- 6 (part 1). A namespace made before the mount ---------------------------
holder "$PFS_TMP/early.pid" unshare --mount --propagation private -- \
	bash -c 'echo $$ >"$1"; exec sleep 100' _ "$PFS_TMP/early.pid"
EARLY=$(cat "$PFS_TMP/early.pid")

pfs_mount allow_other

# Root's fixtures, made through the mount.
echo public >"$MNT/pub"
chmod 644 "$MNT/pub"
echo secret >"$MNT/secret"
chmod 600 "$MNT/secret"
mkdir "$MNT/private" "$MNT/rootdir" "$MNT/shared"
echo inside >"$MNT/private/f"
chmod 700 "$MNT/private"
chmod 755 "$MNT/rootdir"
chmod 1777 "$MNT/shared" # like /tmp: anyone creates, owners remove

# --- 6 (part 2). ... does not see it ------------------------------------------
awk -v m="$MNT" '$5 == m { found = 1 } END { exit found }' "/proc/$EARLY/mountinfo" ||
	fail "a mount namespace made before the mount sees it: $(grep panefs "/proc/$EARLY/mountinfo")"
early_ls=$(t 10 nsenter -t "$EARLY" -m -- ls -A "$MNT")
check_eq "a namespace made before the mount sees the empty dir" "" "$early_ls"
note "ok: a namespace made before the mount sees only the empty mount point"
kill -KILL "$EARLY"

# --- 1. ns: a mount namespace, a bind mount, another uid --------------------
must_run ns unshare --mount --propagation private -- bash -c '
	mount --bind "$1" "$2" &&
	exec setpriv --reuid "$3" --regid "$3" --clear-groups -- sh "$4" "$2" ns "$3:$3"' \
	_ "$MNT" "$VOL" $U "$CHECKS"
verify ns $U:$U

# --- 2. userns: ids mapped as rootless runtimes map them ---------------------
must_run userns python3 "$PFS_LIBDIR/userns.py" 0:$SUB:65536 "$MNT" "$VOL" $U:$U -- \
	sh "$CHECKS" "$VOL" userns $U:$U 65534
verify userns $((SUB + U)):$((SUB + U))

# --- 3. bwrap --unshare-user as root: the uid maps to root outside ----------
if command -v bwrap >/dev/null; then
	rc=0
	tout "$PFS_TMP/bwrap.out" 30 bwrap --unshare-user --uid $U --gid $U \
		--ro-bind / / --dev /dev --proc /proc --bind "$MNT" "$VOL" \
		--die-with-parent -- sh -c '
		id -u; cat "$1/secret"; mkdir "$1/shared/bwrap" && echo b >"$1/shared/bwrap/file"' \
		_ "$VOL" || rc=$?
	sed 's/^/    [bwrap] /' "$PFS_TMP/bwrap.out" >&2
	[ "$rc" = 0 ] || fail "bwrap --unshare-user: exit $rc"
	check_eq "bwrap: id -u inside, then the 0600 root file (readable: uid 0 outside)" \
		"$U secret" "$(paste -sd' ' "$PFS_TMP/bwrap.out")"
	check_eq "bwrap: the daemon saw uid 0: the new file is root's" 0:0 \
		"$(owner "$SRC/shared/bwrap/file")"
	note "ok: bwrap --unshare-user --uid $U as root is uid 0 to the daemon (caveat, README)"
else
	note "SKIP bwrap part: bwrap not installed (apt-get install bubblewrap)"
fi

# --- 4/5. Real runtimes: a busybox root file system ---------------------------
ROOTFS=
HYBRID=0 # cgroup v1 + v2 side by side, controllers in v2: crun refuses
if [ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)" ]; then
	HYBRID=1
fi
# A command prefix that hides the cgroup v2 half of a hybrid layout from the
# runtime, in a private mount namespace of its own (crun then sees v1 only).
NOHYBRID=(unshare --mount --propagation private -- sh -c
	'umount /sys/fs/cgroup/unified && exec "$@"' _)

make_rootfs() {
	local r=$1 bb a lib libs
	bb=$(command -v busybox || true)
	[ -n "$bb" ] || return 1
	mkdir -p "$r"/bin "$r"/dev "$r"/proc "$r"/sys "$r"/tmp "$r"/vol "$r"/etc
	cp "$bb" "$r/bin/busybox"
	# busybox-static has no libraries; the dynamic busybox package (which
	# also installs /bin/busybox) gets its libraries copied along
	libs=$(ldd "$bb" 2>/dev/null | grep -oE '/[^ ]+' || true)
	for lib in $libs; do
		cp -L --parents "$lib" "$r"
	done
	[ -z "$libs" ] || note "$bb is dynamically linked: copied $(echo $libs) into the rootfs"
	for a in $("$r/bin/busybox" --list); do
		[ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"
	done
	cp "$CHECKS" "$r/checks.sh"
	printf 'root:x:0:0:root:/:/bin/sh\n' >"$r/etc/passwd"
	printf 'root:x:0:\n' >"$r/etc/group"
}
if make_rootfs "$PFS_TMP/bundle/rootfs"; then
	ROOTFS=$PFS_TMP/bundle/rootfs
	note "rootfs: $(command -v busybox) and $(ls "$ROOTFS/bin" | wc -l) applet links"
else
	note "no busybox (apt-get install busybox-static): crun and podman parts skipped"
fi

# --- 4. crun ------------------------------------------------------------------
crun_part() {
	local b=$PFS_TMP/bundle
	if ! command -v crun >/dev/null; then
		note "SKIP crun part: crun not installed (apt-get install crun)"
		return 0
	fi
	[ -n "$ROOTFS" ] || return 0
	t 10 crun spec -b "$b" || fail "crun spec -b $b failed"
	step "config.json: user $U:$U, /vol = MNT (rbind,rw), run checks.sh" -- \
		python3 - "$b/config.json" "$MNT" $U <<'PY'
import json, sys
path, mnt, uid = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = json.load(open(path))
c["process"]["terminal"] = False
c["process"]["user"] = {"uid": uid, "gid": uid}
c["process"]["args"] = ["/bin/sh", "/checks.sh", "/vol", "crun", "%d:%d" % (uid, uid)]
c["mounts"].append({"destination": "/vol", "type": "bind", "source": mnt,
                    "options": ["rbind", "rw"]})
json.dump(c, open(path, "w"), indent=2)
PY
	CRUN_IDS+=("$ID")
	if incont crun crun run --bundle "$b" "$ID"; then
		tout /dev/null 10 crun delete -f "$ID" || true
		verify crun $U:$U
		return 0
	fi
	local err
	err=$(tail -n 1 "$PFS_TMP/crun.out")
	note "crun could not run here: crun run --bundle $b $ID: $err"
	tout /dev/null 10 crun delete -f "$ID" || true
	if [ $HYBRID = 1 ] && grep -q 'cgroups in hybrid mode not supported' "$PFS_TMP/crun.out"; then
		note "crun: this machine mounts cgroup v1 and v2 together with controllers in v2"
		note "crun: retrying in a mount namespace without /sys/fs/cgroup/unified, --cgroup-manager=disabled"
		if incont crun "${NOHYBRID[@]}" crun --cgroup-manager=disabled run --bundle "$b" "$ID"; then
			tout /dev/null 10 crun delete -f "$ID" || true
			verify crun $U:$U
			return 0
		fi
		err="$err; then: $(tail -n 1 "$PFS_TMP/crun.out")"
		tout /dev/null 10 crun delete -f "$ID" || true
	fi
	note "SKIP crun part: crun run --bundle $b $ID: $err"
}
crun_part

# --- 5. podman ----------------------------------------------------------------
podman_part() {
	if ! command -v podman >/dev/null; then
		note "SKIP podman part: podman not installed (apt-get install podman)"
		return 0
	fi
	[ -n "$ROOTFS" ] || return 0
	# options before --rootfs: podman takes everything after ROOTFS as the command
	local opts=(--rm --name "$ID" --network none --user $U:$U -v "$MNT:/vol:rw")
	local cmd=(--rootfs "$ROOTFS" /bin/sh /checks.sh /vol podman $U:$U)
	# Attempts, each adding one workaround for what stopped the one before:
	#  1. as a user would type it;
	#  2. podman asks for RLIMIT_NOFILE and RLIMIT_NPROC 1048576 for root's
	#     containers: above the hard limits (20000 open files here, which
	#     root cannot raise) crun's setrlimit is EPERM; ask for less, and
	#     --cgroups disabled (no cgroup: nothing to set up on hybrid layouts);
	#  3. on a hybrid cgroup layout crun refuses anyway: hide cgroup v2.
	local attempts=(
		"podman run"
		"podman run --cgroups disabled --ulimit nofile=4096:4096 --ulimit nproc=4096:4096"
	)
	[ $HYBRID = 1 ] && attempts+=("NOHYBRID ${attempts[1]}")
	local a words pre errs=""
	for a in "${attempts[@]}"; do
		read -r -a words <<<"$a"
		pre=()
		if [ "${words[0]}" = NOHYBRID ]; then
			pre=("${NOHYBRID[@]}")
			words=("${words[@]:1}")
			note "podman: in a mount namespace without /sys/fs/cgroup/unified (crun's hybrid check)"
		fi
		if incont podman "${pre[@]}" "${words[@]}" "${opts[@]}" "${cmd[@]}"; then
			[ -z "$errs" ] || note "podman ran with: ${pre[*]:+(unshare, umount /sys/fs/cgroup/unified) }${words[*]} ...; before:$errs"
			verify podman $U:$U
			return 0
		fi
		errs="$errs [${words[*]} ...: $(grep -v '^time=' "$PFS_TMP/podman.out" | tail -n 1)]"
		note "podman could not run here: ${words[*]} ${opts[*]} ${cmd[*]}: $(tail -n 1 "$PFS_TMP/podman.out")"
		tout /dev/null 20 podman rm -f "$ID" || true
	done
	note "SKIP podman part: every attempt failed:$errs"
}
podman_part

# --- 7. Unmount from outside while a namespace still holds the volume --------
holder "$PFS_TMP/late.pid" unshare --mount --propagation private -- \
	bash -c 'mount --bind "$2" "$3" && echo $$ >"$1" && exec sleep 100' \
	_ "$PFS_TMP/late.pid" "$MNT" "$VOL"
LATE=$(cat "$PFS_TMP/late.pid")
cd "$PFS_TMP"
step -t 10 "fusermount3 -u MNT while a namespace holds a bind of it" -- fusermount3 -u "$MNT"
pfs_is_mounted && fail "MNT still mounted here after fusermount3 -u"
_pfs_alive "$PFS_PID" || fail "the daemon exited although a namespace still uses the mount"
note "ok: unmounted here; the daemon still serves the namespace's bind mount"
check_eq "the namespace still reads through its bind" public \
	"$(t 10 nsenter -t "$LATE" -m -- setpriv --reuid $U --regid $U --clear-groups -- cat "$VOL/pub")"
t 10 nsenter -t "$LATE" -m -- setpriv --reuid $U --regid $U --clear-groups -- \
	sh -c 'echo after >"$1/shared/after-umount"' _ "$VOL" ||
	fail "writing through the namespace's bind after the outside unmount"
check_eq "written after the outside unmount, reaches SOURCE" "after $U:$U" \
	"$(cat "$SRC/shared/after-umount") $(owner "$SRC/shared/after-umount")"
# The last user of the mount goes: the kernel ends the FUSE connection and
# the daemon exits by itself, status 0.
kill -KILL "$LATE"
_pfs_wait_gone "$PFS_PID" "${PANEFS_DAEMON_WAIT:-10}" ||
	fail "the daemon still runs ${PANEFS_DAEMON_WAIT:-10} s after the last namespace using the mount ended"
rc=0
wait "$PFS_PID" || rc=$?
PFS_PID=
rm -f "$PFS_TMP/.daemon.pid"
_pfs_check_log
[ "$rc" = 0 ] || fail "the daemon exited with status $rc when the last namespace ended"
note "ok: the daemon exited 0 once the last namespace using the mount ended"
