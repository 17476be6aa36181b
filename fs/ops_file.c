/*
 * ops_file.c - FUSE handlers for open regular files: the data path.
 *
 * Each open handle is a struct pfile in fi->fh: a reference on the inode's
 * shared backing and the extent the handle reads and writes. Every byte
 * goes through extent_read()/extent_write() and so through the window
 * cache; nothing here touches file data directly. Handlers translate,
 * call the core, reply; no lock is held across a fuse_reply_*() call.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "ops_i.h"
#include "panefs/backing.h"
#include "panefs/extent.h"
#include "panefs/inode.h"
#include "panefs/panefs.h"
#include "util.h"

struct pfile {
	struct backing *b;
	struct extent ext;
	int flags; /* open(2) flags of this handle */
};

static inline struct pfile *fi_pf(const struct fuse_file_info *fi)
{
	return (struct pfile *)(uintptr_t)fi->fh;
}

static bool flags_write(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

/*
 * Per-thread bounce buffer for read replies and copy_file_range. A request
 * is at most max_read/max_write (1 MiB with 256 pages); the buffer grows to
 * the largest request seen, is kept up to TBUF_KEEP, and is freed when the
 * thread exits (libfuse's worker threads come and go).
 */
#define TBUF_KEEP (4u << 20)
#define TBUF_ROUND (64u << 10)

static pthread_key_t tbuf_key;
static pthread_once_t tbuf_once = PTHREAD_ONCE_INIT;
static bool tbuf_key_ok;
static __thread char *tbuf;
static __thread size_t tbuf_size;

static void tbuf_destroy(void *p)
{
	free(p);
}

static void tbuf_key_init(void)
{
	tbuf_key_ok = pthread_key_create(&tbuf_key, tbuf_destroy) == 0;
}

/* A buffer of at least n bytes, or NULL. *own says the caller frees it. */
static char *tbuf_get(size_t n, bool *own)
{
	size_t sz;
	char *p;

	*own = false;
	if (n <= tbuf_size)
		return tbuf;
	pthread_once(&tbuf_once, tbuf_key_init);
	if (n > TBUF_KEEP || !tbuf_key_ok) {
		*own = true;
		return malloc(n ? n : 1);
	}
	sz = round_up(n, TBUF_ROUND);
	p = malloc(sz);
	if (!p)
		return NULL;
	if (pthread_setspecific(tbuf_key, p)) {
		*own = true;
		return p;
	}
	free(tbuf);
	tbuf = p;
	tbuf_size = sz;
	return tbuf;
}

int pf_attach(struct panefs *fs, struct inode *in, int fd,
	      struct fuse_file_info *fi)
{
	bool want_write = flags_write(fi->flags);
	struct pfile *pf;
	int rc;

	if (want_write && fs->opt.ro) {
		rc = -EROFS;
		goto out_close;
	}
	pf = calloc(1, sizeof(*pf));
	if (!pf) {
		rc = -ENOMEM;
		goto out_close;
	}
	rc = backing_open(fs, in, fd, want_write, &pf->b);
	fd = -1;
	if (rc)
		goto out_free;
	pf->ext.b = pf->b;
	pf->ext.base = 0;
	pf->ext.length = 0;
	pf->ext.grow = true;
	pf->flags = fi->flags;

	/*
	 * With atomic_o_trunc the kernel sends O_TRUNC here instead of a
	 * setattr. (A create()d descriptor was already truncated by open(2)
	 * and backing_open() adopted its size, so this does nothing then.)
	 */
	if ((fi->flags & O_TRUNC) && backing_size(pf->b) != 0) {
		rc = backing_truncate(fs, pf->b, 0);
		if (rc)
			goto out_release;
	}

	fi->fh = (uintptr_t)pf;
	/* The kernel's page cache of this file is not kept across opens:
	 * the backing file may change outside the mount. */
	fi->keep_cache = 0;
	fi->direct_io = 0;
	/* flush() only settles the mtime of written files. */
	fi->noflush = !want_write;
	return 0;

out_release:
	backing_release(fs, pf->b);
out_free:
	free(pf);
out_close:
	if (fd >= 0)
		close(fd);
	return rc;
}

void pf_detach(struct panefs *fs, struct fuse_file_info *fi)
{
	struct pfile *pf = fi_pf(fi);

	if (!pf)
		return;
	fi->fh = 0;
	backing_release(fs, pf->b);
	free(pf);
}

void pf_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct panefs *fs = req_fs(req);
	struct inode *in = inode_from_ino(fs, ino);
	int rc;

	if (!in) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	rc = pf_attach(fs, in, -1, fi);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	/* -ENOENT: the opener was interrupted, no release will come. */
	if (fuse_reply_open(req, fi) == -ENOENT)
		pf_detach(fs, fi);
}

