/*
 * test_stats.c - the counters, their Prometheus text, the atomic stats
 * file and the writer thread (stats.h), without FUSE.
 *
 * The text is checked line by line against the exposition format: every
 * sample line is `name{labels} value` or `name value`, belongs to the
 * metric whose HELP and TYPE lines came just before it, and no metric is
 * described twice. tests/integration/stats.sh checks the same text as a
 * mounted panefs serves it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "panefs/stats.h"

/* ---- a small exposition-format checker -------------------------------- */

static bool name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       c == ':' || (!first && c >= '0' && c <= '9');
}

/* Check text; returns the number of samples. Fails the test on any
 * malformed line. */
static unsigned check_exposition(const char *text)
{
	char described[64][64], cur[64] = "", name[96], help[64];
	unsigned ndesc = 0, samples = 0, i;
	const char *p = text, *e, *q;
	size_t n;
	char *end;

	assert_true(strlen(text) > 0);
	assert_int_equal(text[strlen(text) - 1], '\n');
	while (*p) {
		e = strchr(p, '\n');
		assert_non_null(e);
		if (strncmp(p, "# HELP ", 7) == 0) {
			q = p + 7;
			n = strcspn(q, " \n");
			assert_true(n > 0 && n < sizeof(help));
			memcpy(help, q, n);
			help[n] = '\0';
			assert_true(q[n] == ' '); /* a text follows */
			for (i = 0; i < ndesc; i++)
				assert_string_not_equal(described[i], help);
			assert_true(ndesc < 64);
			strcpy(described[ndesc++], help);
			/* TYPE must follow for the same name */
			p = e + 1;
			e = strchr(p, '\n');
			assert_non_null(e);
			snprintf(name, sizeof(name), "# TYPE %s ", help);
			assert_memory_equal(p, name, strlen(name));
			q = p + strlen(name);
			assert_true(strncmp(q, "counter\n", 8) == 0 ||
				    strncmp(q, "gauge\n", 6) == 0);
			strcpy(cur, help);
		} else {
			assert_true(p[0] != '#');
			/* name */
			q = p;
			assert_true(name_char(*q, true));
			while (name_char(*q, false))
				q++;
			n = (size_t)(q - p);
			assert_true(n == strlen(cur) && memcmp(p, cur, n) == 0);
			if (*q == '{') {
				/* label="value"(,label="value")* } */
				q++;
				for (;;) {
					assert_true(name_char(*q, true));
					while (name_char(*q, false))
						q++;
					assert_int_equal(*q++, '=');
					assert_int_equal(*q++, '"');
					while (*q != '"') {
						assert_true(*q != '\n' &&
							    *q != '\0');
						if (*q == '\\')
							q++;
						q++;
					}
					q++;
					if (*q == ',') {
						q++;
						continue;
					}
					assert_int_equal(*q++, '}');
					break;
				}
			}
			assert_int_equal(*q++, ' ');
			(void)strtod(q, &end);
			assert_true(end > q);
			assert_ptr_equal(end, e);
			samples++;
		}
		p = e + 1;
	}
	return samples;
}

