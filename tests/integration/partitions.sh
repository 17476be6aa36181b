# partitions.sh - views mode "NAME BACKING partitions": disk images made
# with sfdisk (sparse files in the test's temp dir, no loop devices):
#   (a) MBR: 2 primaries + an extended holding 2 logicals -> p1 p2 p5 p6,
#   (b) GPT with 3 partitions -> p1 p2 p3;
# names and sizes agree with `sfdisk --json` (start*512, size*512), the
# bytes of each partition view = dd of the image range; mkfs.ext4 through a
# partition view, then e2fsck -fn of the view passes, the image range has
# the same bytes and nothing outside the partition changed; an ro
# partitions line refuses writes. Damaged tables (no 0x55AA, GPT header and
# backup both corrupt, a logical chain that loops) and absent ones (a zero
# file, a tiny file) give exit 2 with "panefs: FILE:LINE: reason"; a GPT
# whose primary header alone is corrupt is read from the backup.
. "$(dirname "$0")/lib.sh"
need_panefs "views mode is panefs-only"

PATH=$PATH:/usr/sbin:/sbin
for c in sfdisk mkfs.ext4 e2fsck; do
	command -v "$c" >/dev/null || skip "$c missing"
done
MiB=1048576
IMG_SIZE=$((64 * MiB))

# parts IMG : "NUMBER START SIZE" (sectors) per partition from sfdisk
# --json, the MBR extended container left out
parts() {
	t 30 sfdisk --json "$1" | t 30 python3 -c '
import json, sys
pt = json.load(sys.stdin)["partitiontable"]
assert pt.get("sectorsize", 512) == 512, pt
dev = pt["device"]
for p in pt["partitions"]:
    if pt["label"] == "dos" and p["type"].lower() in ("5", "f", "85"):
        continue
    num = int(p["node"][len(dev):].lstrip("p"))
    print(num, p["start"], p["size"])
'
}
# range_sha FILE OFF LEN : sha256 of LEN bytes at OFF (bytes) of FILE
range_sha() {
	t 120 bash -c 'set -o pipefail
		dd if="$1" iflag=skip_bytes,count_bytes skip="$2" count="$3" bs=1M status=none |
		sha256sum | cut -d" " -f1' _ "$@"
}
# sect_sha FILE START COUNT : sha256 of COUNT 512-byte sectors at START
sect_sha() {
	t 120 bash -c 'set -o pipefail
		dd if="$1" bs=512 skip="$2" count="$3" status=none | sha256sum | cut -d" " -f1' _ "$@"
}
vsha() { t 120 sha256sum "$1" | cut -d' ' -f1; }

# --- the images ---------------------------------------------------------------
MBR=$SRC/img.mbr
GPT=$SRC/img.gpt
t 10 truncate -s "$IMG_SIZE" "$MBR" "$GPT"
step "sfdisk: MBR with 2 primaries and 2 logicals" -- bash -c 'sfdisk -q "$1" <<EOF
label: dos
unit: sectors
start=2048, size=16384, type=83
start=18432, size=16384, type=83
start=34816, size=96256, type=5
start=36864, size=40960, type=83
start=79872, size=40960, type=83
EOF' _ "$MBR"
step "sfdisk: GPT with 3 partitions" -- bash -c 'sfdisk -q "$1" <<EOF
label: gpt
unit: sectors
start=2048, size=16384
start=18432, size=40960
start=59392, size=32768
EOF' _ "$GPT"
parts "$MBR" >"$PFS_TMP/mbr.parts"
parts "$GPT" >"$PFS_TMP/gpt.parts"
check_eq "sfdisk: MBR partition numbers" "1 2 5 6" "$(cut -d' ' -f1 "$PFS_TMP/mbr.parts" | tr '\n' ' ' | sed 's/ $//')"
check_eq "sfdisk: GPT partition numbers" "1 2 3" "$(cut -d' ' -f1 "$PFS_TMP/gpt.parts" | tr '\n' ' ' | sed 's/ $//')"
# 4 KiB of random bytes at the start and at the end of every partition, so
# that a view shifted or cut anywhere shows different bytes
for img in "$MBR:mbr" "$GPT:gpt"; do
	f=${img%%:*}
	while read -r n start size; do
		for at in "$((start * 512))" "$(((start + size) * 512 - 4096))"; do
			head -c 4096 /dev/urandom | t 10 dd of="$f" bs=4096 seek="$at" oflag=seek_bytes \
				conv=notrunc status=none
		done
	done <"$PFS_TMP/${img##*:}.parts"
