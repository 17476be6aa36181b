/*
 * backing.c - one shared object per open backing file.
 *
 * Every open handle of an inode shares one struct backing: one descriptor,
 * one cached size and one window-cache identity, so two opens of the same
 * file see the same windows and a write through one is read through the
 * other. The descriptor is opened O_RDWR whenever the backing file allows
 * it (not on a `ro` mount), so windows can be mapped writable; it falls
 * back to O_RDONLY when the backing file refuses writing.
 *
 * Size: b->size is the daemon's idea of the backing file's size. Readers
 * load it atomically without a lock; every store happens under b->lock,
 * which serialises grow, truncate, fallocate and refresh of one file. That
 * lock is held across ftruncate/fstat/fallocate on purpose (they are the
 * size change being serialised); it is never held across mmap, munmap or a
 * copy, and the window cache is told about shrinking only after it is
 * dropped. A stale size is harmless: a window past the real end faults, the
 * copy reports it, and the caller refreshes.
 *
 * Lifetime: refs counts open handles (plus short-lived internal users) and
 * is protected by inode->lock. The last release forgets the file's windows,
 * closes the descriptor and tells the inode table, which may now free an
 * inode the kernel already forgot.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "panefs/backing.h"
#include "panefs/inode.h"
#include "panefs/panefs.h"
#include "util.h"

uint64_t backing_size(const struct backing *b)
{
	return __atomic_load_n(&b->size, __ATOMIC_ACQUIRE);
}

/* Callers hold b->lock. */
static void set_size(struct backing *b, uint64_t size)
{
	__atomic_store_n(&b->size, size, __ATOMIC_RELEASE);
}

/* Access flags an adopted descriptor must not keep: O_APPEND would make
 * the pwrite() fallback of extent.c ignore its offset, O_DIRECT would
 * impose alignment on it. */
#define BAD_FD_FLAGS (O_APPEND | O_DIRECT | O_NONBLOCK)

/*
 * Decide which descriptor a new backing uses. Adopts fd (a descriptor that
 * create() just opened) when it is read-write, else opens the backing file
 * O_RDWR, falling back to O_RDONLY (or to the adopted read-only fd) when
 * writing is refused. Consumes fd. Returns the descriptor or -errno;
 * *writable tells which kind it is.
 */
static int open_fd(struct panefs *fs, struct inode *in, int fd, bool want_write,
		   bool *writable)
{
	int acc = -1;
	int flags = 0;
	int nfd;

	if (fd >= 0) {
		flags = fcntl(fd, F_GETFL);
		if (flags < 0) {
			nfd = neg_errno();
			goto out_close;
		}
		acc = flags & O_ACCMODE;
		if (acc == O_RDWR || (acc == O_RDONLY && fs->opt.ro)) {
			if ((flags & BAD_FD_FLAGS) &&
			    fcntl(fd, F_SETFL, flags & ~BAD_FD_FLAGS) < 0) {
				nfd = neg_errno();
				goto out_close;
			}
			*writable = acc == O_RDWR;
			return fd;
		}
	}

	if (!fs->opt.ro) {
		nfd = inode_open(fs, in, O_RDWR);
		if (nfd >= 0) {
			*writable = true;
			goto out_close;
		}
		if (nfd != -EACCES && nfd != -EPERM && nfd != -EROFS &&
		    nfd != -ETXTBSY)
			goto out_close;
		if (want_write)
			goto out_close;
	} else if (want_write) {
		nfd = -EROFS;
		goto out_close;
	}

	/* Reading only. An adopted O_RDONLY descriptor will do; an O_WRONLY
	 * one cannot be mapped at all. */
	*writable = false;
	if (acc == O_RDONLY) {
		if ((flags & BAD_FD_FLAGS) &&
		    fcntl(fd, F_SETFL, flags & ~BAD_FD_FLAGS) < 0) {
			nfd = neg_errno();
			goto out_close;
		}
		return fd;
	}
	nfd = inode_open(fs, in, O_RDONLY);
out_close:
	if (fd >= 0)
		close(fd);
	return nfd;
}

