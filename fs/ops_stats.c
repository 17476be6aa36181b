/*
 * ops_stats.c - the stats as the outside sees them: the user.panefs.*
 * attributes of the mount's root and the stats_file.
 *
 * Nothing is put into the mounted tree. The root (inode_top(): SOURCE's
 * root, or the views tree's root) answers two attributes of its own:
 *   user.panefs.stats  read-only: the Prometheus text (stats.h)
 *   user.panefs.cache  the cache budget in bytes; root (uid 0) may set it
 *                      to a SIZE (as cache= takes it) of at least one
 *                      window, which takes effect at once (shrinking
 *                      evicts unpinned windows before the reply)
 * Every user.panefs.* name on the root is ours: it is never passed to the
 * backing directory and never listed (so cp -a, rsync -X and tar --xattrs
 * never copy one), and the backing directory's own user.panefs.* names
 * are hidden there. Other names: getxattr ENODATA; setxattr and
 * removexattr EINVAL, as is any removal or a write of user.panefs.stats.
 * On other inodes user.panefs.* names are ordinary attributes.
 *
 * Size probes: a value can change between the size-0 probe and the read
 * (the probe itself is a request the stats count), so a probe answers an
 * upper bound (the length now plus STATS_XATTR_SLACK, or 20 digits for
 * the budget) and the read returns the value as it is then; a buffer
 * shorter than that gets ERANGE.
 *
 * stats_file=PATH is written once before the mount (a failure is bad
 * input: main.c exits 2), then every PANEFS_STATS_INTERVAL seconds by a
 * thread started after fuse_daemonize(), and a last time at exit. Later
 * failures are logged once each (and a recovery once), never fatal.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/limits.h>
#include <sys/xattr.h>

#include "ops_i.h"
#include "panefs/inode.h"
#include "panefs/options.h"
#include "panefs/panefs.h"
#include "panefs/safecopy.h"
#include "panefs/stats.h"

#ifndef PANEFS_VERSION
#define PANEFS_VERSION "unknown"
#endif

#define XA_PREFIX "user.panefs."
#define XA_STATS XA_PREFIX "stats"
#define XA_CACHE XA_PREFIX "cache"
/* Room for the text to grow between a size probe and the read. */
#define STATS_XATTR_SLACK 4096
/* Most digits of a uint64_t. */
#define U64_DIGITS 20

ssize_t ops_stats_text(struct panefs *fs, char **out)
{
	struct stats_extra x;
	struct pf_stats pf;

	memset(&x, 0, sizeof(x));
	x.version = PANEFS_VERSION;
	x.libfuse = fuse_pkgversion();
	wcache_get_stats(fs->wc, &x.wc);
	x.faults_caught = safecopy_faults();
	pf_get_stats(&pf);
	x.zc_replies = pf.zc_replies;
	x.copy_replies = pf.copy_replies;
	x.reply_faults = pf.reply_efault;
	return stats_render(fs->stats, &x, out);
}

/* ---- stats_file -------------------------------------------------------- */

static int file_write(struct panefs *fs)
{
	char *text = NULL;
	ssize_t n;
	int rc;

	n = ops_stats_text(fs, &text);
	if (n < 0)
		return (int)n;
	rc = stats_file_write(fs->stats, text, (size_t)n);
	free(text);
	return rc;
}

int ops_stats_file_init(struct panefs *fs)
{
	int rc;

	if (!fs->opt.stats_file)
		return 0;
	rc = stats_file_open(fs->stats, fs->opt.stats_file);
	if (!rc)
		rc = file_write(fs);
	return rc;
}

/* A rewrite after start: a failure is logged when it starts or changes,
 * and the recovery once; the daemon goes on either way. */
static void file_rewrite(void *arg)
{
	struct panefs *fs = arg;
	int before = stats_file_status(fs->stats), rc;

	rc = file_write(fs);
	if (rc && rc != before)
		fuse_log(FUSE_LOG_ERR,
			 "panefs: cannot write stats file '%s': %s\n",
			 fs->opt.stats_file, strerror(-rc));
	else if (!rc && before)
		fuse_log(FUSE_LOG_NOTICE,
			 "panefs: stats file '%s' written again\n",
			 fs->opt.stats_file);
}

