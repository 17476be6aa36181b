#!/usr/bin/env bash
# run.sh - build the libFuzzer harnesses with clang and fuzz each one for a
# while. CI runs it with the default (20 s per harness, under a minute in
# all); a real campaign passes a longer time or a run count:
#
#   bash tests/fuzz/run.sh [SECONDS]          every harness, SECONDS each
#   FUZZ_RUNS=10000000 bash tests/fuzz/run.sh every harness, N executions
#
# Builds with clang in a directory of its own ($PANEFS_FUZZ_BUILD, default
# build-fuzz/ at the top of the tree, next to run.sh's build/ and
# build-san/; gitignored), never in another build dir. New corpus
# entries go to a scratch dir, not into tests/fuzz/corpus. On a crash,
# leak or failed invariant it prints the reproducer (file and base64) and
# exits 1; exit 0 means every harness ran its time without a finding.
# Every tests/fuzz/fuzz_*.c is run (each must be listed in meson.build
# too): a new harness (the views parser) needs no change here.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
secs=${1:-20}
build=${PANEFS_FUZZ_BUILD:-$top/build-fuzz}
work=$(mktemp -d /tmp/panefs-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT

command -v clang >/dev/null || {
	echo "fuzz: clang is missing (Debian: clang, libclang-rt-14-dev)" >&2
	exit 1
}

if [[ -f $build/build.ninja ]]; then
	meson configure "$build" -Dfuzz=true >/dev/null
else
	# Only the fuzz suite matters here; integration tests are not even
	# registered. werror: the harnesses must build cleanly with clang.
	CC=clang meson setup "$build" "$top" -Dfuzz=true -Dintegration=false \
		-Dwerror=true -Db_sanitize=none >"$work/setup.log" 2>&1 || {
		cat "$work/setup.log" >&2
		exit 1
	}
fi
mapfile -t fuzzers < <(cd "$here" && ls fuzz_*.c | sed 's/\.c$//')
targets=()
for f in "${fuzzers[@]}"; do targets+=("tests/fuzz/$f"); done
ninja -C "$build" "${targets[@]}" >"$work/build.log" 2>&1 || {
	cat "$work/build.log" >&2
	exit 1
}

rc=0
for f in "${fuzzers[@]}"; do
	mkdir -p "$work/$f"
	limit=(-max_total_time="$secs")
	[[ -n ${FUZZ_RUNS:-} ]] && limit=(-runs="$FUZZ_RUNS")
	dict=()
	[[ -f $here/$f.dict ]] && dict=(-dict="$here/$f.dict")
	echo "fuzz: $f ${limit[*]}" >&2
	# -jobs=1 and nice: the machine is shared. The first corpus dir
	# receives new inputs; the seeds are read only.
	if nice -n 10 "$build/tests/fuzz/$f" "${dict[@]}" "${limit[@]}" \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$work/" "$work/$f" "$here/corpus/$f" \
		>"$work/$f.log" 2>&1; then
		grep -E '^Done [0-9]+ runs' "$work/$f.log" | sed "s/^/fuzz: $f: /" >&2
	else
		rc=1
		echo "fuzz: $f FAILED; its log ends:" >&2
		tail -n 60 "$work/$f.log" >&2
		# ASan itself needs many mappings: a test that lowers the
		# system-wide vm.max_map_count at the same time starves it.
		grep -q 'Failed to mmap' "$work/$f.log" &&
			echo "fuzz: (ASan could not mmap: vm.max_map_count is" \
				"$(cat /proc/sys/vm/max_map_count) now; was it" \
				"lowered by a test running meanwhile?)" >&2
		for a in "$work"/crash-* "$work"/leak-* "$work"/timeout-* \
			"$work"/oom-*; do
			[[ -f $a ]] || continue
			echo "fuzz: reproducer $(basename "$a") (base64): $(base64 -w0 "$a")" >&2
			echo "fuzz: replay with: $build/tests/fuzz/$f FILE" >&2
		done
		rm -f "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*
	fi
done
exit $rc
