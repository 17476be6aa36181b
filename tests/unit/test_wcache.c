/*
 * test_wcache.c - unit tests of the window cache (fs/wcache.c).
 *
 * Backing files are unlinked temporary files in /var/tmp (sparse where
 * large). Private state is observed through fs/wcache_i.h: the LRU listing
 * and an mmap hook that records offsets and injects ENOMEM.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "panefs/wcache.h"
#include "../../fs/wcache_i.h"

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)
#define TiB (UINT64_C(1) << 40)

static uint64_t page;

/* The byte every test file holds at offset off (never 0). */
static unsigned char pat(uint64_t off)
{
	uint64_t x = off * 0x9e3779b97f4a7c15ULL;

	return (unsigned char)((x >> 56) | 1);
}

static int tmp_file(uint64_t size)
{
	char path[] = "/var/tmp/panefs-wc-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	return fd;
}

static void fill_pattern(int fd, uint64_t from, uint64_t to)
{
	static unsigned char buf[256 * 1024];
	uint64_t off, i, n;

	for (off = from; off < to; off += n) {
		n = to - off < sizeof(buf) ? to - off : sizeof(buf);
		for (i = 0; i < n; i++)
			buf[i] = pat(off + i);
		assert_int_equal(pwrite(fd, buf, n, (off_t)off), (ssize_t)n);
	}
}

static struct wcache *new_cache(uint64_t window, uint64_t gran, uint64_t budget,
				unsigned shards)
{
	struct wcache_params p = {window, gran, budget, shards};
	int err = 1;
	struct wcache *wc = wcache_new(&p, &err);

	assert_non_null(wc);
	assert_int_equal(err, 0);
	return wc;
}

static void stats(struct wcache *wc, struct wcache_stats *st)
{
	wcache_get_stats(wc, st);
}

/* Get, check the byte at off against the pattern, put. */
static void touch(struct wcache *wc, const struct wc_file *f, uint64_t off,
		  uint64_t size)
{
	struct wc_ref r;

	assert_int_equal(wcache_get(wc, f, off, size, &r), 0);
	assert_true(off >= r.start && off < r.start + r.len);
	assert_int_equal((unsigned char)r.base[off - r.start], pat(off));
	wcache_put(wc, &r);
	assert_null(r.w);
}

/* The LRU of stripe 0 (MRU first) must be exactly these indices. */
static void expect_lru(struct wcache *wc, size_t n, ...)
{
	struct wc_key keys[64];
	size_t got = wcache_lru_keys(wc, 0, keys, 64), i;
	va_list ap;

	assert_int_equal(got, n);
	va_start(ap, n);
	for (i = 0; i < n; i++) {
		assert_int_equal(keys[i].index, va_arg(ap, unsigned));
		assert_int_equal(keys[i].pins, 0);
	}
	va_end(ap);
}

/* ---- mmap hook: records offsets, injects failures ---- */

static uint64_t hook_gran; /* every offset must be a multiple */
static unsigned hook_calls;
static unsigned hook_bad_offsets;
static unsigned hook_fail_left; /* fail this many calls ... */
static int hook_errno;		/* ... with this errno */

static void *hook_mmap(void *addr, size_t len, int prot, int flags, int fd,
		       off_t off)
{
	hook_calls++;
	if (hook_gran && (uint64_t)off % hook_gran)
		hook_bad_offsets++;
	if (hook_fail_left) {
		hook_fail_left--;
		errno = hook_errno;
		return MAP_FAILED;
	}
	return mmap(addr, len, prot, flags, fd, off);
}

static void hook_reset(uint64_t gran)
{
	hook_gran = gran;
	hook_calls = hook_bad_offsets = hook_fail_left = 0;
	hook_errno = 0;
}

/* ---- tests ---- */

static void test_params(void **state)
{
	struct wcache_params p = {4 * KiB, 0, MiB, 0};
	struct wcache *wc;
	int err;

	(void)state;
	err = 0;
	assert_null(wcache_new(NULL, &err));
	assert_int_equal(err, -EINVAL);

	p.granularity = page + 1;
	err = 0;
	assert_null(wcache_new(&p, &err));
	assert_int_equal(err, -EINVAL);

	p.granularity = page / 2;
	err = 0;
	assert_null(wcache_new(&p, &err));
	assert_int_equal(err, -EINVAL);

	p.granularity = 0;
	p.window = 0;
	err = 0;
	assert_null(wcache_new(&p, &err));
	assert_int_equal(err, -EINVAL);

	/* Defaults: page granularity, window rounded up to it. */
	wc = new_cache(page + 1, 0, MiB, 0);
	assert_int_equal(wcache_granularity(wc), page);
	assert_int_equal(wcache_window_size(wc), 2 * page);
	assert_int_equal(wcache_nshards(wc), 8);
	assert_true(wcache_new_file_id(wc) != wcache_new_file_id(wc));
	wcache_free(wc);

	/* 64 KiB granularity; a window that is no power of two; stripes
	 * rounded to a power of two. */
	wc = new_cache(3 * 64 * KiB + 1, 64 * KiB, MiB, 5);
	assert_int_equal(wcache_granularity(wc), 64 * KiB);
	assert_int_equal(wcache_window_size(wc), 4 * 64 * KiB);
	assert_int_equal(wcache_nshards(wc), 8);
	wcache_free(wc);

	wc = new_cache(3 * 64 * KiB, 64 * KiB, MiB, 1);
	assert_int_equal(wcache_window_size(wc), 3 * 64 * KiB);
	assert_int_equal(wcache_nshards(wc), 1);
	wcache_free(wc);

	/* A granularity that is a multiple of the page but no power of 2. */
	wc = new_cache(page, 3 * page, MiB, 1);
	assert_int_equal(wcache_window_size(wc), 3 * page);
	wcache_free(wc);
}