done
check_eq "images are sparse" 1 "$([ "$(du_k "$MBR")" -lt 4096 ] && [ "$(du_k "$GPT")" -lt 4096 ] && echo 1)"
t 30 cp --sparse=always "$MBR" "$PFS_TMP/mbr.before"
t 30 cp --sparse=always "$GPT" "$PFS_TMP/gpt.before"

# ===========================================================================
# 1. damaged and absent tables: exit 2, "panefs: FILE:LINE: reason", nothing
#    mounted (before anything is mounted)
# ===========================================================================
TAB=$PFS_TMP/bad.views
# bad_disk DESC IMAGE PATTERN : a table whose line 3 shows IMAGE's
# partitions must be refused: exit 2, one stderr line starting
# "panefs: $TAB:3: " and matching PATTERN (grep -E), nothing mounted.
bad_disk() {
	printf '# line 2 is good, line 3 is not\nok  img.gpt  partitions\nx   %s  partitions\n' "$2" >"$TAB"
	pfs_refused "$1" "panefs: $TAB:3: " "$3" "views=$TAB"
}
# poke FILE OFFSET HEX... : overwrite bytes at OFFSET
poke() {
	local f=$1 off=$2
	shift 2
	t 10 python3 -c '
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2]))
    f.write(bytes(int(x, 16) for x in sys.argv[3:]))
' "$f" "$off" "$@"
}
peek() {   # peek FILE OFFSET : one byte as two hex digits
	t 10 python3 -c '
import sys
with open(sys.argv[1], "rb") as f:
    f.seek(int(sys.argv[2])); print("%02x" % f.read(1)[0])
' "$1" "$2"
}
flip() {   # flip FILE OFFSET : invert one byte
	poke "$1" "$2" "$(printf '%02x' $((0x$(peek "$1" "$2") ^ 0xff)))"
}

# MBR without its 0x55AA signature
t 30 cp --sparse=always "$MBR" "$SRC/nosig.mbr"
poke "$SRC/nosig.mbr" 510 00 00
bad_disk "MBR with a zeroed 0x55AA signature" nosig.mbr 'no partition table.*55AA'
# GPT: primary header and backup header both corrupt (one byte of each,
# inside the CRC-covered header: first usable LBA at 0x28)
t 30 cp --sparse=always "$GPT" "$SRC/bad.gpt"
flip "$SRC/bad.gpt" $((512 + 0x28))
flip "$SRC/bad.gpt" $((IMG_SIZE - 512 + 0x28))
bad_disk "GPT with primary and backup headers corrupt" bad.gpt 'GPT.*(CRC|header).*backup'
# GPT: both signatures gone ("EFI PART" -> zeros)
t 30 cp --sparse=always "$GPT" "$SRC/nosig.gpt"
poke "$SRC/nosig.gpt" 512 00 00 00 00 00 00 00 00
poke "$SRC/nosig.gpt" $((IMG_SIZE - 512)) 00 00 00 00 00 00 00 00
bad_disk "GPT with both header signatures zeroed" nosig.gpt 'GPT.*backup'
# MBR whose logical chain loops: the first EBR (at the extended partition's
# start) links to itself (next-EBR start 0, relative to the extended start)
EXT_START=34816
check_eq "the first EBR links to the next one (type 05)" 05 "$(peek "$MBR" $((EXT_START * 512 + 446 + 16 + 4)))"
t 30 cp --sparse=always "$MBR" "$SRC/loop.mbr"
poke "$SRC/loop.mbr" $((EXT_START * 512 + 446 + 16 + 8)) 00 00 00 00
bad_disk "MBR whose logical partition chain loops" loop.mbr 'loop'
# absent tables
t 10 truncate -s "$IMG_SIZE" "$SRC/zero.img"
bad_disk "absent table: a 64 MiB file of zeros" zero.img 'no partition table'
head -c 100 /dev/urandom >"$SRC/tiny.img"
bad_disk "absent table: a 100-byte file" tiny.img 'no partition table'
t 10 truncate -s 0 "$SRC/empty.img"
bad_disk "absent table: an empty file" empty.img 'no partition table'
pfs_is_mounted && fail "something is mounted on $MNT after the bad tables"
# the test images were not touched
check "img.mbr untouched by the refused mounts" cmp "$MBR" "$PFS_TMP/mbr.before"
check "img.gpt untouched by the refused mounts" cmp "$GPT" "$PFS_TMP/gpt.before"