/* The value of the sample line that starts with `series ` (exact). */
static double sample(const char *text, const char *series)
{
	size_t n = strlen(series);
	const char *p = text;

	while (p && *p) {
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	fail_msg("no sample %s", series);
	return -1;
}

static bool has_line_starting(const char *text, const char *start)
{
	const char *p = text;

	while (p && *p) {
		if (strncmp(p, start, strlen(start)) == 0)
			return true;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return false;
}

static char *render(struct stats *st, const struct stats_extra *x)
{
	char *text = NULL;
	ssize_t n = stats_render(st, x, &text);

	assert_true(n > 0);
	assert_non_null(text);
	assert_int_equal(strlen(text), (size_t)n);
	check_exposition(text);
	return text;
}

/* ---- counting ---------------------------------------------------------- */

static void test_counting(void **state)
{
	struct stats *st = stats_new();

	(void)state;
	assert_non_null(st);
	stats_request(st, STATS_OP_READ);
	stats_request(st, STATS_OP_READ);
	stats_request(st, STATS_OP_LOOKUP);
	stats_request(st, STATS_OP_COUNT);	/* ignored */
	stats_request(st, (enum stats_op) - 1); /* ignored */
	stats_bytes(st, STATS_OP_READ, 4096);
	stats_bytes(st, STATS_OP_READ, 1);
	stats_bytes(st, STATS_OP_WRITE, 0);
	stats_error(st, ENOENT);
	stats_error(st, ENOENT);
	stats_error(st, EIO);
	stats_error(st, 0);		  /* not an error */
	stats_error(st, -ENOENT);	  /* not one either */
	stats_error(st, STATS_ERRNO_MAX); /* "other" */
	stats_error(st, 100000);	  /* "other" */
	assert_int_equal(stats_requests_of(st, STATS_OP_READ), 2);
	assert_int_equal(stats_requests_of(st, STATS_OP_LOOKUP), 1);
	assert_int_equal(stats_requests_of(st, STATS_OP_WRITE), 0);
	assert_int_equal(stats_requests_of(st, STATS_OP_COUNT), 0);
	assert_int_equal(stats_bytes_of(st, STATS_OP_READ), 4097);
	assert_int_equal(stats_bytes_of(st, STATS_OP_WRITE), 0);
	assert_int_equal(stats_errors_of(st, ENOENT), 2);
	assert_int_equal(stats_errors_of(st, EIO), 1);
	assert_int_equal(stats_errors_of(st, 0), 0);
	assert_int_equal(stats_errors_of(st, STATS_ERRNO_MAX + 5), 2);
	/* A mount without stats counts nothing and does not crash. */
	stats_request(NULL, STATS_OP_READ);
	stats_bytes(NULL, STATS_OP_READ, 1);
	stats_error(NULL, EIO);
	stats_free(NULL);
	stats_free(st);
}

static void test_op_names(void **state)
{
	unsigned i, j;

	(void)state;
	for (i = 0; i < STATS_OP_COUNT; i++) {
		assert_non_null(stats_op_name((enum stats_op)i));
		for (j = 0; j < i; j++)
			assert_string_not_equal(
			    stats_op_name((enum stats_op)i),
			    stats_op_name((enum stats_op)j));
	}
	assert_string_equal(stats_op_name(STATS_OP_READ), "read");
	assert_string_equal(stats_op_name(STATS_OP_COPY_FILE_RANGE),
			    "copy_file_range");
	assert_null(stats_op_name(STATS_OP_COUNT));
}

#define THREADS 8
#define PER_THREAD 100000

static void *bump(void *arg)
{
	struct stats *st = arg;
	unsigned i;

	for (i = 0; i < PER_THREAD; i++) {
		stats_request(st, STATS_OP_WRITE);
		stats_bytes(st, STATS_OP_WRITE, 3);
		stats_error(st, ENOSPC);
	}
	return NULL;
}

/* Lock-free counting loses nothing under contention. */
static void test_concurrent(void **state)
{
	struct stats *st = stats_new();
	pthread_t t[THREADS];
	unsigned i;

	(void)state;
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, bump, st), 0);
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(stats_requests_of(st, STATS_OP_WRITE),
			 THREADS * PER_THREAD);
	assert_int_equal(stats_bytes_of(st, STATS_OP_WRITE),
			 3ULL * THREADS * PER_THREAD);
	assert_int_equal(stats_errors_of(st, ENOSPC), THREADS * PER_THREAD);
	stats_free(st);
}

/* ---- rendering --------------------------------------------------------- */

