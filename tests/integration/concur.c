/*
 * concur.c - concurrency stress for the data path, with a known end state.
 *
 *     concur [options] DIR
 *
 * Files DIR/c0 .. DIR/c{N-1} (16 MiB each by default) and DIR/churn are
 * made of 512-byte record slots. Writer threads work in passes separated
 * by a barrier. In pass p the slots are cut into stripes of r records,
 * 16, 1, 128, 4, 32, 2, 64, 8, 16, ... (512 B .. 64 KiB); a hash of (seed, p,
 * file, stripe) picks whether the pass writes the stripe (probability r/64, so
 * a pass of 512-byte stripes is not 160,000 requests) and which writer
 * owns it, so neighbouring stripes, and so the same 4 KiB page and the
 * same window, belong to different threads. Each writer pwrite()s its
 * stripes, whole, in a shuffled order, and reads each one back at once
 * (nobody else writes those slots in this pass: it must be exact). The
 * content of a record is a function of (file, slot, pass) with the writer
 * in its header, so the state after the last pass P is known exactly:
 * slot s of c<k> holds record (k, s, q), q the last pass <= P that wrote
 * it, or zeros if none did.
 *
 * Meanwhile reader threads pread() (one of them through MAP_SHARED
 * mappings) random ranges and check every record, a truncate thread cuts
 * and extends DIR/churn to random multiples of 512 bytes, and an fsync
 * thread fsyncs and fdatasyncs the files.
 *
 * What a reader may see (the invariant, and why it is not stronger):
 * POSIX asks read and write on a regular file to be atomic with respect to
 * each other, but Linux does not do that for reads: FUSE (like ext4) copies
 * a read out of page-cache pages without the inode lock, while a write is
 * copied into them under it, and panefs copies a write into a window with
 * memcpy while another thread's read may copy out of it. So a record read
 * while it is being written may be torn. A record read by a reader must be
 *   - intact: exactly record (file, slot, q) for a pass q the reader may
 *     see: the last pass before p0 that wrote the slot, or one in p0..p1
 *     that writes it (p0/p1: the pass before/after its read), or
 *   - zero: only if no pass before p0 wrote the slot, or in the churn
 *     file, or
 *   - torn: every byte equals that byte of one of those candidate records
 *     (or zero where zero is allowed): counted, not a failure.
 * Anything else (another slot's, file's or an older pass's bytes, a
 * stale page, garbage) fails. Writes and truncates are serialised by the
 * kernel (inode lock), so the churn file holds, at the end, in each slot
 * either the record of the last pass that wrote it or zeros (a truncate
 * came after the write), or is past its end; never an older record.
 *
 * Every thread counts its steps; a watchdog exits 2 with "deadlock?" and
 * what each thread was doing if no step completes for -W seconds (30).
 * At the end the files are checked through a fresh open, and (with -B)
 * the backing files byte for byte against the mount. Exit 0 ok, 1 a bad
 * record, 2 an error or a stall.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "panefs/options.h"

#define REC 512u
#define MAGIC 0x636f6e63u /* "conc" */
#define MAX_FILES 16
#define MAX_THREADS 64

/* The header of a record; the rest is a function of these. */
struct rec_hdr {
	uint32_t magic;
	uint16_t file;
	uint16_t writer;
	uint32_t pass;
	uint32_t pad;
	uint64_t slot;
	uint64_t seed;
};

enum role { WRITER, READER, TRUNCATOR, SYNCER, NROLES };

struct thr {
	pthread_t tid;
	enum role role;
	int idx; /* index within its role */
	uint64_t rng;
	atomic_uint_fast64_t steps;
	/* what it does now, for the watchdog (racy reads are fine) */
	const char *volatile what;
	volatile int file;
	volatile uint64_t off, len;
	unsigned char *buf, *exp;
};

