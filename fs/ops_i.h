/*
 * ops_i.h - private interface between the FUSE front end files.
 *
 * ops.c owns the fuse_lowlevel_ops table, init/destroy and every
 * directory-entry and metadata operation; ops_file.c owns the handlers for
 * open regular files (the data path) and the per-open handle. Handlers only
 * translate: resolve the inode, call the core, reply. Never hold a lock across
 * a fuse_reply_*() call.
 */
#ifndef PANEFS_OPS_I_H
#define PANEFS_OPS_I_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include "panefs/panefs.h"
#include "panefs/stats.h"

extern const struct fuse_lowlevel_ops panefs_ll_ops;

static inline struct panefs *req_fs(fuse_req_t req)
{
	return (struct panefs *)fuse_req_userdata(req);
}

/* Every handler counts its request on entry (stats.h). */
static inline void count_req(fuse_req_t req, enum stats_op op)
{
	stats_request(req_fs(req)->stats, op);
}

/* Every error reply goes through here, so the stats count it by errno. */
static inline int reply_err(fuse_req_t req, int err)
{
	if (err)
		stats_error(req_fs(req)->stats, err);
	return fuse_reply_err(req, err);
}

struct inode;
struct stat;

/* --- ops.c --- */
/* An entry reply for in (raised lookup count already taken) with st. */
void ops_fill_entry(struct panefs *fs, struct inode *in, const struct stat *st,
		    struct fuse_entry_param *e);

/* --- ops_dir.c: directory streams (struct pdir in fi->fh) --- */
void pd_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void pd_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		struct fuse_file_info *fi);
void pd_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi);
void pd_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void pd_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		 struct fuse_file_info *fi);

/* --- ops_xattr.c: extended attributes --- */
void px_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		 const char *value, size_t size, int flags);
void px_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		 size_t size);
void px_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void px_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

/* --- ops_stats.c: user.panefs.* on the root, the stats_file --- */
/* The exposition text now (fs->stats plus the cache, safecopy and read
 * path figures), malloc'd in *out. Its length or -ENOMEM. */
ssize_t ops_stats_text(struct panefs *fs, char **out);
/* stats_file=: open its directory and write it once (before the mount).
 * 0 (also without stats_file) or -errno. */
int ops_stats_file_init(struct panefs *fs);
/* Rewrite it every PANEFS_STATS_INTERVAL s from a thread (start after
 * fuse_daemonize(); a failure is logged); stop, join, write a last time. */
void ops_stats_file_start(struct panefs *fs);
void ops_stats_file_stop(struct panefs *fs);
/* user.panefs.* names of the root: each returns false when name is not
 * one of them, else answers the request and returns true. */
bool ops_stats_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size);
bool ops_stats_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags);
bool ops_stats_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);
/* Is name one of the root's own (left out of its listxattr)? */
bool ops_stats_hidden(struct panefs *fs, struct inode *in, const char *name);

/* --- ops_file.c --- */
struct inode;

/* Per open file handle, stored in fi->fh. */
struct pfile;

/*
 * Attach an open handle for inode in to fi (fi->fh), adopting fd if >= 0
 * (create) or opening the backing file otherwise. Sets fi caching flags.
 * Returns 0 or -errno; on error fd has been closed.
 */
int pf_attach(struct panefs *fs, struct inode *in, int fd,
	      struct fuse_file_info *fi);
/* Undo pf_attach() when no release will come for fi (the open or create
 * reply returned -ENOENT: the request was interrupted). */
void pf_detach(struct panefs *fs, struct fuse_file_info *fi);
/* Truncate through an open handle (fi may be NULL: use or open the inode's
 * backing). Keeps the cache in step. 0 or -errno. */
int pf_truncate(struct panefs *fs, struct inode *in, struct fuse_file_info *fi,
		uint64_t size);
/* If the inode is open, let its cached state settle before attributes are
 * read or set (e.g. mtime after writes through windows). */
void pf_before_getattr(struct panefs *fs, struct inode *in);
void pf_before_settimes(struct panefs *fs, struct inode *in);

/* Data-path counters since start (process-wide), for the stats
 * (ops_stats.c). */
struct pf_stats {
	uint64_t zc_replies;   /* reads answered from pinned windows */
	uint64_t copy_replies; /* reads answered through a bounce buffer */
	uint64_t reply_efault; /* zero-copy replies the kernel could not copy
				  (the backing file shrank; caller got EIO) */
};
void pf_get_stats(struct pf_stats *st);

void pf_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void pf_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	     struct fuse_file_info *fi);
void pf_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
	      off_t off, struct fuse_file_info *fi);
void pf_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void pf_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void pf_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
	      struct fuse_file_info *fi);
void pf_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
		  off_t length, struct fuse_file_info *fi);
void pf_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
	      struct fuse_file_info *fi);
void pf_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			struct fuse_file_info *fi_in, fuse_ino_t ino_out,
			off_t off_out, struct fuse_file_info *fi_out,
			size_t len, int flags);

#endif
