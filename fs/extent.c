/*
 * extent.c - the one data path: extents of a backing file, copied through
 * the window cache.
 *
 * An extent is (backing, base, length, grow). Offsets are translated by
 * base and clamped by the length (for a growable extent, the backing size
 * minus base), then split at window boundaries; each piece is a pin of one
 * window, one safe_copy() and an unpin. No lock is held while copying: the
 * only shared state read here is the backing's size, loaded atomically.
 *
 * Faults: a window may outlive the bytes it maps (another process truncated
 * the backing file) or a store may hit a hole the disk has no room for. The
 * copy then returns -EFAULT instead of dying of SIGBUS. A read refreshes the
 * size (dropping stale windows) and retries once; if the window still
 * faults, the rest is read with pread(), which tells the truth: EOF, the
 * bytes, zeros of a hole that a full tmpfs cannot back with a page (a
 * MAP_SHARED read fault on tmpfs allocates one), or the real errno. A
 * write repeats the rest with pwrite(), which either succeeds (the fault
 * was a race with a truncate) or fails with the real errno (ENOSPC,
 * EDQUOT, EIO).
 *
 * Zero-copy reads (extent_read_pin) pin the windows and hand out their
 * addresses without touching the bytes; the clamping and refresh rules are
 * those of extent_read(), so both paths answer the same count.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <unistd.h>

#include "panefs/backing.h"
#include "panefs/extent.h"
#include "panefs/panefs.h"
#include "panefs/safecopy.h"
#include "panefs/wcache.h"
#include "util.h"

/* Largest file offset + 1 that off_t can express. */
#define OFF_LIMIT ((uint64_t)INT64_MAX)

static inline uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

uint64_t extent_length(const struct extent *e)
{
	uint64_t size;

	if (!extent_follows_end(e))
		return e->length;
	size = backing_size(e->b);
	return min_u64(e->length, size > e->base ? size - e->base : 0);
}

/*
 * Copy between buf and the backing bytes [pos, pos + n) window by window.
 * to_file selects the direction. Stops early at the backing's cached end.
 * Returns bytes copied; *fault is set to the error that stopped it
 * (-EFAULT from a caught fault, or a wcache_get() error), 0 otherwise.
 */
static size_t copy_windows(struct panefs *fs, struct backing *b, char *buf,
			   size_t n, uint64_t pos, bool to_file, int *fault)
{
	struct wc_ref ref;
	uint64_t size, end, chunk;
	char *win;
	size_t done = 0;
	int rc = 0;

	while (done < n) {
		size = backing_size(b);
		if (pos >= size)
			break;
		rc = wcache_get(fs->wc, &b->wf, pos, size, &ref);
		if (rc)
			break;
		/* The window may map past the end of the file (page
		 * rounding, or a size that changed since): clamp to both. */
		end = min_u64(ref.start + ref.len, size);
		chunk = min_u64(n - done, end - pos);
		win = ref.base + (pos - ref.start);
		if (to_file)
			rc = safe_copy(win, buf + done, chunk);
		else
			rc = safe_copy(buf + done, win, chunk);
		wcache_put(fs->wc, &ref);
		if (rc)
			break;
		done += chunk;
		pos += chunk;
	}
	*fault = rc;
	return done;
}

/*
 * Move with pread()/pwrite() what a window copy could not: they know the
 * real end of the file and the errno behind a fault (ENOSPC, EIO). Returns
 * bytes moved (short at EOF) or -errno when nothing could be moved.
 */
static ssize_t fd_rest(struct backing *b, char *buf, size_t n, uint64_t pos,
		       bool to_file)
{
	ssize_t r;
	size_t done = 0;

	while (done < n) {
		if (to_file)
			r = pwrite(b->wf.fd, buf + done, n - done,
				   (off_t)(pos + done));
		else
			r = pread(b->wf.fd, buf + done, n - done,
				  (off_t)(pos + done));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return done ? (ssize_t)done : neg_errno();
		}
		if (r == 0)
			break;
		done += r;
	}
	return done;
}

/* The most bytes a read of n at off may return: 0 when off lies past
 * what off_t can address in the backing file, at most SSIZE_MAX. */
static size_t read_clamp(const struct extent *e, size_t n, uint64_t off)
{
	if (off >= OFF_LIMIT || e->base > OFF_LIMIT - off)
		return 0;
	return n > SSIZE_MAX ? SSIZE_MAX : n;
}

