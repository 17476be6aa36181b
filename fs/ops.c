/*
 * ops.c - the fuse_lowlevel_ops table, init/destroy, and every entry and
 * metadata operation (lookup, attributes, names, links, access).
 * Directory streams live in ops_dir.c, extended attributes in
 * ops_xattr.c, open files in ops_file.c.
 *
 * Handlers translate: resolve the inode, call the inode table or one *at()
 * system call on an O_PATH descriptor, reply. What the kernel sees of an
 * inode (a split file as a directory, chunks, views) is node.c's answer;
 * names are made, removed or renamed only where node_may_edit() allows
 * (SOURCE directories outside views mode); elsewhere EPERM. Core calls return
 * -errno and the reply is reply_err(req, -rc); no lock is held across a
 * reply. Every handler calls count_req() on entry and every error reply
 * goes through reply_err() (ops_i.h), which keep the stats (stats.h).
 *
 * What it guarantees
 * - Names are single components resolved with *at() calls relative to the
 *   parent's descriptor, never following a symlink (O_NOFOLLOW,
 *   AT_SYMLINK_NOFOLLOW, /proc/self/fd magic links that land on the entry
 *   itself), so nothing outside SOURCE is ever reached.
 * - With `ro` every modifying operation answers EROFS.
 * - New entries belong to the caller (fuse_req_ctx uid/gid; the parent's
 *   group if the parent is set-group-ID), as if the caller had made them:
 *   the daemon (root) creates, then chowns through a descriptor of the new
 *   entry. A regular file is opened O_CREAT|O_EXCL, so the descriptor is
 *   the file we made. mkdir/mknod/symlink reopen the new name O_PATH right
 *   after making it; if someone outside the mount swapped the name in that
 *   instant, the entry found is chowned only if it still looks like ours
 *   (owned by the daemon, not hard-linked), so nothing else is given away.
 *   Set-ID bits are added only after the chown: a root-owned set-ID file
 *   never exists, not even for a moment.
 * - Every reply that hands the kernel an inode reference (entry, create)
 *   is undone when the kernel did not take it (interrupted request).
 *
 * Capabilities (init): no writeback cache (writes must reach the windows),
 * no posix/flock lock callbacks (the kernel then locks locally, which is
 * what sqlite needs), no HANDLE_KILLPRIV (data goes through mmap, which
 * never clears set-ID bits, so the kernel must do it), no EXPORT_SUPPORT
 * (node ids are inode addresses; an NFS file handle could bring one back
 * after FORGET freed it), no AUTO_INVAL_DATA (libfuse's default): every
 * write moves the mtime, so the next read's attribute refresh dropped the
 * whole page cache of the file, and a read-ahead racing an in-place write
 * of another thread (its page already unlocked, its WRITE not yet applied
 * by another daemon thread) could cache the bytes from before the write
 * for good (seen by tests/integration/concur.sh). Size changes still drop
 * the cache; kcache.h has the rule across opens.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "ops_i.h"
#include "panefs/backing.h"
#include "panefs/inode.h"
#include "panefs/node.h"
#include "panefs/vtree.h"
#include "panefs/panefs.h"
#include "util.h"

/* conn->max_write: one window's worth of data per request (the kernel
 * allows up to 256 pages). */
#define PANEFS_MAX_WRITE (1u << 20)

static inline struct inode *req_inode(fuse_req_t req, fuse_ino_t ino)
{
	return inode_from_ino(req_fs(req), ino);
}

/* "/proc/self/fd/N": a path that lands on the entry an O_PATH fd names. */
static void proc_path(char *buf, size_t n, int fd)
{
	snprintf(buf, n, "/proc/self/fd/%d", fd);
}

#define PROC_PATH_MAX 32

static int entry_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n > NAME_MAX)
		return -ENAMETOOLONG;
	if (n == 0 || memchr(name, '/', n) || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return -EINVAL;
	return 0;
}