static void test_get_args(void **state)
{
	struct wcache *wc = new_cache(page, 0, MiB, 1);
	int fd = tmp_file(2 * page);
	struct wc_file f = {wcache_new_file_id(wc), fd, false};
	struct wc_file bad = {wcache_new_file_id(wc), -1, false};
	struct wcache_stats st;
	struct wc_ref r;

	(void)state;
	assert_int_equal(wcache_get(wc, &f, 2 * page, 2 * page, &r), -EINVAL);
	assert_int_equal(wcache_get(wc, &f, 0, 0, &r), -EINVAL);
	assert_int_equal(wcache_get(wc, &f, 5, 3, &r), -EINVAL);
	assert_int_equal(wcache_get(wc, NULL, 0, 1, &r), -EINVAL);
	assert_int_equal(wcache_get(wc, &f, 0, 1, NULL), -EINVAL);
	assert_int_equal(wcache_get(wc, &f, 0, UINT64_MAX, &r), -EINVAL);
	assert_int_equal(wcache_get(wc, &bad, 0, 1, &r), -EBADF);
	/* A mapping error is passed on as -errno, and leaves nothing. */
	bad.fd = 1000;
	assert_int_equal(wcache_get(wc, &bad, 0, 1, &r), -EBADF);
	stats(wc, &st);
	assert_int_equal(st.windows, 0);
	assert_int_equal(st.bytes, 0);
	wcache_free(wc);
	close(fd);
}

static void test_lru_order(void **state)
{
	struct wcache *wc = new_cache(page, 0, 3 * page, 1);
	uint64_t size = 16 * page;
	int fd = tmp_file(size);
	struct wc_file f = {wcache_new_file_id(wc), fd, false};
	struct wc_key keys[8];
	struct wc_ref r;

	(void)state;
	fill_pattern(fd, 0, size);
	touch(wc, &f, 0 * page, size);
	touch(wc, &f, 1 * page, size);
	touch(wc, &f, 2 * page + 7, size);
	expect_lru(wc, 3, 2, 1, 0);
	touch(wc, &f, 0 * page + 1, size); /* hit moves 0 to the front */
	expect_lru(wc, 3, 0, 2, 1);
	touch(wc, &f, 3 * page, size); /* evicts the LRU one: 1 */
	expect_lru(wc, 3, 3, 0, 2);
	touch(wc, &f, 2 * page, size);
	expect_lru(wc, 3, 2, 3, 0);
	touch(wc, &f, 4 * page, size); /* evicts 0 */
	expect_lru(wc, 3, 4, 2, 3);
	touch(wc, &f, 0 * page, size); /* evicts 3 */
	expect_lru(wc, 3, 0, 4, 2);

	/* A pinned window leaves the LRU list and is never the victim. */
	assert_int_equal(wcache_get(wc, &f, 2 * page, size, &r), 0);
	assert_int_equal(wcache_lru_keys(wc, 0, keys, 8), 3);
	assert_int_equal(keys[0].index, 0);
	assert_int_equal(keys[1].index, 4);
	assert_int_equal(keys[2].index, 2);
	assert_int_equal(keys[2].pins, 1);
	touch(wc, &f, 5 * page, size); /* evicts 4, not pinned 2 */
	touch(wc, &f, 6 * page, size); /* evicts 0 */
	assert_int_equal(wcache_lru_keys(wc, 0, keys, 8), 3);
	assert_int_equal(keys[0].index, 6);
	assert_int_equal(keys[1].index, 5);
	assert_int_equal(keys[2].index, 2);
	wcache_put(wc, &r);
	expect_lru(wc, 3, 2, 6, 5);

	wcache_free(wc);
	close(fd);
}

