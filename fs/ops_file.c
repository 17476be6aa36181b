/*
 * ops_file.c - FUSE handlers for open regular files: the data path.
 *
 * Each open handle is a struct pfile in fi->fh: a reference on the inode's
 * shared backing and the extent the handle reads and writes. Every byte
 * goes through the extent layer and so through the window cache; nothing
 * here touches file data directly. Handlers translate, call the core,
 * reply; no lock is held across a fuse_reply_*() call.
 *
 * Zero-copy reads
 * ---------------
 * A read pins the windows that hold the requested bytes and replies with
 * fuse_reply_iov() pointing into them: the kernel copies straight from the
 * backing file's page cache into the reply, and the daemon never touches
 * the bytes. The pins are released after the reply (pins are references,
 * not locks). The copy path (extent_read() into a bounce buffer) remains
 * for requests that span more than PF_PIN_MAX windows, when pinning fails,
 * and for a while after a zero-copy reply of the handle faulted.
 *
 * A reply that faults: if another process truncates the backing file
 * between the pin and the reply, the kernel's copy of the reply meets a
 * page that is gone. fs/fuse/dev.c (fuse_dev_do_write) then ends the
 * request itself with -EIO for the caller (copy_out_args() failed, so
 * req->out.h.error = -EIO before fuse_request_end()) and returns the
 * error (-EFAULT) to our writev. libfuse frees the request after any reply
 * attempt, so the request is answered exactly once and must not be
 * answered again: we count the fault, refresh the backing size (dropping
 * the stale windows) and let the file's next PF_COPY_AFTER_FAULT reads
 * use the copy path, which reports such faults precisely (a short read at
 * the new end, or zeros of a hole a full tmpfs cannot back).
 *
 * A truncate through the mount must not cause that: a local file system
 * never fails a read racing a truncate. A shrink therefore waits for the
 * file's zero-copy replies in flight and turns new reads to the copy path
 * meanwhile (zc_replies/zc_block of struct backing; no lock is held
 * across the reply). Only a truncate outside the mount can fault a reply.
 *
 * Lifetime: once the reply is out, the caller may close the file and a
 * RELEASE on another thread may free the pfile and, with the last
 * handle, the backing. So a zero-copy read holds its own reference on the
 * backing until it is done, and touches nothing of the pfile after the
 * reply. (The pins need nothing: a window forgotten while pinned stays
 * mapped until its last put.)
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "ops_i.h"
#include "panefs/backing.h"
#include "panefs/extent.h"
#include "panefs/inode.h"
#include "panefs/kcache.h"
#include "panefs/node.h"
#include "panefs/panefs.h"
#include "panefs/wcache.h"
#include "util.h"

/* Most windows one zero-copy reply pins: a 1 MiB request needs 17 with
 * 64 KiB windows. The pins and iovecs live on the handler's stack. */
#define PF_PIN_MAX 32
/* Reads of a file that go through the copy path after one of its
 * zero-copy replies faulted (1 GiB in 1 MiB requests). */
#define PF_COPY_AFTER_FAULT 1024

struct pfile {
	struct backing *b;
	struct inode *node; /* the opened inode (a chunk's or view's own) */
	struct extent ext;
	int flags; /* open(2) flags of this handle */
};

/* Process-wide, like safecopy_faults(): counters only, never state. */
static uint64_t st_zc_replies, st_copy_replies, st_reply_efault;

void pf_get_stats(struct pf_stats *st)
{
	st->zc_replies = __atomic_load_n(&st_zc_replies, __ATOMIC_RELAXED);
	st->copy_replies = __atomic_load_n(&st_copy_replies, __ATOMIC_RELAXED);
	st->reply_efault = __atomic_load_n(&st_reply_efault, __ATOMIC_RELAXED);
}

/*
 * TEST-ONLY hook: PANEFS_TEST_REPLY_DELAY_US=N (read once, from the
 * environment of the daemon) makes every zero-copy read sleep N
 * microseconds (at most 10 s) between pinning its windows and replying,
 * so that tests/integration/faults.sh can truncate the backing file inside
 * that gap and provoke a faulting reply deterministically. While it is
 * set, every faulting reply is also logged. Unset (the default), nothing
 * sleeps and faults are logged only with -d.
 */
#define PF_TEST_DELAY_MAX_US 10000000UL
static pthread_once_t hook_once = PTHREAD_ONCE_INIT;
static unsigned long test_delay_us;