void ops_fill_entry(struct panefs *fs, struct inode *in, const struct stat *st,
		    struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = inode_to_ino(fs, in);
	e->generation = 0;
	e->attr = *st;
	e->attr_timeout = fs->attr_timeout;
	e->entry_timeout = fs->entry_timeout;
}

/* Reply with the entry (or rc), giving the reference back if the kernel
 * did not take it. */
static void reply_entry(fuse_req_t req, int rc, struct inode *in,
			const struct stat *st)
{
	struct panefs *fs = req_fs(req);
	struct fuse_entry_param e;

	if (rc) {
		reply_err(req, -rc);
		return;
	}
	ops_fill_entry(fs, in, st, &e);
	if (fuse_reply_entry(req, &e) != 0)
		inode_forget(fs, in, 1);
}

/* ---- permissions ---------------------------------------------------- */

static bool caller_in_group(fuse_req_t req, gid_t gid)
{
	gid_t small[32], *list = small;
	int n, size = 32, i;
	bool found = false;

	n = fuse_req_getgroups(req, size, list);
	if (n > size) {
		size = n;
		list = malloc(sizeof(*list) * (size_t)size);
		if (!list)
			goto out;
		n = fuse_req_getgroups(req, size, list);
	}
	for (i = 0; i < n && i < size; i++) {
		if (list[i] == gid) {
			found = true;
			break;
		}
	}
	if (list != small)
		free(list);
out:
	return found;
}

/*
 * The classic mode-bit check for the caller (no ACLs: see access()).
 * Used where the kernel cannot check for us.
 */
static int caller_may(fuse_req_t req, const struct stat *st, int mask)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	mode_t bits;

	mask &= R_OK | W_OK | X_OK;
	if (ctx->uid == 0) {
		/* root may do anything but execute what nobody may. */
		if ((mask & X_OK) && !S_ISDIR(st->st_mode) &&
		    !(st->st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)))
			return -EACCES;
		return 0;
	}
	if (ctx->uid == st->st_uid)
		bits = (st->st_mode >> 6) & 7;
	else if (ctx->gid == st->st_gid || caller_in_group(req, st->st_gid))
		bits = (st->st_mode >> 3) & 7;
	else
		bits = st->st_mode & 7;
	return ((mode_t)mask & ~bits) ? -EACCES : 0;
}

/*
 * Give a new entry to the caller; see the header. fd names the new entry
 * (any kind of descriptor), pfd its parent. exclusive: fd came from
 * O_CREAT|O_EXCL. mode: the mode asked for (set-ID bits are added here).
 */
static int give_to_caller(fuse_req_t req, int pfd, int fd, mode_t mode,
			  bool exclusive)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	uid_t uid = ctx->uid;
	gid_t gid = ctx->gid;
	mode_t setid = mode & (S_ISUID | S_ISGID);
	char path[PROC_PATH_MAX];
	struct stat pst, st;
	int rc = 0;

	if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
		rc = neg_errno();
		goto out;
	}
	if (geteuid() != 0)
		goto setid; /* an unprivileged daemon cannot give files away */
	if (fstatat(pfd, "", &pst, AT_EMPTY_PATH) < 0) {
		rc = neg_errno();
		goto out;
	}
	if (pst.st_mode & S_ISGID)
		gid = pst.st_gid;
	if (st.st_uid == uid && st.st_gid == gid)
		goto setid;
	if (!exclusive && (st.st_uid != geteuid() ||
			   (!S_ISDIR(st.st_mode) && st.st_nlink != 1)))
		goto out; /* not the entry we made: leave it alone */
	if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) <
	    0) {
		rc = neg_errno();
		goto out;
	}
setid:
	if (setid && !S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode)) {
		proc_path(path, sizeof(path), fd);
		if (chmod(path, mode & 07777) < 0)
			rc = neg_errno();
	}
out:
	return rc;
}

/* ---- init, lookup, forget, attributes ------------------------------ */

