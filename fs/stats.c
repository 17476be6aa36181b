/*
 * stats.c - the mount's counters, their Prometheus text and the stats_file
 * writer (the contract is in include/panefs/stats.h).
 *
 * Counters are plain uint64_t arrays bumped with relaxed __atomic adds: the
 * data path pays one atomic instruction per request and never a lock. They
 * need no ordering with anything else, since each figure stands alone.
 *
 * The writer thread sleeps on a condition variable against the monotonic
 * clock, so a stop wakes it at once and a change of the wall clock does not
 * make it write early or late. If one call of fn takes longer than the
 * interval, the next is due one interval after it ended (no burst).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "panefs/stats.h"
#include "util.h"

struct stats {
	/* Relaxed atomics; no lock. errors[STATS_ERRNO_MAX] is "other". */
	uint64_t requests[STATS_OP_COUNT];
	uint64_t bytes[STATS_OP_COUNT];
	uint64_t errors[STATS_ERRNO_MAX + 1];
	struct timespec start_mono; /* fixed after stats_new() */
	struct timespec start_real;

	/* The stats file: set by stats_file_open(), then used by one thread
	 * at a time (see stats_file_write()). */
	int dirfd;
	char *name;
	char *tmpname;
	int file_status;

	/* The writer. Protected by lock; thread, fn, arg and interval_ms are
	 * fixed while running. */
	pthread_mutex_t lock;
	pthread_cond_t wake; /* on CLOCK_MONOTONIC */
	pthread_t thread;
	bool running;
	bool stop;
	unsigned interval_ms;
	void (*fn)(void *arg);
	void *arg;
};

static const char *const op_names[STATS_OP_COUNT] = {
    [STATS_OP_LOOKUP] = "lookup",
    [STATS_OP_FORGET] = "forget",
    [STATS_OP_FORGET_MULTI] = "forget_multi",
    [STATS_OP_GETATTR] = "getattr",
    [STATS_OP_SETATTR] = "setattr",
    [STATS_OP_READLINK] = "readlink",
    [STATS_OP_MKNOD] = "mknod",
    [STATS_OP_MKDIR] = "mkdir",
    [STATS_OP_UNLINK] = "unlink",
    [STATS_OP_RMDIR] = "rmdir",
    [STATS_OP_SYMLINK] = "symlink",
    [STATS_OP_RENAME] = "rename",
    [STATS_OP_LINK] = "link",
    [STATS_OP_CREATE] = "create",
    [STATS_OP_STATFS] = "statfs",
    [STATS_OP_ACCESS] = "access",
    [STATS_OP_SETXATTR] = "setxattr",
    [STATS_OP_GETXATTR] = "getxattr",
    [STATS_OP_LISTXATTR] = "listxattr",
    [STATS_OP_REMOVEXATTR] = "removexattr",
    [STATS_OP_OPENDIR] = "opendir",
    [STATS_OP_READDIR] = "readdir",
    [STATS_OP_READDIRPLUS] = "readdirplus",
    [STATS_OP_RELEASEDIR] = "releasedir",
    [STATS_OP_FSYNCDIR] = "fsyncdir",
    [STATS_OP_OPEN] = "open",
    [STATS_OP_READ] = "read",
    [STATS_OP_WRITE] = "write",
    [STATS_OP_FLUSH] = "flush",
    [STATS_OP_RELEASE] = "release",
    [STATS_OP_FSYNC] = "fsync",
    [STATS_OP_FALLOCATE] = "fallocate",
    [STATS_OP_LSEEK] = "lseek",
    [STATS_OP_COPY_FILE_RANGE] = "copy_file_range",
};

/* The ops whose bytes are counted, in the order shown. */
static const enum stats_op byte_ops[] = {
    STATS_OP_READ,
    STATS_OP_WRITE,
    STATS_OP_COPY_FILE_RANGE,
};

const char *stats_op_name(enum stats_op op)
{
	if ((unsigned)op >= STATS_OP_COUNT)
		return NULL;
	return op_names[op];
}

struct stats *stats_new(void)
{
	pthread_condattr_t ca;
	struct stats *st;

