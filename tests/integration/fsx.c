/*
 * fsx.c - pfsx, a seeded random-operation model test for one file.
 *
 *     pfsx [options] FILE SEED COUNT
 *
 * Runs COUNT operations chosen by a deterministic PRNG seeded with SEED on
 * FILE (normally on a panefs mount): pread, pwrite, ftruncate, fallocate
 * (mode 0, KEEP_SIZE, PUNCH_HOLE|KEEP_SIZE, ZERO_RANGE, ZERO_RANGE|
 * KEEP_SIZE), reads and writes through a MAP_SHARED mapping (with msync,
 * MS_ASYNC or none before munmap), fsync, fdatasync and close+reopen. An
 * in-memory model holds the size and the bytes of the file; after every
 * operation the touched range and the size (fstat) are checked against it,
 * and every -c operations the whole file.
 *
 * What it guarantees: the same SEED, COUNT and options give the same
 * sequence of operations, byte for byte (splitmix64, no other source of
 * randomness), so a failure is reproduced by its command line. On a
 * mismatch it prints the last 50 operations, the first bad offset, the
 * expected and found bytes (and which recent operation wrote the found
 * bytes, when it can tell) and exits 1. Exit 2: bad usage or a failed
 * system call that is not a data mismatch.
 *
 * The file's bytes live in [BASE, BASE + LEN): -b moves the whole test to
 * a far offset (above 4 GiB, say) of a sparse file; below BASE the file is
 * a hole, spot-checked to read as zeros. Written bytes encode the op number
 * and the file offset (a hash), so a shifted or stale copy never matches.
 *
 * mmap and the FUSE page cache: a MAP_SHARED mapping of a FUSE file is the
 * kernel's page cache of the FUSE inode, the same pages that read(2) and
 * write(2) go through when direct_io is off (panefs: direct_io=0, no
 * writeback cache). So data stored through a mapping is visible to pread at
 * once, even before msync, and a pwrite updates mapped pages. The test
 * relies on exactly that and does nothing to hide an incoherence: a mapped
 * write may be left dirty (munmap without msync), then read with pread,
 * overwritten with pwrite, punched or truncated.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "panefs/options.h"

enum op {
	OP_READ,
	OP_WRITE,
	OP_MAPREAD,
	OP_MAPWRITE,
	OP_TRUNC,
	OP_FALLOC,
	OP_KEEPSIZE,
	OP_PUNCH,
	OP_ZERO,
	OP_ZEROKEEP,
	OP_FSYNC,
	OP_FDATASYNC,
	OP_REOPEN,
	OP_HOLECHECK,
	OP_NR
};

static const char *const op_name[OP_NR] = {
    "read",   "write",	     "mapread", "mapwrite",  "truncate",
    "falloc", "falloc-keep", "punch",	"zero",	     "zero-keep",
    "fsync",  "fdatasync",   "reopen",	"holecheck",
};

/*
 * Relative frequency of each operation (0: never). fsync and msync(MS_SYNC)
 * reach the disk (about 10 ms each on a busy VM) and are kept rare.
 */
static unsigned weight[OP_NR] = {
    [OP_READ] = 160,	[OP_WRITE] = 220,   [OP_MAPREAD] = 80,
    [OP_MAPWRITE] = 80, [OP_TRUNC] = 60,    [OP_FALLOC] = 30,
    [OP_KEEPSIZE] = 20, [OP_PUNCH] = 40,    [OP_ZERO] = 30,
    [OP_ZEROKEEP] = 20, [OP_FSYNC] = 2,	    [OP_FDATASYNC] = 2,
    [OP_REOPEN] = 10,	[OP_HOLECHECK] = 0,
};

/* One entry of the op log. */
struct oplog {
	uint64_t n; /* op number, from 1 */
	enum op op;
	uint64_t off, len; /* file offsets (BASE included) */
	uint64_t size;	   /* model size after the op */
	int how;	   /* mapwrite: 0 msync, 1 MS_ASYNC, 2 none */
};