static void test_counters(void **state)
{
	uint64_t W = 2 * page, size = 10 * W;
	struct wcache *wc = new_cache(W, 0, 2 * W, 1);
	int fd = tmp_file(size);
	struct wc_file f = {wcache_new_file_id(wc), fd, false};
	struct wcache_stats st;
	struct wc_ref a, b;

	(void)state;
	fill_pattern(fd, 0, size);
	touch(wc, &f, 0, size);	    /* miss */
	touch(wc, &f, W, size);	    /* miss */
	touch(wc, &f, 1, size);	    /* hit */
	touch(wc, &f, 2 * W, size); /* miss, evicts 1 */
	touch(wc, &f, 0, size);	    /* hit */
	touch(wc, &f, W + 5, size); /* miss, evicts 2 */
	touch(wc, &f, W + 9, size); /* hit */
	stats(wc, &st);
	assert_int_equal(st.hits, 3);
	assert_int_equal(st.misses, 4);
	assert_int_equal(st.evictions, 2);
	assert_int_equal(st.windows, 2);
	assert_int_equal(st.bytes, 2 * W);
	assert_int_equal(st.peak_windows, 2);
	assert_int_equal(st.peak_bytes, 2 * W);
	assert_int_equal(st.enomem_retries, 0);
	assert_int_equal(st.budget, 2 * W);
	assert_int_equal(st.window, W);

	/* Overcommit while everything is pinned raises the peaks. */
	assert_int_equal(wcache_get(wc, &f, 0, size, &a), 0); /* hit */
	assert_int_equal(wcache_get(wc, &f, W, size, &b), 0); /* hit */
	touch(wc, &f, 5 * W, size); /* miss: 3 windows, 2 pinned */
	stats(wc, &st);
	assert_int_equal(st.peak_windows, 3);
	assert_int_equal(st.peak_bytes, 3 * W);
	/* After the miss's put the cache is back within budget: the
	 * unpinned new window was the only victim. */
	assert_int_equal(st.windows, 2);
	assert_int_equal(st.evictions, 3);
	wcache_put(wc, &a);
	wcache_put(wc, &b);

	/* Truncate and forget drop windows without counting evictions. */
	wcache_truncate(wc, f.id, W);
	stats(wc, &st);
	assert_int_equal(st.windows, 1);
	wcache_forget(wc, f.id);
	stats(wc, &st);
	assert_int_equal(st.hits, 5);
	assert_int_equal(st.misses, 5);
	assert_int_equal(st.evictions, 3);
	assert_int_equal(st.windows, 0);
	assert_int_equal(st.bytes, 0);
	wcache_free(wc);
	close(fd);
}

/*
 * A scripted random walk of gets and puts holding up to 3 pins; after every
 * step the unpinned windows fit the budget, the bytes counter matches the
 * resident windows, and every pinned pointer still reads its data.
 */
static void test_budget_invariant(void **state)
{
	uint64_t W = 3 * page, size = 200 * page + 123, budget = 5 * W;
	struct wcache *wc = new_cache(W, 0, budget, 4);
	int fd = tmp_file(size);
	struct wc_file f = {wcache_new_file_id(wc), fd, false};
	struct wc_ref pins[3] = {{0}};
	unsigned seed = 12345, step, i, sh;
	struct wc_key keys[64];
	struct wcache_stats st;

	(void)state;
	fill_pattern(fd, 0, size);
	for (step = 0; step < 3000; step++) {
		uint64_t off = (uint64_t)rand_r(&seed) % size;
		uint64_t resident = 0, nres = 0, unpinned = 0;
		unsigned slot = (unsigned)rand_r(&seed) % 4;

		if (slot < 3) {
			wcache_put(wc, &pins[slot]);
			assert_int_equal(
			    wcache_get(wc, &f, off, size, &pins[slot]), 0);
		} else {
			touch(wc, &f, off, size);
		}
		for (i = 0; i < 3; i++) {
			struct wc_ref *r = &pins[i];
			uint64_t k;

			if (!r->w)
				continue;
			for (k = 0; k < r->len && r->start + k < size;
			     k += page / 2)
				assert_int_equal((unsigned char)r->base[k],
						 pat(r->start + k));
		}
		for (sh = 0; sh < wcache_nshards(wc); sh++) {
			size_t n = wcache_lru_keys(wc, sh, keys, 64), j;

			assert_true(n <= 64);
			for (j = 0; j < n; j++) {
				resident += keys[j].len;
				if (!keys[j].pins)
					unpinned++;
			}
			nres += n;
		}
		stats(wc, &st);
		assert_int_equal(st.bytes, resident);
		assert_int_equal(st.windows, nres);
		/* Over budget only when nothing is left to evict. */
		assert_true(st.bytes <= budget || unpinned == 0);
		assert_true(st.windows <= 5 + 3);
	}
	for (i = 0; i < 3; i++)
		wcache_put(wc, &pins[i]);
	stats(wc, &st);
	assert_true(st.bytes <= budget);
	assert_int_equal(st.hits + st.misses, 3000);
	wcache_free(wc);
	close(fd);
}

static void test_pinned_survive(void **state)
{
	uint64_t W = 4 * page, size = 64 * W;
	struct wcache *wc = new_cache(W, 0, 2 * W, 2);
	int fd = tmp_file(size);
	struct wc_file f = {wcache_new_file_id(wc), fd, false};
	struct wcache_stats st;
	struct wc_ref a, b;
	char *abase, *bbase;
	uint64_t i, k;

	(void)state;
	fill_pattern(fd, 0, size);
	assert_int_equal(wcache_get(wc, &f, 7 * W, size, &a), 0);
	assert_int_equal(wcache_get(wc, &f, 9 * W, size, &b), 0);
	abase = a.base;
	bbase = b.base;
	/* Budget is two windows and both are pinned: every other window
	 * overcommits and is evicted again at its put. */
	for (i = 0; i < 64; i++) {
		struct wc_ref r;

		assert_int_equal(wcache_get(wc, &f, i * W, size, &r), 0);
		stats(wc, &st);
		assert_true(st.bytes <= 3 * W);
		if (i == 7 || i == 9)
			assert_ptr_equal(r.base, i == 7 ? abase : bbase);
		wcache_put(wc, &r);
		stats(wc, &st);
		assert_true(st.bytes <= 2 * W);
	}
	assert_ptr_equal(a.base, abase);
	for (k = 0; k < W; k += 64)
		assert_int_equal((unsigned char)a.base[k], pat(7 * W + k));
	for (k = 0; k < W; k += 64)
		assert_int_equal((unsigned char)b.base[k], pat(9 * W + k));
	/* A shrink to nothing cannot touch them either. */
	wcache_set_budget(wc, 0);
	stats(wc, &st);
	assert_int_equal(st.windows, 2);
	assert_int_equal((unsigned char)a.base[W - 1], pat(8 * W - 1));
	wcache_put(wc, &a);
	wcache_put(wc, &b);
	stats(wc, &st);
	assert_int_equal(st.windows, 0);
	assert_int_equal(st.bytes, 0);
	wcache_free(wc);
	close(fd);
}