static void hook_init(void)
{
	const char *s = getenv("PANEFS_TEST_REPLY_DELAY_US");
	unsigned long v;
	char *end;

	if (!s || !*s)
		return;
	v = strtoul(s, &end, 10);
	if (*end)
		return;
	test_delay_us = v < PF_TEST_DELAY_MAX_US ? v : PF_TEST_DELAY_MAX_US;
}

static void test_reply_delay(void)
{
	struct timespec ts;

	pthread_once(&hook_once, hook_init);
	if (!test_delay_us)
		return;
	ts.tv_sec = (time_t)(test_delay_us / 1000000);
	ts.tv_nsec = (long)(test_delay_us % 1000000) * 1000;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static inline struct pfile *fi_pf(const struct fuse_file_info *fi)
{
	return (struct pfile *)(uintptr_t)fi->fh;
}

static bool flags_write(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

/* A handle that could write moved the file's mtime: the next open must
 * not trust the kernel's cache by the stamp (kcache.h). */
static void pf_forget_stamp(struct pfile *pf)
{
	if (flags_write(pf->flags))
		kcache_forget(pf->node);
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
	struct node_file nf;
	struct pfile *pf;
	int rc;

	rc = node_file(fs, in, &nf);
	if (rc)
		goto out_close;
	if (want_write && (fs->opt.ro || nf.ro)) {
		rc = -EROFS;
		goto out_close;
	}
	pf = calloc(1, sizeof(*pf));
	if (!pf) {
		rc = -ENOMEM;
		goto out_close;
	}
	/* A chunk or a view opens its file's backing: every part of a
	 * file shares the file's windows, so they see each other's writes. */
	rc = backing_open(fs, nf.target, fd, want_write, &pf->b);
	fd = -1;
	if (rc)
		goto out_free;
	pf->ext.b = pf->b;
	pf->ext.base = nf.base;
	pf->ext.length = nf.length;
	pf->ext.grow = nf.grow;
	pf->flags = fi->flags;
	pf->node = in;

	/*
	 * With atomic_o_trunc the kernel sends O_TRUNC here instead of a
	 * setattr. (A create()d descriptor was already truncated by open(2)
	 * and backing_open() adopted its size, so this does nothing then.)
	 * Chunks and views have a fixed size: O_TRUNC is refused (EPERM)
	 * unless they are empty already.
	 */
	if ((fi->flags & O_TRUNC) && extent_length(&pf->ext) != 0) {
		rc = nf.resizable ? backing_truncate(fs, pf->b, 0) : -EPERM;
		if (rc)
			goto out_release;
	}

	fi->fh = (uintptr_t)pf;
	/* The kernel's page cache of this file survives the open only if
	 * the backing file has not changed since the last one (kcache.h). */
	fi->keep_cache = !nf.direct && kcache_open(in, pf->b->wf.fd);
	fi->direct_io = nf.direct;
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
	pf_forget_stamp(pf);
	backing_release(fs, pf->b);
	free(pf);
}

void pf_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct panefs *fs = req_fs(req);
	struct inode *in = inode_from_ino(fs, ino);
	int rc;

	count_req(req, STATS_OP_OPEN);
	if (!in) {
		reply_err(req, ESTALE);
		return;
	}
	rc = pf_attach(fs, in, -1, fi);
	if (rc) {
		reply_err(req, -rc);
		return;
	}
	/* -ENOENT: the opener was interrupted, no release will come. */
	if (fuse_reply_open(req, fi) == -ENOENT)
		pf_detach(fs, fi);
}

/* The bounce-buffer read: extent_read() copies under the SIGBUS guard. */
static void read_copy(fuse_req_t req, struct panefs *fs, struct pfile *pf,
		      size_t size, uint64_t off)
{
	bool own;
	ssize_t n;
	char *buf;

	buf = tbuf_get(size, &own);
	if (!buf) {
		reply_err(req, ENOMEM);
		return;
	}
	n = extent_read(fs, &pf->ext, buf, size, off);
	__atomic_add_fetch(&st_copy_replies, 1, __ATOMIC_RELAXED);
	if (n < 0)
		reply_err(req, (int)-n);
	else if (fuse_reply_buf(req, buf, (size_t)n) == 0)
		stats_bytes(fs->stats, STATS_OP_READ, (uint64_t)n);
	if (own)
		free(buf);
}

/* Take one read of the file's copy-path allowance, if it has any. */
static bool take_copy_turn(struct inode *in)
{
	unsigned left = __atomic_load_n(&in->copy_reads, __ATOMIC_RELAXED);

	while (left) {
		if (__atomic_compare_exchange_n(
			&in->copy_reads, &left, left - 1, false,
			__ATOMIC_RELAXED, __ATOMIC_RELAXED))
			return true;
	}
	return false;
}

/* The kernel could not copy a zero-copy reply: see the top of the file.
 * b is the read's own reference; the pfile may be gone already. */
static void reply_faulted(struct panefs *fs, struct backing *b, fuse_ino_t ino,
			  size_t size, uint64_t off)
{
	uint64_t nth;

	nth = __atomic_add_fetch(&st_reply_efault, 1, __ATOMIC_RELAXED);

	__atomic_store_n(&b->inode->copy_reads, PF_COPY_AFTER_FAULT,
			 __ATOMIC_RELAXED);
	backing_refresh(fs, b);
	/* A reader got EIO: a notice, but only the 1st, 2nd, 4th, 8th ...
	 * (a truncation race can fault many replies); log_level=info for
	 * every one. */
	fuse_log((nth & (nth - 1)) == 0 ? FUSE_LOG_NOTICE : FUSE_LOG_INFO,
		 "panefs: read reply faulted (EFAULT): ino %llu off "
		 "%llu size %zu; the kernel answered EIO (%llu so "
		 "far)\n",
		 (unsigned long long)ino, (unsigned long long)off, size,
		 (unsigned long long)nth);
}

void pf_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	     struct fuse_file_info *fi)
{
	struct panefs *fs = req_fs(req);
	struct pfile *pf = fi_pf(fi);
	struct wc_ref refs[PF_PIN_MAX];
	struct iovec iov[PF_PIN_MAX];
	struct backing *b;
	unsigned count = 0;
	ssize_t n;
	int rc;

	count_req(req, STATS_OP_READ);
	if (off < 0) {
		reply_err(req, EINVAL);
		return;
	}
	if (take_copy_turn(pf->b->inode))
		goto copy;
	/* Our own reference: the pfile may be released once we replied. */
	b = backing_peek(fs, pf->b->inode);
	if (!b)
		goto copy;
	/* A shrink through the mount waits for us; if one is waiting, copy
	 * (see zc_drain() in backing.c for the ordering). */
	__atomic_add_fetch(&b->zc_replies, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&b->zc_block, __ATOMIC_SEQ_CST))
		goto copy_release;
	n = extent_read_pin(fs, &pf->ext, size, (uint64_t)off, refs, iov,
			    PF_PIN_MAX, &count);
	if (n < 0)
		goto copy_release;
	test_reply_delay();
	/* libfuse frees req after this, whatever it returns: exactly one
	 * reply. The pins outlive it, until the kernel has copied. */
	if (count)
		rc = fuse_reply_iov(req, iov, (int)count);
	else
		rc = fuse_reply_buf(req, NULL, 0);
	extent_unpin(fs, refs, &count);
	__atomic_sub_fetch(&b->zc_replies, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&st_zc_replies, 1, __ATOMIC_RELAXED);
	if (rc == 0)
		stats_bytes(fs->stats, STATS_OP_READ, (uint64_t)n);
	if (rc == -EFAULT)
		reply_faulted(fs, b, ino, size, (uint64_t)off);
	backing_release(fs, b);
	return;