static int backing_new(struct panefs *fs, struct inode *in, int fd,
		       bool want_write, struct backing **out)
{
	struct backing *b;
	struct stat st;
	bool writable = false;
	int rc;

	b = calloc(1, sizeof(*b));
	if (!b) {
		rc = -ENOMEM;
		if (fd >= 0)
			close(fd);
		goto out;
	}
	rc = open_fd(fs, in, fd, want_write, &writable);
	if (rc < 0)
		goto out_free;
	b->wf.fd = rc;
	b->wf.writable = writable;
	if (fstat(b->wf.fd, &st) < 0) {
		rc = neg_errno();
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto out_close;
	}
	rc = -pthread_mutex_init(&b->lock, NULL);
	if (rc)
		goto out_close;
	b->wf.id = wcache_new_file_id(fs->wc);
	b->inode = in;
	b->size = (uint64_t)st.st_size;
	b->refs = 1;
	*out = b;
	return 0;

out_close:
	close(b->wf.fd);
out_free:
	free(b);
out:
	return rc;
}

/* Undo backing_new() for a backing that never became visible, or whose
 * last reference is gone. */
static void backing_destroy(struct panefs *fs, struct backing *b)
{
	wcache_forget(fs->wc, b->wf.id);
	close(b->wf.fd);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

int backing_open(struct panefs *fs, struct inode *in, int fd, bool want_write,
		 struct backing **out)
{
	struct backing *b, *nb = NULL;
	int rc = 0;

	pthread_mutex_lock(&in->lock);
	b = in->backing;
	if (b)
		b->refs++;
	pthread_mutex_unlock(&in->lock);

	if (!b) {
		/* Opening is I/O: do it unlocked and resolve a race with a
		 * concurrent first open afterwards. */
		rc = backing_new(fs, in, fd, want_write, &nb);
		fd = -1;
		if (rc)
			goto out;
		pthread_mutex_lock(&in->lock);
		b = in->backing;
		if (b)
			b->refs++;
		else
			in->backing = nb;
		pthread_mutex_unlock(&in->lock);
		if (!b) {
			b = nb;
			nb = NULL;
			goto done;
		}
		backing_destroy(fs, nb);
	}

	/* Shared with earlier opens: the adopted descriptor is not needed,
	 * and the file may have changed since (an O_TRUNC open, a writer
	 * outside the mount). */
	if (fd >= 0)
		close(fd);
	if (want_write && !b->wf.writable) {
		rc = fs->opt.ro ? -EROFS : -EACCES;
		backing_release(fs, b);
		goto out;
	}
	backing_refresh(fs, b);
done:
	*out = b;
out:
	return rc;
}

struct backing *backing_peek(struct panefs *fs, struct inode *in)
{
	struct backing *b;

	(void)fs;
	pthread_mutex_lock(&in->lock);
	b = in->backing;
	if (b)
		b->refs++;
	pthread_mutex_unlock(&in->lock);
	return b;
}

void backing_release(struct panefs *fs, struct backing *b)
{
	struct inode *in = b->inode;
	bool last;

	pthread_mutex_lock(&in->lock);
	last = --b->refs == 0;
	if (last)
		in->backing = NULL;
	pthread_mutex_unlock(&in->lock);
	if (!last)
		return;

	backing_touch_if_dirty(b);
	backing_destroy(fs, b);
	inode_release_backing_done(fs, in);
}

int backing_refresh(struct panefs *fs, struct backing *b)
{
	struct stat st;
	uint64_t old, now = 0;
	bool shrank = false;
	int rc = 0;

	pthread_mutex_lock(&b->lock);
	if (fstat(b->wf.fd, &st) < 0) {
		rc = neg_errno();
		goto out_unlock;
	}
	now = (uint64_t)st.st_size;
	old = backing_size(b);
	if (now != old)
		set_size(b, now);
	shrank = now < old;
out_unlock:
	pthread_mutex_unlock(&b->lock);
	if (shrank)
		wcache_truncate(fs->wc, b->wf.id, now);
	return rc;
}

int backing_grow(struct panefs *fs, struct backing *b, uint64_t size)
{
	struct stat st;
	int rc = 0;

	(void)fs;
	if (size <= backing_size(b))
		return 0;
	if (size > INT64_MAX)
		return -EFBIG;

	pthread_mutex_lock(&b->lock);
	if (size <= backing_size(b))
		goto out_unlock;
	/* Someone outside may have grown the file further than we know:
	 * ftruncate to our idea would cut their data off. */
	if (fstat(b->wf.fd, &st) < 0) {
		rc = neg_errno();
		goto out_unlock;
	}
	if ((uint64_t)st.st_size >= size) {
		set_size(b, (uint64_t)st.st_size);
		goto out_unlock;
	}
	if (ftruncate(b->wf.fd, (off_t)size) < 0) {
		rc = neg_errno();
		goto out_unlock;
	}
	set_size(b, size);
out_unlock:
	pthread_mutex_unlock(&b->lock);
	return rc;
}

/*
 * Block new zero-copy replies of b and wait for those in flight (see
 * backing_truncate() in backing.h). No lock is held by the replies: each
 * counts itself in zc_replies and then checks zc_block (ops_file.c), we
 * raise zc_block and then read zc_replies; with sequentially consistent
 * atomics at least one side sees the other. A reply takes microseconds.
 */
static void zc_drain(struct backing *b)
{
	static const struct timespec pause = {.tv_nsec = 20000};

	__atomic_add_fetch(&b->zc_block, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&b->zc_replies, __ATOMIC_SEQ_CST))
		nanosleep(&pause, NULL);
}