/* Every mapping offset is a multiple of a 64 KiB granularity, whatever the
 * window length (not a power of two, not a multiple of 64 KiB). */
static void test_granularity(void **state)
{
	static const uint64_t windows[] = {3 * 64 * KiB + 1, 3 * 64 * KiB,
					   64 * KiB, 5 * 64 * KiB - 4 * KiB};
	uint64_t size = 5 * MiB + 123, g = 64 * KiB;
	int fd = tmp_file(size);
	unsigned seed = 7, w, i;

	(void)state;
	fill_pattern(fd, 0, size);
	for (w = 0; w < sizeof(windows) / sizeof(windows[0]); w++) {
		struct wcache *wc = new_cache(windows[w], g, 4 * windows[w], 0);
		struct wc_file f = {wcache_new_file_id(wc), fd, false};
		uint64_t W = wcache_window_size(wc);

		assert_int_equal(W % g, 0);
		assert_true(W >= windows[w] && W - windows[w] < g);
		hook_reset(g);
		wcache_set_mmap_fn(wc, hook_mmap);
		for (i = 0; i < 500; i++) {
			uint64_t off = (uint64_t)rand_r(&seed) % size;
			struct wc_ref r;

			if (i == 0)
				off = size - 1;
			assert_int_equal(wcache_get(wc, &f, off, size, &r), 0);
			assert_int_equal(r.start % g, 0);
			assert_int_equal(r.start, off / W * W);
			assert_int_equal(r.len % page, 0);
			assert_true(r.len <= W);
			assert_true(r.start + r.len >= size || r.len == W);
			assert_int_equal((unsigned char)r.base[off - r.start],
					 pat(off));
			wcache_put(wc, &r);
		}
		assert_true(hook_calls > 10);
		assert_int_equal(hook_bad_offsets, 0);
		wcache_free(wc);
	}
	close(fd);
}

/* Offsets above 4 GiB and 2 TiB, on a sparse 3 TiB file. */
static void test_large_offsets(void **state)
{
	static const uint64_t marks[] = {
	    4 * GiB - 1, 4 * GiB,	4 * GiB + 12345,
	    2 * TiB - 1, 2 * TiB + 777, 2 * TiB + 3 * GiB + 5,
	    3 * TiB - 1,
	};
	uint64_t size = 3 * TiB, i;
	char path[] = "/var/tmp/panefs-big-XXXXXX";
	struct wcache *wc;
	struct wc_file f;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	if (ftruncate(fd, (off_t)size)) {
		close(fd);
		skip();
	}
	for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		unsigned char c = pat(marks[i]);

		assert_int_equal(pwrite(fd, &c, 1, (off_t)marks[i]), 1);
	}
	wc = new_cache(3 * 64 * KiB, 64 * KiB, 2 * MiB, 0);
	f = (struct wc_file){wcache_new_file_id(wc), fd, false};
	for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		struct wc_ref r;
		uint64_t W = wcache_window_size(wc);

		assert_int_equal(wcache_get(wc, &f, marks[i], size, &r), 0);
		assert_int_equal(r.start, marks[i] / W * W);
		assert_int_equal(r.start % (64 * KiB), 0);
		assert_int_equal((unsigned char)r.base[marks[i] - r.start],
				 pat(marks[i]));
		/* The hole before it reads as zeroes. */
		if (marks[i] > r.start && marks[i] != 4 * GiB)
			assert_int_equal(r.base[marks[i] - r.start - 1], 0);
		wcache_put(wc, &r);
	}
	wcache_free(wc);
	close(fd);
}

static void test_short_last_window(void **state)
{
	uint64_t size = 10 * page + 100;
	int fd = tmp_file(size);
	struct wcache *wc;
	struct wc_file f;
	struct wc_ref r;

	(void)state;
	fill_pattern(fd, 0, size);
	/* Window larger than the file: covers the 11 pages that exist. */
	wc = new_cache(16 * page, 0, 64 * page, 1);
	f = (struct wc_file){wcache_new_file_id(wc), fd, false};
	assert_int_equal(wcache_get(wc, &f, size - 1, size, &r), 0);
	assert_int_equal(r.start, 0);
	assert_int_equal(r.len, 11 * page);
	assert_int_equal((unsigned char)r.base[size - 1], pat(size - 1));
	wcache_put(wc, &r);
	wcache_free(wc);

	/* Window of 4 pages: the last one starts at page 8, has 3 pages. */
	wc = new_cache(4 * page, 0, 64 * page, 1);
	f = (struct wc_file){wcache_new_file_id(wc), fd, false};
	assert_int_equal(wcache_get(wc, &f, 9 * page, size, &r), 0);
	assert_int_equal(r.start, 8 * page);
	assert_int_equal(r.len, 3 * page);
	wcache_put(wc, &r);
	/* A whole window when the file is exactly a window's end. */
	assert_int_equal(wcache_get(wc, &f, 4 * page, 8 * page, &r), 0);
	assert_int_equal(r.len, 4 * page);
	wcache_put(wc, &r);
	wcache_free(wc);
	close(fd);
}