ssize_t extent_read(struct panefs *fs, const struct extent *e, void *buf,
		    size_t n, uint64_t off)
{
	uint64_t len;
	size_t want, done = 0, got;
	bool refreshed = false;
	int fault = 0;
	ssize_t ret, rest;

	n = read_clamp(e, n, off);
	if (n == 0) {
		ret = 0;
		goto out;
	}

again:
	len = extent_length(e);
	if (off + done < len && done < n) {
		want = min_u64(n - done, len - (off + done));
		got = copy_windows(fs, e->b, (char *)buf + done, want,
				   e->base + off + done, false, &fault);
		done += got;
		if ((fault == -EFAULT || (!fault && got < want)) &&
		    !refreshed) {
			/*
			 * Truncated under a window, or the backing file is
			 * shorter than the extent: adopt the real size (which
			 * drops stale windows) and retry what is left; the
			 * retry sees the new end.
			 */
			refreshed = true;
			backing_refresh(fs, e->b);
			goto again;
		}
		if (fault == -EFAULT) {
			/* Faulted again with a fresh size: the memory cannot
			 * be had (a hole on a full tmpfs, a file shrinking
			 * again). Ask pread() for the truth. */
			rest = fd_rest(e->b, (char *)buf + done, want - got,
				       e->base + off + done, false);
			if (rest < 0 && !done) {
				ret = rest;
				goto out;
			}
			ret = done + (rest > 0 ? rest : 0);
			goto out;
		}
		if (fault && done) {
			ret = done;
			goto out;
		}
		if (fault) {
			ret = fault;
			goto out;
		}
	}
	if (done < n && extent_follows_end(e) && !refreshed) {
		/* A short read means EOF to the kernel; someone outside the
		 * mount may have grown the file, so ask once first. */
		refreshed = true;
		if (backing_refresh(fs, e->b) == 0 && extent_length(e) > len)
			goto again;
	}
	ret = done;
out:
	return ret;
}

/*
 * Pin the windows holding backing bytes [pos, pos + n), at most max of
 * them, stopping at the backing's cached end. Returns the bytes covered;
 * *count pins are then held (also on error). *err is 0, -E2BIG (more than
 * max windows needed) or a wcache_get() error.
 */
static size_t pin_windows(struct panefs *fs, struct backing *b, size_t n,
			  uint64_t pos, struct wc_ref *refs, struct iovec *iov,
			  unsigned max, unsigned *count, int *err)
{
	struct wc_ref *ref;
	uint64_t size, end, chunk;
	size_t done = 0;
	int rc = 0;

	while (done < n) {
		size = backing_size(b);
		if (pos >= size)
			break;
		if (*count == max) {
			rc = -E2BIG;
			break;
		}
		ref = &refs[*count];
		rc = wcache_get(fs->wc, &b->wf, pos, size, ref);
		if (rc)
			break;
		/* Clamped like copy_windows(): page rounding, a moved end. */
		end = min_u64(ref->start + ref->len, size);
		chunk = min_u64(n - done, end - pos);
		iov[*count].iov_base = ref->base + (pos - ref->start);
		iov[*count].iov_len = chunk;
		(*count)++;
		done += chunk;
		pos += chunk;
	}
	*err = rc;
	return done;
}

void extent_unpin(struct panefs *fs, struct wc_ref *refs, unsigned *count)
{
	unsigned i;

	for (i = 0; i < *count; i++)
		wcache_put(fs->wc, &refs[i]);
	*count = 0;
}

ssize_t extent_read_pin(struct panefs *fs, const struct extent *e, size_t n,
			uint64_t off, struct wc_ref *refs, struct iovec *iov,
			unsigned max, unsigned *count)
{
	uint64_t len;
	size_t want, got;
	bool refreshed = false;
	int err = 0;
	ssize_t ret;

	*count = 0;
	n = read_clamp(e, n, off);
	if (n == 0) {
		ret = 0;
		goto out;
	}

again:
	len = extent_length(e);
	got = 0;
	if (off < len && n) {
		want = min_u64(n, len - off);
		got = pin_windows(fs, e->b, want, e->base + off, refs, iov, max,
				  count, &err);
		if (err) {
			ret = err;
			goto out_unpin;
		}
		if (got < want && !refreshed) {
			/* The backing file is shorter than we thought: as in
			 * extent_read(), adopt its size once and start over. */
			extent_unpin(fs, refs, count);
			refreshed = true;
			backing_refresh(fs, e->b);
			goto again;
		}
	}
	if (got < n && extent_follows_end(e) && !refreshed) {
		/* A short reply means EOF to the kernel: ask once whether
		 * the file grew outside the mount. */
		refreshed = true;
		if (backing_refresh(fs, e->b) == 0 && extent_length(e) > len) {
			extent_unpin(fs, refs, count);
			goto again;
		}
	}
	ret = got;
	goto out;

out_unpin:
	extent_unpin(fs, refs, count);
out:
	return ret;
}