copy_release:
	__atomic_sub_fetch(&b->zc_replies, 1, __ATOMIC_SEQ_CST);
	backing_release(fs, b);
copy:
	read_copy(req, fs, pf, size, (uint64_t)off);
}

void pf_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
	      off_t off, struct fuse_file_info *fi)
{
	struct panefs *fs = req_fs(req);
	struct pfile *pf = fi_pf(fi);
	ssize_t n;

	count_req(req, STATS_OP_WRITE);
	if (fs->opt.ro) {
		reply_err(req, EROFS);
		return;
	}
	if (off < 0) {
		reply_err(req, EINVAL);
		return;
	}
	n = extent_write(fs, &pf->ext, buf, size, (uint64_t)off);
	if (n < 0)
		reply_err(req, (int)-n);
	else if (fuse_reply_write(req, (size_t)n) == 0)
		stats_bytes(fs->stats, STATS_OP_WRITE, (uint64_t)n);
}

void pf_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	count_req(req, STATS_OP_FLUSH);
	/* Data already sits in the page cache (MAP_SHARED); only the mtime
	 * of writes through windows needs settling. */
	backing_touch_if_dirty(fi_pf(fi)->b);
	reply_err(req, 0);
}

void pf_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct pfile *pf = fi_pf(fi);

	count_req(req, STATS_OP_RELEASE);
	backing_touch_if_dirty(pf->b);
	pf_forget_stamp(pf);
	backing_release(req_fs(req), pf->b);
	free(pf);
	reply_err(req, 0);
}

