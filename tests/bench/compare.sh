#!/usr/bin/env bash
# compare.sh - panefs against native access, bindfs and mergerfs, in one run.
#
#   bash tests/bench/compare.sh [--quick] [--out DIR] [--only ROWS]
#                               [--data DIR] [--rounds N]
#
#   --quick       1 round, small sizes, 3 s fio runs: try the script (~1.5 min)
#   --out DIR     results: table.txt, results.csv, raw.csv, machine.txt, logs/
#                 (default DATA/out-<UTC time>)
#   --only ROWS   rows to run, e.g. 1,3-5 (rows 1, 2 and 8 share a mount:
#                 any of them runs all three; 8b comes with row 7)
#   --data DIR    where the data files and mount points go; must be a local
#                 disk, not tmpfs (default /var/tmp/panefs-bench; files are
#                 kept there and reused by the next run)
#   --rounds N    rounds per row (default 3, --quick 1)
#   --systems L   which systems, native first (default
#                 native,panefs,bindfs,mergerfs)
#   --fio-secs N  length of each fio run, rows 3 and 5 (default 20, --quick 3)
#
# Environment:
#   PANEFS=PATH        use this panefs binary instead of building one
#                      (the build goes to DATA/build-HASH, release mode,
#                      one directory per source tree)
#   PANEFS_OPTS=OPTS   extra panefs -o options, e.g. window=4M,cache=512M
#
# What it does: installs what is missing from Debian (fio, bindfs, mergerfs,
# python3, fuse3, and the build tools when it builds), builds panefs,
# refuses a tmpfs data directory, then runs compare.py, which prepares the
# data and measures each row for native, panefs, bindfs and mergerfs in turn
# (A B C D A B C D ...; the figure is the median of the rounds). The rows,
# the exact commands and the options of each system are described in
# tests/bench/README.md (and done in compare.py).
#
# Every mount is undone in every outcome: compare.py unmounts as it goes
# (also on SIGINT/SIGTERM), and the EXIT trap here unmounts whatever a
# killed compare.py left behind (fusermount3 -u, then -uz). Full mode took
# 22 minutes on 2 cores (AMD EPYC VM); it needs ~10 GiB free on DATA.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cmdline="bash tests/bench/compare.sh $*"
[[ -n ${PANEFS_OPTS:-} ]] && cmdline="PANEFS_OPTS=$PANEFS_OPTS $cmdline"
[[ -n ${PANEFS:-} ]] && cmdline="PANEFS=$PANEFS $cmdline"

log() { printf 'compare.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 2; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

quick=0 out= only= data=/var/tmp/panefs-bench rounds= systems= fio_secs=
while (($#)); do
	case $1 in
	--quick) quick=1 ;;
	--out) out=${2:?--out needs a directory}; shift ;;
	--out=*) out=${1#*=} ;;
	--only) only=${2:?--only needs rows}; shift ;;
	--only=*) only=${1#*=} ;;
	--data) data=${2:?--data needs a directory}; shift ;;
	--data=*) data=${1#*=} ;;
	--rounds) rounds=${2:?--rounds needs a number}; shift ;;
	--rounds=*) rounds=${1#*=} ;;
	--systems) systems=${2:?--systems needs a list}; shift ;;
	--systems=*) systems=${1#*=} ;;
	--fio-secs) fio_secs=${2:?--fio-secs needs a number}; shift ;;
	--fio-secs=*) fio_secs=${1#*=} ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument: $1" ;;
	esac
	shift
done

# --- tools ------------------------------------------------------------------

# command or file : Debian package
deps=(fio:fio bindfs:bindfs mergerfs:mergerfs python3:python3
	fusermount3:fuse3 timeout:coreutils dd:coreutils find:findutils)
if [[ -z ${PANEFS:-} ]]; then
	deps+=(gcc:gcc pkg-config:pkg-config meson:meson ninja:ninja-build
		/usr/include/fuse3/fuse_lowlevel.h:libfuse3-dev)
fi

. "$repo/tests/install_deps.sh"

[[ -c /dev/fuse ]] || die "/dev/fuse is missing: FUSE cannot mount here"
install_deps compare.sh "${deps[@]}"

# --- the data directory: a local disk, never tmpfs ---------------------------

mkdir -p "$data"
data=$(cd "$data" && pwd)
fstype=$(stat -f -c %T "$data")
case $fstype in
tmpfs | ramfs | fuse* | overlayfs | nfs* | squashfs)
	die "$data is on $fstype ($(df -T "$data" | awk 'NR == 2 { print $1 }')):" \
		"the data must be on a local disk; use --data DIR" ;;