# ===========================================================================
# 2. mount: names, sizes, bytes
# ===========================================================================
TAB=$PFS_TMP/disks.views
cat >"$TAB" <<'EOF'
# disk images: one directory each, one view per partition
disk	img.mbr		partitions
g	img.gpt		partitions
diskro	img.mbr		partitions	ro
EOF
pfs_mount window=64K,cache=2M,views="$TAB"
names() { LC_ALL=C t 10 ls -A "$1" | tr '\n' ' ' | sed 's/ $//'; }
check_eq "top of the mount" "disk diskro g" "$(names "$MNT")"
check_eq "MBR partitions (Linux numbering)" "p1 p2 p5 p6" "$(names "$MNT/disk")"
check_eq "MBR partitions, ro line" "p1 p2 p5 p6" "$(names "$MNT/diskro")"
check_eq "GPT partitions" "p1 p2 p3" "$(names "$MNT/g")"
check_eq "MBR names = sfdisk's" "$(sed 's/ .*//; s/^/p/' "$PFS_TMP/mbr.parts" | tr '\n' ' ' | sed 's/ $//')" "$(names "$MNT/disk")"
check_eq "GPT names = sfdisk's" "$(sed 's/ .*//; s/^/p/' "$PFS_TMP/gpt.parts" | tr '\n' ' ' | sed 's/ $//')" "$(names "$MNT/g")"
check_eq "partition directories: mode r-x of SOURCE's" \
	"directory $(printf %o $((8#$(stat -c %a "$SRC") & 8#555)))" "$(t 10 stat -c '%F %a' "$MNT/disk")"
NCHK=0
for d in disk:mbr:img.mbr diskro:mbr:img.mbr g:gpt:img.gpt; do
	IFS=: read -r dir kind img <<<"$d"
	while read -r n start size; do
		v=$MNT/$dir/p$n
		check_eq "size of $dir/p$n = sfdisk size*512" $((size * 512)) "$(t 10 stat -c %s "$v")"
		check_eq "bytes of $dir/p$n = dd of $img at sector $start, $size sectors" \
			"$(sect_sha "$SRC/$img" "$start" "$size")" "$(vsha "$v")"
		NCHK=$((NCHK + 1))
	done <"$PFS_TMP/$kind.parts"
done
note "ok: size and bytes of $NCHK partition views agree with sfdisk --json and dd"

# edges and ro
t 30 python3 -c '
import errno, os, sys
m = sys.argv[1]
def expect_err(what, want, fn, *a):
    try:
        fn(*a)
    except OSError as e:
        if e.errno == want:
            return
        sys.exit("%s: expected %s, got %s" % (what, errno.errorcode[want], errno.errorcode.get(e.errno)))
    sys.exit("%s: expected %s, succeeded" % (what, errno.errorcode[want]))
for v in ("disk/p1", "disk/p5", "g/p3"):
    p = os.path.join(m, v)
    size = os.stat(p).st_size
    fd = os.open(p, os.O_RDWR)
    if os.pread(fd, 512, size) != b"":
        sys.exit("%s: read past the end returned data" % v)
    if len(os.pread(fd, 1024, size - 512)) != 512:
        sys.exit("%s: read of the last sector is not 512 bytes" % v)
    last = os.pread(fd, 512, size - 512)
    expect_err(v + ": write one sector past the end", errno.ENOSPC, os.pwrite, fd, b"x" * 512, size)
    n = os.pwrite(fd, last + last, size - 512)    # straddles: rewrite the last sector
    if n != 512:
        sys.exit("%s: straddling write returned %d, expected 512" % (v, n))
    expect_err(v + ": ftruncate", errno.EPERM, os.ftruncate, fd, 0)
    os.close(fd)
for v in ("diskro/p1", "diskro/p6"):
    p = os.path.join(m, v)
    expect_err(v + ": open O_WRONLY", errno.EROFS, os.open, p, os.O_WRONLY)
    expect_err(v + ": open O_RDWR", errno.EROFS, os.open, p, os.O_RDWR)
' "$MNT" || fail "edge/ro checks of partition views"
note "ok: reads/writes at the end of partition views, ro partitions line"
check "img.mbr unchanged by the edge checks" cmp "$MBR" "$PFS_TMP/mbr.before"
check "img.gpt unchanged by the edge checks" cmp "$GPT" "$PFS_TMP/gpt.before"

# e2fsck can fail: a partition with no file system in it
rc=0
t 60 e2fsck -fn "$MNT/g/p3" >"$PFS_TMP/fsck.out" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "e2fsck -fn of g/p3 (no file system) exited 0"
note "ok: e2fsck -fn of an unformatted partition fails (exit $rc)"

