# security.sh - permissions, ownership and containment, provoked for real
# (README "Security"; DESIGN.md: a container volume shared with other
# users through allow_other):
#  - allow_other turns default_permissions on, unless no_default_permissions
#    is given: checked in the mount's options in /proc/self/mountinfo;
#  - run as root with allow_other, another uid/gid (setpriv, numeric ids)
#    reads what the modes allow and gets EACCES where they do not (a 0600
#    root file, a 0700 root dir, a 0755 root dir to create in), cannot
#    chmod/chown root's files, and what it creates (file, dir, symlink,
#    fifo, hard link) belongs to it, with the parent's group and set-gid
#    bit under a set-gid dir, checked through the mount and in SOURCE;
#  - a sticky /tmp-like dir: a third uid can neither remove nor rename
#    another's file (EPERM), the owner can;
#  - symlinks in SOURCE to /etc (absolute) and ../../outside (relative,
#    escaping SOURCE) are shown as symlinks and operations naming the link
#    (lstat, readlink, getfattr -h, chown -h, touch -h, ln, mv, rm) act on
#    the link, never on its target; a path through a dir symlink is
#    resolved by the caller's kernel (client side), with the caller's
#    rights, not by the daemon;
#  - ".." at the mount root is the directory holding the mount point.
# (A crafted LOOKUP of ".." in the root, names with '/', symlinks used as a
# parent: tests/unit/test_inode.c, at the inode table's level.)
. "$(dirname "$0")/lib.sh"

need_panefs "checks panefs's own option handling and ownership rules"
[ "$(id -u)" = 0 ] || skip "needs root (allow_other, setpriv to other uids)"
command -v setpriv >/dev/null || skip "setpriv missing (util-linux)"

U1=1234 # the "other user": 1234:1234
U2=5678 # a third user: 5678:5678
G2=4321 # the group of the set-gid dir (U1 is not in it)

# asu UID GID CMD... : run CMD as uid:gid with no supplementary groups.
asu() {
	local uid=$1 gid=$2
	shift 2
	t 30 setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$@"
}

# denied DESC PATTERN UID GID CMD... : CMD as UID:GID must fail with an
# error message matching PATTERN (e.g. "Permission denied").
denied() {
	local desc=$1 pat=$2 rc=0
	shift 2
	asu "$@" >"$PFS_TMP/out" 2>"$PFS_TMP/err" || rc=$?
	[ "$rc" != 0 ] || fail "$desc: succeeded, should be refused ($*)"
	grep -q "$pat" "$PFS_TMP/err" ||
		fail "$desc: expected '$pat', got: $(cat "$PFS_TMP/err")"
	note "refused as expected: $desc ($(head -n 1 "$PFS_TMP/err"))"
}

# The mount's super options (the last field of its mountinfo line).
mount_opts() {
	awk -v m="$MNT" '$5 == m { print $NF }' /proc/self/mountinfo
}

has_opt() { case ",$1," in *",$2,"*) return 0 ;; esac; return 1; }

owner() { stat -c %u:%g "$1"; }

# The other users must be able to reach MNT (mktemp made PFS_TMP 0700).
chmod 755 "$PFS_TMP" "$SRC"

# --- allow_other implies default_permissions ------------------------------
pfs_mount allow_other,no_default_permissions
opts=$(mount_opts)
note "allow_other,no_default_permissions: $opts"
has_opt "$opts" allow_other || fail "allow_other missing from mount options: $opts"
has_opt "$opts" default_permissions &&
	fail "no_default_permissions given, yet default_permissions is on: $opts"
pfs_umount

pfs_mount allow_other
opts=$(mount_opts)
note "allow_other: $opts"
has_opt "$opts" allow_other || fail "allow_other missing from mount options: $opts"
has_opt "$opts" default_permissions ||
	fail "allow_other without default_permissions: $opts"

# --- what another uid may read ------------------------------------------
echo public >"$MNT/pub"
chmod 644 "$MNT/pub"
echo secret >"$MNT/secret"
chmod 600 "$MNT/secret"
mkdir "$MNT/private" "$MNT/rootdir"
echo inside >"$MNT/private/f"
chmod 700 "$MNT/private"
chmod 755 "$MNT/rootdir"
check_eq "root's file is root's" 0:0 "$(owner "$SRC/secret")"

check_eq "uid $U1 reads a 0644 file" public "$(asu $U1 $U1 cat "$MNT/pub")"
asu $U1 $U1 ls "$MNT" >/dev/null || fail "uid $U1 cannot list the root"
denied "uid $U1 reads a 0600 root file" "Permission denied" $U1 $U1 cat "$MNT/secret"
denied "uid $U1 lists a 0700 root dir" "Permission denied" $U1 $U1 ls "$MNT/private"
denied "uid $U1 reads inside a 0700 root dir" "Permission denied" $U1 $U1 cat "$MNT/private/f"
denied "uid $U1 writes a 0644 root file" "Permission denied" $U1 $U1 \
	bash -c 'echo x >>"$1"' _ "$MNT/pub"
denied "uid $U1 creates in a 0755 root dir" "Permission denied" $U1 $U1 \
	touch "$MNT/rootdir/x"