static void test_growth_replaces_short(void **state)
{
	uint64_t W = 16 * page, size = 5 * page + 1, big = 12 * page;
	struct wcache *wc = new_cache(W, 0, 4 * W, 1);
	int fd = tmp_file(size);
	struct wc_file f = {wcache_new_file_id(wc), fd, false};
	struct wcache_stats st;
	struct wc_ref a, b;

	(void)state;
	fill_pattern(fd, 0, size);
	assert_int_equal(wcache_get(wc, &f, 0, size, &a), 0);
	assert_int_equal(a.len, 6 * page);
	/* The file grows while the short window is pinned. */
	fill_pattern(fd, size, big);
	assert_int_equal(wcache_get(wc, &f, 3, size, &b),
			 0); /* same size: hit */
	assert_ptr_equal(b.w, a.w);
	wcache_put(wc, &b);
	assert_int_equal(wcache_get(wc, &f, 11 * page, big, &b), 0);
	assert_true(b.w != a.w);
	assert_int_equal(b.len, 12 * page);
	assert_int_equal((unsigned char)b.base[11 * page], pat(11 * page));
	stats(wc, &st);
	assert_int_equal(st.windows, 2); /* the old one, retired, pinned */
	assert_int_equal(st.bytes, 18 * page);
	assert_int_equal((unsigned char)a.base[5 * page], pat(5 * page));
	wcache_put(wc, &a); /* last put of a retired window unmaps it */
	stats(wc, &st);
	assert_int_equal(st.windows, 1);
	assert_int_equal(st.bytes, 12 * page);
	wcache_put(wc, &b);
	/* The replacement is what later gets find. */
	assert_int_equal(wcache_get(wc, &f, 0, big, &a), 0);
	assert_int_equal(a.len, 12 * page);
	wcache_put(wc, &a);
	/* An unpinned short window is replaced (and unmapped) at once. */
	assert_int_equal(ftruncate(fd, (off_t)(20 * page)), 0);
	assert_int_equal(wcache_get(wc, &f, 0, 20 * page, &a), 0);
	assert_int_equal(a.len, W);
	wcache_put(wc, &a);
	stats(wc, &st);
	assert_int_equal(st.windows, 1);
	assert_int_equal(st.bytes, W);
	assert_int_equal(st.misses, 3);
	assert_int_equal(st.hits, 2);
	assert_int_equal(st.evictions, 0);
	wcache_free(wc);
	close(fd);
}

static void test_readonly_then_writable(void **state)
{
	struct wcache *wc = new_cache(page, 0, 4 * page, 1);
	int fd = tmp_file(page);
	struct wc_file ro = {wcache_new_file_id(wc), fd, false};
	struct wc_file rw = ro;
	struct wcache_stats st;
	struct wc_ref r;
	char c = 0;

	(void)state;
	rw.writable = true;
	fill_pattern(fd, 0, page);
	touch(wc, &ro, 0, page); /* fd is O_RDWR; the window PROT_READ */
	assert_int_equal(wcache_get(wc, &rw, 0, page, &r), 0);
	r.base[10] = 'x';
	wcache_put(wc, &r);
	assert_int_equal(pread(fd, &c, 1, 10), 1);
	assert_int_equal(c, 'x');
	/* A writable window also serves readers. */
	assert_int_equal(wcache_get(wc, &ro, 0, page, &r), 0);
	wcache_put(wc, &r);
	stats(wc, &st);
	assert_int_equal(st.misses, 2);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.windows, 1);
	wcache_free(wc);
	close(fd);
}