static void test_render(void **state)
{
	struct stats *st = stats_new();
	struct stats_extra x;
	char *text;
	unsigned i;

	(void)state;
	memset(&x, 0, sizeof(x));
	x.version = "1.2.3";
	x.libfuse = "3.14.0";
	x.wc.hits = 11;
	x.wc.misses = 12;
	x.wc.evictions = 13;
	x.wc.windows = 14;
	x.wc.bytes = 15ULL << 32; /* above 32 bits */
	x.wc.peak_bytes = 16;
	x.wc.peak_windows = 17;
	x.wc.enomem_retries = 18;
	x.wc.budget = 19;
	x.wc.window = 20;
	x.faults_caught = 21;
	x.zc_replies = 22;
	x.copy_replies = 23;
	x.reply_faults = 24;
	stats_request(st, STATS_OP_READ);
	stats_bytes(st, STATS_OP_READ, 1ULL << 40);
	stats_bytes(st, STATS_OP_COPY_FILE_RANGE, 7);
	stats_error(st, ENOENT);
	stats_error(st, EACCES);
	stats_error(st, EACCES);
	stats_error(st, 1000);

	text = render(st, &x);
	assert_true(has_line_starting(
	    text,
	    "panefs_build_info{version=\"1.2.3\",libfuse=\"3.14.0\"} 1\n"));
	assert_true(sample(text, "panefs_uptime_seconds") >= 0);
	assert_true(sample(text, "panefs_start_time_seconds") > 1.5e9);
	assert_true(sample(text, "panefs_cache_hits_total") == 11);
	assert_true(sample(text, "panefs_cache_misses_total") == 12);
	assert_true(sample(text, "panefs_cache_evictions_total") == 13);
	assert_true(sample(text, "panefs_cache_windows") == 14);
	assert_true(
	    has_line_starting(text, "panefs_cache_bytes 64424509440\n"));
	assert_true(sample(text, "panefs_cache_peak_bytes") == 16);
	assert_true(sample(text, "panefs_cache_peak_windows") == 17);
	assert_true(sample(text, "panefs_cache_enomem_retries_total") == 18);
	assert_true(sample(text, "panefs_cache_budget_bytes") == 19);
	assert_true(sample(text, "panefs_cache_window_bytes") == 20);
	assert_true(sample(text, "panefs_faults_caught_total") == 21);
	assert_true(
	    sample(text, "panefs_read_replies_total{path=\"zero_copy\"}") ==
	    22);
	assert_true(sample(text, "panefs_read_replies_total{path=\"copy\"}") ==
		    23);
	assert_true(sample(text, "panefs_read_reply_faults_total") == 24);
	assert_true(sample(text, "panefs_requests_total{op=\"read\"}") == 1);
	assert_true(sample(text, "panefs_requests_total{op=\"write\"}") == 0);
	/* every op is listed, zeros included */
	for (i = 0; i < STATS_OP_COUNT; i++) {
		char series[96];

		snprintf(series, sizeof(series),
			 "panefs_requests_total{op=\"%s\"}",
			 stats_op_name((enum stats_op)i));
		assert_true(sample(text, series) >= 0);
	}
	assert_true(has_line_starting(
	    text, "panefs_bytes_total{op=\"read\"} 1099511627776\n"));
	assert_true(sample(text, "panefs_bytes_total{op=\"write\"}") == 0);
	assert_true(
	    sample(text, "panefs_bytes_total{op=\"copy_file_range\"}") == 7);
	assert_true(sample(text, "panefs_errors_total{errno=\"ENOENT\"}") == 1);
	assert_true(sample(text, "panefs_errors_total{errno=\"EACCES\"}") == 2);
	assert_true(sample(text, "panefs_errors_total{errno=\"other\"}") == 1);
	/* errnos never seen are not listed */
	assert_false(
	    has_line_starting(text, "panefs_errors_total{errno=\"EIO\""));
	free(text);
	stats_free(st);
}

/* No errors yet: the family is described, with no samples; no version:
 * no build_info; a version is escaped as a label value must be. */
static void test_render_edges(void **state)
{
	struct stats *st = stats_new();
	struct stats_extra x;
	char *text;

	(void)state;
	memset(&x, 0, sizeof(x));
	text = render(st, &x);
	assert_false(has_line_starting(text, "panefs_build_info"));
	assert_true(
	    has_line_starting(text, "# TYPE panefs_errors_total counter"));
	assert_false(has_line_starting(text, "panefs_errors_total"));
	free(text);

	x.version = "a\"b\\c\nd";
	text = render(st, &x);
	assert_true(has_line_starting(
	    text, "panefs_build_info{version=\"a\\\"b\\\\c\\nd\"} 1\n"));
	free(text);
	stats_free(st);
}