int backing_truncate(struct panefs *fs, struct backing *b, uint64_t size)
{
	bool shrink;
	int rc = 0;

	if (size > INT64_MAX)
		return -EFBIG;
	if (!b->wf.writable)
		return fs->opt.ro ? -EROFS : -EACCES;

	shrink = size < backing_size(b);
	if (shrink)
		zc_drain(b);
	pthread_mutex_lock(&b->lock);
	if (ftruncate(b->wf.fd, (off_t)size) < 0)
		rc = neg_errno();
	else
		set_size(b, size);
	pthread_mutex_unlock(&b->lock);
	/* Dropping windows may unmap: outside b->lock. Between the two a
	 * reader may still touch a window past the new end; it faults and
	 * copes, like any outside truncate. */
	if (!rc)
		wcache_truncate(fs->wc, b->wf.id, size);
	if (shrink)
		__atomic_sub_fetch(&b->zc_block, 1, __ATOMIC_SEQ_CST);
	return rc;
}

void backing_touch_if_dirty(struct backing *b)
{
	static const struct timespec ts[2] = {
	    {.tv_nsec = UTIME_OMIT},
	    {.tv_nsec = UTIME_NOW},
	};

	if (!__atomic_load_n(&b->mtime_dirty, __ATOMIC_ACQUIRE))
		return;
	if (!__atomic_exchange_n(&b->mtime_dirty, 0, __ATOMIC_ACQ_REL))
		return;
	/* Best effort: a failure leaves an older mtime, nothing worse. */
	(void)futimens(b->wf.fd, ts);
}

void backing_clear_dirty(struct backing *b)
{
	__atomic_store_n(&b->mtime_dirty, 0, __ATOMIC_RELEASE);
}

int backing_fsync(struct panefs *fs, struct backing *b, bool datasync)
{
	int rc;

	backing_touch_if_dirty(b);
	rc = wcache_flush(fs->wc, b->wf.id);
	if (rc)
		goto out;
	if ((datasync ? fdatasync(b->wf.fd) : fsync(b->wf.fd)) < 0)
		rc = neg_errno();
out:
	return rc;
}

void backing_refresh_if_open(struct panefs *fs, struct inode *in)
{
	struct backing *b;

	if (!in)
		return;
	b = backing_peek(fs, in);
	if (!b)
		return;
	backing_refresh(fs, b);
	backing_release(fs, b);
}

int backing_fallocate(struct panefs *fs, struct backing *b, int mode,
		      uint64_t off, uint64_t len)
{
	struct stat st;
	int rc = 0;

	if (!b->wf.writable)
		return fs->opt.ro ? -EROFS : -EBADF;
	if (off > INT64_MAX || len > INT64_MAX - off)
		return -EFBIG;

	pthread_mutex_lock(&b->lock);
	if (fallocate(b->wf.fd, mode, (off_t)off, (off_t)len) < 0) {
		rc = neg_errno();
		goto out_unlock;
	}
	if (!(mode & FALLOC_FL_KEEP_SIZE) && fstat(b->wf.fd, &st) == 0 &&
	    (uint64_t)st.st_size > backing_size(b))
		set_size(b, (uint64_t)st.st_size);
out_unlock:
	pthread_mutex_unlock(&b->lock);
	return rc;
}
