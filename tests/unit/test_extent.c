/*
 * test_extent.c - the extent data path and shared backings, without FUSE.
 *
 * A real window cache (64 KiB windows, a budget of a few windows so that
 * eviction happens all the time) over temporary files. Every read and write
 * through an extent is checked against pread() of the backing file; sparse
 * files test offsets past 4 GiB and 2 TiB. The inode table is faked: a test
 * inode knows its path, which is all backing.c asks of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "panefs/backing.h"
#include "panefs/extent.h"
#include "panefs/inode.h"
#include "panefs/panefs.h"
#include "panefs/safecopy.h"
#include "panefs/wcache.h"

#define WIN (64u << 10)
#define GiB (1ULL << 30)
#define TiB (1ULL << 40)

/* --- fakes for the inode table ------------------------------------------ */

struct tinode {
	struct inode in;
	char path[256];
};

static int released; /* inode_release_backing_done() calls */

int inode_open(struct panefs *fs, struct inode *in, int flags)
{
	struct tinode *t =
	    (struct tinode *)((char *)in - offsetof(struct tinode, in));
	int fd = open(t->path, flags | O_CLOEXEC | O_NOFOLLOW);

	(void)fs;
	return fd < 0 ? -errno : fd;
}

void inode_release_backing_done(struct panefs *fs, struct inode *in)
{
	(void)fs;
	assert_null(in->backing);
	released++;
}

/*
 * cmocka swaps its own SIGBUS handler in around every test (and puts the
 * previous one back with signal(), losing SA_SIGINFO). Tests that expect a
 * caught fault put safecopy's handler, saved in main(), back in place.
 */
static struct sigaction sc_action;

static void arm_safecopy(void)
{
	assert_int_equal(sigaction(SIGBUS, &sc_action, NULL), 0);
}

/* --- fixture ------------------------------------------------------------ */

struct fx {
	char dir[64];
	struct panefs fs;
	struct tinode t;
	struct backing *b;
	int fd; /* our own descriptor of the backing file, for checks */
};

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void fill(char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (char)(rnd() >> 24);
}