static struct {
	const char *dir, *backing;
	int nfiles; /* record files, plus one churn file */
	uint64_t fsize, nslots;
	int nwriters, nreaders;
	double secs;
	unsigned stall;
	uint64_t seed;
	int fd[MAX_FILES + 1];
	char path[MAX_FILES + 1][4096];

	pthread_barrier_t barrier;
	atomic_uint pass; /* the pass writers are in */
	atomic_bool stop_writers, stop_others;
	bool eio_ok;
	atomic_uint_fast64_t eio;
	atomic_uint_fast64_t torn, unchecked, records_read, records_written,
	    truncs;
	atomic_uint_fast64_t syncs, bytes_read;
	double t0;
	int nthr;
	struct thr thr[MAX_THREADS];
} G;

static const char *const role_name[NROLES] = {"writer", "reader", "truncator",
					      "syncer"};

/* ---- helpers --------------------------------------------------------- */

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rnd(struct thr *t)
{
	t->rng += 0x9e3779b97f4a7c15ULL;
	return mix64(t->rng);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void __attribute__((noreturn, format(printf, 2, 3)))
die(int code, const char *fmt, ...)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	va_list ap;

	pthread_mutex_lock(&lock); /* one report, then exit */
	va_start(ap, fmt);
	fprintf(stderr, "concur: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (seed %" PRIu64 ", pass %u, %.1f s)\n", G.seed,
		atomic_load(&G.pass), now() - G.t0);
	exit(code);
}

static int is_churn(int f)
{
	return f == G.nfiles;
}

/* Records per stripe in a pass: small and large sizes alternate. */
static uint32_t stripe_recs(unsigned pass)
{
	static const unsigned char shift[8] = {3, 4, 0, 7, 2, 5, 1, 6};

	return 1u << shift[pass % 8];
}

static uint64_t stripe_hash(unsigned pass, int file, uint64_t slot)
{
	uint64_t stripe = slot / stripe_recs(pass);

	return mix64(G.seed ^ ((uint64_t)pass << 48) ^ ((uint64_t)file << 40) ^
		     stripe);
}

static int owner(unsigned pass, int file, uint64_t slot)
{
	return (int)((uint32_t)stripe_hash(pass, file, slot) %
		     (uint32_t)G.nwriters);
}

/* Does pass `pass` write this slot? Stripes of r records are written with
 * probability r/64, so a pass costs at most ~N/64 pwrites per file. */
static bool selected(unsigned pass, int file, uint64_t slot)
{
	uint32_t r = stripe_recs(pass);

	if (pass == 0)
		return false;
	return r >= 64 || (stripe_hash(pass, file, slot) >> 32) % 64 < r;
}

/* The last pass <= p that wrote the slot, 0 for none. */
static unsigned last_write(int file, uint64_t slot, unsigned p)
{
	while (p > 0 && !selected(p, file, slot))
		p--;
	return p;
}

/* The record slot `slot` of `file` holds after pass `pass`. */
static void make_rec(unsigned char *r, int file, uint64_t slot, unsigned pass)
{
	struct rec_hdr h = {
	    .magic = MAGIC,
	    .file = (uint16_t)file,
	    .writer = (uint16_t)owner(pass, file, slot),
	    .pass = pass,
	    .slot = slot,
	    .seed = G.seed,
	};
	uint64_t k = mix64(G.seed ^ ((uint64_t)file << 56) ^
			   ((uint64_t)pass << 32)) ^
		     slot,
		 w;
	unsigned i;

	memcpy(r, &h, sizeof(h));
	for (i = sizeof(h); i < REC; i += 8) {
		w = mix64(k + i);
		memcpy(r + i, &w, 8);
	}
}