void pf_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
	      struct fuse_file_info *fi)
{
	int rc;

	count_req(req, STATS_OP_FSYNC);
	rc = backing_fsync(req_fs(req), fi_pf(fi)->b, datasync != 0);
	reply_err(req, -rc);
}

void pf_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
		  off_t length, struct fuse_file_info *fi)
{
	struct panefs *fs = req_fs(req);
	struct pfile *pf = fi_pf(fi);
	const struct extent *e = &pf->ext;
	uint64_t off = (uint64_t)offset, len = (uint64_t)length, limit;
	int rc;

	count_req(req, STATS_OP_FALLOCATE);
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
	if (!e->grow || e->length != EXTENT_TO_END) {
		/* A chunk or a view never outgrows its length (a view not
		 * even its current one): a range past it does not fit,
		 * except where the size is kept anyway. */
		limit = e->grow ? e->length : extent_length(e);
		if (off >= limit || len > limit - off) {
			if (!(mode & FALLOC_FL_KEEP_SIZE)) {
				rc = -ENOSPC;
				goto out;
			}
			if (off >= limit) {
				rc = 0;
				goto out;
			}
			len = limit - off;
		}
	}
	if (e->grow && e->length != EXTENT_TO_END &&
	    !(mode & FALLOC_FL_KEEP_SIZE)) {
		/* As extent_write(): a chunk gone from the file stays gone. */
		backing_refresh(fs, pf->b);
		if (e->base >= backing_size(pf->b)) {
			rc = -ENOSPC;
			goto out;
		}
	}
	rc = backing_fallocate(fs, pf->b, mode, e->base + off, len);
out:
	reply_err(req, -rc);
}

void pf_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
	      struct fuse_file_info *fi)
{
	struct pfile *pf = fi_pf(fi);
	const struct extent *e = &pf->ext;
	uint64_t len = extent_length(e);
	/* A part of a file: answers stay inside it. */
	bool part = !e->grow || e->length != EXTENT_TO_END;
	off_t r;
	int rc = 0;

	count_req(req, STATS_OP_LSEEK);
	if (whence != SEEK_DATA && whence != SEEK_HOLE) {
		rc = -EINVAL;
		goto out;
	}
	if (off < 0) {
		rc = -ENXIO;
		goto out;
	}
	if (part && (uint64_t)off >= len) {
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
		if (rc == -ENXIO && whence == SEEK_HOLE && part)
			r = (off_t)(e->base + off);
		else
			goto out;
		rc = 0;
	}
	r -= (off_t)e->base;
	if (part && (uint64_t)r >= len) {
		if (whence == SEEK_DATA) {
			rc = -ENXIO;
			goto out;
		}
		r = (off_t)len;
	}
out:
	if (rc)
		reply_err(req, -rc);
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

	count_req(req, STATS_OP_COPY_FILE_RANGE);
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
		reply_err(req, (int)-w);
	else if (fuse_reply_write(req, (size_t)done) == 0)
		stats_bytes(fs->stats, STATS_OP_COPY_FILE_RANGE, done);
}

int pf_truncate(struct panefs *fs, struct inode *in, struct fuse_file_info *fi,
		uint64_t size)
{
	struct node_file nf;
	struct extent e;
	struct backing *b;
	int rc;

	rc = node_file(fs, in, &nf);
	if (rc)
		goto out;
	rc = -EROFS;
	if (fs->opt.ro || nf.ro)
		goto out;
	if (nf.resizable && fi && fi->fh) {
		rc = backing_truncate(fs, fi_pf(fi)->b, size);
		goto out;
	}
	/* Shares the file's backing if open (so its windows are dropped),
	 * or opens one just for this. */
	rc = backing_open(fs, nf.target, -1, nf.resizable, &b);
	if (rc)
		goto out;
	if (nf.resizable) {
		rc = backing_truncate(fs, b, size);
	} else {
		/* A chunk or a view keeps its size: only "truncating" to
		 * the size it has already succeeds. */
		e = (struct extent){.b = b,
				    .base = nf.base,
				    .length = nf.length,
				    .grow = nf.grow};
		rc = extent_length(&e) == size ? 0 : -EPERM;
	}
	backing_release(fs, b);
out:
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
