# git.sh - a git repository on the mount: init, add, commit, log, status,
# change and commit again, fsck, gc (renames, hard links, mmap of packs,
# fsync, lock files).
. "$(dirname "$0")/lib.sh"

command -v git >/dev/null || skip "git missing"
pfs_mount cache=16M,window=1M
R=$MNT/repo
export GIT_CONFIG_NOSYSTEM=1 HOME=$PFS_TMP GIT_AUTHOR_DATE='2020-01-01T00:00:00Z' \
	GIT_COMMITTER_DATE='2020-01-01T00:00:00Z'
g() { t 120 git -C "$R" "$@"; }

step "git init" -- git init -q -b main "$R"
g config user.name "Pane Tester"
g config user.email "tester@example.com"
g config core.fsync all 2>/dev/null || true
mkdir -p "$R/src/sub"
for i in $(seq 1 50); do
	printf 'file %d\n%s\n' "$i" "$(head -c 300 /dev/urandom | base64 -w 76)" >"$R/src/f$i.txt"
done
mkrand "$R/src/sub/blob.bin" $((3 * 1048576))
echo "hello" >"$R/README"
ln -s README "$R/link"
chmod +x "$R/src/f1.txt"

step "git add" -- git -C "$R" add -A
step "git commit" -- git -C "$R" commit -q -m "first"
check_eq "log after first commit" "first" "$(g log --format=%s)"
check_eq "status after first commit" "" "$(g status --porcelain)"

echo "changed" >>"$R/README"
rm "$R/src/f2.txt"
git -C "$R" mv src/f3.txt src/renamed.txt
dd if=/dev/urandom of="$R/src/sub/blob.bin" bs=4096 count=1 seek=100 conv=notrunc status=none
check_eq "status after changes" \
	"$(printf ' M README\n D src/f2.txt\nR  src/f3.txt -> src/renamed.txt\n M src/sub/blob.bin')" \
	"$(g status --porcelain)"
step "git commit -a" -- git -C "$R" commit -q -a -m "second"
check_eq "log after second commit" "$(printf 'second\nfirst')" "$(g log --format=%s)"
check_eq "status after second commit" "" "$(g status --porcelain)"
step "git fsck" -- git -C "$R" fsck --full --strict --no-progress
step -t 120 "git gc" -- git -C "$R" gc -q --aggressive --prune=now
step "git fsck after gc" -- git -C "$R" fsck --full --strict --no-progress
check_eq "status after gc" "" "$(g status --porcelain)"
check_eq "log after gc" "$(printf 'second\nfirst')" "$(g log --format=%s)"
# the repository is the same seen from the backing dir
check_eq "HEAD via the backing dir" "$(g rev-parse HEAD)" \
	"$(t 60 git -C "$SRC/repo" rev-parse HEAD)"
step "git fsck on the backing dir" -- git -C "$SRC/repo" fsck --full --strict --no-progress
check_eq "status on the backing dir" "" "$(t 60 git -C "$SRC/repo" status --porcelain)"
# clone out of the mount and back into it
step "git clone from the mount" -- git clone -q "$R" "$PFS_TMP/clone"
step "git clone into the mount" -- git clone -q "$PFS_TMP/clone" "$MNT/clone2"
check_eq "clone2 HEAD" "$(g rev-parse HEAD)" "$(t 60 git -C "$MNT/clone2" rev-parse HEAD)"
check "clone2 tree equals repo tree" diff -r -x .git "$R" "$MNT/clone2"
pfs_umount