#define LOG_N 50

static struct {
	const char *path;
	const char *backing;
	int argc;
	char **argv;
	uint64_t seed, count;
	uint64_t base, len; /* the model covers [base, base + len) */
	uint64_t window;    /* bias offsets towards multiples of this */
	uint64_t check_every;
	bool quiet;

	int fd;
	uint64_t rng;
	uint64_t opno;
	uint64_t size;	      /* model: file size */
	unsigned char *model; /* model: bytes [base, base + len) */
	unsigned char *buf;   /* scratch, len bytes */
	unsigned char *wbuf;  /* data to write, len bytes */
	long pagesize;
	struct oplog log[LOG_N];
	uint64_t counts[OP_NR];
	double secs[OP_NR]; /* wall time per kind of op, checks included */
	uint64_t verified;  /* bytes compared with the model */
	uint64_t moved;	    /* bytes read or written by the ops */
	bool no_zero;	    /* ZERO_RANGE refused with EOPNOTSUPP */
} T;

/* ---- PRNG: splitmix64 ------------------------------------------------ */

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rnd(void)
{
	T.rng += 0x9e3779b97f4a7c15ULL;
	return mix64(T.rng);
}

/* Uniform in [0, n); n > 0. The tiny modulo bias does not matter here. */
static uint64_t below(uint64_t n)
{
	return rnd() % n;
}

/* The byte op `n` writes at file offset p. */
static unsigned char pattern(uint64_t n, uint64_t p)
{
	return (unsigned char)(mix64((n << 40) ^ (p >> 3)) >> (8 * (p & 7)));
}

/* ---- reporting ------------------------------------------------------- */

static void print_log(void)
{
	uint64_t first = T.opno > LOG_N ? T.opno - LOG_N + 1 : 1;
	uint64_t i;

	fprintf(stderr,
		"pfsx: last %" PRIu64 " operations (offsets in bytes):\n",
		T.opno - first + 1);
	for (i = first; i <= T.opno; i++) {
		const struct oplog *l = &T.log[i % LOG_N];
		static const char *const how[] = {"msync", "ms_async",
						  "no-msync"};

		fprintf(stderr,
			"  %8" PRIu64 " %-11s off 0x%" PRIx64 " len 0x%" PRIx64
			" end 0x%" PRIx64 " -> size 0x%" PRIx64 "%s%s\n",
			l->n, op_name[l->op], l->off, l->len, l->off + l->len,
			l->size, l->op == OP_MAPWRITE ? " " : "",
			l->op == OP_MAPWRITE ? how[l->how] : "");
	}
	fprintf(stderr, "pfsx: reproduce with:");
	for (i = 0; i < (uint64_t)T.argc; i++)
		fprintf(stderr, " %s", T.argv[i]);
	fputc('\n', stderr);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "pfsx: %s seed %" PRIu64 " op %" PRIu64 ": ", T.path,
		T.seed, T.opno);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	print_log();
	exit(2);
}

/* Which recent op wrote these bytes at p? 0 when none of the last 4096. */
static uint64_t who_wrote(const unsigned char *got, uint64_t p, size_t n)
{
	uint64_t k, lo = T.opno > 4096 ? T.opno - 4096 : 1;
	size_t i;

	for (k = T.opno; k >= lo && k > 0; k--) {
		for (i = 0; i < n; i++)
			if (got[i] != pattern(k, p + i))
				break;
		if (i == n)
			return k;
	}
	return 0;
}

