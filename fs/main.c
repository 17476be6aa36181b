/*
 * main.c - the panefs daemon: options, mount, session loop, signals, daemon
 * mode, logging.
 *
 * Exit status (the contract with users and tests):
 *   0  clean run: unmounted by fusermount3 -u / umount, SIGTERM, SIGINT or
 *      SIGHUP, and everything written through the mount flushed to disk
 *      (flush_all); also -h/--help and -V/--version.
 *   1  could not mount or serve (libfuse, kernel or resource failure), or
 *      the flush at exit failed (written data may not be on disk).
 *   2  bad input (options, SOURCE, MOUNTPOINT, the views table): one line
 *      on stderr naming the problem (FILE:LINE: for the table), and nothing
 *      was mounted.
 *
 * Setup acquires in order: options -> SOURCE fd -> safecopy -> window cache
 * -> inode table -> views tree -> fuse args -> session -> signal handlers ->
 * mount -> detach (daemon.c: fork unless -f; the caller exits once the
 * mount answers) -> ready; the exit path releases in the reverse order
 * through labelled gotos.
 *
 * Logging: fuse_log() everywhere, through log.c (log_level=, stderr in the
 * foreground and until detached, syslog after). Levels: ERR for failures,
 * WARNING for input that was adjusted, NOTICE for mount/unmount and rare
 * faults a user should hear of, INFO for the rest of the faults, DEBUG for
 * details and per-request chatter (libfuse's own with -d).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "ops_i.h"
#include "util.h"
#include "panefs/backing.h"
#include "panefs/bdi.h"
#include "panefs/daemon.h"
#include "panefs/inode.h"
#include "panefs/log.h"
#include "panefs/options.h"
#include "panefs/panefs.h"
#include "panefs/safecopy.h"
#include "panefs/views.h"
#include "panefs/vtree.h"
#include "panefs/wcache.h"

#ifndef PANEFS_VERSION
#define PANEFS_VERSION "unknown"
#endif

enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,	/* mount or runtime failure */
	EXIT_USAGE = 2, /* bad input; nothing mounted */
};

/* Default attribute/entry cache timeouts (seconds). */
#define PANEFS_ATTR_TIMEOUT 1.0
#define PANEFS_ENTRY_TIMEOUT 1.0

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One line on stderr, prefixed "panefs: ". */
static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("panefs: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * Split mode: chunks are whole pages (SIZE is rounded up, with a
 * warning), and windows are cut so that none spans two chunks: the window
 * becomes the largest multiple of the page size that is no larger than
 * asked and divides SIZE. Reading chunk N then maps only bytes of chunk N.
 */
static void setup_split(struct panefs_options *o)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), want, w;

	if (o->split % page) {
		w = round_up(o->split, page);
		fuse_log(FUSE_LOG_WARNING,
			 "panefs: warning: split=%llu is not a multiple of the "
			 "page size (%llu): using split=%llu\n",
			 (unsigned long long)o->split, (unsigned long long)page,
			 (unsigned long long)w);
		o->split = w;
	}
	want = round_up(o->window, page);
	w = want < o->split ? want : o->split;
	while (o->split % w)
		w -= page;
	if (w != want)
		fuse_log(
		    FUSE_LOG_DEBUG,
		    "panefs: window=%llu does not divide split=%llu: using "
		    "window=%llu\n",
		    (unsigned long long)want, (unsigned long long)o->split,
		    (unsigned long long)w);
	o->window = w;
}

/* Read the views table file whole. 0, or -1 after saying why. */
static int read_table(const char *path, char **text, size_t *len)
{
	size_t cap = 64 << 10, n = 0;
	char *buf = NULL, *nb;
	ssize_t r;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		say("cannot read views file '%s': %s", path, strerror(errno));
		goto out;
	}
	for (;;) {
		if (n == cap || !buf) {
			if (buf)
				cap *= 2;
			nb = realloc(buf, cap);
			if (!nb) {
				say("out of memory reading '%s'", path);
				goto out_close;
			}
			buf = nb;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			say("cannot read views file '%s': %s", path,
			    strerror(errno));
			goto out_close;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > VIEWS_TEXT_MAX) {
			say("views file '%s' is larger than %u bytes", path,
			    VIEWS_TEXT_MAX);
			goto out_close;
		}
	}
	*text = buf;
	*len = n;
	buf = NULL;
	rc = 0;
out_close:
	close(fd);
out:
	free(buf);
	return rc;
}

