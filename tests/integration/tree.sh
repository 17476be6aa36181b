# tree.sh - a tree with every kind of entry survives tar and rsync -aHAX
# round trips through the mount: symlinks (relative, absolute, dangling),
# hard links, user.* xattrs, odd permissions and owners, a fifo, a 2 GiB
# sparse file, nested dirs, names with spaces, newlines and unicode.
# Copies are compared with the backing original through manifest.py (type,
# mode, owner, size, mtime, link target, hard-link groups, sha256, xattrs).
. "$(dirname "$0")/lib.sh"

command -v rsync >/dev/null || skip "rsync missing"
command -v tar >/dev/null || skip "tar missing"
MiB=1048576

build_tree() {
	local o=$1
	mkdir -p "$o/a/b/c/d/e" "$o/empty dir" "$o/sticky" "$o/setgid" "$o/private"
	echo hello >"$o/plain"
	: >"$o/empty"
	mkrand "$o/random" $((3 * MiB + 17))
	mkrand "$o/a/b/c/d/e/deep" 12345
	echo spaces >"$o/name with  spaces"
	echo newline >"$o/new
line"
	echo unicode >"$o/ünïcödé-日本語-ħ"
	printf 'tab\n' >"$o/tab	here"
	# symlinks
	ln -s plain "$o/rel-link"
	ln -s ../../plain "$o/a/b/up-link"
	ln -s /etc/hostname "$o/abs-link"
	ln -s does/not/exist "$o/dangling"
	ln -s a/b "$o/dir-link"
	# hard links (a group of 3 across directories, and a pair)
	echo linked >"$o/h1"
	ln "$o/h1" "$o/a/h2"
	ln "$o/h1" "$o/a/b/h3"
	echo pair >"$o/p1"
	ln "$o/p1" "$o/p2"
	# xattrs
	setfattr -n user.comment -v "a comment" "$o/plain"
	setfattr -n user.bin -v 0x00ff10 "$o/plain"
	setfattr -n user.dir -v "on a dir" "$o/a"
	setfattr -n user.empty "$o/random"
	# permissions and owners
	echo none >"$o/mode0000"
	chmod 0000 "$o/mode0000"
	printf '#!/bin/sh\necho suid\n' >"$o/suid"
	chmod 4755 "$o/suid"
	echo ro >"$o/readonly"
	chmod 0444 "$o/readonly"
	chmod 1777 "$o/sticky"
	chown 0:1234 "$o/setgid"
	chmod 2775 "$o/setgid"
	echo in-setgid >"$o/setgid/f"
	chmod 0700 "$o/private"
	echo owned >"$o/owned"
	chown 1234:5678 "$o/owned"
	chown -h 4321:8765 "$o/rel-link"
	mkfifo -m 0640 "$o/fifo"
	# 2 GiB sparse with data at the start, at 1 GiB and at the end
	truncate -s 2G "$o/sparse"
	dd if="$o/random" of="$o/sparse" bs=1M count=1 conv=notrunc status=none
	dd if="$o/random" of="$o/sparse" bs=1M count=1 seek=1024 conv=notrunc status=none
	dd if="$o/random" of="$o/sparse" bs=4096 count=1 seek=$((2 * 262144 - 1)) \
		conv=notrunc status=none
	# times: fixed, set last (children first) so directory times stick
	find "$o" -depth -exec touch -h -d '2021-06-07 08:09:10' {} +
	touch -d '1999-12-31 23:59:59' "$o/plain"
}

M0=$PFS_TMP/m0
MOPTS=()
if [ "$PFS_STANDIN" = bindfs ]; then
	# bindfs 1.14 drops the mtime of utimensat(fd, [UTIME_OMIT, mtime]),
	# which is how tar sets times: do not compare times with the stand-in.
	MOPTS=(--no-mtime)
fi
manifest() { # DIR OUT
	local dir=$1 out=$2
	t 180 python3 "$PFS_LIBDIR/manifest.py" "${MOPTS[@]}" "$dir" >"$out" ||
		fail "manifest.py $dir failed"
}
compare() { # DESC OUT
	if ! diff -u "$M0" "$2" >"$PFS_TMP/diff"; then
		head -n 60 "$PFS_TMP/diff" >&2
		fail "$1: tree differs from the original (diff above: - original, + copy)"
	fi
	note "$1: same as the original ($(wc -l <"$2") entries)"
}
check_sparse() { # FILE DESC
	local k
	k=$(du_k "$1")
	note "$2: du of the 2 GiB sparse file is ${k} KiB"
	[ "$k" -lt $((64 * 1024)) ] || fail "$2: sparse file not sparse: du ${k} KiB"
}

note "building the tree on the backing dir"
build_tree "$SRC/orig"
manifest "$SRC/orig" "$M0"

pfs_mount cache=16M,window=1M
manifest "$MNT/orig" "$PFS_TMP/m.mnt"
compare "original seen through the mount" "$PFS_TMP/m.mnt"

# --- tar: create from the mount, extract onto the mount --------------------
TAROPTS=(--xattrs --xattrs-include='user.*' --sparse --numeric-owner)
step -t 180 "tar c from the mount" -- \
	tar -C "$MNT/orig" "${TAROPTS[@]}" -cpf "$PFS_TMP/a.tar" .
run mkdir "$MNT/tarcopy"
step -t 180 "tar x onto the mount" -- \
	tar -C "$MNT/tarcopy" "${TAROPTS[@]}" --same-owner -xpf "$PFS_TMP/a.tar"
manifest "$SRC/tarcopy" "$PFS_TMP/m.tar.b"
compare "tar copy on the backing dir" "$PFS_TMP/m.tar.b"
manifest "$MNT/tarcopy" "$PFS_TMP/m.tar.m"
compare "tar copy through the mount" "$PFS_TMP/m.tar.m"
check_sparse "$SRC/tarcopy/sparse" "tar copy (backing)"
run rm -rf "$MNT/tarcopy"
[ ! -e "$SRC/tarcopy" ] || fail "rm -rf through the mount left $SRC/tarcopy"

# --- rsync: backing -> mount, mount -> elsewhere ------------------------
step -t 180 "rsync -aHAX --sparse original -> mount" -- \
	rsync -aHAX --sparse "$SRC/orig/" "$MNT/rs1/"
manifest "$SRC/rs1" "$PFS_TMP/m.rs1.b"
compare "rsync copy on the backing dir" "$PFS_TMP/m.rs1.b"
check_sparse "$SRC/rs1/sparse" "rsync into the mount (backing)"
mkdir "$PFS_TMP/out"
step -t 180 "rsync -aHAX --sparse mount -> local dir" -- \
	rsync -aHAX --sparse "$MNT/rs1/" "$PFS_TMP/out/rs2/"
manifest "$PFS_TMP/out/rs2" "$PFS_TMP/m.rs2"
compare "rsync copy out of the mount" "$PFS_TMP/m.rs2"
check_sparse "$PFS_TMP/out/rs2/sparse" "rsync out of the mount"
# a second rsync finds nothing to do (times and sizes seen through the
# mount are stable)
out=$(t 120 rsync -aHAX --sparse -i "$SRC/orig/" "$MNT/rs1/") ||
	fail "second rsync into the mount failed"
[ -z "$out" ] || { echo "$out" | head -20 >&2; fail "second rsync still transferred/changed entries"; }

pfs_umount
