/*
 * ops_dir.c - directory streams: opendir, readdir, readdirplus,
 * releasedir, fsyncdir.
 *
 * An open directory is a DIR stream on its own read-only descriptor
 * (opened by handle, never by path), in fi->fh. Offsets are the backing
 * file system's telldir cookies (d_off), so a reader that seeks back to an
 * offset it was given resumes where it left off.
 *
 * Guarantees
 * - readdirplus hands the kernel an inode reference only for entries that
 *   made it into the reply buffer ("." and ".." get none, as the protocol
 *   allows); an entry that does not fit is forgotten again, and if the
 *   reply itself does not reach the kernel every reference it carried is
 *   given back.
 * - An entry that vanishes between readdir(3) and its lookup is skipped.
 * - A directory the mount makes up (a split file's chunks, a views
 *   directory) is listed by node.c: offsets are positions (1 after ".",
 *   2 after "..", 3 + k after entry k), stable while the listing is.
 * - In split mode, regular files of SOURCE are listed as directories.
 * - d->lock serialises one stream. It is held across readdir(3) and the
 *   lookups of one batch on purpose (it is the stream's own lock, nothing
 *   else waits for it), never across a reply.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops_i.h"
#include "panefs/inode.h"
#include "panefs/node.h"
#include "panefs/panefs.h"
#include "util.h"

struct pdir {
	pthread_mutex_t lock;
	DIR *dp;	      /* protected by lock; NULL for a synthetic one */
	struct inode *synth;  /* fixed: the synthetic directory, or NULL */
	off_t offset;	      /* protected by lock: offset of entry */
	struct dirent *entry; /* protected by lock: read, not yet replied */
	char name[NAME_MAX + 1]; /* protected by lock: synthetic entry */
};

/* One entry of either kind of stream. */
struct dent {
	const char *name;
	uint64_t ino;
	mode_t type; /* S_IFMT bits */
	off_t next;  /* offset of the entry after it */
};

static inline struct pdir *fi_dir(const struct fuse_file_info *fi)
{
	return (struct pdir *)(uintptr_t)fi->fh;
}

void pd_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct panefs *fs = req_fs(req);
	struct pdir *d;
	int fd, rc = 0;

	count_req(req, STATS_OP_OPENDIR);
	d = calloc(1, sizeof(*d));
	if (!d) {
		rc = -ENOMEM;
		goto out_reply;
	}
	if (pthread_mutex_init(&d->lock, NULL) != 0) {
		rc = -ENOMEM;
		goto out_free;
	}
	if (node_is_synth_dir(fs, inode_from_ino(fs, ino))) {
		d->synth = inode_from_ino(fs, ino);
		fi->fh = (uintptr_t)d;
		if (fuse_reply_open(req, fi) == 0)
			goto out;
		goto out_mutex;
	}
	fd = inode_open(fs, inode_from_ino(fs, ino), O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		rc = fd;
		goto out_mutex;
	}
	d->dp = fdopendir(fd);
	if (!d->dp) {
		rc = neg_errno();
		close(fd);
		goto out_mutex;
	}
	fi->fh = (uintptr_t)d;
	if (fuse_reply_open(req, fi) == 0)
		goto out;
	/* Interrupted: no releasedir will come; nothing more to reply. */
	closedir(d->dp);
	goto out_mutex;
out_mutex:
	pthread_mutex_destroy(&d->lock);
out_free:
	free(d);
out_reply:
	if (rc)
		reply_err(req, -rc);
out:
	return;
}

