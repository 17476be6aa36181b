/*
 * bench_wcache.c - micro-benchmark of the window cache and safe_copy.
 *
 * Not a test: run it by hand. Prints a small table:
 *   hit      get+put of a resident window, ns per pair, 1 and 2 threads
 *            (2 threads on windows of different stripes, and on one window)
 *   miss     budget of one window per thread, alternating two indices:
 *            every get evicts, munmaps, mmaps and touches one page
 *   copy     safe_copy against memcpy, 64 B and 4 KiB
 * Each row runs about a second; the whole thing about 10 s.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "panefs/safecopy.h"
#include "panefs/wcache.h"
#include "../../fs/wcache_i.h"

#define RUN_NS 1000000000.0

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

struct job {
	struct wcache *wc;
	struct wc_file f;
	uint64_t size;
	uint64_t idx[2]; /* window indices to use */
	int miss;	 /* alternate idx[0], idx[1] and touch */
	pthread_barrier_t *bar;
	uint64_t ops;
	double ns;
};

static void *run_job(void *p)
{
	struct job *j = p;
	uint64_t w = wcache_window_size(j->wc), n = 0, i;
	volatile char sink = 0;
	double t0, t;

	pthread_barrier_wait(j->bar);
	t0 = now_ns();
	do {
		/* Check the clock every 1024 operations only. */
		for (i = 0; i < 1024; i++, n++) {
			struct wc_ref r;
			uint64_t off = j->idx[j->miss ? n & 1 : 0] * w;

			if (wcache_get(j->wc, &j->f, off, j->size, &r)) {
				perror("wcache_get");
				exit(1);
			}
			if (j->miss)
				sink = r.base[0];
			wcache_put(j->wc, &r);
		}
		t = now_ns();
	} while (t - t0 < RUN_NS);
	(void)sink;
	j->ops = n;
	j->ns = t - t0;
	return NULL;
}

/* Run nthreads jobs; returns total operations per second. */
static double run(struct job *jobs, int nthreads)
{
	pthread_barrier_t bar;
	pthread_t th[2];
	double ops = 0;
	int i;

	pthread_barrier_init(&bar, NULL, (unsigned)nthreads);
	for (i = 0; i < nthreads; i++) {
		jobs[i].bar = &bar;
		pthread_create(&th[i], NULL, run_job, &jobs[i]);
	}
	for (i = 0; i < nthreads; i++) {
		pthread_join(th[i], NULL);
		ops += (double)jobs[i].ops / jobs[i].ns * 1e9;
	}
	pthread_barrier_destroy(&bar);
	return ops;
}

static int tmp_file(uint64_t size)
{
	char path[] = "/var/tmp/panefs-bench-XXXXXX";
	int fd = mkstemp(path);
	char *buf;
	uint64_t off;

	if (fd < 0 || unlink(path) || ftruncate(fd, (off_t)size)) {
		perror("temp file");
		exit(1);
	}
	/* Real data, warm in the page cache, so a miss measures the cache
	 * and the kernel's mapping work, not the disk. */
	buf = malloc(1 << 20);
	memset(buf, 'x', 1 << 20);
	for (off = 0; off < size; off += 1 << 20)
		if (pwrite(fd, buf, 1 << 20, (off_t)off) != 1 << 20)
			exit(1);
	free(buf);
	return fd;
}

static struct wcache *cache(uint64_t window, uint64_t budget)
{
	struct wcache_params p = {window, 0, budget, 0};
	int err;
	struct wcache *wc = wcache_new(&p, &err);

	if (!wc) {
		fprintf(stderr, "wcache_new: %s\n", strerror(-err));
		exit(1);
	}
	return wc;
}

/* Two window indices of file id that hash to stripes other than avoid. */
static void pick(struct wcache *wc, uint64_t id, int differ, unsigned avoid,
		 uint64_t *idx, uint64_t max)
{
	uint64_t i;

	for (i = 0; i < max; i++) {
		if (differ && wcache_shard_of(wc, id, i) == avoid)
			continue;
		*idx = i;
		return;
	}
	*idx = 0;
}