static bool all_zero(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void dump_rec(const char *label, const unsigned char *r)
{
	struct rec_hdr h;
	unsigned i;

	memcpy(&h, r, sizeof(h));
	fprintf(stderr,
		"  %s: magic %08x file %u writer %u pass %u slot %" PRIu64
		"\n   ",
		label, h.magic, h.file, h.writer, h.pass, h.slot);
	for (i = 0; i < 64; i++)
		fprintf(stderr, "%02x%s", r[i], i % 32 == 31 ? "\n   " : "");
	fputc('\n', stderr);
}

/*
 * Check one record read from (file, slot) while passes p0..p1 were
 * current (passes count from 1; 0 is "before the first"). It may hold
 * what the last pass before p0 wrote (zeros if none did, or in the churn
 * file) or what a pass in p0..p1 that selects the slot writes. Returns
 * 0 intact, 1 torn (legal), 2 not checkable (too many candidates), -1
 * bad (exp: the newest candidate).
 */
static int check_rec(const unsigned char *got, int file, uint64_t slot,
		     unsigned p0, unsigned p1, unsigned char *exp)
{
	unsigned char cand[4][REC];
	unsigned q, lo, i, c, nc = 0;
	bool zero_ok = is_churn(file);

	lo = p0 > 0 ? last_write(file, slot, p0 - 1) : 0;
	if (lo == 0)
		zero_ok = true;
	else
		make_rec(cand[nc++], file, slot, lo);
	for (q = p0 > lo + 1 ? p0 : lo + 1; q <= p1; q++) {
		if (!selected(q, file, slot))
			continue;
		if (nc == 4)
			return 2;
		make_rec(cand[nc++], file, slot, q);
	}
	if (zero_ok && all_zero(got, REC))
		return 0;
	for (c = 0; c < nc; c++)
		if (!memcmp(got, cand[c], REC))
			return 0;
	memset(exp, 0, REC);
	if (nc)
		memcpy(exp, cand[nc - 1], REC);
	for (i = 0; i < REC; i++) {
		if (zero_ok && !got[i])
			continue;
		for (c = 0; c < nc; c++)
			if (got[i] == cand[c][i])
				break;
		if (c == nc)
			return -1;
	}
	return 1;
}

static void bad_record(const char *who, const unsigned char *got, int file,
		       uint64_t slot, unsigned p0, unsigned p1,
		       const unsigned char *exp)
{
	fprintf(stderr,
		"concur: %s: BAD RECORD in %s slot %" PRIu64
		" (offset 0x%" PRIx64 "), passes %u..%u possible\n",
		who, G.path[file], slot, slot * REC, p0 > 1 ? p0 - 1 : p0, p1);
	dump_rec("got     ", got);
	dump_rec("expected", exp);
	die(1, "data mismatch");
}

/* pread n bytes (fewer at EOF) into p; *got the count. An error other
 * than EINTR is fatal, except one in `ok` (0: none), which is returned. */
static int xpread_ok(int fd, unsigned char *p, size_t n, uint64_t off,
		     size_t *got, int ok)
{
	size_t done = 0;
	ssize_t r;

	*got = 0;
	while (done < n) {
		r = pread(fd, p + done, n - done, (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && ok && errno == ok)
			return ok;
		if (r < 0)
			die(2, "pread(fd %d, 0x%" PRIx64 ", %zu): %s", fd,
			    off + done, n - done, strerror(errno));
		if (r == 0)
			break;
		done += (size_t)r;
	}
	*got = done;
	return 0;
}

static void xpread(int fd, unsigned char *p, size_t n, uint64_t off,
		   size_t *got)
{
	xpread_ok(fd, p, n, off, got, 0);
}

static void xpwrite(int fd, const unsigned char *p, size_t n, uint64_t off)
{
	size_t done = 0;
	ssize_t r;

	while (done < n) {
		r = pwrite(fd, p + done, n - done, (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die(2, "pwrite(0x%" PRIx64 ", %zu): %s", off + done,
			    n - done, r < 0 ? strerror(errno) : "0");
		done += (size_t)r;
	}
}

static void note_step(struct thr *t, const char *what, int file, uint64_t off,
		      uint64_t len)
{
	t->what = what;
	t->file = file;
	t->off = off;
	t->len = len;
}

/* ---- threads --------------------------------------------------------- */

static void *writer_main(void *arg)
{
	struct thr *t = arg;
	uint64_t *list = malloc(sizeof(uint64_t) * (G.nfiles + 1) * G.nslots);
	uint64_t n, i, j, tmp, slot, s, nrec;
	unsigned pass;
	size_t got;
	int f, r;

	if (!list)
		die(2, "out of memory");
	for (;;) {
		note_step(t, "barrier (start of pass)", -1, 0, 0);
		r = pthread_barrier_wait(&G.barrier);
		if (r == PTHREAD_BARRIER_SERIAL_THREAD) {
			if (now() - G.t0 >= G.secs)
				atomic_store(&G.stop_writers, true);
			else
				atomic_fetch_add(&G.pass, 1);
		}
		note_step(t, "barrier (pass decided)", -1, 0, 0);
		pthread_barrier_wait(&G.barrier);
		if (atomic_load(&G.stop_writers))
			break;
		pass = atomic_load(&G.pass);
		nrec = stripe_recs(pass);
		/* My stripes of every file: (file << 40 | first slot). */
		n = 0;
		for (f = 0; f <= G.nfiles; f++)
			for (s = 0; s < G.nslots; s += nrec)
				if (selected(pass, f, s) &&
				    owner(pass, f, s) == t->idx)
					list[n++] = ((uint64_t)f << 40) | s;
		for (i = n; i > 1; i--) {
			j = rnd(t) % i;
			tmp = list[i - 1];
			list[i - 1] = list[j];
			list[j] = tmp;
		}
		for (i = 0; i < n; i++) {
			f = (int)(list[i] >> 40);
			slot = list[i] & ((1ULL << 40) - 1);
			for (s = 0; s < nrec; s++)
				make_rec(t->buf + s * REC, f, slot + s, pass);
			note_step(t, "pwrite", f, slot * REC, nrec * REC);
			xpwrite(G.fd[f], t->buf, nrec * REC, slot * REC);
			atomic_fetch_add(&G.records_written, nrec);
			atomic_fetch_add(&t->steps, 1);
			if (is_churn(f))
				continue; /* a truncate may cut it */
			note_step(t, "pread (own stripe)", f, slot * REC,
				  nrec * REC);
			xpread(G.fd[f], t->exp, nrec * REC, slot * REC, &got);
			if (got != nrec * REC || memcmp(t->exp, t->buf, got)) {
				for (s = 0; s < nrec; s++)
					if (got < (s + 1) * REC ||
					    memcmp(t->exp + s * REC,
						   t->buf + s * REC, REC))
						break;
				fprintf(stderr,
					"concur: writer %d: own stripe "
					"read back wrong (read %zu of %" PRIu64
					" bytes)\n",
					t->idx, got, nrec * REC);
				bad_record("writer read-back", t->exp + s * REC,
					   f, slot + s, pass, pass,
					   t->buf + s * REC);
			}
		}
	}
	free(list);
	note_step(t, "done", -1, 0, 0);
	return NULL;
}

static void *reader_main(void *arg)
{
	struct thr *t = arg;
	uint64_t slot, nrec, s, moff;
	unsigned p0, p1;
	size_t got, mlen;
	bool use_mmap = t->idx == 0;
	unsigned char *m;
	int f, rc;

	while (!atomic_load(&G.stop_others)) {
		f = (int)(rnd(t) % (uint64_t)(G.nfiles + 1));
		if (use_mmap && is_churn(f))
			f = 0; /* a truncate would SIGBUS the mapping */
		nrec = 1 + rnd(t) % (rnd(t) % 4 == 0 ? 512 : 16);
		slot = rnd(t) % G.nslots;
		if (slot + nrec > G.nslots)
			nrec = G.nslots - slot;
		p0 = atomic_load(&G.pass);
		if (use_mmap) {
			moff = slot * REC & ~(uint64_t)4095;
			mlen = ((slot + nrec) * REC - moff + 4095) & ~4095ul;
			note_step(t, "mmap read", f, slot * REC, nrec * REC);
			m = mmap(NULL, mlen, PROT_READ, MAP_SHARED, G.fd[f],
				 (off_t)moff);
			if (m == MAP_FAILED)
				die(2, "mmap: %s", strerror(errno));
			memcpy(t->buf, m + (slot * REC - moff), nrec * REC);
			munmap(m, mlen);
			got = nrec * REC;
		} else {
			note_step(t, "pread", f, slot * REC, nrec * REC);
			if (xpread_ok(G.fd[f], t->buf, nrec * REC, slot * REC,
				      &got,
				      is_churn(f) && G.eio_ok ? EIO : 0)) {
				/* -E: see the usage text */
				atomic_fetch_add(&G.eio, 1);
				atomic_fetch_add(&t->steps, 1);
				continue;
			}
		}
		p1 = atomic_load(&G.pass);
		if (!is_churn(f) && got != nrec * REC)
			die(1,
			    "reader %d: short read of %s at 0x%" PRIx64
			    ": %zu of %" PRIu64 " bytes",
			    t->idx, G.path[f], slot * REC, got, nrec * REC);
		if (got % REC && is_churn(f))
			die(1,
			    "reader %d: %s: read ends at 0x%" PRIx64
			    ", inside a record (truncates are by 512)",
			    t->idx, G.path[f], slot * REC + got);
		for (s = 0; s < got / REC; s++) {
			rc = check_rec(t->buf + s * REC, f, slot + s, p0, p1,
				       t->exp);
			if (rc < 0)
				bad_record(use_mmap ? "mmap reader" : "reader",
					   t->buf + s * REC, f, slot + s, p0,
					   p1, t->exp);
			if (rc == 1)
				atomic_fetch_add(&G.torn, 1);
			if (rc == 2)
				atomic_fetch_add(&G.unchecked, 1);
		}
		atomic_fetch_add(&G.records_read, got / REC);
		atomic_fetch_add(&G.bytes_read, got);
		atomic_fetch_add(&t->steps, 1);
	}
	note_step(t, "done", -1, 0, 0);
	return NULL;
}

static void *truncator_main(void *arg)
{
	struct thr *t = arg;
	int f = G.nfiles;
	uint64_t size;

	while (!atomic_load(&G.stop_others)) {
		/* mostly large (writers then extend it again), some small */
		size = rnd(t) % 4 ? G.nslots - rnd(t) % (G.nslots / 4 + 1)
				  : rnd(t) % (G.nslots + 1);
		size *= REC;
		note_step(t, "ftruncate", f, size, 0);
		if (ftruncate(G.fd[f], (off_t)size) < 0)
			die(2, "ftruncate(%s, %" PRIu64 "): %s", G.path[f],
			    size, strerror(errno));
		atomic_fetch_add(&G.truncs, 1);
		atomic_fetch_add(&t->steps, 1);
		note_step(t, "sleep", -1, 0, 0);
		usleep((useconds_t)(1000 + rnd(t) % 20000));
	}
	note_step(t, "done", -1, 0, 0);
	return NULL;
}

static void *syncer_main(void *arg)
{
	struct thr *t = arg;
	int f, r;
	bool data;

	while (!atomic_load(&G.stop_others)) {
		f = (int)(rnd(t) % (uint64_t)(G.nfiles + 1));
		data = rnd(t) & 1;
		note_step(t, data ? "fdatasync" : "fsync", f, 0, 0);
		r = data ? fdatasync(G.fd[f]) : fsync(G.fd[f]);
		if (r < 0)
			die(2, "fsync(%s): %s", G.path[f], strerror(errno));
		atomic_fetch_add(&G.syncs, 1);
		atomic_fetch_add(&t->steps, 1);
		note_step(t, "sleep", -1, 0, 0);
		usleep((useconds_t)(20000 + rnd(t) % 80000));
	}
	note_step(t, "done", -1, 0, 0);
	return NULL;
}

/*
 * The watchdog: every thread still running must complete a step at least
 * once every G.stall seconds (the truncator and syncer sleep at most
 * 0.1 s between steps; a writer at the barrier waits for the slowest
 * writer's pass, well under a second). One request stuck in the daemon
 * stops its thread, and soon every writer behind the barrier.
 */
static void *watchdog_main(void *arg)
{
	uint64_t last[MAX_THREADS], cur;
	double since[MAX_THREADS], t;
	int i, stuck;

	(void)arg;
	for (i = 0; i < G.nthr; i++) {
		last[i] = UINT64_MAX;
		since[i] = now();
	}
	for (;;) {
		sleep(1);
		t = now();
		stuck = -1;
		for (i = 0; i < G.nthr; i++) {
			cur = atomic_load(&G.thr[i].steps);
			if (cur != last[i] || !strcmp(G.thr[i].what, "done")) {
				last[i] = cur;
				since[i] = t;
			} else if (t - since[i] >= G.stall) {
				stuck = i;
			}
		}
		if (stuck < 0)
			continue;
		fprintf(stderr,
			"concur: deadlock? %s %d made no progress for "
			"%u s; threads:\n",
			role_name[G.thr[stuck].role], G.thr[stuck].idx,
			G.stall);
		for (i = 0; i < G.nthr; i++) {
			struct thr *th = &G.thr[i];

			fprintf(stderr,
				"  %s %d: %" PRIu64 " steps, %.0f s "
				"ago, now: %s",
				role_name[th->role], th->idx,
				(uint64_t)atomic_load(&th->steps), t - since[i],
				th->what);
			if (th->file >= 0)
				fprintf(stderr,
					" %s off 0x%" PRIx64 " len %" PRIu64,
					G.path[th->file], th->off, th->len);
			fputc('\n', stderr);
		}
		die(2, "deadlock?");
	}
	return NULL;
}

/* ---- setup and final check ------------------------------------------- */

/* Sizes and counts: the daemon's own parser (K/M/G/T suffixes). */
static uint64_t parse_num(const char *s)
{
	uint64_t v;

	if (panefs_parse_size(s, &v) == 0)
		return v;
	fprintf(stderr, "concur: bad number: %s\n", s);
	exit(2);
}

/* Compare the file on the mount with the state after the last pass, and
 * the backing file byte for byte with the mount. */
static void final_check(int f, unsigned last, unsigned char *buf,
			unsigned char *bbuf, unsigned char *exp)
{
	uint64_t slot, chunk_slots = (1u << 20) / REC, n, s;
	size_t got, bgot;
	unsigned q;
	int fd, bfd = -1;
	char bpath[4096 + 64];
	struct stat st, bst;

	fd = open(G.path[f], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0)
		die(2, "open %s: %s", G.path[f], strerror(errno));
	if (!is_churn(f) && (uint64_t)st.st_size != G.fsize)
		die(1, "%s: size %jd, want %" PRIu64, G.path[f],
		    (intmax_t)st.st_size, G.fsize);
	if (st.st_size % REC)
		die(1, "%s: size %jd is not a multiple of %u", G.path[f],
		    (intmax_t)st.st_size, REC);
	if (G.backing) {
		snprintf(bpath, sizeof(bpath), "%s/%s", G.backing,
			 strrchr(G.path[f], '/') + 1);
		bfd = open(bpath, O_RDONLY);
		if (bfd < 0 || fstat(bfd, &bst) < 0)
			die(2, "open %s: %s", bpath, strerror(errno));
		if (bst.st_size != st.st_size)
			die(1, "%s: backing size %jd, mount size %jd", bpath,
			    (intmax_t)bst.st_size, (intmax_t)st.st_size);
	}
	for (slot = 0; slot < G.nslots; slot += chunk_slots) {
		n = G.nslots - slot < chunk_slots ? G.nslots - slot
						  : chunk_slots;
		xpread(fd, buf, n * REC, slot * REC, &got);
		if (bfd >= 0) {
			xpread(bfd, bbuf, n * REC, slot * REC, &bgot);
			if (bgot != got || memcmp(buf, bbuf, got))
				die(1,
				    "%s: backing file differs from the "
				    "mount in [0x%" PRIx64 ", 0x%" PRIx64 ")",
				    G.path[f], slot * REC, (slot + n) * REC);
		}
		for (s = 0; s < got / REC; s++) {
			const unsigned char *r = buf + s * REC;

			q = last_write(f, slot + s, last);
			if (q)
				make_rec(exp, f, slot + s, q);
			else
				memset(exp, 0, REC);
			if (!memcmp(r, exp, REC))
				continue;
			if (is_churn(f) && all_zero(r, REC))
				continue;
			fprintf(stderr,
				"concur: final state: %s slot %" PRIu64
				" is not what pass %u wrote (%s)\n",
				G.path[f], slot + s, q,
				q ? "its last writer" : "zeros: never written");
			dump_rec("got     ", r);
			dump_rec("expected", exp);
			die(1, "final state mismatch");
		}
	}
	close(fd);
	if (bfd >= 0)
		close(bfd);
}

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: concur [options] DIR\n"
	    "  -t SECS   run the writers' passes for about SECS seconds (10)\n"
	    "  -n N      record files c0..c{N-1} besides DIR/churn (4)\n"
	    "  -z SIZE   size of each file (16M)\n"
	    "  -w N      writer threads (5)      -r N  reader threads (3)\n"
	    "  -s SEED   seed (1)                -W SECS  stall limit (30)\n"
	    "  -B DIR    the backing directory of DIR: compared at the end\n"
	    "  -E        count (do not fail on) EIO from a pread of the churn "
	    "file:\n"
	    "            a zero-copy read reply that races with a shrinking "
	    "truncate\n"
	    "            through the mount is answered EIO by the kernel (a "
	    "bug)\n"
	    "Exit 0 ok, 1 bad data, 2 error or stall (\"deadlock?\").\n");
	exit(2);
}

static void start(enum role role, int idx, void *(*fn)(void *))
{
	struct thr *t = &G.thr[G.nthr];
	int rc;

	t->role = role;
	t->idx = idx;
	t->rng = mix64(G.seed * 1000003 + (uint64_t)role * 64 + (uint64_t)idx);
	t->what = "starting";
	t->file = -1;
	t->buf = malloc(256 * REC * 2);
	t->exp = malloc(256 * REC * 2);
	if (!t->buf || !t->exp)
		die(2, "out of memory");
	G.nthr++;
	rc = pthread_create(&t->tid, NULL, fn, t);
	if (rc)
		die(2, "pthread_create: %s", strerror(rc));
}

int main(int argc, char **argv)
{
	unsigned char *buf, *bbuf, *exp;
	pthread_t wd;
	unsigned last;
	int c, i, f;

	G.nfiles = 4;
	G.fsize = 16 << 20;
	G.nwriters = 5;
	G.nreaders = 3;
	G.secs = 10;
	G.stall = 30;
	G.seed = 1;
	while ((c = getopt(argc, argv, "t:n:z:w:r:s:W:B:Eh")) != -1) {
		switch (c) {
		case 't':
			G.secs = atof(optarg);
			break;
		case 'n':
			G.nfiles = (int)parse_num(optarg);
			break;
		case 'z':
			G.fsize = parse_num(optarg);
			break;
		case 'w':
			G.nwriters = (int)parse_num(optarg);
			break;
		case 'r':
			G.nreaders = (int)parse_num(optarg);
			break;
		case 's':
			G.seed = parse_num(optarg);
			break;
		case 'W':
			G.stall = (unsigned)parse_num(optarg);
			break;
		case 'B':
			G.backing = optarg;
			break;
		case 'E':
			G.eio_ok = true;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1 || G.nfiles < 1 || G.nfiles > MAX_FILES ||
	    G.fsize < 128 * REC || G.fsize % (128 * REC) || G.nwriters < 1 ||
	    G.nreaders < 1 || G.nwriters + G.nreaders + 2 > MAX_THREADS)
		usage();
	G.dir = argv[optind];
	G.nslots = G.fsize / REC;
	for (f = 0; f <= G.nfiles; f++) {
		if (is_churn(f))
			snprintf(G.path[f], sizeof(G.path[f]), "%s/churn",
				 G.dir);
		else
			snprintf(G.path[f], sizeof(G.path[f]), "%s/c%d", G.dir,
				 f);
		G.fd[f] = open(G.path[f], O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (G.fd[f] < 0)
			die(2, "open %s: %s", G.path[f], strerror(errno));
		/* Full size (a hole) first: readers never meet the end. */
		if (ftruncate(G.fd[f], (off_t)G.fsize) < 0)
			die(2, "ftruncate %s: %s", G.path[f], strerror(errno));
	}
	pthread_barrier_init(&G.barrier, NULL, (unsigned)G.nwriters);
	atomic_store(&G.pass, 0);
	G.t0 = now();
	for (i = 0; i < G.nwriters; i++)
		start(WRITER, i, writer_main);
	for (i = 0; i < G.nreaders; i++)
		start(READER, i, reader_main);
	start(TRUNCATOR, 0, truncator_main);
	start(SYNCER, 0, syncer_main);
	if (pthread_create(&wd, NULL, watchdog_main, NULL))
		die(2, "pthread_create failed");
	for (i = 0; i < G.nwriters; i++)
		pthread_join(G.thr[i].tid, NULL);
	atomic_store(&G.stop_others, true);
	for (i = G.nwriters; i < G.nthr; i++)
		pthread_join(G.thr[i].tid, NULL);
	/* The pass counter started at 0 and was bumped before each pass. */
	last = atomic_load(&G.pass);
	if (last == 0)
		die(2, "no pass completed in %.0f s", G.secs);
	for (f = 0; f <= G.nfiles; f++)
		if (close(G.fd[f]) < 0)
			die(2, "close %s: %s", G.path[f], strerror(errno));
	buf = malloc(1u << 20);
	bbuf = malloc(1u << 20);
	exp = malloc(REC);
	if (!buf || !bbuf || !exp)
		die(2, "out of memory");
	for (f = 0; f <= G.nfiles; f++)
		final_check(f, last, buf, bbuf, exp);
	printf("concur: %s seed %" PRIu64 ": %u passes in %.1f s, %d writers "
	       "%d readers; %" PRIu64 " records written, %" PRIu64
	       " read (%" PRIu64 " MiB), %" PRIu64
	       " torn reads (legal), %" PRIu64 " unchecked, %" PRIu64
	       " EIO on churn, %" PRIu64 " truncates, %" PRIu64
	       " fsyncs; final state of %d "
	       "files (%" PRIu64 " MiB) verified\n",
	       G.dir, G.seed, last, now() - G.t0, G.nwriters, G.nreaders,
	       (uint64_t)G.records_written, (uint64_t)G.records_read,
	       (uint64_t)G.bytes_read >> 20, (uint64_t)G.torn,
	       (uint64_t)G.unchecked, (uint64_t)G.eio, (uint64_t)G.truncs,
	       (uint64_t)G.syncs, G.nfiles + 1,
	       ((uint64_t)G.nfiles + 1) * G.fsize >> 20);
	free(buf);
	free(bbuf);
	free(exp);
	for (i = 0; i < G.nthr; i++) {
		free(G.thr[i].buf);
		free(G.thr[i].exp);
	}
	return 0;
}