void ops_stats_file_start(struct panefs *fs)
{
	int rc;

	if (!fs->opt.stats_file)
		return;
	rc = stats_writer_start(fs->stats, PANEFS_STATS_INTERVAL * 1000u,
				file_rewrite, fs);
	if (rc)
		fuse_log(FUSE_LOG_ERR,
			 "panefs: cannot start the stats file writer: %s; '%s' "
			 "will not be updated\n",
			 strerror(-rc), fs->opt.stats_file);
}

void ops_stats_file_stop(struct panefs *fs)
{
	if (!fs->opt.stats_file)
		return;
	stats_writer_stop(fs->stats);
	file_rewrite(fs);
}

/* ---- user.panefs.* ------------------------------------------------------ */

static bool ours(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct panefs *fs = req_fs(req);

	return strncmp(name, XA_PREFIX, sizeof(XA_PREFIX) - 1) == 0 &&
	       inode_from_ino(fs, ino) == inode_top(fs);
}

bool ops_stats_hidden(struct panefs *fs, struct inode *in, const char *name)
{
	return in == inode_top(fs) &&
	       strncmp(name, XA_PREFIX, sizeof(XA_PREFIX) - 1) == 0;
}

/* Reply with text (n bytes) under the size protocol; a probe gets
 * bound. */
static void reply_value(fuse_req_t req, const char *text, size_t n,
			size_t bound, size_t size)
{
	if (n > XATTR_SIZE_MAX)
		reply_err(req, E2BIG);
	else if (size == 0)
		fuse_reply_xattr(req, bound < XATTR_SIZE_MAX ? bound
							     : XATTR_SIZE_MAX);
	else if (n > size)
		reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, text, n);
}

bool ops_stats_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	struct panefs *fs = req_fs(req);
	char num[U64_DIGITS + 1], *text = NULL;
	struct wcache_stats ws;
	ssize_t n;

	if (!ours(req, ino, name))
		return false;
	if (strcmp(name, XA_STATS) == 0) {
		n = ops_stats_text(fs, &text);
		if (n < 0)
			reply_err(req, ENOMEM);
		else
			reply_value(req, text, (size_t)n,
				    (size_t)n + STATS_XATTR_SLACK, size);
		free(text);
	} else if (strcmp(name, XA_CACHE) == 0) {
		wcache_get_stats(fs->wc, &ws);
		n = snprintf(num, sizeof(num), "%" PRIu64, ws.budget);
		reply_value(req, num, (size_t)n, U64_DIGITS, size);
	} else {
		reply_err(req, ENODATA);
	}
	return true;
}

/* user.panefs.cache=SIZE: 0 or -errno; nothing changes on error. */
static int set_cache(fuse_req_t req, const char *value, size_t size, int flags)
{
	struct panefs *fs = req_fs(req);
	struct wcache_stats ws;
	char buf[64];
	uint64_t v;

	if (fuse_req_ctx(req)->uid != 0)
		return -EPERM;
	if (flags & XATTR_CREATE)
		return -EEXIST; /* it always exists */
	/* `echo 64M > ...`-style values may end in one newline. */
	if (size && value[size - 1] == '\n')
		size--;
	if (size == 0 || size >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, value, size);
	buf[size] = '\0';
	if (panefs_parse_size(buf, &v) < 0 || v < wcache_window_size(fs->wc))
		return -EINVAL;
	wcache_get_stats(fs->wc, &ws);
	wcache_set_budget(fs->wc, v);
	fuse_log(FUSE_LOG_NOTICE,
		 "panefs: cache budget set to %" PRIu64 " bytes (was %" PRIu64
		 ")\n",
		 v, ws.budget);
	return 0;
}

bool ops_stats_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags)
{
	int rc = -EINVAL;

	if (!ours(req, ino, name))
		return false;
	if (strcmp(name, XA_CACHE) == 0)
		rc = set_cache(req, value, size, flags);
	reply_err(req, -rc);
	return true;
}

bool ops_stats_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	if (!ours(req, ino, name))
		return false;
	reply_err(req, EINVAL);
	return true;
}