ssize_t extent_write(struct panefs *fs, const struct extent *e, const void *buf,
		     size_t n, uint64_t off)
{
	struct backing *b = e->b;
	uint64_t pos, size;
	size_t done;
	ssize_t rest, ret;
	int fault;

	if (!b->wf.writable) {
		ret = fs->opt.ro ? -EROFS : -EBADF;
		goto out;
	}
	if (n > SSIZE_MAX)
		n = SSIZE_MAX;
	if (n == 0) {
		ret = 0;
		goto out;
	}
	if (off >= OFF_LIMIT || e->base > OFF_LIMIT - off ||
	    n > OFF_LIMIT - (e->base + off)) {
		ret = e->length == EXTENT_TO_END ? -EFBIG : -ENOSPC;
		goto out;
	}
	pos = e->base + off;

	if (e->length != EXTENT_TO_END) {
		/* A block device's behaviour: bytes past the end do not
		 * fit, a write that straddles the end is cut short. */
		if (off >= e->length) {
			ret = -ENOSPC;
			goto out;
		}
		n = min_u64(n, e->length - off);
	}
	if (e->grow && e->length != EXTENT_TO_END &&
	    pos + n > backing_size(b)) {
		/* A chunk extends the file only while it is a part of it
		 * (the last one): a chunk the file shrank away from outside
		 * stays gone rather than coming back over a hole. */
		backing_refresh(fs, b);
		if (e->base >= backing_size(b)) {
			ret = -ENOSPC;
			goto out;
		}
	}
	if (e->grow) {
		ret = backing_grow(fs, b, pos + n);
		if (ret)
			goto out;
	} else {
		/* An extent without grow never extends its backing file: what
		 * lies past a (shrunk) backing end does not fit either. */
		size = backing_size(b);
		if (pos + n > size) {
			backing_refresh(fs, b);
			size = backing_size(b);
			if (pos >= size) {
				ret = -ENOSPC;
				goto out;
			}
			n = min_u64(n, size - pos);
		}
	}

	done = copy_windows(fs, b, (char *)buf, n, pos, true, &fault);
	if (done)
		__atomic_store_n(&b->mtime_dirty, 1, __ATOMIC_RELEASE);
	if (done == n) {
		ret = done;
		goto out;
	}
	if (fault && fault != -EFAULT) {
		/* No window (e.g. -ENOMEM): report what was written. */
		ret = done ? (ssize_t)done : fault;
		goto out;
	}
	/*
	 * A fault (disk full while filling a hole, or a truncate racing
	 * with us) or the backing end moved below us. pwrite() the rest:
	 * it succeeds, extending the file like a racing write(2) would, or
	 * it fails with the errno the fault stood for.
	 */
	if (!e->grow) {
		/* Not past the real end of the backing file, though. */
		backing_refresh(fs, b);
		size = backing_size(b);
		n = min_u64(n, size > pos ? size - pos : 0);
	} else if (e->length != EXTENT_TO_END) {
		/* Nor into a chunk the file shrank away from. */
		backing_refresh(fs, b);
		if (e->base >= backing_size(b))
			n = done;
	}
	if (done >= n) {
		ret = done ? (ssize_t)done : -ENOSPC;
		goto out;
	}
	rest = fd_rest(b, (char *)buf + done, n - done, pos + done, true);
	if (rest > 0)
		__atomic_store_n(&b->mtime_dirty, 1, __ATOMIC_RELEASE);
	if (rest < 0)
		ret = done ? (ssize_t)done : rest;
	else
		ret = done + rest;
	if (e->grow && rest > 0)
		backing_refresh(fs, b);
out:
	return ret;
}