static void test_truncate_then_read(void **state)
{
	uint64_t W = 4 * page, size = 8 * page, i;
	struct wcache *wc = new_cache(W, 0, 8 * W, 1);
	int fd = tmp_file(size);
	struct wc_file f = {wcache_new_file_id(wc), fd, true};
	struct wc_file g = {wcache_new_file_id(wc), fd, false};
	unsigned char buf[4096];
	struct wcache_stats st;
	struct wc_ref r, p;

	(void)state;
	memset(buf, 'A', sizeof(buf));
	for (i = 0; i < size; i += sizeof(buf))
		assert_int_equal(pwrite(fd, buf, sizeof(buf), (off_t)i),
				 (ssize_t)sizeof(buf));
	assert_int_equal(wcache_get(wc, &f, 0, size, &r), 0);
	wcache_put(wc, &r);
	assert_int_equal(wcache_get(wc, &f, W, size, &r), 0);
	wcache_put(wc, &r);
	/* Another file id, must survive. */
	assert_int_equal(wcache_get(wc, &g, 0, page, &r), 0);
	wcache_put(wc, &r);
	stats(wc, &st);
	assert_int_equal(st.windows, 3);

	/* Shrink to 2 pages: both windows map bytes at or past page 2. */
	assert_int_equal(ftruncate(fd, (off_t)(2 * page)), 0);
	wcache_truncate(wc, f.id, 2 * page);
	stats(wc, &st);
	assert_int_equal(st.windows, 1);
	assert_int_equal(st.evictions, 0);

	/* Grow again with new data: the read sees it via a new window. */
	memset(buf, 'B', sizeof(buf));
	for (i = 0; i < size; i += sizeof(buf))
		assert_int_equal(pwrite(fd, buf, sizeof(buf), (off_t)i),
				 (ssize_t)sizeof(buf));
	assert_int_equal(wcache_get(wc, &f, W + 5, size, &r), 0);
	assert_int_equal(r.len, W);
	for (i = 0; i < W; i++)
		assert_int_equal(r.base[i], 'B');
	wcache_put(wc, &r);
	stats(wc, &st);
	assert_int_equal(st.misses, 4);
	assert_int_equal(st.hits, 0);

	/* Truncate within the last page keeps a window ending there. */
	assert_int_equal(wcache_get(wc, &f, 0, 2 * page, &r), 0);
	assert_int_equal(r.len, 2 * page);
	wcache_put(wc, &r);
	stats(wc, &st);
	assert_int_equal(st.windows, 3);	  /* g, f's 0 (2 pages) and 1 */
	wcache_truncate(wc, f.id, 2 * page - 10); /* drops only f's 1 */
	stats(wc, &st);
	assert_int_equal(st.windows, 2);
	wcache_truncate(wc, f.id, page); /* drops f's 0 */
	stats(wc, &st);
	assert_int_equal(st.windows, 1);

	/* Truncate while pinned: unhooked at once, unmapped at the put. */
	assert_int_equal(wcache_get(wc, &f, 0, size, &p), 0);
	wcache_truncate(wc, f.id, 0);
	assert_int_equal(p.base[0], 'B'); /* still mapped, file intact */
	assert_int_equal(wcache_get(wc, &f, 0, size, &r), 0);
	assert_true(r.w != p.w);
	stats(wc, &st);
	assert_int_equal(st.windows, 3);
	wcache_put(wc, &p);
	wcache_put(wc, &r);
	stats(wc, &st);
	assert_int_equal(st.windows, 2);
	assert_int_equal(st.bytes, W + page);
	wcache_free(wc);
	close(fd);
}

static void test_forget(void **state)
{
	uint64_t size = 32 * page, i;
	struct wcache *wc = new_cache(page, 0, 64 * page, 4);
	int fd = tmp_file(size);
	struct wc_file a = {wcache_new_file_id(wc), fd, false};
	struct wc_file b = {wcache_new_file_id(wc), fd, false};
	struct wcache_stats st;
	struct wc_ref r;

	(void)state;
	fill_pattern(fd, 0, size);
	for (i = 0; i < 20; i++) {
		touch(wc, &a, i * page, size);
		touch(wc, &b, i * page, size);
	}
	assert_int_equal(wcache_get(wc, &a, 3 * page, size, &r), 0);
	wcache_forget(wc, a.id);
	stats(wc, &st);
	assert_int_equal(st.windows, 21); /* b's 20 + a's pinned one */
	assert_int_equal(st.evictions, 0);
	assert_int_equal((unsigned char)r.base[0], pat(3 * page));
	wcache_put(wc, &r);
	stats(wc, &st);
	assert_int_equal(st.windows, 20);
	assert_int_equal(st.bytes, 20 * page);
	/* b is all hits still. */
	for (i = 0; i < 20; i++)
		touch(wc, &b, i * page, size);
	stats(wc, &st);
	assert_int_equal(st.hits, 21);
	assert_int_equal(st.misses, 40);
	wcache_forget(wc, b.id);
	wcache_forget(wc, 999);
	stats(wc, &st);
	assert_int_equal(st.windows, 0);
	assert_int_equal(st.bytes, 0);
	wcache_free(wc);
	close(fd);
}

static void test_flush(void **state)
{
	uint64_t size = 16 * page, i;
	struct wcache *wc = new_cache(2 * page, 0, 64 * page, 4);
	int fd = tmp_file(size);
	struct wc_file f = {wcache_new_file_id(wc), fd, true};
	struct wc_key keys[64];
	struct wc_ref r;
	char c;

	(void)state;
	assert_int_equal(wcache_flush(wc, f.id), 0); /* nothing mapped */
	for (i = 0; i < 8; i++) {
		assert_int_equal(wcache_get(wc, &f, i * 2 * page, size, &r), 0);
		memset(r.base, 'a' + (int)i, r.len);
		wcache_put(wc, &r);
	}
	/* One window stays pinned across the flush. */
	assert_int_equal(wcache_get(wc, &f, 0, size, &r), 0);
	assert_int_equal(wcache_flush(wc, f.id), 0);
	for (i = 0; i < 8; i++) {
		assert_int_equal(pread(fd, &c, 1, (off_t)(i * 2 * page + 1)),
				 1);
		assert_int_equal(c, 'a' + (int)i);
	}
	/* The flush released its own pins: only ours remains. */
	for (i = 0; i < wcache_nshards(wc); i++) {
		size_t n = wcache_lru_keys(wc, (unsigned)i, keys, 64), j;

		for (j = 0; j < n; j++)
			assert_int_equal(keys[j].pins,
					 keys[j].index == 0 ? 1 : 0);
	}
	wcache_put(wc, &r);
	assert_int_equal(fsync(fd), 0);
	wcache_free(wc);
	close(fd);
}