static void __attribute__((noreturn))
mismatch(const char *what, uint64_t off, const unsigned char *got,
	 const unsigned char *want, size_t n)
{
	size_t i, j, k, bad = 0;
	uint64_t w;

	for (i = 0; i < n && got[i] == want[i]; i++)
		;
	for (k = i; k < n; k++)
		bad += got[k] != want[k];
	fprintf(stderr,
		"pfsx: %s seed %" PRIu64 " op %" PRIu64
		": DATA MISMATCH (%s) at offset 0x%" PRIx64 " (%" PRIu64
		"), model size 0x%" PRIx64 "\n",
		T.path, T.seed, T.opno, what, off + i, off + i, T.size);
	for (j = i; j < n && got[j] != want[j]; j++)
		;
	fprintf(stderr, "pfsx: %zu bad bytes of %zu checked (first run %zu)\n",
		bad, n, j - i);
	fprintf(stderr, "  offset            expected  got\n");
	for (k = i & ~(size_t)15; k < n && k < (i & ~(size_t)15) + 64;
	     k += 16) {
		fprintf(stderr, "  0x%012" PRIx64 "  ", off + k);
		for (j = k; j < k + 16 && j < n; j++)
			fprintf(stderr, "%02x", want[j]);
		fprintf(stderr, "  ");
		for (j = k; j < k + 16 && j < n; j++)
			fprintf(stderr, "%02x", got[j]);
		fputc('\n', stderr);
	}
	w = who_wrote(got + i, off + i, n - i < 8 ? n - i : 8);
	if (w)
		fprintf(stderr,
			"pfsx: the bytes found were written by op %" PRIu64
			"\n",
			w);
	else if (got[i] == 0)
		fprintf(stderr, "pfsx: the bytes found are zeros\n");
	print_log();
	exit(1);
}

/* ---- helpers --------------------------------------------------------- */

/* Sizes and counts: the daemon's own parser (K/M/G/T suffixes). */
static uint64_t parse_size(const char *s)
{
	uint64_t v;

	if (panefs_parse_size(s, &v) == 0)
		return v;
	fprintf(stderr, "pfsx: bad number: %s\n", s);
	exit(2);
}

static void full_pread(int fd, unsigned char *p, size_t n, uint64_t off,
		       const char *who)
{
	size_t done = 0;
	ssize_t r;

	while (done < n) {
		r = pread(fd, p + done, n - done, (off_t)(off + done));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("%s: pread(0x%" PRIx64 ", %zu): %s", who,
			    off + done, n - done, strerror(errno));
		}
		if (r == 0)
			break;
		done += (size_t)r;
	}
	/* Short: past the end of file, which the caller compares. */
	memset(p + done, 0xa5, n - done);
	if (done < n && off + done < T.size)
		die("%s: pread at 0x%" PRIx64 " stopped at 0x%" PRIx64
		    " before the model size 0x%" PRIx64,
		    who, off, off + done, T.size);
}

/* Expected contents of [off, off + n) (all inside the model window) as
 * pread returns them: bytes past the size are not returned at all. */
static size_t expect_len(uint64_t off, size_t n)
{
	if (off >= T.size)
		return 0;
	return T.size - off < n ? (size_t)(T.size - off) : n;
}

static void check_size(const char *when)
{
	struct stat st;

	if (fstat(T.fd, &st) < 0)
		die("fstat: %s", strerror(errno));
	if ((uint64_t)st.st_size != T.size) {
		fprintf(stderr,
			"pfsx: %s seed %" PRIu64 " op %" PRIu64
			": SIZE MISMATCH (%s): model 0x%" PRIx64
			", fstat 0x%" PRIx64 "\n",
			T.path, T.seed, T.opno, when, T.size,
			(uint64_t)st.st_size);
		print_log();
		exit(1);
	}
}