/* Every errno at once (the worst case) stays well under XATTR_SIZE_MAX. */
static void test_render_size(void **state)
{
	struct stats *st = stats_new();
	struct stats_extra x;
	char *text;
	unsigned i, samples;
	ssize_t n;

	(void)state;
	memset(&x, 0, sizeof(x));
	x.version = "0.1.0";
	x.libfuse = "3.14.0";
	memset(&x.wc, 0xff, sizeof(x.wc)); /* 20-digit figures */
	for (i = 1; i <= STATS_ERRNO_MAX; i++)
		stats_error(st, (int)i);
	for (i = 0; i < STATS_OP_COUNT; i++) {
		stats_request(st, (enum stats_op)i);
		stats_bytes(st, (enum stats_op)i, UINT64_MAX / 2);
	}
	n = stats_render(st, &x, &text);
	assert_true(n > 0 && n < 48 * 1024);
	samples = check_exposition(text);
	/* 15 single figures, 2 read paths, the ops, 3 byte ops, every errno
	 * (1..STATS_ERRNO_MAX-1) and "other". */
	assert_int_equal(samples,
			 15 + 2 + STATS_OP_COUNT + 3 + STATS_ERRNO_MAX);
	free(text);
	stats_free(st);
}

/* ---- the stats file ---------------------------------------------------- */

static char *slurp(const char *path)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = fopen(path, "r");
	ssize_t got;

	if (!f)
		return NULL;
	got = getdelim(&buf, &n, '\0', f);
	fclose(f);
	if (got < 0) {
		free(buf);
		return strdup("");
	}
	return buf;
}

struct tmpdir {
	char path[64];
	char file[128];
	char tmp[128];
};

static void mk_tmpdir(struct tmpdir *d)
{
	strcpy(d->path, "/tmp/panefs-test-stats.XXXXXX");
	assert_non_null(mkdtemp(d->path));
	snprintf(d->file, sizeof(d->file), "%s/panefs.prom", d->path);
	snprintf(d->tmp, sizeof(d->tmp), "%s/panefs.prom.tmp", d->path);
}

static void rm_tmpdir(struct tmpdir *d)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->path);
	assert_int_equal(system(cmd), 0);
}

static void test_file_open_errors(void **state)
{
	struct stats *st = stats_new();

	(void)state;
	assert_int_equal(stats_file_open(st, ""), -EISDIR);
	assert_int_equal(stats_file_open(st, "/tmp/"), -EISDIR);
	assert_int_equal(stats_file_open(st, "."), -EISDIR);
	assert_int_equal(stats_file_open(st, "/tmp/.."), -EISDIR);
	assert_int_equal(stats_file_open(st, "/nonexistent-dir-xyz/a.prom"),
			 -ENOENT);
	assert_int_equal(stats_file_open(st, "/etc/passwd/a.prom"), -ENOTDIR);
	/* nothing opened: a write has nowhere to go */
	assert_int_equal(stats_file_write(st, "x\n", 2), -EBADF);
	assert_int_equal(stats_file_status(st), -EBADF);
	stats_free(st);
}

static void test_file_write(void **state)
{
	struct stats *st = stats_new();
	struct tmpdir d;
	struct stat sb;
	char *got, cwd[4096];
	mode_t um = umask(0); /* as the daemon runs */

	(void)state;
	mk_tmpdir(&d);
	assert_int_equal(stats_file_status(st), 0);
	assert_int_equal(stats_file_open(st, d.file), 0);
	assert_int_equal(stats_file_write(st, "a 1\n", 4), 0);
	got = slurp(d.file);
	assert_string_equal(got, "a 1\n");
	free(got);
	assert_int_equal(stat(d.file, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0644); /* node_exporter reads it */
	umask(um);
	assert_int_equal(access(d.tmp, F_OK), -1); /* renamed away */

	/* Replaced whole, also by a shorter text. */
	assert_int_equal(stats_file_write(st, "b 2\n", 4), 0);
	assert_int_equal(stats_file_write(st, "c\n", 2), 0);
	got = slurp(d.file);
	assert_string_equal(got, "c\n");
	free(got);

	/* A leftover temporary file, even a symlink, is replaced, never
	 * written through. */
	assert_int_equal(symlink("/etc/passwd", d.tmp), 0);
	assert_int_equal(stats_file_write(st, "d\n", 2), 0);
	got = slurp(d.file);
	assert_string_equal(got, "d\n");
	free(got);
	assert_int_equal(lstat(d.file, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));

	/* A relative path keeps naming the same directory after a chdir. */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(d.path), 0);
	assert_int_equal(stats_file_open(st, "rel.prom"), 0);
	assert_int_equal(chdir("/"), 0);
	assert_int_equal(stats_file_write(st, "e\n", 2), 0);
	assert_int_equal(chdir(cwd), 0);
	snprintf(cwd, sizeof(cwd), "%s/rel.prom", d.path);
	got = slurp(cwd);
	assert_non_null(got);
	assert_string_equal(got, "e\n");
	free(got);

	stats_free(st);
	rm_tmpdir(&d);
}