void pf_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	     struct fuse_file_info *fi)
{
	struct panefs *fs = req_fs(req);
	struct pfile *pf = fi_pf(fi);
	bool own;
	ssize_t n;
	char *buf;

	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	buf = tbuf_get(size, &own);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = extent_read(fs, &pf->ext, buf, size, (uint64_t)off);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	if (own)
		free(buf);
}

void pf_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
	      off_t off, struct fuse_file_info *fi)
{
	struct panefs *fs = req_fs(req);
	struct pfile *pf = fi_pf(fi);
	ssize_t n;

	if (fs->opt.ro) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	n = extent_write(fs, &pf->ext, buf, size, (uint64_t)off);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
}

void pf_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	/* Data already sits in the page cache (MAP_SHARED); only the mtime
	 * of writes through windows needs settling. */
	backing_touch_if_dirty(fi_pf(fi)->b);
	fuse_reply_err(req, 0);
}

void pf_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct pfile *pf = fi_pf(fi);

	backing_touch_if_dirty(pf->b);
	backing_release(req_fs(req), pf->b);
	free(pf);
	fuse_reply_err(req, 0);
}

void pf_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
	      struct fuse_file_info *fi)
{
	int rc = backing_fsync(req_fs(req), fi_pf(fi)->b, datasync != 0);

	fuse_reply_err(req, -rc);
}

void pf_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
		  off_t length, struct fuse_file_info *fi)
{
	struct panefs *fs = req_fs(req);
	struct pfile *pf = fi_pf(fi);
	const struct extent *e = &pf->ext;
	uint64_t off = (uint64_t)offset, len = (uint64_t)length;
	int rc;

	switch (mode) {
	case 0:
	case FALLOC_FL_KEEP_SIZE:
	case FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE:
	case FALLOC_FL_ZERO_RANGE:
	case FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE:
		break;
	default:
		rc = -EOPNOTSUPP;
		goto out;
	}
	if (offset < 0 || length <= 0) {
		rc = -EINVAL;
		goto out;
	}
	if (fs->opt.ro) {
		rc = -EROFS;
		goto out;
	}
	if (off > INT64_MAX - len || e->base > INT64_MAX - off - len) {
		rc = -EFBIG;
		goto out;
	}
	if (!e->grow) {
		/* A fixed extent never changes size: a range past its end
		 * does not fit, except where the size is kept anyway. */
		if (off >= e->length || len > e->length - off) {
			if (!(mode & FALLOC_FL_KEEP_SIZE)) {
				rc = -ENOSPC;
				goto out;
			}
			if (off >= e->length) {
				rc = 0;
				goto out;
			}
			len = e->length - off;
		}
	}
	rc = backing_fallocate(fs, pf->b, mode, e->base + off, len);
out:
	fuse_reply_err(req, -rc);
}

void pf_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
	      struct fuse_file_info *fi)
{
	struct pfile *pf = fi_pf(fi);
	const struct extent *e = &pf->ext;
	uint64_t len = extent_length(e);
	off_t r;
	int rc = 0;