denied "uid $U1 removes from a 0755 root dir" "Permission denied" $U1 $U1 \
	rm -f "$MNT/pub"
denied "uid $U1 chmods a root file" "Operation not permitted" $U1 $U1 \
	chmod 666 "$MNT/pub"
denied "uid $U1 chowns a root file" "Operation not permitted" $U1 $U1 \
	chown $U1 "$MNT/pub"
check_eq "pub untouched" "644 0:0 public" \
	"$(stat -c '%a %u:%g' "$SRC/pub") $(cat "$SRC/pub")"

# trusted.* names are listed to root only, as ext4 does (values are
# refused by the VFS anyway; the list is the file system's to filter).
setfattr -n trusted.secretname -v 1 "$SRC/pub"
setfattr -n user.visible -v 1 "$SRC/pub"
check_eq "uid $U1 lists user.* but not trusted.*" "user.visible" \
	"$(asu $U1 $U1 getfattr --absolute-names -m - "$MNT/pub" | grep -v '^#' | grep .)"
check_eq "root lists trusted.* too" "trusted.secretname user.visible" \
	"$(getfattr --absolute-names -m - "$MNT/pub" | grep -v '^#' | grep . | sort | tr '\n' ' ' | sed 's/ $//')"

# --- what another uid creates is its own ----------------------------------
mkdir "$MNT/shared"
chmod 1777 "$MNT/shared"
step "uid $U1 makes a file, dir, symlink, fifo, hard link" -- \
	setpriv --reuid=$U1 --regid=$U1 --clear-groups -- bash -c '
	set -e
	cd "$MNT/shared"
	umask 027
	echo mine >file
	mkdir dir
	ln -s file link
	mkfifo fifo
	ln file hard
	: >dir/nested'
for n in file dir link fifo hard dir/nested; do
	check_eq "owner of $n through the mount" $U1:$U1 "$(owner "$MNT/shared/$n")"
	check_eq "owner of $n in SOURCE" $U1:$U1 "$(owner "$SRC/shared/$n")"
done
check_eq "umask applied (file)" 640 "$(stat -c %a "$SRC/shared/file")"
check_eq "umask applied (dir)" 750 "$(stat -c %a "$SRC/shared/dir")"
check_eq "kinds" "regular file directory symbolic link fifo" \
	"$(stat -c %F "$SRC/shared/file" "$SRC/shared/dir" "$SRC/shared/link" \
		"$SRC/shared/fifo" | paste -sd' ')"
check_eq "uid $U1 reads its own file" mine "$(asu $U1 $U1 cat "$MNT/shared/file")"
denied "uid $U2 reads uid $U1's 0640 file" "Permission denied" $U2 $U2 \
	cat "$MNT/shared/file"

# Set-gid dir: new entries take the dir's group (G2, which U1 is not in),
# new dirs inherit the set-gid bit: as the kernel does on a local disk.
mkdir "$MNT/sg"
chgrp $G2 "$MNT/sg"
chmod 2777 "$MNT/sg"
step "uid $U1 makes entries in a set-gid dir" -- \
	setpriv --reuid=$U1 --regid=$U1 --clear-groups -- bash -c '
	set -e
	cd "$MNT/sg"
	: >file
	mkdir dir
	ln -s file link
	mkfifo fifo'
for n in file dir link fifo; do
	check_eq "owner of sg/$n through the mount" $U1:$G2 "$(owner "$MNT/sg/$n")"
	check_eq "owner of sg/$n in SOURCE" $U1:$G2 "$(owner "$SRC/sg/$n")"
done
check "a dir made in a set-gid dir is set-gid" test -g "$SRC/sg/dir"
check "a file made there is not set-gid" test ! -g "$SRC/sg/file"
# The same on the backing file system directly, for comparison.
mkdir "$SRC/sg-ref"
chgrp $G2 "$SRC/sg-ref"
chmod 2777 "$SRC/sg-ref"
asu $U1 $U1 bash -c 'cd "$1" && : >file && mkdir dir' _ "$SRC/sg-ref"
check_eq "mount and local disk agree (file)" \
	"$(stat -c '%u:%g %A' "$SRC/sg-ref/file")" "$(stat -c '%u:%g %A' "$SRC/sg/file")"
check_eq "mount and local disk agree (dir)" \
	"$(stat -c '%u:%g %A' "$SRC/sg-ref/dir")" "$(stat -c '%u:%g %A' "$SRC/sg/dir")"

# --- a sticky dir ----------------------------------------------------------
mkdir "$MNT/tmp"
chmod 1777 "$MNT/tmp"
asu $U1 $U1 bash -c 'echo a >"$1/tmp/u1file"' _ "$MNT"
denied "uid $U2 removes uid $U1's file in a sticky dir" "Operation not permitted" \
	$U2 $U2 rm -f "$MNT/tmp/u1file"
denied "uid $U2 renames uid $U1's file in a sticky dir" "Operation not permitted" \
	$U2 $U2 mv "$MNT/tmp/u1file" "$MNT/tmp/stolen"