# ===========================================================================
# 3. mkfs.ext4 through a partition view; e2fsck; the image range agrees and
#    nothing outside the partition changed
# ===========================================================================
# mkfs_part DIR N IMG KIND
mkfs_part() {
	local dir=$1 n=$2 img=$3 kind=$4 start size rc=0
	read -r start size < <(awk -v n="$n" '$1 == n { print $2, $3 }' "$PFS_TMP/$kind.parts")
	local v=$MNT/$dir/p$n end=$(((start + size) * 512))
	step -t 120 "mkfs.ext4 -F -q $dir/p$n ($((size / 2048)) MiB at sector $start)" -- \
		mkfs.ext4 -F -q -L "p$n-$kind" "$v"
	t 120 e2fsck -fn "$v" >"$PFS_TMP/fsck.out" 2>&1 || rc=$?
	[ "$rc" = 0 ] || fail "e2fsck -fn $dir/p$n exited $rc: $(tail -n 20 "$PFS_TMP/fsck.out")"
	note "ok: e2fsck -fn $dir/p$n: $(tail -n 1 "$PFS_TMP/fsck.out")"
	local want got
	want=$(sect_sha "$SRC/$img" "$start" "$size")
	got=$(vsha "$v")
	check_eq "sha256 of $dir/p$n = sha256 of dd if=$img skip=$start count=$size" "$want" "$got"
	check_eq "sha256 of a fresh ro view of the same partition (diskro) = image" "$want" \
		"$([ "$kind" = mbr ] && vsha "$MNT/diskro/p$n" || echo "$want")"
	# the image range alone is an ext4 file system
	t 60 dd if="$SRC/$img" of="$PFS_TMP/part.img" bs=512 skip="$start" count="$size" status=none
	rc=0
	t 120 e2fsck -fn "$PFS_TMP/part.img" >"$PFS_TMP/fsck.out" 2>&1 || rc=$?
	[ "$rc" = 0 ] || fail "e2fsck -fn of the bytes dd'ed from $img at sector $start exited $rc"
	check_eq "label of the file system in $img at sector $start" "p$n-$kind" \
		"$(t 30 e2label "$PFS_TMP/part.img" 2>/dev/null || t 30 dumpe2fs -h "$PFS_TMP/part.img" 2>/dev/null | sed -n 's/^Filesystem volume name: *//p')"
	rm -f "$PFS_TMP/part.img"
	# nothing outside [start, end) of the image changed
	check "$img before sector $start unchanged by mkfs of $dir/p$n" \
		cmp -n $((start * 512)) "$SRC/$img" "$PFS_TMP/$kind.before"
	check "$img after the end of p$n unchanged by mkfs of $dir/p$n" \
		cmp -i "$end:$end" "$SRC/$img" "$PFS_TMP/$kind.before"
	check_eq "size of $img after mkfs" "$IMG_SIZE" "$(fsize "$SRC/$img")"
}
mkfs_part disk 5 img.mbr mbr
mkfs_part g 2 img.gpt gpt
# the partition tables themselves still read the same
parts "$MBR" >"$PFS_TMP/mbr.parts2"
parts "$GPT" >"$PFS_TMP/gpt.parts2"
check "MBR table unchanged (sfdisk)" cmp "$PFS_TMP/mbr.parts" "$PFS_TMP/mbr.parts2"
check "GPT table unchanged (sfdisk)" cmp "$PFS_TMP/gpt.parts" "$PFS_TMP/gpt.parts2"
# after all that the other partitions still have their own bytes
for n in 1 2 6; do
	read -r start size < <(awk -v n="$n" '$1 == n { print $2, $3 }' "$PFS_TMP/mbr.parts")
	check_eq "disk/p$n still = its image range" \
		"$(sect_sha "$PFS_TMP/mbr.before" "$start" "$size")" "$(vsha "$MNT/disk/p$n")"
done
pfs_umount
check "e2fsck -fn of the image range after unmount (p5 of img.mbr)" \
	bash -c 'dd if="$1" of="$2" bs=512 skip=36864 count=40960 status=none && e2fsck -fn "$2" >/dev/null 2>&1' \
	_ "$MBR" "$PFS_TMP/p5.img"

# ===========================================================================
# 4. a GPT whose primary header alone is corrupt is read from the backup
# ===========================================================================
t 30 cp --sparse=always "$PFS_TMP/gpt.before" "$SRC/prim.gpt"
flip "$SRC/prim.gpt" $((512 + 0x28))
TAB=$PFS_TMP/prim.views
printf 'b  prim.gpt  partitions ro\n' >"$TAB"
pfs_mount views="$TAB"
check_eq "GPT from the backup header: names" "p1 p2 p3" "$(names "$MNT/b")"
while read -r n start size; do
	check_eq "GPT from the backup header: size of p$n" $((size * 512)) "$(t 10 stat -c %s "$MNT/b/p$n")"
	check_eq "GPT from the backup header: bytes of p$n" \
		"$(sect_sha "$SRC/prim.gpt" "$start" "$size")" "$(vsha "$MNT/b/p$n")"
done <"$PFS_TMP/gpt.parts"
pfs_umount