static void pl_init(void *userdata, struct fuse_conn_info *conn)
{
	struct panefs *fs = userdata;

	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	if (conn->capable & FUSE_CAP_READDIRPLUS_AUTO)
		conn->want |= FUSE_CAP_READDIRPLUS_AUTO;
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	/* See the header for why each of these stays off. */
	conn->want &= ~(FUSE_CAP_WRITEBACK_CACHE | FUSE_CAP_POSIX_LOCKS |
			FUSE_CAP_FLOCK_LOCKS | FUSE_CAP_HANDLE_KILLPRIV |
			FUSE_CAP_EXPORT_SUPPORT | FUSE_CAP_AUTO_INVAL_DATA);
	/* libfuse caps this to its buffer (256 pages). */
	conn->max_write = PANEFS_MAX_WRITE;
	/* The kernel keeps min(its read-ahead, this): main.c raised its own
	 * before this INIT (bdi.h); 0 leaves the offer. */
	if (fs->opt.readahead)
		conn->max_readahead = (unsigned)fs->opt.readahead;
}

static void pl_destroy(void *userdata)
{
	/* The inode table and cache outlive the session: main.c frees
	 * them after the loop. */
	(void)userdata;
}

static void pl_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct panefs *fs = req_fs(req);
	struct fuse_entry_param e;
	struct inode *in = NULL;
	struct stat st;
	int rc;

	count_req(req, STATS_OP_LOOKUP);
	rc = node_lookup(fs, req_inode(req, parent), name, &st, &in);
	if (rc == -ENOENT && fs->entry_timeout > 0) {
		/* A negative entry, cached as long as a positive one. The
		 * caller gets ENOENT: the stats count it as one. */
		stats_error(fs->stats, ENOENT);
		memset(&e, 0, sizeof(e));
		e.entry_timeout = fs->entry_timeout;
		fuse_reply_entry(req, &e);
		return;
	}
	/* The kernel takes the size in this reply as the truth (a dentry
	 * revalidation refreshes attributes without a getattr): if the file
	 * is open, let its backing adopt an outside size change too, so no
	 * window stays mapped past a new end. */
	if (!rc && node_data_inode(in))
		backing_refresh_if_open(fs, node_data_inode(in));
	reply_entry(req, rc, in, &st);
}

static void pl_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	count_req(req, STATS_OP_FORGET);
	inode_forget(req_fs(req), req_inode(req, ino), nlookup);
	fuse_reply_none(req);
}

static void pl_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	struct panefs *fs = req_fs(req);
	size_t i;

	count_req(req, STATS_OP_FORGET_MULTI);
	for (i = 0; i < count; i++)
		inode_forget(fs, inode_from_ino(fs, forgets[i].ino),
			     forgets[i].nlookup);
	fuse_reply_none(req);
}

static void reply_attr(fuse_req_t req, struct inode *in)
{
	struct panefs *fs = req_fs(req);
	struct stat st;
	int rc;

	/* Writes through windows may owe the file an mtime. */
	if (node_data_inode(in))
		pf_before_getattr(fs, node_data_inode(in));
	rc = node_stat(fs, in, &st);
	if (rc)
		reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, fs->attr_timeout);
}

static void pl_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	count_req(req, STATS_OP_GETATTR);
	(void)fi;
	reply_attr(req, req_inode(req, ino));
}

#define SET_TIMES                                                              \
	(FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW | \
	 FUSE_SET_ATTR_MTIME_NOW)
#define SET_ANY                                                                \
	(FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID |          \
	 FUSE_SET_ATTR_SIZE | SET_TIMES)

static struct timespec set_time(int valid, int now_bit, int set_bit,
				struct timespec t)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = UTIME_OMIT};

	if (valid & now_bit)
		ts.tv_nsec = UTIME_NOW;
	else if (valid & set_bit)
		ts = t;
	return ts;
}

/* Mode, then owner, then size, then times (chown may clear set-ID bits
 * the mode just set only if the kernel asked for both; it never does). */