	st = calloc(1, sizeof(*st));
	if (!st)
		goto fail;
	st->dirfd = -1;
	clock_gettime(CLOCK_MONOTONIC, &st->start_mono);
	clock_gettime(CLOCK_REALTIME, &st->start_real);
	if (pthread_mutex_init(&st->lock, NULL) != 0)
		goto fail_free;
	if (pthread_condattr_init(&ca) != 0)
		goto fail_mutex;
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&st->wake, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		goto fail_mutex;
	}
	pthread_condattr_destroy(&ca);
	return st;

fail_mutex:
	pthread_mutex_destroy(&st->lock);
fail_free:
	free(st);
fail:
	return NULL;
}

void stats_free(struct stats *st)
{
	if (!st)
		return;
	stats_writer_stop(st);
	pthread_cond_destroy(&st->wake);
	pthread_mutex_destroy(&st->lock);
	if (st->dirfd >= 0)
		close(st->dirfd);
	free(st->name);
	free(st->tmpname);
	free(st);
}

/* ---- counting -------------------------------------------------------- */

void stats_request(struct stats *st, enum stats_op op)
{
	if (st && (unsigned)op < STATS_OP_COUNT)
		__atomic_add_fetch(&st->requests[op], 1, __ATOMIC_RELAXED);
}

void stats_bytes(struct stats *st, enum stats_op op, uint64_t n)
{
	if (st && (unsigned)op < STATS_OP_COUNT && n)
		__atomic_add_fetch(&st->bytes[op], n, __ATOMIC_RELAXED);
}

void stats_error(struct stats *st, int err)
{
	unsigned i;

	if (!st || err <= 0)
		return;
	i = err < STATS_ERRNO_MAX ? (unsigned)err : STATS_ERRNO_MAX;
	__atomic_add_fetch(&st->errors[i], 1, __ATOMIC_RELAXED);
}

static uint64_t load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

uint64_t stats_requests_of(const struct stats *st, enum stats_op op)
{
	return (unsigned)op < STATS_OP_COUNT ? load(&st->requests[op]) : 0;
}

uint64_t stats_bytes_of(const struct stats *st, enum stats_op op)
{
	return (unsigned)op < STATS_OP_COUNT ? load(&st->bytes[op]) : 0;
}

uint64_t stats_errors_of(const struct stats *st, int err)
{
	if (err <= 0)
		return 0;
	return load(&st->errors[err < STATS_ERRNO_MAX ? err : STATS_ERRNO_MAX]);
}

/* ---- rendering ------------------------------------------------------- */

/* A growing text buffer; after a failed allocation it only records that. */
struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	size_t cap;
	char *np;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL,
			      b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if (b->p && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		cap = b->cap ? b->cap : 4096;
		while (cap - b->len <= (size_t)n)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
}