static void test_set_budget_shrink(void **state)
{
	uint64_t W = page, size = 16 * page, i;
	struct wcache *wc = new_cache(W, 0, 8 * W, 1);
	int fd = tmp_file(size);
	struct wc_file f = {wcache_new_file_id(wc), fd, false};
	struct wcache_stats st;

	(void)state;
	fill_pattern(fd, 0, size);
	for (i = 0; i < 8; i++)
		touch(wc, &f, i * W, size);
	stats(wc, &st);
	assert_int_equal(st.windows, 8);
	assert_int_equal(st.evictions, 0);
	wcache_set_budget(wc, 2 * W + 1);
	stats(wc, &st);
	assert_int_equal(st.windows, 2);
	assert_int_equal(st.bytes, 2 * W);
	assert_int_equal(st.evictions, 6);
	assert_int_equal(st.budget, 2 * W + 1);
	expect_lru(wc, 2, 7, 6);
	/* Growing the budget evicts nothing. */
	wcache_set_budget(wc, 100 * W);
	for (i = 0; i < 16; i++)
		touch(wc, &f, i * W, size);
	stats(wc, &st);
	assert_int_equal(st.windows, 16);
	assert_int_equal(st.evictions, 6);
	wcache_free(wc);
	close(fd);
}

static void test_enomem_retry(void **state)
{
	uint64_t size = 16 * page;
	struct wcache *wc = new_cache(page, 0, 8 * page, 1);
	int fd = tmp_file(size);
	struct wc_file f = {wcache_new_file_id(wc), fd, false};
	struct wcache_stats st;
	struct wc_ref a, b, c;

	(void)state;
	fill_pattern(fd, 0, size);
	touch(wc, &f, 0, size);
	touch(wc, &f, page, size);
	touch(wc, &f, 2 * page, size);
	hook_reset(0);
	wcache_set_mmap_fn(wc, hook_mmap);

	/* Two ENOMEMs: two LRU windows evicted, the third try succeeds. */
	hook_fail_left = 2;
	hook_errno = ENOMEM;
	touch(wc, &f, 5 * page, size);
	stats(wc, &st);
	assert_int_equal(hook_calls, 3);
	assert_int_equal(st.enomem_retries, 2);
	assert_int_equal(st.evictions, 2);
	assert_int_equal(st.windows, 2);
	expect_lru(wc, 2, 5, 2);

	/* ENOMEM with nothing left to evict: -ENOMEM, nothing leaked. */
	assert_int_equal(wcache_get(wc, &f, 2 * page, size, &a), 0);
	assert_int_equal(wcache_get(wc, &f, 5 * page, size, &b), 0);
	hook_fail_left = 100;
	assert_int_equal(wcache_get(wc, &f, 7 * page, size, &c), -ENOMEM);
	assert_int_equal(hook_fail_left, 99);
	wcache_put(wc, &b);
	hook_fail_left = 100;
	assert_int_equal(wcache_get(wc, &f, 7 * page, size, &c), -ENOMEM);
	assert_int_equal(hook_fail_left, 98); /* evicted 5, retried once */
	stats(wc, &st);
	assert_int_equal(st.enomem_retries, 3);
	assert_int_equal(st.evictions, 3);
	assert_int_equal(st.windows, 1);
	assert_int_equal(st.bytes, page);

	/* Other errors are not retried. */
	hook_fail_left = 1;
	hook_errno = EACCES;
	touch(wc, &f, 2 * page, size); /* hit: no mmap */
	assert_int_equal(wcache_get(wc, &f, 9 * page, size, &c), -EACCES);
	stats(wc, &st);
	assert_int_equal(st.enomem_retries, 3);
	assert_int_equal(st.windows, 1);
	wcache_put(wc, &a);
	wcache_free(wc);
	close(fd);
}

/*
 * Eight threads over a 64 MiB file through a cache of four 256 KiB windows.
 * Phase 1: thread t owns every 4 KiB block b with b % 8 == t and writes the
 * pattern into each once, in random order, through writable windows, while
 * all threads read random ranges everywhere: every byte read must be 0 (not
 * written yet) or the pattern, and a thread's own written blocks must read
 * back. Phase 2: random reads compared with pread.
 */
#define ST_THREADS 8
#define ST_BLOCK 4096
#define ST_SIZE (64 * MiB)
#define ST_BLOCKS (ST_SIZE / ST_BLOCK)

struct stress {
	struct wcache *wc;
	struct wc_file f;
	pthread_barrier_t barrier;
	unsigned failures;
	uint64_t gets;
};

struct stress_arg {
	struct stress *s;
	unsigned t;
};

/* Copy len bytes at off out of the cache (crossing windows). */
static int cache_read(struct stress *s, uint64_t off, unsigned char *buf,
		      uint64_t len, uint64_t *gets)
{
	while (len) {
		struct wc_ref r;
		uint64_t n, k;
		int rc = wcache_get(s->wc, &s->f, off, ST_SIZE, &r);

		if (rc)
			return rc;
		(*gets)++;
		n = r.start + r.len - off;
		n = n < len ? n : len;
		/* Other threads may be writing these bytes: relaxed atomic
		 * loads say so (and keep ThreadSanitizer quiet). */
		for (k = 0; k < n; k++)
			buf[k] = (unsigned char)__atomic_load_n(
			    r.base + (off - r.start) + k, __ATOMIC_RELAXED);
		wcache_put(s->wc, &r);
		off += n;
		buf += n;
		len -= n;
	}
	return 0;
}