	if (whence != SEEK_DATA && whence != SEEK_HOLE) {
		rc = -EINVAL;
		goto out;
	}
	if (off < 0) {
		rc = -ENXIO;
		goto out;
	}
	if (!e->grow && (uint64_t)off >= len) {
		rc = -ENXIO;
		goto out;
	}
	/* The descriptor's position is shared by every handle, but nothing
	 * else uses it (pread, pwrite and mmap only). */
	r = lseek(pf->b->wf.fd, (off_t)(e->base + off), whence);
	if (r < 0) {
		rc = neg_errno();
		/* A shrunk backing file under a fixed extent: the rest of
		 * the extent reads as zeros, i.e. a hole. */
		if (rc == -ENXIO && whence == SEEK_HOLE && !e->grow)
			r = (off_t)(e->base + off);
		else
			goto out;
		rc = 0;
	}
	r -= (off_t)e->base;
	if (!e->grow && (uint64_t)r >= len) {
		if (whence == SEEK_DATA) {
			rc = -ENXIO;
			goto out;
		}
		r = (off_t)len;
	}
out:
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_lseek(req, r);
}

/* Most bytes one copy_file_range request moves; a short count is allowed
 * and the caller loops. */
#define COPY_MAX (1ULL << 30)
#define COPY_CHUNK ((size_t)1 << 20)

void pf_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			struct fuse_file_info *fi_in, fuse_ino_t ino_out,
			off_t off_out, struct fuse_file_info *fi_out,
			size_t len, int flags)
{
	struct panefs *fs = req_fs(req);
	struct pfile *pin = fi_pf(fi_in), *pout = fi_pf(fi_out);
	uint64_t done = 0, want;
	ssize_t r, w = 0;
	size_t chunk;
	bool own = false;
	char *buf = NULL;

	if (flags) {
		w = -EINVAL;
		goto out;
	}
	if (off_in < 0 || off_out < 0) {
		w = -EINVAL;
		goto out;
	}
	if (fs->opt.ro) {
		w = -EROFS;
		goto out;
	}
	want = len < COPY_MAX ? len : COPY_MAX;
	chunk = want < COPY_CHUNK ? (size_t)want : COPY_CHUNK;
	if (chunk == 0)
		goto out;
	buf = tbuf_get(chunk, &own);
	if (!buf) {
		w = -ENOMEM;
		goto out;
	}
	/* Through the extents (and so the windows) on both sides, so cached
	 * windows of either file stay the truth. */
	while (done < want) {
		if (want - done < chunk)
			chunk = (size_t)(want - done);
		r = extent_read(fs, &pin->ext, buf, chunk,
				(uint64_t)off_in + done);
		if (r <= 0) {
			w = r;
			break;
		}
		w = extent_write(fs, &pout->ext, buf, (size_t)r,
				 (uint64_t)off_out + done);
		if (w <= 0)
			break;
		done += (uint64_t)w;
		if (w < r)
			break;
		w = 0;
	}
	/* An error after some bytes were copied reports the count. */
	if (done)
		w = 0;
out:
	if (own)
		free(buf);
	if (w < 0)
		fuse_reply_err(req, (int)-w);
	else
		fuse_reply_write(req, (size_t)done);
}

int pf_truncate(struct panefs *fs, struct inode *in, struct fuse_file_info *fi,
		uint64_t size)
{
	struct backing *b;
	struct pfile *pf;
	int rc;

	if (fs->opt.ro)
		return -EROFS;
	if (fi && fi->fh) {
		pf = fi_pf(fi);
		if (!pf->ext.grow)
			return -EPERM;
		return backing_truncate(fs, pf->b, pf->ext.base + size);
	}
	/* Shares the inode's backing if open (so its windows are dropped),
	 * or opens one just for this. */
	rc = backing_open(fs, in, -1, true, &b);
	if (rc)
		return rc;
	rc = backing_truncate(fs, b, size);
	backing_release(fs, b);
	return rc;
}

void pf_before_getattr(struct panefs *fs, struct inode *in)
{
	struct backing *b = backing_peek(fs, in);

	if (!b)
		return;
	backing_touch_if_dirty(b);
	backing_refresh(fs, b);
	backing_release(fs, b);
}

void pf_before_settimes(struct panefs *fs, struct inode *in)
{
	struct backing *b = backing_peek(fs, in);

	if (!b)
		return;
	backing_clear_dirty(b);
	backing_release(fs, b);
}
