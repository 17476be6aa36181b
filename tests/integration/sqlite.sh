# sqlite.sh - sqlite3 in WAL mode on the mount (shared-memory mmap of the
# -shm file, fsync, locks), with a second process reading concurrently.
. "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null || skip "sqlite3 missing"
pfs_mount cache=16M,window=1M
DB=$MNT/test.db

sq() { t 120 sqlite3 -bail -cmd '.timeout 10000' "$DB" "$@"; }

out=$(sq 'PRAGMA journal_mode=WAL;') || fail "PRAGMA journal_mode=WAL failed"
check_eq "journal_mode" wal "$out"
sq 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL, n INTEGER);
    CREATE INDEX t_n ON t(n);' || fail "CREATE TABLE failed"

# A reader polls while one transaction inserts 100,000 rows: in WAL mode it
# must never block, never error, and only ever see 0 or all rows.
READER=$PFS_TMP/reader.sh
cat >"$READER" <<'EOF'
db=$1 stop=$2 log=$3
n=0
while [ ! -e "$stop" ]; do
	c=$(sqlite3 -bail -cmd '.timeout 10000' "$db" 'SELECT count(*) FROM t;') || { echo "reader error" >>"$log"; exit 1; }
	case $c in 0|100000) ;; *) echo "reader saw $c rows" >>"$log"; exit 1 ;; esac
	echo "$c" >>"$log"
	n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "reader never ran" >>"$log"; exit 1; }
EOF
PFS_BG_TIMEOUT=180 bg bash "$READER" "$DB" "$PFS_TMP/stop" "$PFS_TMP/reader.log"
RPID=$BG_PID
step -t 120 "insert 100,000 rows in one transaction" -- \
	sqlite3 -bail -cmd '.timeout 10000' "$DB" "
	BEGIN;
	WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 100000)
	INSERT INTO t (id, v, n) SELECT i, printf('row-%06d-%s', i, hex(randomblob(16))), i % 97 FROM c;
	COMMIT;"
# let the reader see the committed rows (or fail) before stopping it
for _ in $(seq 1 300); do
	grep -q '^100000$' "$PFS_TMP/reader.log" 2>/dev/null && break
	_pfs_alive "$RPID" || break
	sleep 0.1
done
touch "$PFS_TMP/stop"
rc=0
bg_wait "$RPID" || rc=$?
[ "$rc" = 0 ] || { tail -5 "$PFS_TMP/reader.log" >&2; fail "concurrent reader failed (exit $rc)"; }
note "reader: $(grep -c '^0$' "$PFS_TMP/reader.log") reads saw 0 rows, $(grep -c '^100000$' "$PFS_TMP/reader.log") saw 100000"
grep -q '^100000$' "$PFS_TMP/reader.log" || fail "concurrent reader never saw the committed rows"

check_eq "integrity_check" ok "$(sq 'PRAGMA integrity_check;')"
check_eq "count" 100000 "$(sq 'SELECT count(*) FROM t;')"
check_eq "sum of n" "$(python3 -c 'print(sum(i % 97 for i in range(1, 100001)))')" \
	"$(sq 'SELECT sum(n) FROM t;')"

# Small transactions while a reader checks each count is a multiple of 100.
cat >"$READER" <<'EOF'
db=$1 stop=$2 log=$3
while [ ! -e "$stop" ]; do
	c=$(sqlite3 -bail -cmd '.timeout 10000' "$db" 'SELECT count(*) FROM t;') || { echo "reader error" >>"$log"; exit 1; }
	[ $((c % 100)) = 0 ] || { echo "reader saw $c rows" >>"$log"; exit 1; }
	echo "$c" >>"$log"
done
EOF
rm -f "$PFS_TMP/stop" "$PFS_TMP/reader.log"
PFS_BG_TIMEOUT=180 bg bash "$READER" "$DB" "$PFS_TMP/stop" "$PFS_TMP/reader.log"
RPID=$BG_PID
for k in $(seq 1 20); do
	sq "BEGIN;
	WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 100)
	INSERT INTO t (v, n) SELECT 'batch-$k', -$k FROM c;
	COMMIT;" || fail "small transaction $k failed"
done
touch "$PFS_TMP/stop"
rc=0
bg_wait "$RPID" || rc=$?
[ "$rc" = 0 ] || { tail -5 "$PFS_TMP/reader.log" >&2; fail "second concurrent reader failed (exit $rc)"; }
check_eq "count after 20 small transactions" 102000 "$(sq 'SELECT count(*) FROM t;')"

# checkpoint, then reopen in a new process (and after a remount) and check
sq 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null || fail "wal_checkpoint failed"
check_eq "integrity_check after checkpoint" ok "$(sq 'PRAGMA integrity_check;')"
pfs_umount
check_eq "integrity_check on the backing file" ok \
	"$(t 60 sqlite3 "$SRC/test.db" 'PRAGMA integrity_check;')"
pfs_mount cache=16M,window=1M
check_eq "integrity_check after remount" ok "$(sq 'PRAGMA integrity_check;')"
check_eq "count after remount" 102000 "$(sq 'SELECT count(*) FROM t;')"
check_eq "row 77777 after remount" "77777|$((77777 % 97))" \
	"$(sq 'SELECT id, n FROM t WHERE id = 77777;')"
sq 'VACUUM;' || fail "VACUUM failed"
check_eq "integrity_check after VACUUM" ok "$(sq 'PRAGMA integrity_check;')"
pfs_umount
