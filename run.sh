#!/usr/bin/env bash
# run.sh - install what is missing, build, then do the job.
#
#   bash run.sh                      mount a demo (a multi-TiB sparse file)
#   bash run.sh SOURCE MOUNTPOINT    mount SOURCE on MOUNTPOINT
#   bash run.sh --test               run the whole test suite (CI runs this)
#
# Extra panefs options go in PANEFS_OPTS (e.g. PANEFS_OPTS=cache=64M).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build="$here/build"

# Debian packages the build and the tests need (command/file : package).
deps=(
	gcc:gcc pkg-config:pkg-config meson:meson ninja:ninja-build
	fusermount3:fuse3 /usr/include/fuse3/fuse_lowlevel.h:libfuse3-dev
	/usr/include/cmocka.h:libcmocka-dev
	python3:python3 sqlite3:sqlite3 rsync:rsync git:git tar:tar
	getfattr:attr setfacl:acl mountpoint:util-linux timeout:coreutils
	sfdisk:fdisk mkfs.ext4:e2fsprogs xxd:xxd strace:strace
	valgrind:valgrind setpriv:util-linux clang:clang
	crun:crun podman:podman bwrap:bubblewrap /usr/share/lintian/overrides/busybox-static:busybox-static
	groff:groff-base man:man-db mandoc:mandoc
	/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a:libclang-rt-14-dev
)

log() { printf '%s\n' "$*" >&2; }
. "$here/tests/install_deps.sh"

# setup DIR [meson options...]: configure once, reconfigure when options change.
setup() {
	local dir=$1
	shift
	if [[ -f $dir/build.ninja ]]; then
		meson configure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$here" "$@"
	fi
	ninja -C "$dir"
}

run_tests() {
	local rc=0
	setup "$build" -Dwerror=true -Db_sanitize=none
	meson test -C "$build" --print-errorlogs --num-processes 2 || rc=1
	# The same tests again under AddressSanitizer and UBSan.
	setup "$build-san" -Dwerror=true -Db_sanitize=address,undefined
	PANEFS_SANITIZED=1 meson test -C "$build-san" --print-errorlogs \
		--num-processes 2 || rc=1
	# A short libFuzzer run of every parser (clang; 20 s each).
	bash "$here/tests/fuzz/run.sh" 20 || rc=1
	summarize "$build" "$build-san" || true
	return $rc
}

# One closing line over both builds' meson test logs.
summarize() {
	python3 - "$@" <<'PY'
import json, sys
count = {"OK": 0, "FAIL": 0, "SKIP": 0}
for d in sys.argv[1:]:
    try:
        lines = open(d + "/meson-logs/testlog.json").read().splitlines()
    except OSError:
        continue
    for line in lines:
        r = json.loads(line).get("result", "")
        key = "OK" if r == "OK" else "SKIP" if r == "SKIP" else "FAIL"
        count[key] += 1
print("tests: %d passed, %d failed, %d skipped"
      % (count["OK"], count["FAIL"], count["SKIP"]))
PY
}

# A demo SOURCE: a 4 TiB sparse file with known text at far offsets.
make_demo() {
	local src=$1
	mkdir -p "$src"
	if [[ ! -f $src/huge.img ]]; then
		truncate -s 4T "$src/huge.img"
		printf 'hello from 0\n' |
			dd of="$src/huge.img" conv=notrunc status=none
		printf 'hello from 3 TiB\n' |
			dd of="$src/huge.img" bs=1M seek=$((3 << 20)) \
				conv=notrunc status=none
		printf 'panefs demo: huge.img is 4 TiB, almost all hole.\n' \
			>"$src/README.txt"
	fi
}

main() {
	install_deps run.sh "${deps[@]}"
	if [[ ${1:-} == --test ]]; then
		run_tests
		return
	fi
	setup "$build" -Db_sanitize=none
	local src mnt demo=0
	if (($# == 2)); then
		src=$1
		mnt=$2
	elif (($# == 0)); then
		demo=1
		src=${PANEFS_DEMO_DIR:-/var/tmp/panefs-demo}/source
		mnt=${PANEFS_DEMO_DIR:-/var/tmp/panefs-demo}/mnt
		make_demo "$src"
	else
		log "usage: bash run.sh [SOURCE MOUNTPOINT] | bash run.sh --test"
		return 2
	fi
	mkdir -p "$mnt"
	if mountpoint -q "$mnt"; then
		fusermount3 -u "$mnt" || fusermount3 -uz "$mnt"
	fi
	"$build/panefs" ${PANEFS_OPTS:+-o "$PANEFS_OPTS"} "$src" "$mnt"
	log "panefs: $src is mounted on $mnt"
	if ((demo)); then
		cat >&2 <<EOF

Try:
  ls -lsh $mnt                          # 4 TiB apparent, nothing allocated
  dd if=$mnt/huge.img bs=1M skip=\$((3 << 20)) count=1 status=none | head -c 17
  head -c 13 $mnt/huge.img
  echo hi >> $mnt/note.txt && cat $src/note.txt
EOF
	fi
	log "Unmount with: fusermount3 -u $mnt"
}

# exit here: bash reads a script as it runs, so never read past this line.
main "$@"
exit $?