static void bench_hits(int fd, uint64_t size)
{
	uint64_t W = 1 << 20;
	struct wcache *wc = cache(W, 64 * W);
	struct job j[2];
	double r1, r2d, r2s;
	unsigned s0;
	int i;

	for (i = 0; i < 2; i++) {
		memset(&j[i], 0, sizeof(j[i]));
		j[i].wc = wc;
		j[i].f = (struct wc_file){wcache_new_file_id(wc), fd, false};
		j[i].size = size;
	}
	pick(wc, j[0].f.id, 0, 0, &j[0].idx[0], size / W);
	s0 = wcache_shard_of(wc, j[0].f.id, j[0].idx[0]);
	pick(wc, j[1].f.id, 1, s0, &j[1].idx[0], size / W);

	r1 = run(j, 1);
	r2d = run(j, 2);
	j[1].f = j[0].f;
	j[1].idx[0] = j[0].idx[0];
	r2s = run(j, 2);
	printf("%-34s %10.1f %10.3f\n", "hit, 1 thread", 1e9 / r1, r1 / 1e6);
	printf("%-34s %10.1f %10.3f\n", "hit, 2 threads, 2 stripes", 2e9 / r2d,
	       r2d / 1e6);
	printf("%-34s %10.1f %10.3f\n", "hit, 2 threads, same window",
	       2e9 / r2s, r2s / 1e6);
	wcache_free(wc);
}

static void bench_misses(int fd, uint64_t size, uint64_t W)
{
	struct wcache *wc;
	struct job j[2];
	struct wcache_stats st;
	char label[64];
	int i, threads;
	double r;

	for (threads = 1; threads <= 2; threads++) {
		wc = cache(W, (uint64_t)threads * W);
		for (i = 0; i < 2; i++) {
			memset(&j[i], 0, sizeof(j[i]));
			j[i].wc = wc;
			j[i].f =
			    (struct wc_file){wcache_new_file_id(wc), fd, false};
			j[i].size = size;
			j[i].miss = 1;
			j[i].idx[0] = 2 * (uint64_t)i;
			j[i].idx[1] = 2 * (uint64_t)i + 1;
		}
		r = run(j, threads);
		wcache_get_stats(wc, &st);
		snprintf(label, sizeof(label),
			 "miss, %d thread%s, window %lluK", threads,
			 threads > 1 ? "s" : "", (unsigned long long)(W >> 10));
		printf("%-34s %10.1f %10.3f %12llu\n", label, threads * 1e9 / r,
		       r / 1e6, (unsigned long long)st.evictions);
		wcache_free(wc);
	}
}

static __attribute__((noipa)) void bench_copy(size_t n)
{
	char *a = malloc(n), *b = malloc(n);
	volatile char sink;
	double t0, tm, ts;
	long i, iters = 2000000;
	char label[64];

	memset(a, 1, n);
	memset(b, 2, n);
	for (i = 0; i < iters / 4; i++) { /* warm up caches and clocks */
		a[0] = (char)i;
		memcpy(b, a, n);
		__asm__ volatile("" : : "r"(b) : "memory");
	}
	t0 = now_ns();
	for (i = 0; i < iters; i++) {
		a[0] = (char)i;
		memcpy(b, a, n);
		__asm__ volatile("" : : "r"(b) : "memory");
	}
	tm = (now_ns() - t0) / (double)iters;
	t0 = now_ns();
	for (i = 0; i < iters; i++) {
		a[0] = (char)i;
		if (safe_copy(b, a, n))
			exit(1);
		__asm__ volatile("" : : "r"(b) : "memory");
	}
	ts = (now_ns() - t0) / (double)iters;
	sink = b[0];
	(void)sink;
	snprintf(label, sizeof(label), "memcpy %zu B", n);
	printf("%-34s %10.1f\n", label, tm);
	snprintf(label, sizeof(label), "safe_copy %zu B", n);
	printf("%-34s %10.1f\n", label, ts);
	free(a);
	free(b);
}

int main(void)
{
	uint64_t size = 64 << 20;
	int fd = tmp_file(size);

	if (safecopy_init()) {
		fprintf(stderr, "safecopy_init failed\n");
		return 1;
	}
	printf("%-34s %10s %10s %12s\n", "case", "ns/op", "Mops/s",
	       "evictions");
	bench_hits(fd, size);
	bench_misses(fd, size, 64 << 10);
	bench_misses(fd, size, 1 << 20);
	bench_copy(64);
	bench_copy(4096);
	close(fd);
	return 0;
}