static int setup(void **state)
{
	struct wcache_params p = {.window = WIN, .budget = 4 * WIN};
	struct fx *f = calloc(1, sizeof(*f));
	int err = 0;

	assert_non_null(f);
	strcpy(f->dir, "/tmp/test_extent.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->fs.wc = wcache_new(&p, &err);
	assert_non_null(f->fs.wc);
	assert_int_equal(wcache_window_size(f->fs.wc), WIN);
	f->fs.source_fd = -1;
	snprintf(f->t.path, sizeof(f->t.path), "%s/file", f->dir);
	pthread_mutex_init(&f->t.in.lock, NULL);
	f->t.in.type = S_IFREG;
	f->fd = open(f->t.path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(f->fd >= 0);
	assert_int_equal(backing_open(&f->fs, &f->t.in, -1, true, &f->b), 0);
	assert_ptr_equal(f->t.in.backing, f->b);
	assert_true(f->b->wf.writable);
	released = 0;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	if (f->b)
		backing_release(&f->fs, f->b);
	assert_null(f->t.in.backing);
	wcache_free(f->fs.wc);
	close(f->fd);
	pthread_mutex_destroy(&f->t.in.lock);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static uint64_t fsize(struct fx *f)
{
	struct stat st;

	assert_int_equal(fstat(f->fd, &st), 0);
	return (uint64_t)st.st_size;
}

/* What pread() returns at off in the backing file, as extent e sees it. */
static void check_read(struct fx *f, const struct extent *e, uint64_t off,
		       size_t n)
{
	char *got = malloc(n + 1), *want = calloc(1, n + 1);
	uint64_t len = extent_length(e);
	size_t expect = off >= len ? 0 : (len - off < n ? len - off : n);
	ssize_t r;

	assert_non_null(got);
	assert_non_null(want);
	memset(got, 0x5a, n + 1);
	r = extent_read(&f->fs, e, got, n, off);
	assert_int_equal(r, (ssize_t)expect);
	if (expect) {
		r = pread(f->fd, want, expect, (off_t)(e->base + off));
		assert_int_equal(r, (ssize_t)expect);
		assert_memory_equal(got, want, expect);
	}
	assert_int_equal((unsigned char)got[expect], 0x5a);
	free(got);
	free(want);
}

/* Write random bytes through e and check them with pread(). */
static void check_write(struct fx *f, const struct extent *e, uint64_t off,
			size_t n, ssize_t expect)
{
	char *buf = malloc(n ? n : 1), *back = malloc(n ? n : 1);
	ssize_t r;

	assert_non_null(buf);
	assert_non_null(back);
	fill(buf, n);
	r = extent_write(&f->fs, e, buf, n, off);
	assert_int_equal(r, expect);
	if (r > 0) {
		assert_int_equal(
		    pread(f->fd, back, (size_t)r, (off_t)(e->base + off)), r);
		assert_memory_equal(buf, back, (size_t)r);
	}
	free(buf);
	free(back);
}

static struct extent whole(struct fx *f)
{
	struct extent e = {
	    .b = f->b, .base = 0, .length = EXTENT_TO_END, .grow = true};

	return e;
}

/* --- tests -------------------------------------------------------------- */

static void test_read_across_windows(void **state)
{
	struct fx *f = *state;
	struct extent e = whole(f);
	size_t n = 5 * WIN + 1234;
	char *buf = malloc(n);
	static const uint64_t offs[] = {0,	 1,	      WIN - 1,	    WIN,
					WIN + 1, 2 * WIN - 7, 3 * WIN + 100};
	static const size_t lens[] = {1,       7,	    4096,   WIN,
				      WIN + 1, 3 * WIN + 5, 6 * WIN};

	fill(buf, n);
	assert_int_equal(pwrite(f->fd, buf, n, 0), (ssize_t)n);
	assert_int_equal(backing_refresh(&f->fs, f->b), 0);
	assert_int_equal(backing_size(f->b), n);
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
		for (size_t j = 0; j < sizeof(lens) / sizeof(lens[0]); j++)
			check_read(f, &e, offs[i], lens[j]);
	free(buf);
}

static void test_write_across_windows(void **state)
{
	struct fx *f = *state;
	struct extent e = whole(f);

	assert_int_equal(ftruncate(f->fd, 4 * WIN), 0);
	assert_int_equal(backing_refresh(&f->fs, f->b), 0);
	check_write(f, &e, WIN - 10, 20, 20);
	check_write(f, &e, 0, 4 * WIN, 4 * WIN);
	check_write(f, &e, 3, 2 * WIN + 5, 2 * WIN + 5);
	/* Growing across windows. */
	check_write(f, &e, 4 * WIN - 100, WIN + 200, WIN + 200);
	assert_int_equal(backing_size(f->b), 5 * WIN + 100);
	assert_int_equal(fsize(f), 5 * WIN + 100);
	check_read(f, &e, 0, 6 * WIN);
	assert_int_equal(extent_write(&f->fs, &e, "", 0, 10), 0);
	assert_true(f->b->mtime_dirty);
}

static void test_short_read_eof(void **state)
{
	struct fx *f = *state;
	struct extent e = whole(f);
	char buf[100];

	assert_int_equal(extent_read(&f->fs, &e, buf, sizeof(buf), 0), 0);
	check_write(f, &e, 0, 1000, 1000);
	check_read(f, &e, 990, 100);
	check_read(f, &e, 1000, 100);
	check_read(f, &e, 5000, 100);
	assert_int_equal(
	    extent_read(&f->fs, &e, buf, sizeof(buf), UINT64_MAX - 5), 0);
	/* Sizes that are not page multiples: the last window maps a partial
	 * page whose tail must not be returned. */
	check_write(f, &e, 1000, WIN + 77, WIN + 77);
	check_read(f, &e, WIN, 4096);
}

static void test_grow_sparse(void **state)
{
	struct fx *f = *state;
	struct extent e = whole(f);
	char z[4096] = {0}, buf[4096];

	check_write(f, &e, 100000, 5000, 5000);
	assert_int_equal(backing_size(f->b), 105000);
	assert_int_equal(fsize(f), 105000);
	assert_int_equal(extent_read(&f->fs, &e, buf, sizeof(buf), 50000),
			 (ssize_t)sizeof(buf));
	assert_memory_equal(buf, z, sizeof(buf));
	check_read(f, &e, 0, 3 * WIN);
}

static void big_offset(struct fx *f, uint64_t at)
{
	struct extent e = whole(f);

	/* A write that crosses `at` (a window boundary) grows the file. */
	check_write(f, &e, at - 100, 300, 300);
	assert_int_equal(backing_size(f->b), at + 200);
	assert_int_equal(fsize(f), at + 200);
	check_read(f, &e, at - 200, 1000);
	check_read(f, &e, at - WIN - 5, 2 * WIN);
	/* In the middle of a sparse file. */
	check_write(f, &e, at / 2 + 3, WIN + 9, WIN + 9);
	check_read(f, &e, at / 2, 2 * WIN + 50);
	check_read(f, &e, 0, 100);
	/* Shrink and read past the new end. */
	assert_int_equal(backing_truncate(&f->fs, f->b, at - 50), 0);
	assert_int_equal(fsize(f), at - 50);
	check_read(f, &e, at - 100, 300);
	check_read(f, &e, at, 10);
}

static void test_offset_4g(void **state)
{
	big_offset(*state, 4 * GiB);
	big_offset(*state, 5 * GiB + WIN);
}

static void test_offset_2t(void **state)
{
	big_offset(*state, 2 * TiB);
	big_offset(*state, 2 * TiB + 512 * GiB);
}

static void test_overflow(void **state)
{
	struct fx *f = *state;
	struct extent e = whole(f);
	struct extent fixed = {.b = f->b, .base = 100, .length = 100};
	char buf[16] = {0};

	assert_int_equal(
	    extent_write(&f->fs, &e, buf, sizeof(buf), (uint64_t)INT64_MAX - 4),
	    -EFBIG);
	assert_int_equal(
	    extent_write(&f->fs, &e, buf, sizeof(buf), UINT64_MAX - 4), -EFBIG);
	assert_int_equal(
	    extent_write(&f->fs, &fixed, buf, sizeof(buf), UINT64_MAX - 4),
	    -ENOSPC);
	assert_int_equal(
	    extent_read(&f->fs, &fixed, buf, sizeof(buf), UINT64_MAX - 4), 0);
	assert_int_equal(fsize(f), 0);
}

static void test_fixed_extent(void **state)
{
	struct fx *f = *state;
	struct extent e = {.b = f->b, .base = 100000, .length = 3 * WIN};
	size_t n = 6 * WIN;
	char *orig = malloc(n), *now = malloc(n);

	fill(orig, n);
	assert_int_equal(pwrite(f->fd, orig, n, 0), (ssize_t)n);
	assert_int_equal(backing_refresh(&f->fs, f->b), 0);
	assert_int_equal(extent_length(&e), 3 * WIN);

	check_read(f, &e, 0, 100);
	check_read(f, &e, 3 * WIN - 10, 100); /* clamped to 10 */
	check_read(f, &e, 3 * WIN, 100);      /* at the end: 0 */
	check_read(f, &e, WIN - 5, 2 * WIN + 10);

	check_write(f, &e, 5, WIN, WIN);
	check_write(f, &e, 3 * WIN - 10, 100, 10); /* partial count */
	check_write(f, &e, 3 * WIN, 100, -ENOSPC);
	check_write(f, &e, 3 * WIN + 5000, 1, -ENOSPC);

	/* Nothing outside [base, base + length) changed, nor the size. */
	assert_int_equal(fsize(f), n);
	assert_int_equal(pread(f->fd, now, n, 0), (ssize_t)n);
	assert_memory_equal(now, orig, 100000);
	assert_memory_equal(now + 100000 + 3 * WIN, orig + 100000 + 3 * WIN,
			    n - 100000 - 3 * WIN);

	/* The backing file shrinks below the extent's end: reads stop at
	 * the real end, writes past it do not fit and do not grow it. */
	assert_int_equal(backing_truncate(&f->fs, f->b, 100000 + WIN), 0);
	{
		char buf[100];

		assert_int_equal(extent_read(&f->fs, &e, buf, 100, WIN - 10),
				 10);
		assert_int_equal(extent_read(&f->fs, &e, buf, 100, WIN), 0);
	}
	check_write(f, &e, WIN - 10, 100, 10);
	check_write(f, &e, WIN, 100, -ENOSPC);
	assert_int_equal(fsize(f), 100000 + WIN);
	free(orig);
	free(now);
}

/* Split chunks {f, k*S, S, grow}: a middle chunk is S bytes and refuses
 * bytes past S; the last one grows the file, but only up to S. */
static void test_chunk_extent(void **state)
{
	struct fx *f = *state;
	const uint64_t S = 2 * WIN;
	struct extent mid = {.b = f->b, .base = S, .length = S, .grow = true};
	struct extent last = {
	    .b = f->b, .base = 2 * S, .length = S, .grow = true};
	struct extent whole_file = whole(f);

	arm_safecopy();
	/* A file of 2.5 chunks. */
	check_write(f, &whole_file, 0, 2 * S + S / 2, 2 * S + S / 2);
	assert_int_equal(extent_length(&mid), S);
	assert_int_equal(extent_length(&last), S / 2);
	check_read(f, &mid, 0, S + 100);       /* clamped to S */
	check_read(f, &mid, S - 10, 100);      /* 10 */
	check_read(f, &last, S / 2 - 10, 100); /* 10: the file's end */

	/* In place in the middle chunk; nothing past it. */
	check_write(f, &mid, 100, 1000, 1000);
	check_write(f, &mid, S - 10, 100, 10);
	check_write(f, &mid, S, 1, -ENOSPC);
	assert_int_equal(fsize(f), 2 * S + S / 2);

	/* The last chunk grows the file, up to a full chunk. */
	check_write(f, &last, S / 2, 100, 100);
	assert_int_equal(fsize(f), 2 * S + S / 2 + 100);
	assert_int_equal(extent_length(&last), S / 2 + 100);
	check_write(f, &last, S - 50, 100, 50);
	assert_int_equal(fsize(f), 3 * S);
	assert_int_equal(extent_length(&last), S);
	check_write(f, &last, S, 1, -ENOSPC);
	assert_int_equal(fsize(f), 3 * S);
	check_read(f, &whole_file, 0, 3 * S);

	/* Shrunk outside to end inside chunk 0: the chunks past it are gone
	 * and never grow the file back (their cached size is stale). */
	assert_int_equal(ftruncate(f->fd, 10), 0);
	check_write(f, &last, 0, 3, -ENOSPC);
	check_write(f, &mid, 0, 3, -ENOSPC);
	assert_int_equal(fsize(f), 10);
}

/* A view "OFFSET -" {f, off, TO_END, no grow}: follows the file's end
 * (also when it changes outside), never extends it. */
static void test_view_to_end(void **state)
{
	struct fx *f = *state;
	struct extent v = {.b = f->b, .base = 1000, .length = EXTENT_TO_END};
	struct extent whole_file = whole(f);
	char buf[100];

	check_write(f, &whole_file, 0, 3 * WIN, 3 * WIN);
	assert_int_equal(extent_length(&v), 3 * WIN - 1000);
	check_read(f, &v, 0, 3 * WIN);
	check_write(f, &v, 3 * WIN - 1010, 100, 10); /* cut at the end */
	check_write(f, &v, 3 * WIN - 1000, 1, -ENOSPC);
	assert_int_equal(fsize(f), 3 * WIN);

	/* Grown outside: a read at the old end sees the new bytes. */
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(pwrite(f->fd, buf, 100, 3 * WIN), 100);
	assert_int_equal(extent_read(&f->fs, &v, buf, 100, 3 * WIN - 1000),
			 100);
	assert_int_equal(buf[99], 'x');
	assert_int_equal(extent_length(&v), 3 * WIN + 100 - 1000);

	/* Shrunk below its base: empty, and nothing fits. */
	assert_int_equal(backing_truncate(&f->fs, f->b, 500), 0);
	assert_int_equal(extent_length(&v), 0);
	assert_int_equal(extent_read(&f->fs, &v, buf, 100, 0), 0);
	check_write(f, &v, 0, 10, -ENOSPC);
	assert_int_equal(fsize(f), 500);
}

static void test_truncate_then_read(void **state)
{
	struct fx *f = *state;
	struct extent e = whole(f);
	char buf[200];

	check_write(f, &e, 0, 4 * WIN, 4 * WIN);
	check_read(f, &e, 0, 4 * WIN); /* windows cached */
	assert_int_equal(backing_truncate(&f->fs, f->b, 70000), 0);
	assert_int_equal(extent_length(&e), 70000);
	assert_int_equal(extent_read(&f->fs, &e, buf, 100, 100000), 0);
	assert_int_equal(extent_read(&f->fs, &e, buf, 100, 69990), 10);
	check_read(f, &e, 60000, 20000);
	/* The tail of the last page reads as zeros after growing again. */
	check_write(f, &e, 80000, 10, 10);
	assert_int_equal(extent_read(&f->fs, &e, buf, 200, 69950), 200);
	for (int i = 50; i < 200; i++)
		assert_int_equal(buf[i], 0);
	check_read(f, &e, 0, 2 * WIN);
}

/* Another process truncates the file under a cached window: the read
 * faults, catches it, and reports EOF instead of dying. */
static void test_outside_truncate(void **state)
{
	struct fx *f = *state;
	struct extent e = whole(f);
	char buf[100];
	uint64_t faults = safecopy_faults();

	arm_safecopy();
	check_write(f, &e, 0, 4 * WIN, 4 * WIN);
	check_read(f, &e, 2 * WIN, 100); /* window [2W, 3W) cached */
	assert_int_equal(ftruncate(f->fd, 10000), 0);
	assert_int_equal(backing_size(f->b), 4 * WIN); /* stale */
	assert_int_equal(extent_read(&f->fs, &e, buf, 100, 2 * WIN + 5), 0);
	assert_true(safecopy_faults() > faults);
	assert_int_equal(backing_size(f->b), 10000);
	check_read(f, &e, 9990, 100);
	/* A write there: the window is gone, so it grows the file again. */
	check_write(f, &e, 2 * WIN, 100, 100);
	assert_int_equal(fsize(f), 2 * WIN + 100);
	check_read(f, &e, 0, 3 * WIN);
}

static void test_outside_truncate_write(void **state)
{
	struct fx *f = *state;
	struct extent e = whole(f);

	arm_safecopy();
	check_write(f, &e, 0, 4 * WIN, 4 * WIN);
	check_read(f, &e, 3 * WIN, 100); /* window [3W, 4W) cached */
	assert_int_equal(ftruncate(f->fd, 100), 0);
	/* Cached size says no grow is needed; the copy faults and the rest
	 * goes through pwrite, which extends the file. */
	check_write(f, &e, 3 * WIN + 10, 1000, 1000);
	assert_int_equal(fsize(f), 3 * WIN + 1010);
	check_read(f, &e, 0, 4 * WIN);
}

static void test_outside_grow(void **state)
{
	struct fx *f = *state;
	struct extent e = whole(f);
	char buf[WIN];

	check_write(f, &e, 0, 1000, 1000);
	fill(buf, sizeof(buf));
	assert_int_equal(pwrite(f->fd, buf, sizeof(buf), 1000),
			 (ssize_t)sizeof(buf));
	/* The cached size is stale, yet a read that would stop short asks
	 * the file first. */
	assert_int_equal(backing_size(f->b), 1000);
	assert_int_equal(extent_read(&f->fs, &e, buf, sizeof(buf), 500),
			 (ssize_t)sizeof(buf));
	assert_int_equal(backing_size(f->b), 1000 + WIN);
	check_read(f, &e, 0, 2 * WIN);
	/* backing_grow never shrinks what someone else grew. */
	assert_int_equal(pwrite(f->fd, "x", 1, 10 * WIN), 1);
	assert_int_equal(backing_grow(&f->fs, f->b, 5 * WIN), 0);
	assert_int_equal(fsize(f), 10 * WIN + 1);
	assert_int_equal(backing_size(f->b), 10 * WIN + 1);
}

static void test_punch_hole(void **state)
{
	struct fx *f = *state;
	struct extent e = whole(f);
	char buf[3 * 4096], z[3 * 4096] = {0};

	check_write(f, &e, 0, 3 * WIN, 3 * WIN);
	check_read(f, &e, 0, 3 * WIN); /* cached windows */
	assert_int_equal(
	    backing_fallocate(&f->fs, f->b,
			      FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      WIN - 4096, 3 * 4096),
	    0);
	assert_int_equal(extent_read(&f->fs, &e, buf, sizeof(buf), WIN - 4096),
			 (ssize_t)sizeof(buf));
	assert_memory_equal(buf, z, sizeof(buf));
	check_read(f, &e, 0, 3 * WIN);
	assert_int_equal(fsize(f), 3 * WIN);

	/* Zero range through a cached window too. */
	assert_int_equal(backing_fallocate(&f->fs, f->b, FALLOC_FL_ZERO_RANGE,
					   2 * WIN + 100, sizeof(buf)),
			 0);
	assert_int_equal(
	    extent_read(&f->fs, &e, buf, sizeof(buf), 2 * WIN + 100),
	    (ssize_t)sizeof(buf));
	assert_memory_equal(buf, z, sizeof(buf));

	/* Plain allocation past the end grows the cached size. */
	assert_int_equal(backing_fallocate(&f->fs, f->b, 0, 4 * WIN, 5000), 0);
	assert_int_equal(backing_size(f->b), 4 * WIN + 5000);
	assert_int_equal(
	    backing_fallocate(&f->fs, f->b, FALLOC_FL_KEEP_SIZE, 5 * WIN, 5000),
	    0);
	assert_int_equal(backing_size(f->b), 4 * WIN + 5000);
	check_read(f, &e, 0, 5 * WIN);
}

static void test_shared_backing(void **state)
{
	struct fx *f = *state;
	struct backing *b2;
	int fd;

	/* A second open shares the backing; an adopted fd is consumed. */
	fd = open(f->t.path, O_RDWR | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(backing_open(&f->fs, &f->t.in, fd, true, &b2), 0);
	assert_ptr_equal(b2, f->b);
	assert_int_equal(f->b->refs, 2);
	backing_release(&f->fs, b2);
	assert_int_equal(released, 0);
	assert_ptr_equal(backing_peek(&f->fs, &f->t.in), f->b);
	backing_release(&f->fs, f->b);
	backing_release(&f->fs, f->b);
	f->b = NULL;
	assert_int_equal(released, 1);
	assert_null(backing_peek(&f->fs, &f->t.in));

	/* A new backing adopting an O_APPEND fd drops O_APPEND, so a
	 * pwrite fallback lands where it is told. */
	fd = open(f->t.path, O_RDWR | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(backing_open(&f->fs, &f->t.in, fd, true, &f->b), 0);
	assert_int_equal(f->b->wf.fd, fd);
	assert_false(fcntl(fd, F_GETFL) & O_APPEND);

	/* Truncate of a file nobody has open: a temporary backing. */
	backing_release(&f->fs, f->b);
	f->b = NULL;
	assert_int_equal(backing_open(&f->fs, &f->t.in, -1, true, &b2), 0);
	assert_int_equal(backing_truncate(&f->fs, b2, 12345), 0);
	backing_release(&f->fs, b2);
	assert_int_equal(fsize(f), 12345);
	assert_int_equal(backing_open(&f->fs, &f->t.in, -1, true, &f->b), 0);
	assert_int_equal(backing_size(f->b), 12345);
}

static void test_read_only(void **state)
{
	struct fx *f = *state;
	struct extent e;
	char buf[10];
	int fd;

	backing_release(&f->fs, f->b);
	f->b = NULL;
	assert_int_equal(pwrite(f->fd, "hello", 5, 0), 5);
	f->fs.opt.ro = true;
	assert_int_equal(backing_open(&f->fs, &f->t.in, -1, true, &f->b),
			 -EROFS);
	assert_int_equal(backing_open(&f->fs, &f->t.in, -1, false, &f->b), 0);
	assert_false(f->b->wf.writable);
	assert_int_equal(fcntl(f->b->wf.fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	e = whole(f);
	assert_int_equal(extent_read(&f->fs, &e, buf, 10, 0), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(extent_write(&f->fs, &e, "x", 1, 0), -EROFS);
	assert_int_equal(backing_truncate(&f->fs, f->b, 0), -EROFS);
	/* A writer cannot share a read-only backing. */
	fd = -1;
	assert_int_equal(backing_open(&f->fs, &f->t.in, fd, true, &e.b),
			 -EROFS);
	assert_int_equal(f->b->refs, 1);
	f->fs.opt.ro = false;
}

/* Random reads, writes and truncates, each checked against pread(). */
static void test_random(void **state)
{
	struct fx *f = *state;
	struct extent e = whole(f);
	uint64_t off, n;

	for (int i = 0; i < 2000; i++) {
		off = rnd() % (16 * WIN);
		n = rnd() % (3 * WIN) + 1;
		switch (rnd() % 8) {
		case 0:
			assert_int_equal(
			    backing_truncate(&f->fs, f->b, rnd() % (16 * WIN)),
			    0);
			break;
		case 1:
		case 2:
		case 3:
			check_write(f, &e, off, n, (ssize_t)n);
			break;
		default:
			check_read(f, &e, off, n);
			break;
		}
		assert_int_equal(backing_size(f->b), fsize(f));
	}
}

/* Threads writing and reading their own regions of one file at once, with
 * windows evicted all the time (budget of 4 windows). Each checks its bytes
 * against its own copy. */
#define NTHREADS 4
#define REGION (5 * WIN + 333)

struct worker {
	struct fx *f;
	int idx;
	uint64_t seed;
	int errors;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct extent e = whole(w->f);
	uint64_t base = (uint64_t)w->idx * REGION, x = w->seed;
	char *shadow = calloc(1, REGION), *buf = malloc(REGION);
	uint64_t off, n;
	ssize_t r;

	for (int i = 0; i < 400 && shadow && buf; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		off = x % REGION;
		n = (x >> 20) % (REGION - off) + 1;
		if (i % 3 == 0) {
			for (uint64_t k = 0; k < n; k++)
				shadow[off + k] = (char)(x >> (k % 56));
			if (extent_write(&w->f->fs, &e, shadow + off, n,
					 base + off) != (ssize_t)n)
				w->errors++;
			continue;
		}
		memset(buf, 0x77, n);
		r = extent_read(&w->f->fs, &e, buf, n, base + off);
		if (r < 0 || memcmp(buf, shadow + off, (size_t)r))
			w->errors++;
	}
	free(shadow);
	free(buf);
	return NULL;
}

static void test_threads(void **state)
{
	struct fx *f = *state;
	struct worker w[NTHREADS];
	pthread_t t[NTHREADS];
	struct wcache_stats st;

	assert_int_equal(ftruncate(f->fd, NTHREADS * REGION), 0);
	assert_int_equal(backing_refresh(&f->fs, f->b), 0);
	for (int i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){.f = f, .idx = i, .seed = rnd() | 1};
		assert_int_equal(
		    pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].errors, 0);
	}
	wcache_get_stats(f->fs.wc, &st);
	assert_true(st.evictions > 0);
	check_read(
	    f,
	    &(struct extent){.b = f->b, .length = EXTENT_TO_END, .grow = true},
	    0, NTHREADS * REGION);
}

/* extent_read_pin() describes exactly the bytes extent_read() returns,
 * for growable and fixed extents, at and past the end, and refuses a
 * request that needs more windows than it may pin. */
static void pin_matches_read(struct fx *f, const struct extent *e, uint64_t off,
			     size_t n)
{
	struct wc_ref refs[8];
	struct iovec iov[8];
	char *want = malloc(n ? n : 1), *p;
	unsigned count = 5, i;
	ssize_t r, w;
	size_t at = 0;

	assert_non_null(want);
	w = extent_read(&f->fs, e, want, n, off);
	r = extent_read_pin(&f->fs, e, n, off, refs, iov, 8, &count);
	if (r == -E2BIG) {
		assert_int_equal(count, 0);
		assert_true(n > 6 * WIN);
		goto out;
	}
	assert_int_equal(r, w);
	for (i = 0; i < count; i++) {
		p = iov[i].iov_base;
		assert_true(iov[i].iov_len > 0);
		assert_memory_equal(p, want + at, iov[i].iov_len);
		at += iov[i].iov_len;
	}
	assert_int_equal(at, (size_t)r);
	extent_unpin(&f->fs, refs, &count);
	assert_int_equal(count, 0);
out:
	free(want);
}

static void test_read_pin(void **state)
{
	struct fx *f = *state;
	struct extent e = whole(f), fixed;
	size_t size = 5 * WIN + 1234;
	char *buf = malloc(size);
	struct wcache_stats st;
	int k;

	arm_safecopy(); /* the shrink below faults inside extent_read() */
	assert_non_null(buf);
	fill(buf, size);
	assert_int_equal(extent_write(&f->fs, &e, buf, size, 0), (ssize_t)size);
	pin_matches_read(f, &e, 0, size);
	pin_matches_read(f, &e, WIN - 10, 3 * WIN);
	pin_matches_read(f, &e, size - 100, 4096);
	pin_matches_read(f, &e, size, 4096);
	pin_matches_read(f, &e, size + WIN, 10);
	pin_matches_read(f, &e, 0, 0);
	pin_matches_read(f, &e, 1, 9 * WIN); /* too many windows */
	for (k = 0; k < 200; k++)
		pin_matches_read(f, &e, rnd() % (size + WIN),
				 (size_t)(rnd() % (3 * WIN)));
	/* grown outside the mount: seen through the refresh at the end */
	assert_int_equal(pwrite(f->fd, buf, 1000, (off_t)size), 1000);
	pin_matches_read(f, &e, size - 10, 4096);
	/* a fixed extent longer than the (shrunk) backing file */
	fixed = (struct extent){.b = f->b, .base = WIN, .length = 4 * WIN};
	assert_int_equal(ftruncate(f->fd, (off_t)(2 * WIN)), 0);
	pin_matches_read(f, &fixed, 0, 4 * WIN);
	pin_matches_read(f, &fixed, WIN / 2, WIN);
	/* every pin was released */
	wcache_get_stats(f->fs.wc, &st);
	assert_true(st.bytes <= 4 * WIN);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(x) cmocka_unit_test_setup_teardown(x, setup, teardown)
	    T(test_read_across_windows),
	    T(test_write_across_windows),
	    T(test_short_read_eof),
	    T(test_grow_sparse),
	    T(test_offset_4g),
	    T(test_offset_2t),
	    T(test_overflow),
	    T(test_fixed_extent),
	    T(test_truncate_then_read),
	    T(test_outside_truncate),
	    T(test_outside_truncate_write),
	    T(test_outside_grow),
	    T(test_chunk_extent),
	    T(test_view_to_end),
	    T(test_punch_hole),
	    T(test_shared_backing),
	    T(test_read_only),
	    T(test_random),
	    T(test_threads),
	    T(test_read_pin),
#undef T
	};

	if (safecopy_init() || sigaction(SIGBUS, NULL, &sc_action))
		return 1;
	/* e.g. TEST_FILTER='*truncate*' to run a few. */
	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