static void *stress_thread(void *p)
{
	struct stress_arg *a = p;
	struct stress *s = a->s;
	unsigned seed = 1000 + a->t, fails = 0, i, k;
	unsigned nown = ST_BLOCKS / ST_THREADS;
	unsigned *order = malloc(nown * sizeof(*order));
	unsigned char *buf = malloc(2 * ST_BLOCK);
	unsigned char *ref = malloc(2 * ST_BLOCK);
	uint64_t gets = 0;

	if (!order || !buf || !ref)
		abort();
	for (i = 0; i < nown; i++)
		order[i] = i * ST_THREADS + a->t;
	for (i = nown - 1; i > 0; i--) {
		unsigned j = (unsigned)rand_r(&seed) % (i + 1), x = order[i];

		order[i] = order[j];
		order[j] = x;
	}
	pthread_barrier_wait(&s->barrier);

	/* Phase 1 */
	for (i = 0; i < nown; i++) {
		uint64_t off = (uint64_t)order[i] * ST_BLOCK, len;
		struct wc_ref r;

		if (wcache_get(s->wc, &s->f, off, ST_SIZE, &r)) {
			fails++;
			continue;
		}
		gets++;
		for (k = 0; k < ST_BLOCK; k++)
			__atomic_store_n(&r.base[off - r.start + k],
					 (char)pat(off + k), __ATOMIC_RELAXED);
		wcache_put(s->wc, &r);
		/* Read our block back, and something random. */
		if (cache_read(s, off, buf, ST_BLOCK, &gets))
			fails++;
		for (k = 0; k < ST_BLOCK; k++)
			if (buf[k] != pat(off + k))
				fails++;
		off = (uint64_t)rand_r(&seed) % (ST_SIZE - 2 * ST_BLOCK);
		len = 1 + (uint64_t)rand_r(&seed) % (2 * ST_BLOCK);
		if (cache_read(s, off, buf, len, &gets))
			fails++;
		for (k = 0; k < len; k++)
			if (buf[k] != 0 && buf[k] != pat(off + k))
				fails++;
	}
	pthread_barrier_wait(&s->barrier);

	/* Phase 2 */
	for (i = 0; i < 4000; i++) {
		uint64_t off =
		    (uint64_t)rand_r(&seed) % (ST_SIZE - 2 * ST_BLOCK);
		uint64_t len = 1 + (uint64_t)rand_r(&seed) % (2 * ST_BLOCK);

		if (cache_read(s, off, buf, len, &gets) ||
		    pread(s->f.fd, ref, len, (off_t)off) != (ssize_t)len ||
		    memcmp(buf, ref, len))
			fails++;
		for (k = 0; k < len; k += 97)
			if (buf[k] != pat(off + k))
				fails++;
	}
	__atomic_add_fetch(&s->failures, fails, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->gets, gets, __ATOMIC_RELAXED);
	free(order);
	free(buf);
	free(ref);
	return NULL;
}

static void test_stress_mt(void **state)
{
	struct stress s = {0};
	struct stress_arg args[ST_THREADS];
	pthread_t th[ST_THREADS];
	struct wcache_stats st;
	unsigned char *all;
	uint64_t i;
	int fd = tmp_file(ST_SIZE);

	(void)state;
	s.wc = new_cache(256 * KiB, 0, 4 * 256 * KiB, 0);
	s.f = (struct wc_file){wcache_new_file_id(s.wc), fd, true};
	assert_int_equal(pthread_barrier_init(&s.barrier, NULL, ST_THREADS), 0);
	for (i = 0; i < ST_THREADS; i++) {
		args[i] = (struct stress_arg){&s, (unsigned)i};
		assert_int_equal(
		    pthread_create(&th[i], NULL, stress_thread, &args[i]), 0);
	}
	for (i = 0; i < ST_THREADS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&s.barrier);
	assert_int_equal(s.failures, 0);

	stats(s.wc, &st);
	assert_int_equal(st.hits + st.misses, s.gets);
	assert_true(st.misses > 0 && st.hits > 0);
	assert_true(st.bytes <= 4 * 256 * KiB);
	assert_true(st.peak_windows <= 4 + ST_THREADS);
	assert_int_equal(wcache_flush(s.wc, s.f.id), 0);

	/* The whole file holds the pattern. */
	all = malloc(ST_SIZE);
	assert_non_null(all);
	assert_int_equal(pread(fd, all, ST_SIZE, 0), (ssize_t)ST_SIZE);
	for (i = 0; i < ST_SIZE; i++)
		if (all[i] != pat(i))
			break;
	assert_int_equal(i, ST_SIZE);
	free(all);
	wcache_free(s.wc);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_params),
	    cmocka_unit_test(test_get_args),
	    cmocka_unit_test(test_lru_order),
	    cmocka_unit_test(test_counters),
	    cmocka_unit_test(test_budget_invariant),
	    cmocka_unit_test(test_pinned_survive),
	    cmocka_unit_test(test_granularity),
	    cmocka_unit_test(test_large_offsets),
	    cmocka_unit_test(test_short_last_window),
	    cmocka_unit_test(test_growth_replaces_short),
	    cmocka_unit_test(test_readonly_then_writable),
	    cmocka_unit_test(test_truncate_then_read),
	    cmocka_unit_test(test_forget),
	    cmocka_unit_test(test_flush),
	    cmocka_unit_test(test_set_budget_shrink),
	    cmocka_unit_test(test_enomem_retry),
	    cmocka_unit_test(test_stress_mt),
	};

	page = (uint64_t)sysconf(_SC_PAGESIZE);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
