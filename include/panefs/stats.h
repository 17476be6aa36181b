/*
 * stats.h - the mount's counters, their Prometheus text, and the
 * stats_file writer. No FUSE in here.
 *
 * One struct stats per mount (fs->stats). The FUSE front end counts one
 * request per handler call, the bytes moved by read, write and
 * copy_file_range, and every error it replies (by errno). Figures that live
 * elsewhere (the window cache, safecopy, the read path of ops_file.c) are
 * handed to the renderer in a struct stats_extra at render time.
 *
 * Contract
 * --------
 * - Counting is lock-free: one relaxed atomic add, no allocation, no lock,
 *   safe from any thread. A NULL struct stats counts nothing.
 * - Rendering takes no lock either: each figure is read once with a
 *   relaxed load, so one rendering is not a snapshot of a single instant
 *   (two counters may be a request apart), but every counter only grows
 *   from one rendering to the next.
 * - The text is the Prometheus text exposition format 0.0.4: every metric
 *   has one "# HELP" and one "# TYPE" line followed by its samples, each
 *   line ends in '\n', and it stays well under 64 KiB (XATTR_SIZE_MAX).
 * - The stats file is replaced atomically: the text goes to NAME.tmp in the
 *   same directory, which is then renamed over NAME, so a reader sees the
 *   old file or the new one, never a part. The directory is opened once
 *   (stats_file_open), so a relative path keeps meaning what it meant at
 *   start even after the daemon changes its working directory.
 * - The writer thread calls fn(arg) every interval until stopped. It runs
 *   with every signal blocked (signals stay with the session threads) and
 *   stats_writer_stop() returns only once it has exited. Start it after
 *   any fork (threads do not survive fuse_daemonize()).
 *
 * Errors: functions return 0 (or a length) on success, -errno on failure.
 */
#ifndef PANEFS_STATS_H
#define PANEFS_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "panefs/wcache.h"

/* The FUSE requests counted, named after libfuse's handlers. */
enum stats_op {
	STATS_OP_LOOKUP,
	STATS_OP_FORGET,
	STATS_OP_FORGET_MULTI,
	STATS_OP_GETATTR,
	STATS_OP_SETATTR,
	STATS_OP_READLINK,
	STATS_OP_MKNOD,
	STATS_OP_MKDIR,
	STATS_OP_UNLINK,
	STATS_OP_RMDIR,
	STATS_OP_SYMLINK,
	STATS_OP_RENAME,
	STATS_OP_LINK,
	STATS_OP_CREATE,
	STATS_OP_STATFS,
	STATS_OP_ACCESS,
	STATS_OP_SETXATTR,
	STATS_OP_GETXATTR,
	STATS_OP_LISTXATTR,
	STATS_OP_REMOVEXATTR,
	STATS_OP_OPENDIR,
	STATS_OP_READDIR,
	STATS_OP_READDIRPLUS,
	STATS_OP_RELEASEDIR,
	STATS_OP_FSYNCDIR,
	STATS_OP_OPEN,
	STATS_OP_READ,
	STATS_OP_WRITE,
	STATS_OP_FLUSH,
	STATS_OP_RELEASE,
	STATS_OP_FSYNC,
	STATS_OP_FALLOCATE,
	STATS_OP_LSEEK,
	STATS_OP_COPY_FILE_RANGE,
	STATS_OP_COUNT
};

/* Errors 1 .. STATS_ERRNO_MAX-1 are counted one by one; any other value
 * is counted as errno="other". */
#define STATS_ERRNO_MAX 256

struct stats;

/* What the renderer shows beside the counters of struct stats. */
struct stats_extra {
	const char *version; /* panefs version; NULL: no build_info */
	const char *libfuse; /* libfuse version; NULL: label left out */
	struct wcache_stats wc;
	uint64_t faults_caught; /* safecopy_faults() */
	uint64_t zc_replies;    /* reads answered from pinned windows */
	uint64_t copy_replies;  /* reads answered through a bounce buffer */
	uint64_t reply_faults;  /* zero-copy replies the kernel could not copy */
};

/* The counters start at 0 and the uptime at now. NULL on ENOMEM. */
struct stats *stats_new(void);
/* Stops the writer if it runs (without a last call) and frees. NULL ok. */
void stats_free(struct stats *st);

/* "read", "copy_file_range", ...; NULL for an unknown op. */
const char *stats_op_name(enum stats_op op);

void stats_request(struct stats *st, enum stats_op op);
void stats_bytes(struct stats *st, enum stats_op op, uint64_t n);
/* One error reply of err (> 0; 0 and negative values are ignored). */
void stats_error(struct stats *st, int err);

/* Single figures, for tests. */
uint64_t stats_requests_of(const struct stats *st, enum stats_op op);
uint64_t stats_bytes_of(const struct stats *st, enum stats_op op);
uint64_t stats_errors_of(const struct stats *st, int err);

/*
 * The exposition text in a malloc'd, NUL-terminated buffer (*out, which
 * the caller frees). Returns its length, or -ENOMEM (*out is then NULL).
 */
ssize_t stats_render(const struct stats *st, const struct stats_extra *x,
		     char **out);

/*
 * Remember where the stats file goes: opens PATH's directory (O_PATH) and
 * keeps its last component. -EISDIR when PATH names no file ("", "dir/",
 * ".", ".."), else open's -errno. Replaces an earlier one.
 */
int stats_file_open(struct stats *st, const char *path);
/* Replace the file with text, atomically (see above). 0 or -errno; the
 * temporary file is removed on failure. -EBADF without stats_file_open.
 * Not to be called from two threads at once (the start, the writer thread
 * and the stop take turns). */
int stats_file_write(struct stats *st, const char *text, size_t len);
/* What the last stats_file_write() returned (0 before the first): lets a
 * caller log a failure once, not every interval. */
int stats_file_status(const struct stats *st);

/*
 * Call fn(arg) every interval_ms milliseconds (the first call one interval
 * from now) on a thread of its own. 0, -EBUSY if one runs already, or
 * pthread_create's -errno.
 */
int stats_writer_start(struct stats *st, unsigned interval_ms,
		       void (*fn)(void *arg), void *arg);
/* Wake the writer, wait for it to exit. Does nothing if none runs. A call
 * of fn in progress is finished first. */
void stats_writer_stop(struct stats *st);

#endif