esac
log "data in $data ($(df --output=fstype "$data" | tail -n 1); $(df -h --output=avail "$data" | tail -n 1 | tr -d ' ') free)"

# --- panefs ------------------------------------------------------------------

if [[ -z ${PANEFS:-} ]]; then
	# one build directory per source tree: a build made from another
	# clone would build that clone's sources
	build=$data/build-$(printf '%s' "$repo" | md5sum | cut -c1-8)
	log "building panefs (release) in $build"
	if [[ -f $build/build.ninja ]]; then
		timeout 300 meson configure "$build" --buildtype=release -Dtests=false \
			>"$data/build.log" 2>&1 || { cat "$data/build.log" >&2; die "meson configure failed"; }
	else
		timeout 300 meson setup "$build" "$repo" --buildtype=release -Dtests=false \
			>"$data/build.log" 2>&1 || { cat "$data/build.log" >&2; die "meson setup failed"; }
	fi
	timeout 900 ninja -C "$build" panefs >>"$data/build.log" 2>&1 ||
		{ tail -n 40 "$data/build.log" >&2; die "build failed (log: $data/build.log)"; }
	PANEFS=$build/panefs
	export PANEFS_BUILD_NOTE="; built by compare.sh: --buildtype=release -Dtests=false"
fi
[[ -x $PANEFS ]] || die "PANEFS=$PANEFS is not an executable"
PANEFS=$(cd "$(dirname "$PANEFS")" && pwd)/$(basename "$PANEFS")

# --- run, and unmount in every outcome ------------------------------------------

mounted() {
	awk -v m="$1" '$5 == m { found = 1 } END { exit !found }' /proc/self/mountinfo
}

py=
cleanup() {
	local rc=$? m pid path
	trap - EXIT INT TERM HUP
	if [[ -n $py ]] && kill -0 "$py" 2>/dev/null; then
		kill -TERM "$py" 2>/dev/null || true
		for _ in $(seq 150); do kill -0 "$py" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$py" 2>/dev/null || true
	fi
	cd /
	# the command compare.py was running, if it outlived compare.py: its
	# own process group (fio forks), and only if it is still one of ours
	if [[ -f $data/.child ]]; then
		read -r pid <"$data/.child" || true
		if [[ -n ${pid:-} && -r /proc/$pid/cmdline ]] &&
			tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qE -- "$data|^(dd|fio|find|rm|sync|stat) "; then
			kill -KILL -- "-$pid" 2>/dev/null || true
		fi
		rm -f "$data/.child"
	fi
	for m in "$data"/mnt-*; do
		[[ -d $m ]] && mounted "$m" || continue
		log "unmounting leftover $m"
		timeout -k 2 10 fusermount3 -u "$m" 2>/dev/null ||
			timeout -k 2 10 fusermount3 -uz "$m" 2>/dev/null || true
	done
	# the daemon of a mount compare.py could not undo (only if it is ours)
	if [[ -f $data/.daemon ]]; then
		read -r pid path <"$data/.daemon" || true
		if [[ -n ${pid:-} && -r /proc/$pid/cmdline ]] &&
			tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$path"; then
			kill -TERM "$pid" 2>/dev/null || true
			sleep 1
			kill -KILL "$pid" 2>/dev/null || true
		fi
		rm -f "$data/.daemon"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

args=(--data "$data" --panefs "$PANEFS" --panefs-opts "${PANEFS_OPTS:-}"
	--cmdline "$cmdline")
((quick)) && args+=(--quick)
[[ -n $out ]] && args+=(--out "$out")
[[ -n $only ]] && args+=(--only "$only")
[[ -n $rounds ]] && args+=(--rounds "$rounds")
[[ -n $systems ]] && args+=(--systems "$systems")
[[ -n $fio_secs ]] && args+=(--fio-secs "$fio_secs")

# In the background, so that a signal to this shell runs the trap at once
# (the trap stops compare.py with SIGTERM, which unmounts as it exits).
# Whole-run limit (compare.py stops cleanly): 75 min full, 15 min quick.
args+=(--deadline $((quick ? 900 : 4500)))
python3 -u "$here/compare.py" "${args[@]}" &
py=$!
rc=0
wait "$py" || rc=$?
py=
exit "$rc"