static bool is_dot_or_dotdot(const char *name)
{
	return name[0] == '.' &&
	       (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

/* The entry at the position of a synthetic stream. */
static int synth_peek(struct panefs *fs, struct pdir *d, struct dent *de)
{
	struct inode *dir = d->synth;
	uint64_t pos = (uint64_t)d->offset;
	int rc = 1;

	de->next = d->offset + 1;
	de->type = S_IFDIR;
	de->ino = dir->ino;
	if (pos < 2) {
		de->name = pos == 0 ? "." : "..";
		goto out;
	}
	rc = node_dir_entry(fs, dir, pos - 2, d->name, &de->type, &de->ino);
	de->name = d->name;
out:
	return rc;
}

/* The entry at the stream's position: 1 with it, 0 at the end, -errno.
 * Called with d->lock held. */
static int dir_peek(struct panefs *fs, struct pdir *d, struct dent *de)
{
	if (d->synth)
		return synth_peek(fs, d, de);
	if (!d->entry) {
		errno = 0;
		d->entry = readdir(d->dp);
		if (!d->entry)
			return errno ? neg_errno() : 0;
	}
	de->name = d->entry->d_name;
	de->ino = d->entry->d_ino;
	de->type = (mode_t)node_dtype(fs, d->entry->d_type) << 12;
	de->next = d->entry->d_off;
	return 1;
}

/* Move past the entry dir_peek() gave. Called with d->lock held. */
static void dir_advance(struct pdir *d, off_t next)
{
	d->entry = NULL;
	d->offset = next;
}

/*
 * Fill one reply buffer of at most size bytes from offset off. plus: with
 * attributes and inode references (readdirplus). The inodes whose
 * references went into the buffer are listed in refs (room for size /
 * FUSE_DIRENTPLUS_MIN of them) so they can be given back.
 */
#define FUSE_DIRENTPLUS_MIN 152 /* fuse_direntplus with an 8-byte name */

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi, bool plus)
{
	struct panefs *fs = req_fs(req);
	struct inode *dir = inode_from_ino(fs, ino);
	struct pdir *d = fi_dir(fi);
	struct inode **refs = NULL, *in;
	struct fuse_entry_param e;
	size_t rem = size, entsize, nrefs = 0, i;
	struct stat st;
	struct dent de;
	const char *name;
	char *buf, *p;
	off_t next;
	int rc = 0;

	buf = malloc(size ? size : 1);
	if (plus)
		refs = malloc(sizeof(*refs) * (size / FUSE_DIRENTPLUS_MIN + 1));
	if (!buf || (plus && !refs)) {
		rc = -ENOMEM;
		goto out_reply;
	}
	p = buf;

	pthread_mutex_lock(&d->lock);
	if (off != d->offset) {
		if (!d->synth)
			seekdir(d->dp, off);
		d->entry = NULL;
		d->offset = off;
	}
	for (;;) {
		rc = dir_peek(fs, d, &de);
		if (rc <= 0)
			break;
		rc = 0;
		name = de.name;
		next = de.next;
		in = NULL;
		if (!plus) {
			memset(&st, 0, sizeof(st));
			st.st_ino = de.ino;
			st.st_mode = de.type;
			entsize =
			    fuse_add_direntry(req, p, rem, name, &st, next);
			if (entsize > rem)
				break;
		} else {
			if (is_dot_or_dotdot(name)) {
				/* Node id 0: attributes only, no reference. */
				memset(&e, 0, sizeof(e));
				e.attr.st_ino = de.ino;
				e.attr.st_mode = de.type;
			} else {
				rc = node_lookup(fs, dir, name, &st, &in);
				if (rc == -ENOENT) {
					/* Gone since readdir(3): skip it. */
					rc = 0;
					dir_advance(d, next);
					continue;
				}
				if (rc)
					break;
				ops_fill_entry(fs, in, &st, &e);
			}
			entsize =
			    fuse_add_direntry_plus(req, p, rem, name, &e, next);
			if (entsize > rem) {
				if (in)
					inode_forget(fs, in, 1);
				break;
			}
			if (in)
				refs[nrefs++] = in;
		}
		p += entsize;
		rem -= entsize;
		dir_advance(d, next);
	}
	pthread_mutex_unlock(&d->lock);

out_reply:
	/* An error after some entries: return those; the error comes
	 * again on the next call if it persists. */
	if (rc && rem == size) {
		reply_err(req, -rc);
	} else if (fuse_reply_buf(req, buf, size - rem) != 0) {
		for (i = 0; i < nrefs; i++)
			inode_forget(fs, refs[i], 1);
	}
	free(refs);
	free(buf);
}

void pd_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		struct fuse_file_info *fi)
{
	count_req(req, STATS_OP_READDIR);
	do_readdir(req, ino, size, off, fi, false);
}

void pd_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	count_req(req, STATS_OP_READDIRPLUS);
	do_readdir(req, ino, size, off, fi, true);
}

void pd_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct pdir *d = fi_dir(fi);

	count_req(req, STATS_OP_RELEASEDIR);
	(void)ino;
	if (d->dp)
		closedir(d->dp);
	pthread_mutex_destroy(&d->lock);
	free(d);
	reply_err(req, 0);
}

void pd_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		 struct fuse_file_info *fi)
{
	struct pdir *d = fi_dir(fi);
	int fd, rc;

	count_req(req, STATS_OP_FSYNCDIR);
	(void)ino;
	if (!d->dp) {
		reply_err(req, 0); /* nothing of its own to sync */
		return;
	}
	/* dirfd() needs no lock: the descriptor is fixed for the stream's
	 * life and fsync does not move its position. */
	fd = dirfd(d->dp);
	rc = (datasync ? fdatasync(fd) : fsync(fd)) < 0 ? neg_errno() : 0;
	reply_err(req, -rc);
}
