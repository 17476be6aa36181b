# install_deps.sh - sourced by run.sh and tests/bench/compare.sh.
#
#   install_deps WHO ITEM...
#
# ITEM is COMMAND:PACKAGE or /ABSOLUTE/FILE:PACKAGE (Debian). Installs,
# with apt-get (through sudo unless root), the packages whose command is
# not on PATH or whose file is missing; says so on stderr as "WHO: ...".
# Every apt-get runs under a time limit.
install_deps() {
	local who=$1 item what pkg missing=() sudo=()
	shift
	for item in "$@"; do
		what=${item%%:*} pkg=${item##*:}
		if [[ $what == /* ]]; then
			[[ -e $what ]] && continue
		else
			command -v "$what" >/dev/null 2>&1 && continue
		fi
		missing+=("$pkg")
	done
	((${#missing[@]})) || return 0
	printf '%s: installing %s\n' "$who" "${missing[*]}" >&2
	((EUID == 0)) || sudo=(sudo)
	timeout 600 "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get update -qq
	timeout 1800 "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends "${missing[@]}"
}