static int do_setattr(struct panefs *fs, struct inode *in, struct stat *attr,
		      int valid, struct fuse_file_info *fi)
{
	struct inode *file = node_data_inode(in);
	char path[PROC_PATH_MAX];
	struct timespec ts[2];
	uid_t uid;
	gid_t gid;
	int fd, rc = -EROFS;

	if (fs->opt.ro && (valid & SET_ANY))
		goto out;
	if (in->kind != INODE_BACKING) {
		/* A chunk or a view: its times are its file's; its size,
		 * mode and owner are not its own to change. */
		rc = -EPERM;
		if (!file || (valid & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID |
				       FUSE_SET_ATTR_GID)))
			goto out;
		if (in->kind == INODE_VIEW && in->vn->ro && (valid & SET_ANY)) {
			rc = -EROFS;
			goto out;
		}
	}
	rc = fd = inode_pathfd_get(fs, file);
	if (fd < 0)
		goto out;
	rc = 0;
	proc_path(path, sizeof(path), fd);

	if (valid & FUSE_SET_ATTR_MODE) {
		/* No fchmod on O_PATH descriptors; the /proc path lands on
		 * the entry itself (a symlink answers EOPNOTSUPP). */
		if (chmod(path, attr->st_mode & 07777) < 0) {
			rc = neg_errno();
			goto out_put;
		}
	}
	if (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		uid = (valid & FUSE_SET_ATTR_UID) ? attr->st_uid : (uid_t)-1;
		gid = (valid & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t)-1;
		if (fchownat(fd, "", uid, gid,
			     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
			rc = neg_errno();
			goto out_put;
		}
	}
	if (valid & FUSE_SET_ATTR_SIZE) {
		/* pf_truncate() knows what may change size (EISDIR for a
		 * split file, EPERM for chunks and views). */
		if (attr->st_size < 0)
			rc = -EINVAL;
		else
			rc = pf_truncate(fs, in, fi, (uint64_t)attr->st_size);
		if (rc)
			goto out_put;
	}
	if (valid & SET_TIMES) {
		ts[0] = set_time(valid, FUSE_SET_ATTR_ATIME_NOW,
				 FUSE_SET_ATTR_ATIME, attr->st_atim);
		ts[1] = set_time(valid, FUSE_SET_ATTR_MTIME_NOW,
				 FUSE_SET_ATTR_MTIME, attr->st_mtim);
		/* Settle a pending mtime from window writes first, or it
		 * would overwrite the time being set. */
		pf_before_settimes(fs, file);
		if (utimensat(AT_FDCWD, path, ts, 0) < 0)
			rc = neg_errno();
	}
out_put:
	inode_pathfd_put(fs, file, fd);
out:
	return rc;
}

static void pl_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int valid, struct fuse_file_info *fi)
{
	struct inode *in = req_inode(req, ino);
	int rc;

	count_req(req, STATS_OP_SETATTR);
	rc = do_setattr(req_fs(req), in, attr, valid, fi);
	if (rc)
		reply_err(req, -rc);
	else
		reply_attr(req, in);
}

static void pl_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct panefs *fs = req_fs(req);
	struct inode *in = req_inode(req, ino);
	char buf[PATH_MAX + 1];
	ssize_t n = -EINVAL;
	int fd;

	count_req(req, STATS_OP_READLINK);
	fd = inode_pathfd_get(fs, in);
	if (fd < 0) {
		n = fd;
		goto out;
	}
	n = readlinkat(fd, "", buf, sizeof(buf));
	if (n < 0)
		n = neg_errno();
	else if ((size_t)n == sizeof(buf))
		n = -ENAMETOOLONG;
	inode_pathfd_put(fs, in, fd);
out:
	if (n < 0) {
		reply_err(req, (int)-n);
	} else {
		buf[n] = '\0';
		fuse_reply_readlink(req, buf);
	}
}

/* ---- making and removing names -------------------------------------- */

enum mk_kind { MK_NODE, MK_DIR, MK_SYMLINK };

/* mknod, mkdir, symlink: make the entry, give it to the caller, look it
 * up through a descriptor of it (not by name again). */
