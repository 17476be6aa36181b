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

struct panefs;
struct backing;

struct extent {
	struct backing *b;
	uint64_t base;   /* offset in the backing file */
	uint64_t length; /* fixed length; ignored when grow (backing size - base) */
	bool grow;       /* passthrough: length follows the backing file, writes extend it */
};

/* Current length of the extent as seen by readers. */
uint64_t extent_length(const struct extent *e);

/* Read up to n bytes at off into buf. Returns bytes read (0 at/after end)
 * or -errno (-EIO when the backing file faulted under us). */
ssize_t extent_read(struct panefs *fs, const struct extent *e, void *buf,
		    size_t n, uint64_t off);

/* Write n bytes at off. A growable extent extends the backing file first; a
 * fixed one refuses bytes past its end with -ENOSPC (a partial write returns
 * the count that fit). Returns bytes written or -errno (-ENOSPC when a hole
 * cannot be allocated). */
ssize_t extent_write(struct panefs *fs, const struct extent *e,
		     const void *buf, size_t n, uint64_t off);

#endif