/* Views mode: parse the table and build its tree. 0, or -1 after saying
 * "FILE:LINE: reason". */
static int load_views(struct panefs *fs)
{
	const char *path = fs->opt.views;
	struct view_table t = {0};
	struct views_error err;
	char *text = NULL;
	size_t len = 0;
	int rc = -1;

	if (read_table(path, &text, &len) < 0)
		goto out;
	memset(&err, 0, sizeof(err));
	if (views_parse(text, len, &t, &err) < 0 ||
	    vtree_build(fs, &t, &err) < 0) {
		if (err.line)
			say("%s:%u: %s", path, err.line, err.msg);
		else
			say("%s: %s", path, err.msg[0] ? err.msg : "bad table");
		goto out;
	}
	rc = 0;
out:
	views_free(&t);
	free(text);
	return rc;
}

/* libfuse's log hook: every fuse_log() (ours and libfuse's) goes through
 * log.c's level filter to stderr, or to syslog once daemonized. */
static void log_hook(enum fuse_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void log_hook(enum fuse_log_level level, const char *fmt, va_list ap)
{
	plog_vlog((int)level, fmt, ap);
}

/*
 * Many backing files may be open at once (one per open file plus O_PATH
 * fallbacks); raise the soft descriptor limit to the hard one. Failure is
 * not fatal.
 */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/*
 * "-o fsname=VALUE" with ',' and '\' escaped as fuse_opt expects, so a
 * SOURCE path holding a comma stays one option. Returns NULL on ENOMEM.
 */
static char *fsname_opt(const char *value)
{
	static const char prefix[] = "fsname=";
	size_t n = strlen(value);
	char *s, *d;

	if (n > (SIZE_MAX - sizeof(prefix)) / 2)
		return NULL;
	s = malloc(sizeof(prefix) + 2 * n);
	if (!s)
		return NULL;
	memcpy(s, prefix, sizeof(prefix) - 1);
	d = s + sizeof(prefix) - 1;
	for (; *value; value++) {
		if (*value == ',' || *value == '\\')
			*d++ = '\\';
		*d++ = *value;
	}
	*d = '\0';
	return s;
}

/*
 * Build libfuse's argv: what options.c prepared (user pass-through options,
 * subtype, implied default_permissions, debug) plus fsname=SOURCE unless the
 * user named one. 0 or -ENOMEM; args is freed by the caller either way.
 */
static int build_fuse_args(const struct panefs_options *o, const char *source,
			   struct fuse_args *args)
{
	char *fsname = NULL;
	int i, rc = -ENOMEM;

	for (i = 0; i < o->fuse_argc; i++)
		if (fuse_opt_add_arg(args, o->fuse_argv[i]) == -1)
			goto out;
	if (o->fuse_argc == 0 && fuse_opt_add_arg(args, "panefs") == -1)
		goto out;
	if (!o->fsname_given) {
		fsname = fsname_opt(source);
		if (!fsname || fuse_opt_add_arg(args, "-o") == -1 ||
		    fuse_opt_add_arg(args, fsname) == -1)
			goto out;
	}
	rc = 0;
out:
	free(fsname);
	return rc;
}

/* SOURCE: an existing directory; resolve it and hold an O_PATH fd on it. */
static int open_source(const char *given, char **real, int *fd)
{
	struct stat st;

	*real = realpath(given, NULL);
	if (!*real) {
		say("SOURCE '%s': %s", given, strerror(errno));
		return -1;
	}
	*fd = open(*real, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0) {
		say("SOURCE '%s': %s", given,
		    errno == ENOTDIR ? "not a directory" : strerror(errno));
		return -1;
	}
	if (fstat(*fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
		say("SOURCE '%s': not a directory", given);
		return -1;
	}
	return 0;
}

/*
 * MOUNTPOINT: an existing directory. Resolved to an absolute path because
 * the daemon leaves its working directory (daemon_detach() goes to "/")
 * and libfuse unmounts by the name it mounted on.
 */
static int check_mountpoint(const char *given, char **real)
{
	struct stat st;

	*real = realpath(given, NULL);
	if (!*real || stat(*real, &st) < 0) {
		if (errno == ENOTCONN)
			say("MOUNTPOINT '%s': %s (a dead FUSE mount? try "
			    "'fusermount3 -u %s')",
			    given, strerror(errno), given);
		else
			say("MOUNTPOINT '%s': %s", given, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		say("MOUNTPOINT '%s': not a directory", given);
		return -1;
	}
	return 0;
}

/* The backings that sync_open_files() gathers under the table lock. */
struct open_set {
	struct panefs *fs;
	struct backing **v;
	size_t n, cap;
	bool enomem;
};

/* inode_for_each() callback, under the table lock: no I/O, only
 * backing_peek() (in->lock, allowed inside the table lock) and memory. */
static void collect_open(struct inode *in, void *arg)
{
	struct open_set *set = arg;
	struct backing **v, *b;
	size_t cap;

	if (set->n == set->cap) {
		cap = set->cap ? 2 * set->cap : 16;
		v = realloc(set->v, cap * sizeof(*v));
		if (!v) {
			set->enomem = true;
			return;
		}
		set->v = v;
		set->cap = cap;
	}
	b = backing_peek(set->fs, in);
	if (b)
		set->v[set->n++] = b;
}

/*
 * msync the windows and fsync the descriptor of every backing file open
 * now (the kernel never sent RELEASE for it: the mount was lazily
 * detached, or a signal ended the session). References are taken under
 * the table lock, the flushing runs with no lock held. Every file is
 * attempted; returns 0 or the first -errno; *nfiles gets the count.
 */
static int sync_open_files(struct panefs *fs, unsigned *nfiles)
{
	struct open_set set = {.fs = fs};
	size_t i;
	int rc, first = 0;

	inode_for_each(fs, collect_open, &set);
	for (i = 0; i < set.n; i++) {
		if (set.v[i]->wf.writable) {
			rc = backing_fsync(fs, set.v[i], false);
			if (rc && !first)
				first = rc;
		}
		backing_release(fs, set.v[i]);
	}
	free(set.v);
	*nfiles = (unsigned)set.n;
	if (set.enomem && !first)
		first = -ENOMEM;
	return first;
}

/*
 * The shutdown flush, run once the session loop has ended (no request is
 * in flight): msync and fsync every backing file still open, then syncfs
 * SOURCE's file system for the files written through the mount and closed
 * since (their bytes sit in the page cache). So a clean exit leaves on
 * disk everything written through the mount, as unmounting a disk file
 * system would. Returns 0 or -errno; a failure is logged and makes the
 * exit status 1, because written data may not be on disk.
 */
static int flush_all(struct panefs *fs)
{
	unsigned nfiles = 0;
	int rc, fd;

	rc = sync_open_files(fs, &nfiles);
	if (rc < 0)
		fuse_log(FUSE_LOG_ERR,
			 "panefs: flushing %u open files at exit: %s\n", nfiles,
			 strerror(-rc));
	if (fs->opt.ro)
		return rc; /* nothing was written through the mount */
	/* syncfs() refuses an O_PATH descriptor. */
	fd = openat(fs->source_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || syncfs(fd) < 0) {
		if (!rc)
			rc = neg_errno();
		fuse_log(FUSE_LOG_ERR, "panefs: syncing SOURCE at exit: %s\n",
			 strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

static void print_help(const char *prog)
{
	printf("usage: %s [-f] [-d] [-s] [-o OPT[,OPT...]] SOURCE MOUNTPOINT\n"
	       "       %s -h | --help        %s -V | --version\n\n",
	       prog, prog, prog);
	fputs(panefs_usage(), stdout);
	printf("\nlibfuse command line options:\n");
	fflush(stdout);
	fuse_cmdline_help();
	printf("\nlibfuse low-level options:\n");
	fflush(stdout);
	fuse_lowlevel_help();
}

/* Once serving: one notice (what is mounted where, as what), and the
 * details at debug level. */
static void log_start(const struct panefs *fs, const char *source,
		      const char *mountpoint)
{
	const struct panefs_options *o = &fs->opt;
	char mode[64];
	int i;

	if (o->split)
		snprintf(mode, sizeof(mode), "split=%llu",
			 (unsigned long long)o->split);
	else if (o->views)
		snprintf(mode, sizeof(mode), "views");
	else
		snprintf(mode, sizeof(mode), "passthrough");
	fuse_log(FUSE_LOG_NOTICE,
		 "panefs: %s mounted on %s (%s, window=%llu, cache=%llu%s)\n",
		 source, mountpoint, mode, (unsigned long long)o->window,
		 (unsigned long long)o->cache, o->ro ? ", ro" : "");
	if (!plog_enabled(FUSE_LOG_DEBUG))
		return;
	if (o->views)
		fuse_log(FUSE_LOG_DEBUG, "panefs: views table %s\n", o->views);
	/* 0 threads: libfuse's defaults. */
	fuse_log(FUSE_LOG_DEBUG,
		 "panefs: %s session loop, max_threads=%u, "
		 "max_idle_threads=%u, clone_fd=%d; timeouts entry %.1f s, "
		 "attr %.1f s; pid %ld\n",
		 o->single_thread ? "single-threaded" : "multi-threaded",
		 o->max_threads, o->max_idle_threads, o->clone_fd ? 1 : 0,
		 fs->entry_timeout, fs->attr_timeout, (long)getpid());
	for (i = 1; i < o->fuse_argc; i++)
		if (strcmp(o->fuse_argv[i], "-o") != 0)
			fuse_log(FUSE_LOG_DEBUG,
				 "panefs: libfuse options: %s\n",
				 o->fuse_argv[i]);
}

/* Raise the kernel's read-ahead for the new mount (bdi.h). Not fatal:
 * without root the kernel's 128K stays, said at info level unless the
 * option was given. */
static void set_readahead(const struct panefs_options *o,
			  const char *mountpoint)
{
	dev_t dev;
	int rc;

	if (!o->readahead)
		return;
	rc = bdi_mount_dev("/proc/self/mountinfo", mountpoint, &dev);
	if (rc == 0)
		rc = bdi_set_readahead("/sys/class/bdi", dev, o->readahead);
	if (rc < 0)
		fuse_log(o->readahead_given ? FUSE_LOG_WARNING : FUSE_LOG_INFO,
			 "panefs: cannot set readahead=%llu on %s: %s; the "
			 "kernel's default stays\n",
			 (unsigned long long)o->readahead, mountpoint,
			 strerror(-rc));
}

static int run_loop(struct fuse_session *se, const struct panefs_options *o)
{
	struct fuse_loop_config *cfg;
	int rc;

	if (o->single_thread)
		return fuse_session_loop(se);

	cfg = fuse_loop_cfg_create();
	if (!cfg)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(cfg, o->clone_fd ? 1 : 0);
	if (o->max_threads)
		fuse_loop_cfg_set_max_threads(cfg, o->max_threads);
	if (o->max_idle_threads)
		fuse_loop_cfg_set_idle_threads(cfg, o->max_idle_threads);
	rc = fuse_session_loop_mt(se, cfg);
	fuse_loop_cfg_destroy(cfg);
	return rc;
}

int main(int argc, char *argv[])
{
	struct panefs fs;
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct wcache_params wp;
	const struct fuse_lowlevel_ops *ops = &panefs_ll_ops;
	struct fuse_session *se = NULL;
	struct daemon_ctl dc;
	char err[512];
	char *source = NULL;
	char *mountpoint = NULL;
	int status = EXIT_USAGE;
	int rc;

	memset(&fs, 0, sizeof(fs));
	fs.source_fd = -1;

	rc = panefs_parse_args(argc, argv, &fs.opt, err, sizeof(err));
	if (rc < 0) {
		say("%s", err);
		goto out_opts; /* status is EXIT_USAGE */
	}
	if (fs.opt.show_help) {
		print_help("panefs");
		status = EXIT_OK;
		goto out_opts;
	}
	if (fs.opt.show_version) {
		printf("panefs %s\n", PANEFS_VERSION);
		printf("FUSE library version %s\n", fuse_pkgversion());
		fflush(stdout);
		fuse_lowlevel_version();
		status = EXIT_OK;
		goto out_opts;
	}

	/* One log sink from here on: stderr, then syslog once detached. */
	plog_open(fs.opt.log_level, stderr);
	fuse_set_log_func(log_hook);

	if (fs.opt.split)
		setup_split(&fs.opt);

	/* Bad SOURCE or MOUNTPOINT is bad input: exit 2, nothing mounted. */
	if (open_source(fs.opt.source, &source, &fs.source_fd) < 0)
		goto out_source;
	if (check_mountpoint(fs.opt.mountpoint, &mountpoint) < 0)
		goto out_source;

	/* From here on a failure is not the user's input: exit 1. */
	status = EXIT_FAIL;
	/* The kernel has applied the caller's umask already (as
	 * passthrough_ll): create backing entries with the modes asked for. */
	umask(0);
	raise_fd_limit();

	rc = safecopy_init();
	if (rc < 0) {
		say("cannot install the SIGBUS handler: %s", strerror(-rc));
		goto out_source;
	}

	memset(&wp, 0, sizeof(wp));
	wp.window = fs.opt.window;
	wp.granularity = 0; /* page size */
	wp.budget = fs.opt.cache;
	fs.wc = wcache_new(&wp, &rc);
	if (!fs.wc) {
		say("cannot create the window cache (window=%llu, cache=%llu): "
		    "%s",
		    (unsigned long long)fs.opt.window,
		    (unsigned long long)fs.opt.cache, strerror(-rc));
		goto out_source;
	}
	fs.attr_timeout = PANEFS_ATTR_TIMEOUT;
	fs.entry_timeout = PANEFS_ENTRY_TIMEOUT;

	rc = inode_table_init(&fs);
	if (rc < 0) {
		say("cannot set up the inode table for '%s': %s", source,
		    strerror(-rc));
		goto out_wcache;
	}

	if (fs.opt.views && load_views(&fs) < 0) {
		status = EXIT_USAGE;
		goto out_args;
	}

	/* The counters; stats_file= is written once now, while stderr is
	 * the terminal: a path that cannot be written is bad input. */
	fs.stats = stats_new();
	if (!fs.stats) {
		say("out of memory");
		goto out_args;
	}
	rc = ops_stats_file_init(&fs);
	if (rc < 0) {
		say("cannot write stats file '%s': %s", fs.opt.stats_file,
		    strerror(-rc));
		status = EXIT_USAGE;
		goto out_args;
	}

	if (build_fuse_args(&fs.opt, source, &args) < 0) {
		say("out of memory");
		goto out_args;
	}

	se = fuse_session_new(&args, ops, sizeof(*ops), &fs);
	if (!se) {
		/* options.c only passes on what libfuse accepts, so this is
		 * a bad value libfuse itself checks (or ENOMEM). */
		say("libfuse rejected the mount options (see above)");
		status = EXIT_USAGE;
		goto out_args;
	}
	if (fuse_set_signal_handlers(se) != 0) {
		say("cannot install signal handlers");
		goto out_session;
	}
	if (fuse_session_mount(se, mountpoint) != 0) {
		say("cannot mount on '%s'", fs.opt.mountpoint);
		goto out_signals;
	}
	/* Without -f, fork: the caller waits until the mount answers (or
	 * gets our exit status). Start threads only after this call. */
	if (daemon_detach(&dc, fs.opt.foreground, mountpoint,
			  fuse_session_fd(se)) < 0)
		goto out_unmount;
	if (daemon_ready(&dc) < 0)
		goto out_unmount;
	log_start(&fs, source, mountpoint);
	/* Before the loop answers INIT (bdi.h). */
	set_readahead(&fs.opt, mountpoint);
	ops_stats_file_start(&fs); /* a thread: only after the fork */

	rc = run_loop(se, &fs.opt);
	/* 0: unmounted (fusermount3 -u, umount); > 0: the signal that
	 * ended the loop (SIGTERM, SIGINT, SIGHUP); < 0: -errno. */
	if (rc < 0)
		fuse_log(FUSE_LOG_ERR, "panefs: session loop failed: %s\n",
			 strerror(-rc));
	else
		status = EXIT_OK;
	/* Unmount first: it closes /dev/fuse, so callers still waiting on
	 * the mount get ENOTCONN now instead of waiting for the flush. */
	fuse_session_unmount(se);
	if (flush_all(&fs) < 0 && status == EXIT_OK)
		status = EXIT_FAIL;
	ops_stats_file_stop(&fs); /* join, and the last rewrite */
	if (rc > 0)
		fuse_log(FUSE_LOG_NOTICE,
			 "panefs: %s unmounted on signal %d (%s); exit status "
			 "%d\n",
			 mountpoint, rc, strsignal(rc), status);
	else
		fuse_log(FUSE_LOG_NOTICE,
			 "panefs: %s unmounted; exit status %d\n", mountpoint,
			 status);
	goto out_signals;

out_unmount:
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out_args:
	fuse_opt_free_args(&args);
	stats_free(fs.stats);
	vtree_destroy(&fs);
	inode_table_destroy(&fs);
out_wcache:
	wcache_free(fs.wc);
out_source:
	if (fs.source_fd >= 0)
		close(fs.source_fd);
	free(mountpoint);
	free(source);
out_opts:
	panefs_options_free(&fs.opt);
	return status;
}