static int make_entry(fuse_req_t req, fuse_ino_t parent, const char *name,
		      enum mk_kind kind, mode_t mode, dev_t rdev,
		      const char *target, struct stat *st, struct inode **out)
{
	struct panefs *fs = req_fs(req);
	struct inode *dir = req_inode(req, parent);
	int pfd, fd = -1, rc = -EROFS;

	if (fs->opt.ro)
		goto out;
	rc = node_may_edit(fs, dir);
	if (!rc)
		rc = entry_name_ok(name);
	/* In split mode a new regular file could not be shown (every
	 * file is a directory of chunks): make it in SOURCE. */
	if (!rc && kind == MK_NODE && fs->opt.split && S_ISREG(mode))
		rc = -EPERM;
	if (rc)
		goto out;
	pfd = inode_pathfd_get(fs, dir);
	if (pfd < 0) {
		rc = pfd;
		goto out;
	}

	switch (kind) {
	case MK_NODE:
		rc = mknodat(pfd, name, mode & ~(mode_t)(S_ISUID | S_ISGID),
			     rdev);
		break;
	case MK_DIR:
		rc = mkdirat(pfd, name, mode);
		break;
	case MK_SYMLINK:
		rc = symlinkat(target, pfd, name);
		break;
	}
	if (rc < 0) {
		rc = neg_errno();
		goto out_put;
	}
	fd = openat(pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		rc = neg_errno();
		goto out_put;
	}
	rc = give_to_caller(req, pfd, fd, mode, false);
	if (rc)
		goto out_close;
	rc = inode_lookup_fd(fs, fd, true, st, out);
	fd = -1; /* adopted */
out_close:
	if (fd >= 0)
		close(fd);
out_put:
	inode_pathfd_put(fs, dir, pfd);
out:
	return rc;
}

static void pl_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	struct inode *in = NULL;
	struct stat st;
	int rc;

	count_req(req, STATS_OP_MKNOD);
	rc = make_entry(req, parent, name, MK_NODE, mode, rdev, NULL, &st, &in);
	reply_entry(req, rc, in, &st);
}

static void pl_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	struct inode *in = NULL;
	struct stat st;
	int rc;

	count_req(req, STATS_OP_MKDIR);
	rc = make_entry(req, parent, name, MK_DIR, mode, 0, NULL, &st, &in);
	reply_entry(req, rc, in, &st);
}

static void pl_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	struct inode *in = NULL;
	struct stat st;
	int rc;

	count_req(req, STATS_OP_SYMLINK);
	rc = make_entry(req, parent, name, MK_SYMLINK, S_IFLNK | 0777, 0, link,
			&st, &in);
	reply_entry(req, rc, in, &st);
}

static int do_unlink(fuse_req_t req, fuse_ino_t parent, const char *name,
		     int flags)
{
	struct panefs *fs = req_fs(req);
	struct inode *dir = req_inode(req, parent);
	int pfd, rc = -EROFS;

	if (fs->opt.ro)
		goto out;
	rc = node_may_edit(fs, dir);
	if (!rc)
		rc = entry_name_ok(name);
	if (rc)
		goto out;
	pfd = inode_pathfd_get(fs, dir);
	if (pfd < 0) {
		rc = pfd;
		goto out;
	}
	rc = unlinkat(pfd, name, flags) < 0 ? neg_errno() : 0;
	/* rmdir of a split file (the kernel sees a directory): split
	 * mode does not delete files. */
	if (rc == -ENOTDIR && fs->opt.split && (flags & AT_REMOVEDIR))
		rc = -EPERM;
	inode_pathfd_put(fs, dir, pfd);
out:
	return rc;
}

static void pl_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	count_req(req, STATS_OP_UNLINK);
	reply_err(req, -do_unlink(req, parent, name, 0));
}

static void pl_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	count_req(req, STATS_OP_RMDIR);
	reply_err(req, -do_unlink(req, parent, name, AT_REMOVEDIR));
}