/* Compare [off, off + n) of fd (file offsets) with the model. */
static void check_range_fd(int fd, uint64_t off, uint64_t n, const char *what)
{
	size_t want, chunk;
	ssize_t r;

	if (off < T.base) {
		n = off + n > T.base ? n - (T.base - off) : 0;
		off = T.base;
	}
	if (off >= T.base + T.len)
		return;
	if (off + n > T.base + T.len)
		n = T.base + T.len - off;
	while (n > 0) {
		chunk = n > (1u << 20) ? 1u << 20 : (size_t)n;
		want = expect_len(off, chunk);
		full_pread(fd, T.buf, chunk, off, what);
		/* One more byte past the expected end must read as EOF. */
		if (want < chunk && off + want == T.size) {
			r = pread(fd, T.buf + want, 1, (off_t)T.size);
			if (r != 0) {
				fprintf(stderr,
					"pfsx: %s seed %" PRIu64 " op %" PRIu64
					": DATA PAST EOF (%s): pread at "
					"size 0x%" PRIx64 " returned %zd\n",
					T.path, T.seed, T.opno, what, T.size,
					r);
				print_log();
				exit(1);
			}
		}
		if (memcmp(T.buf, T.model + (off - T.base), want))
			mismatch(what, off, T.buf, T.model + (off - T.base),
				 want);
		T.verified += want;
		off += chunk;
		n -= chunk;
	}
}

static void check_range(uint64_t off, uint64_t n, const char *what)
{
	check_range_fd(T.fd, off, n, what);
}

static void check_all(int fd, const char *what)
{
	check_range_fd(fd, T.base, T.len, what);
}

static void hole_check(int fd, const char *what)
{
	static unsigned char zero[4096];
	uint64_t off;

	if (T.base < sizeof(zero) || T.size < sizeof(zero))
		return;
	off = below((T.base < T.size ? T.base : T.size) - sizeof(zero) + 1);
	full_pread(fd, T.buf, sizeof(zero), off, what);
	if (memcmp(T.buf, zero, sizeof(zero)))
		mismatch(what, off, T.buf, zero, sizeof(zero));
	T.verified += sizeof(zero);
}

static void open_file(void)
{
	T.fd = open(T.path, O_RDWR | O_CREAT, 0644);
	if (T.fd < 0)
		die("open %s: %s", T.path, strerror(errno));
}

static void model_truncate(uint64_t size)
{
	uint64_t end = T.base + T.len;

	/* Bytes past the size are zero in the model, always. */
	if (size < end) {
		uint64_t from = size > T.base ? size - T.base : 0;

		memset(T.model + from, 0, T.len - from);
	}
	T.size = size;
}

/* A random offset in [base, base + len - 1], sometimes just around a
 * window boundary, and a length that keeps off + n <= base + len. */
static void pick_range(uint64_t *off, uint64_t *n, uint64_t maxn)
{
	uint64_t o, l, room, r = below(100);

	if (r < 25 && T.len > T.window) {
		/* across a window boundary */
		o = (1 + below(T.len / T.window)) * T.window;
		o = o > 4096 ? o - below(4096) : o;
		if (o >= T.len)
			o = T.len - 1;
	} else if (r < 35) {
		o = below(T.len / 4096) * 4096; /* page aligned */
	} else if (r < 50 && T.size > T.base && T.size < T.base + T.len) {
		/* around the current end of file */
		o = T.size - T.base;
		o = o > 8192 ? o - 8192 + below(16384) : below(16384);
		if (o >= T.len)
			o = T.len - 1;
	} else {
		o = below(T.len);
	}
	room = T.len - o;
	r = below(100);
	if (r < 50)
		l = 1 + below(4096);
	else if (r < 93)
		l = 1 + below(65536);
	else if (r < 99)
		l = 1 + below(1 << 20);
	else
		l = 1 + below(4 << 20);
	if (l > maxn)
		l = 1 + below(maxn);
	if (l > room)
		l = room;
	*off = T.base + o;
	*n = l;
}

/* ---- operations ------------------------------------------------------ */

static void do_read(uint64_t off, uint64_t n)
{
	T.moved += n;
	check_range(off, n, "pread after read");
}

