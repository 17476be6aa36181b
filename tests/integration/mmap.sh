# mmap.sh - programs that mmap files on the mount: read known content,
# write through MAP_SHARED, msync, and see the bytes in the backing file;
# a new file sized with truncate, then mapped and filled.
. "$(dirname "$0")/lib.sh"

MiB=1048576
pfs_mount cache=8M,window=1M
mkrand "$SRC/known" $((5 * MiB + 123))

t 60 python3 - "$MNT/known" "$SRC/known" <<'EOF' || fail "mmap read/write of an existing file (see above)"
import mmap, os, sys
mnt, back = sys.argv[1], sys.argv[2]
want = open(back, "rb").read()
with open(mnt, "r+b") as f:
    m = mmap.mmap(f.fileno(), 0)
    assert len(m) == len(want), ("length", len(m), len(want))
    # read known content: whole, and pieces across page and window edges
    assert m[:] == want, "mapped content differs from the backing file"
    for off in (0, 4095, 4096, 1048575, 1048576, 5 * 1048576 + 100):
        assert m[off:off + 23] == want[off:off + 23], ("slice", off)
    # write bytes at several places, including across a window edge
    patches = {0: b"HEAD", 4094: b"page-edge", 1048570: b"window-edge!!",
               len(want) - 5: b"TAIL!"}
    for off, data in patches.items():
        m[off:off + len(data)] = data
    m.flush()
    m.close()
buf = bytearray(want)
for off, data in patches.items():
    buf[off:off + len(data)] = data
got = open(back, "rb").read()
if got != bytes(buf):
    bad = next(i for i in range(len(got)) if got[i] != buf[i])
    sys.exit("backing file after msync differs at offset %d" % bad)
got = open(mnt, "rb").read()
assert got == bytes(buf), "content through the mount differs after msync"
print("mmap existing file: ok")
EOF

t 60 python3 - "$MNT/new" "$SRC/new" <<'EOF' || fail "mmap of a new file sized with truncate (see above)"
import mmap, os, sys
mnt, back = sys.argv[1], sys.argv[2]
size = 3 * 1048576 + 5000
fd = os.open(mnt, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
os.ftruncate(fd, size)
assert os.fstat(fd).st_size == size
m = mmap.mmap(fd, size)
assert m[:] == bytes(size), "new file does not read as zeros"
pattern = bytes((i * 7 + 3) & 0xFF for i in range(size))
m[:] = pattern
m.flush()
m.close()
os.close(fd)
got = open(back, "rb").read()
assert len(got) == size, ("backing size", len(got))
assert got == pattern, "backing file differs after writing the new mapping"
print("mmap new file: ok")
EOF

# private mapping: writes stay private
t 60 python3 - "$MNT/known" "$SRC/known" <<'EOF' || fail "MAP_PRIVATE write leaked or failed"
import mmap, sys
mnt, back = sys.argv[1], sys.argv[2]
before = open(back, "rb").read()
with open(mnt, "rb") as f:
    m = mmap.mmap(f.fileno(), 0, flags=mmap.MAP_PRIVATE,
                  prot=mmap.PROT_READ | mmap.PROT_WRITE)
    m[0:8] = b"PRIVATE!"
    assert m[0:8] == b"PRIVATE!"
    m.close()
assert open(back, "rb").read() == before, "MAP_PRIVATE write reached the backing file"
print("MAP_PRIVATE: ok")
EOF

# a file written with write(2) on the mount is seen by a mapping, and vice
# versa, in the same process
t 60 python3 - "$MNT/mixed" <<'EOF' || fail "mixed write(2)/mmap coherency"
import mmap, os, sys
p = sys.argv[1]
fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
os.write(fd, b"A" * 8192)
m = mmap.mmap(fd, 8192)
assert m[:4] == b"AAAA"
os.pwrite(fd, b"BBBB", 100)
assert m[100:104] == b"BBBB", "mapping does not see pwrite"
m[200:204] = b"CCCC"
assert os.pread(fd, 4, 200) == b"CCCC", "pread does not see the mapping's write"
m.close()
os.close(fd)
print("mixed: ok")
EOF
check "backing copy of mixed file" python3 -c '
import sys; d = open(sys.argv[1], "rb").read()
assert d[100:104] == b"BBBB" and d[200:204] == b"CCCC" and len(d) == 8192' "$SRC/mixed"
pfs_umount