check "still there" test -f "$SRC/tmp/u1file"
asu $U2 $U2 touch "$MNT/tmp/u2file" || fail "uid $U2 cannot add its own file"
asu $U1 $U1 rm "$MNT/tmp/u1file" || fail "uid $U1 cannot remove its own file"
check "gone" test ! -e "$SRC/tmp/u1file"

# --- symlinks pointing out of SOURCE ------------------------------------------
OUT=$PFS_TMP/outside
mkdir "$OUT"
chmod 755 "$OUT"
echo outside >"$OUT/data"
mkdir "$SRC/sub"
ln -s /etc "$SRC/abs"
ln -s ../../outside "$SRC/sub/rel"        # from SRC/sub: PFS_TMP/outside
ln -s "$OUT" "$SRC/absout"
ln -s sub "$SRC/in"                       # stays inside
xattrs=0
if setfattr -n user.where -v outside "$OUT" 2>/dev/null; then xattrs=1; fi
out_before=$(stat -c '%u:%g %Y' "$OUT")
sleep 1.1 # the negative entries of the lookups above expire

check_eq "lstat abs" "symbolic link" "$(stat -c %F "$MNT/abs")"
check_eq "lstat rel" "symbolic link" "$(stat -c %F "$MNT/sub/rel")"
check_eq "readlink abs" /etc "$(readlink "$MNT/abs")"
check_eq "readlink rel" ../../outside "$(readlink "$MNT/sub/rel")"
check_eq "uid $U1 readlink" ../../outside "$(asu $U1 $U1 readlink "$MNT/sub/rel")"
check_eq "the link's own size" 13 "$(stat -c %s "$MNT/sub/rel")"
if [ $xattrs = 1 ]; then
	# getfattr -h asks for the link's own attributes: not the target's.
	getfattr -h -n user.where "$MNT/sub/rel" >"$PFS_TMP/out" 2>&1 &&
		fail "getfattr -h on the symlink returned its target's xattr: $(cat "$PFS_TMP/out")"
	check_eq "getfattr -h lists nothing of the target" "" \
		"$(getfattr -h -d "$MNT/sub/rel" 2>/dev/null)"
fi
check_eq "getfattr -h -d of the /etc link" "" "$(getfattr -h -d -m - "$MNT/abs" 2>/dev/null)"
step "chown -h the escaping link" -- chown -h $U1:$U1 "$MNT/sub/rel"
check_eq "the link changed owner" $U1:$U1 "$(owner "$SRC/sub/rel")"
step "touch -h the escaping link" -- touch -h -d '2001-02-03 04:05:06' "$MNT/sub/rel"
check_eq "the link's mtime" 981173106 "$(stat -c %Y "$SRC/sub/rel")"
check_eq "the target is untouched" "$out_before" "$(stat -c '%u:%g %Y' "$OUT")"
step "hard link to the symlink" -- ln "$MNT/sub/rel" "$MNT/hl"
check_eq "the hard link is the symlink" "symbolic link $(stat -c %i "$SRC/sub/rel")" \
	"$(stat -c '%F %i' "$SRC/hl")"
step "rename the symlink" -- mv "$MNT/hl" "$MNT/hl2"
check_eq "renamed link" ../../outside "$(readlink "$SRC/hl2")"
# A dir symlink inside SOURCE: the kernel walks it through the mount.
step "create through an inside dir symlink" -- bash -c 'echo in >"$MNT/in/via"'
check_eq "landed in SOURCE/sub" in "$(cat "$SRC/sub/via")"
# An absolute dir symlink: the caller's kernel resolves it in the caller's
# namespace, outside this mount, with the caller's rights; the daemon
# (root) is never asked. Proof: uid U1 is refused by the backing directory
# itself (root's 0755 $OUT), though the daemon is root.
denied "uid $U1 creates through an absolute dir symlink" "Permission denied" \
	$U1 $U1 touch "$MNT/absout/u1"
check "nothing created outside" test ! -e "$OUT/u1"
# ... and root creating there is a plain local write, outside the mount.
echo viaabs >"$MNT/absout/root-via-link"
check_eq "landed where the link points" viaabs "$(cat "$OUT/root-via-link")"
check "not in SOURCE" test ! -e "$SRC/root-via-link"
step "rm the links" -- rm "$MNT/abs" "$MNT/sub/rel" "$MNT/hl2" "$MNT/absout" "$MNT/in"
check "links gone from SOURCE" test ! -L "$SRC/abs" -a ! -L "$SRC/sub/rel" -a ! -L "$SRC/absout"
check "/etc still there" test -f /etc/passwd
check_eq "the outside dir still there" outside "$(cat "$OUT/data")"

# --- .. at the root -------------------------------------------------------
check_eq ".. of the mount root" "$(stat -c %d:%i "$PFS_TMP")" "$(stat -c %d:%i "$MNT/..")"
check_eq "ls MNT/.." "$(ls -a "$PFS_TMP" | paste -sd' ')" "$(ls -a "$MNT/.." | paste -sd' ')"
check_eq "MNT/sub/../.. is the dir holding MNT" "$(stat -c %i "$PFS_TMP")" \
	"$(stat -c %i "$MNT/sub/../..")"

pfs_umount