static void pl_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	struct panefs *fs = req_fs(req);
	struct inode *from = req_inode(req, parent);
	struct inode *to = req_inode(req, newparent);
	int fd1 = -1, fd2 = -1, rc;

	count_req(req, STATS_OP_RENAME);
	if (fs->opt.ro) {
		rc = -EROFS;
		goto out;
	}
	rc = node_may_edit(fs, from);
	if (!rc)
		rc = node_may_edit(fs, to);
	if (!rc)
		rc = entry_name_ok(name);
	if (!rc)
		rc = entry_name_ok(newname);
	if (rc)
		goto out;
	fd1 = inode_pathfd_get(fs, from);
	if (fd1 < 0) {
		rc = fd1;
		goto out;
	}
	fd2 = inode_pathfd_get(fs, to);
	if (fd2 < 0) {
		rc = fd2;
		goto out_put1;
	}
	/* RENAME_NOREPLACE, RENAME_EXCHANGE (and WHITEOUT, which the
	 * kernel allowed for a caller with CAP_MKNOD) as asked. */
	if (renameat2(fd1, name, fd2, newname, flags) < 0)
		rc = neg_errno();
	inode_pathfd_put(fs, to, fd2);
out_put1:
	inode_pathfd_put(fs, from, fd1);
out:
	reply_err(req, -rc);
}

static void pl_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	struct panefs *fs = req_fs(req);
	struct inode *in = req_inode(req, ino);
	struct inode *dir = req_inode(req, newparent);
	struct inode *got = NULL;
	char path[PROC_PATH_MAX];
	struct stat st;
	int fd, pfd, rc;

	count_req(req, STATS_OP_LINK);
	if (fs->opt.ro) {
		rc = -EROFS;
		goto out;
	}
	rc = node_may_edit(fs, dir);
	if (!rc && node_is_synthetic(fs, in))
		rc = -EPERM;
	if (!rc)
		rc = entry_name_ok(newname);
	if (rc)
		goto out;
	fd = inode_pathfd_get(fs, in);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	pfd = inode_pathfd_get(fs, dir);
	if (pfd < 0) {
		rc = pfd;
		goto out_put;
	}
	/* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the /proc path is the
	 * fallback without it. Either links the entry itself (a symlink
	 * stays a symlink). */
	if (linkat(fd, "", pfd, newname, AT_EMPTY_PATH) < 0) {
		rc = neg_errno();
		if (rc == -ENOENT || rc == -EPERM) {
			proc_path(path, sizeof(path), fd);
			rc = linkat(AT_FDCWD, path, pfd, newname,
				    AT_SYMLINK_FOLLOW) < 0
				 ? neg_errno()
				 : 0;
		}
	}
	if (!rc)
		rc = inode_lookup_fd(fs, fd, false, &st, &got);
	inode_pathfd_put(fs, dir, pfd);
out_put:
	inode_pathfd_put(fs, in, fd);
out:
	reply_entry(req, rc, got, &st);
}

static void pl_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct panefs *fs = req_fs(req);
	struct inode *dir = req_inode(req, parent);
	struct fuse_entry_param e;
	struct inode *in = NULL;
	struct stat st;
	int pfd, fd = -1, rc;

	count_req(req, STATS_OP_CREATE);
	if (fs->opt.ro) {
		rc = -EROFS;
		goto out;
	}
	rc = node_may_edit(fs, dir);
	if (!rc && fs->opt.split)
		rc = -EPERM; /* see make_entry() */
	if (!rc)
		rc = entry_name_ok(name);
	if (rc)
		goto out;
	pfd = inode_pathfd_get(fs, dir);
	if (pfd < 0) {
		rc = pfd;
		goto out;
	}
	/*
	 * Always exclusive and read-write: the descriptor is then the file
	 * we made (safe to give to the caller), and readable, which windows
	 * need; fi->flags keeps the access mode asked for. If the name
	 * exists after all, the kernel's negative dentry was stale (made
	 * outside the mount): without O_EXCL we answer ESTALE, and the VFS
	 * looks the name up again and opens what is there with its own
	 * permission checks, rather than us opening it as root.
	 */
	fd = openat(pfd, name,
		    O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC,
		    mode & 07777 & ~(mode_t)(S_ISUID | S_ISGID));
	if (fd < 0) {
		rc = neg_errno();
		if (rc == -EEXIST && !(fi->flags & O_EXCL))
			rc = -ESTALE;
		goto out_put;
	}
	rc = give_to_caller(req, pfd, fd, mode, true);
	if (!rc)
		rc = inode_lookup_fd(fs, fd, false, &st, &in);
	if (rc)
		goto out_put;
	rc = pf_attach(fs, in, fd, fi);
	fd = -1; /* consumed, also on error */
	if (rc)
		inode_forget(fs, in, 1);
