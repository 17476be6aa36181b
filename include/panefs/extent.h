/*
 * extent.h - the one data path of every mode.
 *
 * Every regular file the mount shows is an extent of a backing file:
 * (backing, base, length, may grow). Passthrough files are (f, 0, size, yes),
 * views (f, off, len, no), chunks (f, k*S, min(S, size-k*S), no). Reads and
 * writes translate by base, clamp by length, and copy through the window
 * cache with safe_copy().
 */
#ifndef PANEFS_EXTENT_H
#define PANEFS_EXTENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct panefs;
struct backing;
struct wc_ref;

#define EXTENT_TO_END UINT64_MAX

/*
 * The four shapes the modes use:
 *   passthrough file  {f, 0,     TO_END, grow}  follows f's end, extends it
 *   split chunk k     {f, k*S,   S,      grow}  min(S, rest of f); the last
 *                                               chunk extends f up to S
 *   view "off len"    {f, off,   len,    no}    fixed
 *   view "off -"      {f, off,   TO_END, no}    follows f's end, never
 *                                               extends it
 * Writes past the length (or, without grow, past the backing file's end)
 * fail with -ENOSPC, as on a block device.
 */
struct extent {
	struct backing *b;
	uint64_t base;   /* offset in the backing file */
	uint64_t length; /* most bytes; EXTENT_TO_END: no limit */
	bool grow;       /* writes may extend the backing file (to base + length) */
};

/* True when the extent's length depends on the backing file's size. */
static inline bool extent_follows_end(const struct extent *e)
{
	return e->grow || e->length == EXTENT_TO_END;
}

/* Current length of the extent as seen by readers: the fixed length, or
 * min(length, backing size - base) for one that follows the end. */
uint64_t extent_length(const struct extent *e);

/* Read up to n bytes at off into buf. Returns bytes read (0 at/after end)
 * or -errno. A window that still faults after the size was refreshed
 * (e.g. a hole that a full tmpfs cannot back) is read with pread(), whose
 * errno (e.g. -EIO) is returned when no byte could be read. */
ssize_t extent_read(struct panefs *fs, const struct extent *e, void *buf,
		    size_t n, uint64_t off);

/*
 * Zero-copy read: pin the windows holding up to n bytes at off instead of
 * copying them, and describe the bytes with iov[0 .. *count) (one piece
 * per window, in order). The byte count follows exactly the rules of
 * extent_read(): clamped to the extent's length, the backing size
 * refreshed once when it ends short or when a growable extent ends before
 * n. Returns the bytes described (0 at/after the end, *count may then be
 * 0) with *count pins held in refs[], to be released with extent_unpin()
 * once the bytes have been used; or -errno with nothing pinned: -E2BIG
 * when more than max windows would be needed, or a wcache_get() error.
 * On any error, extent_read() is the fallback.
 *
 * The bytes are not touched here, so no fault can happen inside; whoever
 * reads them (e.g. the kernel copying a reply) must expect the file to
 * shrink underneath (EFAULT from a system call, SIGBUS in user space).
 */
ssize_t extent_read_pin(struct panefs *fs, const struct extent *e, size_t n,
			uint64_t off, struct wc_ref *refs, struct iovec *iov,
			unsigned max, unsigned *count);
/* Release the pins of extent_read_pin(); sets *count to 0. */
void extent_unpin(struct panefs *fs, struct wc_ref *refs, unsigned *count);

/* Write n bytes at off. A growable extent extends the backing file first; a
 * fixed one refuses bytes past its end with -ENOSPC (a partial write returns
 * the count that fit). Returns bytes written or -errno (-ENOSPC when a hole
 * cannot be allocated). */
ssize_t extent_write(struct panefs *fs, const struct extent *e,
		     const void *buf, size_t n, uint64_t off);

#endif
