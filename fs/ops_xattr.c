/*
 * ops_xattr.c - extended attributes: setxattr, getxattr, listxattr,
 * removexattr.
 *
 * Each goes through the /proc/self/fd path of the inode's O_PATH
 * descriptor with the following (not l*) calls: the magic link lands on
 * the entry itself and nothing after it is followed, so a symlink's own
 * attributes are read and written (user.* on a symlink is refused by Linux
 * with EPERM, and that is what the caller gets), and nothing outside
 * SOURCE is reached. Names and values are passed through unchanged; the
 * kernel has already checked the caller's right to the namespace
 * (trusted.* needs CAP_SYS_ADMIN, user.* the file's permissions). With
 * `ro` the modifying calls answer EROFS. The root's user.panefs.* names
 * are not the backing directory's: ops_stats.c answers them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "ops_i.h"
#include "panefs/inode.h"
#include "panefs/panefs.h"
#include "util.h"

#define PROC_PATH_MAX 32

static inline struct inode *req_inode(fuse_req_t req, fuse_ino_t ino)
{
	return inode_from_ino(req_fs(req), ino);
}

static void proc_path(char *buf, size_t n, int fd)
{
	snprintf(buf, n, "/proc/self/fd/%d", fd);
}

/* setxattr (value != NULL) and removexattr: the same checks, one call. */
static void set_or_remove(fuse_req_t req, fuse_ino_t ino, const char *name,
			  const char *value, size_t size, int flags)
{
	struct panefs *fs = req_fs(req);
	struct inode *in = req_inode(req, ino);
	char path[PROC_PATH_MAX];
	int fd, rc = -EROFS, r;

	if (fs->opt.ro)
		goto out;
	/* Chunks, views and their directories have no attributes of
	 * their own. */
	rc = -EPERM;
	if (in->kind != INODE_BACKING)
		goto out;
	rc = fd = inode_pathfd_get(fs, in);
	if (fd < 0)
		goto out;
	proc_path(path, sizeof(path), fd);
	r = value ? setxattr(path, name, value, size, flags)
		  : removexattr(path, name);
	rc = r < 0 ? neg_errno() : 0;
	inode_pathfd_put(fs, in, fd);
out:
	reply_err(req, -rc);
}

void px_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		 const char *value, size_t size, int flags)
{
	count_req(req, STATS_OP_SETXATTR);
	/* user.panefs.* on the root: ours, never the backing's. */
	if (ops_stats_setxattr(req, ino, name, value ? value : "", size, flags))
		return;
	/* An empty value may come as NULL: never take it for a removal. */
	set_or_remove(req, ino, name, value ? value : "", size, flags);
}

void px_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	count_req(req, STATS_OP_REMOVEXATTR);
	if (ops_stats_removexattr(req, ino, name))
		return;
	set_or_remove(req, ino, name, NULL, 0, 0);
}

/* The xattr size protocol: -errno, or with size 0 the length only, else
 * the n bytes of buf. */
static void reply_sized(fuse_req_t req, ssize_t n, size_t size, const char *buf)
{
	if (n < 0)
		reply_err(req, (int)-n);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
}

/* getxattr (name != NULL) and listxattr share the size protocol: size 0
 * asks for the length, else the value or ERANGE. */
static void get_or_list(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	struct panefs *fs = req_fs(req);
	struct inode *in = req_inode(req, ino);
	char path[PROC_PATH_MAX];
	char *buf = NULL;
	ssize_t n;
	int fd;

	if (in->kind != INODE_BACKING) {
		/* None to get, an empty list. */
		n = name ? -ENODATA : 0;
		goto out;
	}
	if (size) {
		buf = malloc(size);
		if (!buf) {
			n = -ENOMEM;
			goto out;
		}
	}
	fd = inode_pathfd_get(fs, in);
	if (fd < 0) {
		n = fd;
		goto out;
	}
	proc_path(path, sizeof(path), fd);
	n = name ? getxattr(path, name, buf, size) : listxattr(path, buf, size);
	if (n < 0)
		n = neg_errno();
	inode_pathfd_put(fs, in, fd);
out:
	reply_sized(req, n, size, buf);
	free(buf);
}

void px_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	count_req(req, STATS_OP_GETXATTR);
	/* Before get_or_list(): in views mode the root is synthetic. */
	if (ops_stats_getxattr(req, ino, name, size))
		return;
	get_or_list(req, ino, name, size);
}

/*
 * Drop names from the list of inode ino: "trusted.*" for callers other
 * than root (local file systems list them only to CAP_SYS_ADMIN; the VFS
 * checks getxattr of them, but a list is the file system's business), and
 * on the root the user.panefs.* names, which are ours (ops_stats.c).
 * Returns the new length.
 */
static size_t hide_names(struct panefs *fs, struct inode *ino, bool trusted,
			 char *list, size_t n)
{
	size_t in = 0, out = 0, len;

	while (in < n) {
		len = strnlen(list + in, n - in) + 1;
		if ((!trusted || strncmp(list + in, "trusted.", 8) != 0) &&
		    !ops_stats_hidden(fs, ino, list + in)) {
			memmove(list + out, list + in, len);
			out += len;
		}
		in += len;
	}
	return out;
}

/* The full list of names, in a malloc'd buffer (*out); length or -errno. */
static ssize_t list_all(const char *path, char **out)
{
	char *buf = NULL, *bigger;
	ssize_t n;

	for (;;) {
		n = listxattr(path, NULL, 0);
		if (n <= 0)
			break;
		bigger = realloc(buf, (size_t)n);
		if (!bigger) {
			n = -ENOMEM;
			goto fail;
		}
		buf = bigger;
		n = listxattr(path, buf, (size_t)n);
		if (n >= 0 || errno != ERANGE)
			break; /* ERANGE: the list grew meanwhile; again */
	}
	if (n < 0) {
		n = neg_errno();
		goto fail;
	}
	*out = buf;
	return n;
fail:
	free(buf);
	*out = NULL;
	return n;
}

void px_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct panefs *fs = req_fs(req);
	struct inode *in = req_inode(req, ino);
	char path[PROC_PATH_MAX];
	char *list = NULL;
	ssize_t n;
	int fd;
	bool root = fuse_req_ctx(req)->uid == 0;

	count_req(req, STATS_OP_LISTXATTR);
	if ((root && in != inode_top(fs)) || in->kind != INODE_BACKING) {
		get_or_list(req, ino, NULL, size);
		return;
	}
	fd = inode_pathfd_get(fs, in);
	if (fd < 0) {
		n = fd;
		goto out;
	}
	proc_path(path, sizeof(path), fd);
	n = list_all(path, &list);
	inode_pathfd_put(fs, in, fd);
	if (n > 0)
		n = (ssize_t)hide_names(fs, in, !root, list, (size_t)n);
	if (n >= 0 && size && (size_t)n > size)
		n = -ERANGE;
out:
	reply_sized(req, n, size, list);
	free(list);
}