out_put:
	if (fd >= 0)
		close(fd);
	inode_pathfd_put(fs, dir, pfd);
out:
	if (rc) {
		reply_err(req, -rc);
		return;
	}
	ops_fill_entry(fs, in, &st, &e);
	if (fuse_reply_create(req, &e, fi) != 0) {
		/* Interrupted: the kernel has neither the entry nor the open
		 * file, so no release will come: undo both here. */
		pf_detach(fs, fi);
		inode_forget(fs, in, 1);
	}
}

/* ---- file system wide ----------------------------------------------- */

static void pl_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct panefs *fs = req_fs(req);
	struct inode *in = req_inode(req, ino);
	struct statvfs sv;
	int fd, rc = 0;

	count_req(req, STATS_OP_STATFS);
	/* Synthetic entries live on SOURCE's file system. */
	if (in->kind != INODE_BACKING)
		in = inode_root(fs);
	fd = inode_pathfd_get(fs, in);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	if (fstatvfs(fd, &sv) < 0)
		rc = neg_errno();
	inode_pathfd_put(fs, in, fd);
out:
	if (rc)
		reply_err(req, -rc);
	else
		fuse_reply_statfs(req, &sv);
}

/*
 * Only asked without default_permissions. Mode bits and the caller's
 * groups; POSIX ACLs of the backing file are not consulted (the daemon is
 * root, so faccessat() would answer for root, not for the caller).
 */
static void pl_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct panefs *fs = req_fs(req);
	struct stat st;
	int rc;

	struct inode *in = req_inode(req, ino);
	bool ro = fs->opt.ro || (in->kind == INODE_VIEW && in->vn->ro);

	count_req(req, STATS_OP_ACCESS);
	rc = node_stat(fs, in, &st);
	if (!rc && (mask & W_OK) && ro && !S_ISCHR(st.st_mode) &&
	    !S_ISBLK(st.st_mode) && !S_ISFIFO(st.st_mode) &&
	    !S_ISSOCK(st.st_mode))
		rc = -EROFS;
	if (!rc)
		rc = caller_may(req, &st, mask);
	reply_err(req, -rc);
}

/* clang-format off */
const struct fuse_lowlevel_ops panefs_ll_ops = {
	.init = pl_init,
	.destroy = pl_destroy,
	.lookup = pl_lookup,
	.forget = pl_forget,
	.forget_multi = pl_forget_multi,
	.getattr = pl_getattr,
	.setattr = pl_setattr,
	.readlink = pl_readlink,
	.mknod = pl_mknod,
	.mkdir = pl_mkdir,
	.unlink = pl_unlink,
	.rmdir = pl_rmdir,
	.symlink = pl_symlink,
	.rename = pl_rename,
	.link = pl_link,
	.create = pl_create,
	.statfs = pl_statfs,
	.access = pl_access,
	.setxattr = px_setxattr,
	.getxattr = px_getxattr,
	.listxattr = px_listxattr,
	.removexattr = px_removexattr,

	.opendir = pd_opendir,
	.readdir = pd_readdir,
	.readdirplus = pd_readdirplus,
	.releasedir = pd_releasedir,
	.fsyncdir = pd_fsyncdir,

	.open = pf_open,
	.read = pf_read,
	.write = pf_write,
	.flush = pf_flush,
	.release = pf_release,
	.fsync = pf_fsync,
	.fallocate = pf_fallocate,
	.lseek = pf_lseek,
	.copy_file_range = pf_copy_file_range,
};
/* clang-format on */
