#!/usr/bin/env bash
# sweep.sh - panefs's window=, cache= and readahead= against rows 1, 3 and 5
# of compare.sh, one setting at a time, the rest at their defaults.
#
#   bash tests/bench/sweep.sh [--out DIR] [--fio-secs N] [SETTING ...]
#
#   SETTING       a panefs -o option to try, e.g. window=64K cache=1G
#                 (default: window 64K 256K 1M 4M 8M, cache 16M 64M 256M,
#                 readahead 0 4M; window=1M is the defaults' own run)
#   --out DIR     one compare.sh result directory per setting, and
#                 sweep.csv / sweep.txt (default /var/tmp/panefs-bench/sweep-<UTC>)
#   --fio-secs N  length of each fio run (default 10)
#
# Each setting is one compare.sh run of native and panefs, 1 round, rows
# 1, 3 and 5 (~1.5 min each, ~16 min for the default list). panefs is built
# once (release) by the first run. Not part of meson test.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out= secs=10 settings=()
while (($#)); do
	case $1 in
	--out) out=${2:?--out needs a directory}; shift ;;
	--fio-secs) secs=${2:?--fio-secs needs a number}; shift ;;
	-h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	*=*) settings+=("$1") ;;
	*) echo "sweep.sh: unknown argument: $1" >&2; exit 2 ;;
	esac
	shift
done
((${#settings[@]})) || settings=(window=1M window=64K window=256K window=4M
	window=8M cache=16M cache=64M cache=256M readahead=0 readahead=4M)
out=${out:-/var/tmp/panefs-bench/sweep-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"

for s in "${settings[@]}"; do
	d=$out/${s//[=,]/-}
	echo "sweep.sh: $s -> $d" >&2
	PANEFS_OPTS=$s bash "$here/compare.sh" --only 1,3,5 --rounds 1 \
		--systems native,panefs --fio-secs "$secs" --out "$d" \
		>"$d.log" 2>&1 || echo "sweep.sh: $s: compare.sh failed (see $d.log)" >&2
	# the first run built panefs; the others reuse it
	if [[ -z ${PANEFS:-} ]]; then
		PANEFS=$(sed -n 's/^panefs: *\([^ ]*\) (.*/\1/p' "$d/machine.txt" 2>/dev/null || true)
		[[ -x $PANEFS ]] && export PANEFS || unset PANEFS
	fi
done
python3 "$here/sweep_table.py" "$out" "${settings[@]}" | tee "$out/sweep.txt"