/* Failures: the name is a directory; the directory went away. */
static void test_file_write_fails(void **state)
{
	struct stats *st = stats_new();
	struct tmpdir d;

	(void)state;
	mk_tmpdir(&d);
	assert_int_equal(mkdir(d.file, 0755), 0);
	assert_int_equal(stats_file_open(st, d.file), 0);
	assert_int_equal(stats_file_write(st, "x\n", 2), -EISDIR);
	assert_int_equal(stats_file_status(st), -EISDIR);
	assert_int_equal(access(d.tmp, F_OK), -1); /* cleaned up */
	assert_int_equal(rmdir(d.file), 0);
	assert_int_equal(stats_file_write(st, "x\n", 2), 0);
	assert_int_equal(stats_file_status(st), 0);
	rm_tmpdir(&d);
	assert_int_equal(stats_file_write(st, "x\n", 2), -ENOENT);
	stats_free(st);
}

/* ---- the writer thread ------------------------------------------------- */

struct calls {
	pthread_mutex_t lock;
	unsigned n;
	bool sigterm_blocked;
	struct timespec first;
};

static void on_tick(void *arg)
{
	struct calls *c = arg;
	sigset_t mask;

	pthread_sigmask(SIG_BLOCK, NULL, &mask);
	pthread_mutex_lock(&c->lock);
	if (c->n++ == 0)
		clock_gettime(CLOCK_MONOTONIC, &c->first);
	c->sigterm_blocked = sigismember(&mask, SIGTERM) == 1;
	pthread_mutex_unlock(&c->lock);
}

static unsigned calls_now(struct calls *c)
{
	unsigned n;

	pthread_mutex_lock(&c->lock);
	n = c->n;
	pthread_mutex_unlock(&c->lock);
	return n;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000,
			      .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void test_writer(void **state)
{
	struct calls c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct stats *st = stats_new();
	struct timespec t0, t1;
	unsigned n, waited = 0;
	double ms;

	(void)state;
	stats_writer_stop(st); /* none runs: nothing happens */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(stats_writer_start(st, 20, on_tick, &c), 0);
	assert_int_equal(stats_writer_start(st, 20, on_tick, &c), -EBUSY);
	while (calls_now(&c) < 3 && waited < 5000) {
		sleep_ms(5);
		waited += 5;
	}
	assert_true(calls_now(&c) >= 3);
	/* the first call comes one interval after the start, not at once */
	ms = (double)(c.first.tv_sec - t0.tv_sec) * 1e3 +
	     (double)(c.first.tv_nsec - t0.tv_nsec) / 1e6;
	assert_true(ms >= 19.0);
	assert_true(c.sigterm_blocked);

	/* A long interval: stop wakes the thread at once. */
	stats_writer_stop(st);
	n = calls_now(&c);
	sleep_ms(60);
	assert_int_equal(calls_now(&c), n);
	assert_int_equal(stats_writer_start(st, 3600 * 1000, on_tick, &c), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	stats_writer_stop(st);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	     (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	assert_true(ms < 1000.0);
	assert_int_equal(calls_now(&c), n);

	/* stats_free() stops a running writer too. */
	assert_int_equal(stats_writer_start(st, 10, on_tick, &c), 0);
	stats_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_counting),
	    cmocka_unit_test(test_op_names),
	    cmocka_unit_test(test_concurrent),
	    cmocka_unit_test(test_render),
	    cmocka_unit_test(test_render_edges),
	    cmocka_unit_test(test_render_size),
	    cmocka_unit_test(test_file_open_errors),
	    cmocka_unit_test(test_file_write),
	    cmocka_unit_test(test_file_write_fails),
	    cmocka_unit_test(test_writer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