static void head(struct sbuf *b, const char *name, const char *type,
		 const char *help)
{
	sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A metric with one unlabelled sample. */
static void metric(struct sbuf *b, const char *name, const char *type,
		   const char *help, uint64_t v)
{
	head(b, name, type, help);
	sb_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

/* A label value as the format wants it: \\, \" and \n escaped. Values
 * longer than 63 bytes are cut (they are version strings). */
static void label_value(char *out, size_t n, const char *s)
{
	size_t o = 0;

	for (; *s && o + 3 < n; s++) {
		if (*s == '\\' || *s == '"') {
			out[o++] = '\\';
			out[o++] = *s;
		} else if (*s == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *s;
		}
	}
	out[o] = '\0';
}

/* errno's symbolic name (glibc), or its number when it has none. */
static const char *errno_label(unsigned i, char *buf, size_t n)
{
	const char *s;

	if (i == STATS_ERRNO_MAX)
		return "other";
	s = strerrorname_np((int)i);
	if (s)
		return s;
	snprintf(buf, n, "%u", i);
	return buf;
}

static void render_build(struct sbuf *b, const struct stats *st,
			 const struct stats_extra *x)
{
	char ver[64], fuse[64];
	struct timespec now;
	double up;

	if (x->version) {
		label_value(ver, sizeof(ver), x->version);
		head(b, "panefs_build_info", "gauge",
		     "panefs version (and libfuse version); always 1.");
		if (x->libfuse) {
			label_value(fuse, sizeof(fuse), x->libfuse);
			sb_printf(b,
				  "panefs_build_info{version=\"%s\","
				  "libfuse=\"%s\"} 1\n",
				  ver, fuse);
		} else {
			sb_printf(b, "panefs_build_info{version=\"%s\"} 1\n",
				  ver);
		}
	}
	metric(b, "panefs_start_time_seconds", "gauge",
	       "When the daemon started, in seconds since the Unix epoch.",
	       (uint64_t)st->start_real.tv_sec);
	clock_gettime(CLOCK_MONOTONIC, &now);
	up = (double)(now.tv_sec - st->start_mono.tv_sec) +
	     (double)(now.tv_nsec - st->start_mono.tv_nsec) / 1e9;
	head(b, "panefs_uptime_seconds", "gauge",
	     "Seconds since the daemon started.");
	sb_printf(b, "panefs_uptime_seconds %.3f\n", up);
}

static void render_cache(struct sbuf *b, const struct stats_extra *x)
{
	const struct wcache_stats *w = &x->wc;

	metric(b, "panefs_cache_windows", "gauge",
	       "Windows mapped now (pinned ones included).", w->windows);
	metric(b, "panefs_cache_bytes", "gauge", "Bytes mapped now.", w->bytes);
	metric(b, "panefs_cache_budget_bytes", "gauge",
	       "The cache budget (cache=, or user.panefs.cache).", w->budget);
	metric(b, "panefs_cache_window_bytes", "gauge",
	       "The window length in bytes.", w->window);
	metric(b, "panefs_cache_peak_windows", "gauge",
	       "Most windows mapped at once since start.", w->peak_windows);
	metric(b, "panefs_cache_peak_bytes", "gauge",
	       "Most bytes mapped at once since start.", w->peak_bytes);
	metric(b, "panefs_cache_hits_total", "counter",
	       "Window lookups that found the window mapped.", w->hits);
	metric(b, "panefs_cache_misses_total", "counter",
	       "Window lookups that had to map the window.", w->misses);
	metric(b, "panefs_cache_evictions_total", "counter",
	       "Windows unmapped to stay within the budget (or to answer an "
	       "mmap ENOMEM).",
	       w->evictions);
	metric(b, "panefs_cache_enomem_retries_total", "counter",
	       "mmap ENOMEM answered by evicting and retrying.",
	       w->enomem_retries);
	metric(b, "panefs_faults_caught_total", "counter",
	       "SIGBUS faults caught while copying to or from a window.",
	       x->faults_caught);
	head(b, "panefs_read_replies_total", "counter",
	     "Read replies by path: zero_copy (from pinned windows) or copy "
	     "(through a buffer).");
	sb_printf(b, "panefs_read_replies_total{path=\"zero_copy\"} %llu\n",
		  (unsigned long long)x->zc_replies);
	sb_printf(b, "panefs_read_replies_total{path=\"copy\"} %llu\n",
		  (unsigned long long)x->copy_replies);
	metric(b, "panefs_read_reply_faults_total", "counter",
	       "Zero-copy read replies the kernel could not copy (the backing "
	       "file shrank); the caller got EIO.",
	       x->reply_faults);
}

static void render_requests(struct sbuf *b, const struct stats *st)
{
	char buf[16];
	unsigned i;
	uint64_t v;

	head(b, "panefs_requests_total", "counter",
	     "FUSE requests handled, by operation.");
	for (i = 0; i < STATS_OP_COUNT; i++)
		sb_printf(b, "panefs_requests_total{op=\"%s\"} %llu\n",
			  op_names[i],
			  (unsigned long long)load(&st->requests[i]));
	head(b, "panefs_bytes_total", "counter",
	     "Bytes moved by read, write and copy_file_range replies.");
	for (i = 0; i < sizeof(byte_ops) / sizeof(byte_ops[0]); i++)
		sb_printf(b, "panefs_bytes_total{op=\"%s\"} %llu\n",
			  op_names[byte_ops[i]],
			  (unsigned long long)load(&st->bytes[byte_ops[i]]));
	head(b, "panefs_errors_total", "counter",
	     "Error replies by errno (a negative lookup counts as ENOENT); "
	     "only errnos seen so far are listed.");
	for (i = 1; i <= STATS_ERRNO_MAX; i++) {
		v = load(&st->errors[i]);
		if (v)
			sb_printf(b, "panefs_errors_total{errno=\"%s\"} %llu\n",
				  errno_label(i, buf, sizeof(buf)),
				  (unsigned long long)v);
	}
}

ssize_t stats_render(const struct stats *st, const struct stats_extra *x,
		     char **out)
{
	struct sbuf b = {0};

	render_build(&b, st, x);
	render_cache(&b, x);
	render_requests(&b, st);
	if (b.oom) {
		free(b.p);
		*out = NULL;
		return -ENOMEM;
	}
	*out = b.p;
	return (ssize_t)b.len;
}

/* ---- the stats file --------------------------------------------------- */

int stats_file_open(struct stats *st, const char *path)
{
	const char *slash = strrchr(path, '/'), *base;
	char *dir = NULL, *name = NULL, *tmp = NULL;
	size_t n;
	int fd, rc = -EISDIR;

	base = slash ? slash + 1 : path;
	if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		goto out;
	rc = -ENOMEM;
	if (!slash)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	n = strlen(base);
	name = strdup(base);
	tmp = malloc(n + sizeof(".tmp"));
	if (!dir || !name || !tmp)
		goto out;
	memcpy(tmp, base, n);
	memcpy(tmp + n, ".tmp", sizeof(".tmp"));
	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		rc = neg_errno();
		goto out;
	}
	if (st->dirfd >= 0)
		close(st->dirfd);
	free(st->name);
	free(st->tmpname);
	st->dirfd = fd;
	st->name = name;
	st->tmpname = tmp;
	name = tmp = NULL;
	rc = 0;
out:
	free(dir);
	free(name);
	free(tmp);
	return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return neg_errno();
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int stats_file_write(struct stats *st, const char *text, size_t len)
{
	int fd, rc = -EBADF;

	if (st->dirfd < 0)
		goto out;
	/*
	 * A fresh temporary file every time (O_EXCL after removing any
	 * leftover, never following a symlink): the daemon runs as root, so
	 * it must not write through something another user put there.
	 */
	if (unlinkat(st->dirfd, st->tmpname, 0) < 0 && errno != ENOENT) {
		rc = neg_errno();
		goto out;
	}
	fd = openat(st->dirfd, st->tmpname,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = neg_errno();
		goto out;
	}
	rc = write_all(fd, text, len);
	if (close(fd) < 0 && !rc)
		rc = neg_errno();
	if (!rc && renameat(st->dirfd, st->tmpname, st->dirfd, st->name) < 0)
		rc = neg_errno();
	if (rc)
		(void)unlinkat(st->dirfd, st->tmpname, 0);
out:
	st->file_status = rc;
	return rc;
}

int stats_file_status(const struct stats *st)
{
	return st->file_status;
}

/* ---- the writer thread ----------------------------------------------- */

static void add_ms(struct timespec *t, unsigned ms)
{
	t->tv_sec += (time_t)(ms / 1000);
	t->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static void *writer_main(void *arg)
{
	struct stats *st = arg;
	struct timespec due;

	pthread_mutex_lock(&st->lock);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &due);
		add_ms(&due, st->interval_ms);
		while (!st->stop && pthread_cond_timedwait(&st->wake, &st->lock,
							   &due) != ETIMEDOUT)
			;
		if (st->stop)
			break;
		/* fn does I/O: never under the lock. */
		pthread_mutex_unlock(&st->lock);
		st->fn(st->arg);
		pthread_mutex_lock(&st->lock);
	}
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

int stats_writer_start(struct stats *st, unsigned interval_ms,
		       void (*fn)(void *arg), void *arg)
{
	sigset_t all, old;
	int rc;

	pthread_mutex_lock(&st->lock);
	if (st->running) {
		rc = -EBUSY;
		goto out;
	}
	st->fn = fn;
	st->arg = arg;
	st->interval_ms = interval_ms ? interval_ms : 1;
	st->stop = false;
	/* The thread inherits this mask: SIGTERM and friends must reach the
	 * session loop's thread, not this one. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = -pthread_create(&st->thread, NULL, writer_main, st);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	st->running = rc == 0;
out:
	pthread_mutex_unlock(&st->lock);
	return rc;
}

void stats_writer_stop(struct stats *st)
{
	pthread_mutex_lock(&st->lock);
	if (!st->running) {
		pthread_mutex_unlock(&st->lock);
		return;
	}
	st->stop = true;
	pthread_cond_signal(&st->wake);
	pthread_mutex_unlock(&st->lock);
	pthread_join(st->thread, NULL);
	pthread_mutex_lock(&st->lock);
	st->running = false;
	pthread_mutex_unlock(&st->lock);
}