static void do_write(uint64_t off, uint64_t n)
{
	uint64_t i, done = 0;
	ssize_t r;

	for (i = 0; i < n; i++)
		T.wbuf[i] = pattern(T.opno, off + i);
	while (done < n) {
		r = pwrite(T.fd, T.wbuf + done, n - done, (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("pwrite(0x%" PRIx64 ", 0x%" PRIx64 "): %s",
			    off + done, n - done,
			    r < 0 ? strerror(errno) : "returned 0");
		done += (uint64_t)r;
	}
	memcpy(T.model + (off - T.base), T.wbuf, n);
	if (off + n > T.size)
		T.size = off + n;
	T.moved += n;
	check_range(off, n, "pread after write");
}

/* Set while the test touches a mapping: what it maps, for the report. */
static volatile sig_atomic_t bus_armed;
static uint64_t bus_moff, bus_mlen;

/*
 * A fault on a mapping inside the file size is a failure of the file
 * system (the page could not be read in or written). Report and exit: not
 * async-signal-safe, but the process ends here anyway.
 */
static void on_sigbus(int sig)
{
	(void)sig;
	if (!bus_armed) {
		signal(SIGBUS, SIG_DFL);
		raise(SIGBUS);
		return;
	}
	fprintf(stderr,
		"pfsx: %s seed %" PRIu64 " op %" PRIu64
		": SIGBUS touching the mapping of [0x%" PRIx64 ", 0x%" PRIx64
		") (model size 0x%" PRIx64 ")\n",
		T.path, T.seed, T.opno, bus_moff, bus_moff + bus_mlen, T.size);
	print_log();
	_exit(1);
}

/* Map [off, off + n) (inside the size) rounded out to pages. */
static unsigned char *map_range(uint64_t off, uint64_t n, uint64_t *moff,
				size_t *mlen)
{
	uint64_t pg = (uint64_t)T.pagesize;
	void *p;

	*moff = off & ~(pg - 1);
	*mlen = (size_t)(((off + n - *moff) + pg - 1) & ~(pg - 1));
	p = mmap(NULL, *mlen, PROT_READ | PROT_WRITE, MAP_SHARED, T.fd,
		 (off_t)*moff);
	if (p == MAP_FAILED)
		die("mmap(0x%" PRIx64 ", %zu): %s", *moff, *mlen,
		    strerror(errno));
	bus_moff = *moff;
	bus_mlen = *mlen;
	return p;
}

static void do_mapread(uint64_t off, uint64_t n)
{
	unsigned char *m;
	uint64_t moff, i;
	size_t mlen;

	if (off >= T.size)
		return;
	if (off + n > T.size)
		n = T.size - off;
	m = map_range(off, n, &moff, &mlen);
	bus_armed = 1;
	memcpy(T.buf, m + (off - moff), n);
	/* The rest of the page holding the end of file reads as zeros. */
	if (T.size < moff + mlen) {
		for (i = T.size - moff; i < mlen; i++) {
			if (m[i]) {
				bus_armed = 0;
				die("mapread: byte 0x%02x at 0x%" PRIx64
				    " past the end of file 0x%" PRIx64
				    " in its last page (must be zero)",
				    m[i], moff + i, T.size);
			}
		}
	}
	bus_armed = 0;
	if (munmap(m, mlen) < 0)
		die("munmap: %s", strerror(errno));
	if (memcmp(T.buf, T.model + (off - T.base), n))
		mismatch("mmap read", off, T.buf, T.model + (off - T.base), n);
	T.verified += n;
	T.moved += n;
}

static void do_mapwrite(uint64_t off, uint64_t n, int how)
{
	unsigned char *m;
	uint64_t moff, i;
	size_t mlen;

	/* Stores past the end of file are lost (or SIGBUS): extend first,
	 * as a program using mmap to write must. */
	if (off + n > T.size) {
		if (ftruncate(T.fd, (off_t)(off + n)) < 0)
			die("ftruncate(0x%" PRIx64 ") for mapwrite: %s",
			    off + n, strerror(errno));
		model_truncate(off + n);
	}
	for (i = 0; i < n; i++)
		T.wbuf[i] = pattern(T.opno, off + i);
	m = map_range(off, n, &moff, &mlen);
	bus_armed = 1;
	memcpy(m + (off - moff), T.wbuf, n);
	bus_armed = 0;
	if (how == 0 && msync(m, mlen, MS_SYNC) < 0)
		die("msync(MS_SYNC): %s", strerror(errno));
	if (how == 1 && msync(m, mlen, MS_ASYNC) < 0)
		die("msync(MS_ASYNC): %s", strerror(errno));
	if (munmap(m, mlen) < 0)
		die("munmap: %s", strerror(errno));
	memcpy(T.model + (off - T.base), T.wbuf, n);
	T.moved += n;
	check_range(off, n, "pread after mapwrite");
}

static void do_truncate(uint64_t size)
{
	uint64_t old = T.size, lo, hi;

	if (ftruncate(T.fd, (off_t)size) < 0)
		die("ftruncate(0x%" PRIx64 "): %s", size, strerror(errno));
	model_truncate(size);
	/* Around both the old and the new end. */
	lo = (size < old ? size : old);
	hi = (size < old ? old : size);
	check_range(lo > 8192 ? lo - 8192 : 0, 16384, "pread after truncate");
	check_range(hi > 8192 ? hi - 8192 : 0, 16384, "pread after truncate");
}

static int falloc_mode(enum op op)
{
	switch (op) {
	case OP_KEEPSIZE:
		return FALLOC_FL_KEEP_SIZE;
	case OP_PUNCH:
		return FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	case OP_ZERO:
		return FALLOC_FL_ZERO_RANGE;
	case OP_ZEROKEEP:
		return FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
	default:
		return 0;
	}
}

static void do_falloc(enum op op, uint64_t off, uint64_t n)
{
	int mode = falloc_mode(op);
	uint64_t end = off + n, zend;

	if (fallocate(T.fd, mode, (off_t)off, (off_t)n) < 0) {
		if (errno == EOPNOTSUPP && (mode & FALLOC_FL_ZERO_RANGE)) {
			/* The kernel's FUSE may not pass ZERO_RANGE on. */
			if (!T.no_zero && !T.quiet)
				fprintf(stderr, "pfsx: fallocate ZERO_RANGE: "
						"EOPNOTSUPP; not used\n");
			T.no_zero = true;
			weight[OP_ZERO] = weight[OP_ZEROKEEP] = 0;
			return;
		}
		die("fallocate(%s, 0x%" PRIx64 ", 0x%" PRIx64 "): %s",
		    op_name[op], off, n, strerror(errno));
	}
	if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
		zend =
		    (mode & FALLOC_FL_KEEP_SIZE) && end > T.size ? T.size : end;
		if (zend > off)
			memset(T.model + (off - T.base), 0, zend - off);
	}
	if (!(mode & FALLOC_FL_KEEP_SIZE) && end > T.size)
		T.size = end;
	check_range(off > 4096 ? off - 4096 : 0, n + 8192,
		    "pread after fallocate");
}

static void do_sync(enum op op)
{
	int r = op == OP_FSYNC ? fsync(T.fd) : fdatasync(T.fd);

	if (r < 0)
		die("%s: %s", op_name[op], strerror(errno));
}

static void do_reopen(void)
{
	if (close(T.fd) < 0)
		die("close: %s", strerror(errno));
	open_file();
}

static enum op pick_op(void)
{
	unsigned total = 0, r, i;

	for (i = 0; i < OP_NR; i++)
		total += weight[i];
	r = (unsigned)below(total);
	for (i = 0; i < OP_NR; i++) {
		if (r < weight[i])
			return (enum op)i;
		r -= weight[i];
	}
	return OP_READ;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void step(void)
{
	enum op op = pick_op();
	uint64_t off = 0, n = 0, sz;
	double t0 = now();
	int how = 0;
	struct oplog *l;

	T.opno++;
	/* Every op draws its arguments first, so a log entry is complete. */
	switch (op) {
	case OP_READ:
	case OP_WRITE:
	case OP_MAPREAD:
	case OP_MAPWRITE:
		pick_range(&off, &n, T.len);
		/* mapwrite: 1/8 msync(MS_SYNC), else MS_ASYNC or nothing */
		how = below(8) == 0 ? 0 : 1 + (int)below(2);
		break;
	case OP_TRUNC:
		sz = below(100);
		if (sz < 3)
			off = T.base ? below(T.base) : 0; /* below the window */
		else if (sz < 40 && T.size >= T.base)
			off = T.size + below(65536) - 32768;
		else
			off = T.base + below(T.len + 1);
		if (off > T.base + T.len)
			off = T.base + T.len;
		if (off < T.base && sz >= 3)
			off = T.base;
		break;
	case OP_FALLOC:
	case OP_KEEPSIZE:
	case OP_PUNCH:
	case OP_ZERO:
	case OP_ZEROKEEP:
		pick_range(&off, &n, 2 << 20);
		break;
	default:
		break;
	}
	l = &T.log[T.opno % LOG_N];
	l->n = T.opno;
	l->op = op;
	l->off = off;
	l->len = n;
	l->how = how;
	l->size = T.size;
	switch (op) {
	case OP_READ:
		do_read(off, n);
		break;
	case OP_WRITE:
		do_write(off, n);
		break;
	case OP_MAPREAD:
		do_mapread(off, n);
		break;
	case OP_MAPWRITE:
		do_mapwrite(off, n, how);
		break;
	case OP_TRUNC:
		do_truncate(off);
		break;
	case OP_FSYNC:
	case OP_FDATASYNC:
		do_sync(op);
		break;
	case OP_REOPEN:
		do_reopen();
		break;
	case OP_HOLECHECK:
		hole_check(T.fd, "hole below the base");
		break;
	default:
		do_falloc(op, off, n);
		break;
	}
	l->size = T.size;
	T.counts[op]++;
	check_size(op_name[op]);
	T.secs[op] += now() - t0;
	if (T.check_every && T.opno % T.check_every == 0) {
		check_all(T.fd, "periodic full check");
		if (T.base)
			hole_check(T.fd, "periodic hole check");
	}
}

/* After the run: a fresh open of FILE, and the backing file if given. */
static void final_checks(void)
{
	int fd;

	if (close(T.fd) < 0)
		die("close: %s", strerror(errno));
	open_file();
	check_size("final, fresh open");
	check_all(T.fd, "final check, fresh open");
	hole_check(T.fd, "final hole check");
	if (T.backing) {
		struct stat st;

		fd = open(T.backing, O_RDONLY);
		if (fd < 0)
			die("open backing %s: %s", T.backing, strerror(errno));
		if (fstat(fd, &st) < 0)
			die("fstat backing: %s", strerror(errno));
		if ((uint64_t)st.st_size != T.size) {
			fprintf(stderr,
				"pfsx: SIZE MISMATCH: backing file %s "
				"has 0x%" PRIx64 " bytes, model 0x%" PRIx64
				"\n",
				T.backing, (uint64_t)st.st_size, T.size);
			print_log();
			exit(1);
		}
		check_all(fd, "final check of the backing file");
		hole_check(fd, "final hole check of the backing file");
		close(fd);
	}
	if (close(T.fd) < 0)
		die("close: %s", strerror(errno));
}

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: pfsx [options] FILE SEED COUNT\n"
	    "  -l LEN     bytes the test uses (default 8M)\n"
	    "  -b BASE    put them at offset BASE of a sparse file (e.g. 5G)\n"
	    "  -w WIN     bias offsets towards multiples of WIN (default 64K)\n"
	    "  -c N       check the whole file every N ops (default 1000, 0: "
	    "never)\n"
	    "  -B PATH    at the end, also compare the backing file PATH\n"
	    "  -M         no mmap reads or writes\n"
	    "  -F         no fallocate\n"
	    "  -k         keep FILE's contents (default: truncate it to BASE "
	    "first)\n"
	    "  -q         quiet: only the summary line\n"
	    "Sizes take K/M/G/T suffixes. Exit 0 ok, 1 data mismatch, 2 "
	    "error.\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	bool keep = false;
	uint64_t i;
	double t0;
	int c;

	T.argc = argc;
	T.argv = argv;
	T.len = 8 << 20;
	T.window = 64 << 10;
	T.check_every = 1000;
	while ((c = getopt(argc, argv, "l:b:w:c:B:MFkqh")) != -1) {
		switch (c) {
		case 'l':
			T.len = parse_size(optarg);
			break;
		case 'b':
			T.base = parse_size(optarg);
			break;
		case 'w':
			T.window = parse_size(optarg);
			break;
		case 'c':
			T.check_every = parse_size(optarg);
			break;
		case 'B':
			T.backing = optarg;
			break;
		case 'M':
			weight[OP_MAPREAD] = weight[OP_MAPWRITE] = 0;
			break;
		case 'F':
			weight[OP_FALLOC] = weight[OP_KEEPSIZE] = 0;
			weight[OP_PUNCH] = weight[OP_ZERO] = 0;
			weight[OP_ZEROKEEP] = 0;
			break;
		case 'k':
			keep = true;
			break;
		case 'q':
			T.quiet = true;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 3 || T.len < 4096 || T.window < 4096)
		usage();
	T.path = argv[optind];
	T.seed = parse_size(argv[optind + 1]);
	T.count = parse_size(argv[optind + 2]);
	T.rng = mix64(T.seed ^ 0x70667378ULL);
	T.pagesize = sysconf(_SC_PAGESIZE);
	if (T.base)
		weight[OP_HOLECHECK] = 10;
	T.model = calloc(1, T.len);
	T.buf = malloc(T.len > (1u << 20) ? T.len : (1u << 20));
	T.wbuf = malloc(T.len);
	if (!T.model || !T.buf || !T.wbuf) {
		fprintf(stderr, "pfsx: out of memory\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigbus;
	sigaction(SIGBUS, &sa, NULL);

	open_file();
	if (keep) {
		/* Adopt what is there (only the window is modelled). */
		struct stat st;

		if (fstat(T.fd, &st) < 0)
			die("fstat: %s", strerror(errno));
		T.size = (uint64_t)st.st_size;
		full_pread(T.fd, T.model, expect_len(T.base, T.len), T.base,
			   "initial read");
		model_truncate(T.size);
	} else {
		if (ftruncate(T.fd, (off_t)T.base) < 0)
			die("ftruncate(0x%" PRIx64 "): %s", T.base,
			    strerror(errno));
		T.size = T.base;
	}
	t0 = now();
	for (i = 0; i < T.count; i++)
		step();
	final_checks();
	printf("pfsx: %s seed %" PRIu64 ": %" PRIu64 " ops ok in %.1f s, "
	       "%" PRIu64 " MiB moved, %" PRIu64
	       " MiB verified, final size %" PRIu64 "\n",
	       T.path, T.seed, T.count, now() - t0, T.moved >> 20,
	       T.verified >> 20, T.size);
	if (!T.quiet) {
		for (c = 0; c < OP_NR; c++)
			if (T.counts[c])
				printf("  %-11s %8" PRIu64 " %7.1f us/op\n",
				       op_name[c], T.counts[c],
				       T.secs[c] * 1e6 / (double)T.counts[c]);
	}
	free(T.model);
	free(T.buf);
	free(T.wbuf);
	return 0;
}
