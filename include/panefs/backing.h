/*
 * backing.h - one object per open backing file.
 *
 * Every open of the same inode shares one struct backing (fd, cached size,
 * wcache identity), so windows are shared too. It lives while any open file
 * handle refers to it; at the last release its windows are forgotten and its
 * fd closed.
 */
#ifndef PANEFS_BACKING_H
#define PANEFS_BACKING_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "panefs/wcache.h"

struct panefs;
struct inode;

struct backing {
	struct wc_file wf;        /* id, fd, writable: fixed after open */
	struct inode *inode;      /* owner; fixed */
	pthread_mutex_t lock;     /* serialises size changes (grow, truncate) */
	uint64_t size;            /* cached size: atomic loads; stores under lock */
	unsigned refs;            /* open handles; protected by inode->lock */
	int mtime_dirty;          /* atomic: written since the last touch */
	unsigned zc_replies;      /* atomic: zero-copy replies in flight */
	unsigned zc_block;        /* atomic: shrinks waiting for them; while
				     non-zero, reads copy instead */
};

/*
 * Get the shared backing for inode in, opening it if needed. If fd >= 0 it
 * is a freshly created/opened descriptor to adopt (consumed in all cases).
 * A read-write fd is used whenever the backing file allows it, so that
 * windows can be written; want_write says the caller needs that.
 */
int backing_open(struct panefs *fs, struct inode *in, int fd, bool want_write,
		 struct backing **out);
void backing_release(struct panefs *fs, struct backing *b);

/* Current cached size (atomic). */
uint64_t backing_size(const struct backing *b);
/* fstat the fd; adopt an outside size change (dropping windows if it shrank). */
int backing_refresh(struct panefs *fs, struct backing *b);
/* Make the backing file at least `size` bytes (ftruncate, never shrinks). */
int backing_grow(struct panefs *fs, struct backing *b, uint64_t size);
/* ftruncate to size, then drop windows past it. A shrink first waits
 * for the file's zero-copy replies in flight (the kernel would fail a
 * reply whose pages vanish with EIO, which a truncate on a local file
 * system never causes); reads that start meanwhile copy instead. */
int backing_truncate(struct panefs *fs, struct backing *b, uint64_t size);
/* A write through a window does not reliably update the file's mtime
 * (the page may already be writable). Writes mark the backing; this sets
 * mtime/ctime to now if it was marked, and clears the mark. */
void backing_touch_if_dirty(struct backing *b);
/* Forget the mark without touching (explicit times are about to be set). */
void backing_clear_dirty(struct backing *b);
/* msync the file's windows then fsync (datasync: fdatasync) the fd. */
int backing_fsync(struct panefs *fs, struct backing *b, bool datasync);

/* The inode's shared backing with one more reference (release it with
 * backing_release), or NULL when the inode is not open. Opens nothing. */
struct backing *backing_peek(struct panefs *fs, struct inode *in);
/* fallocate(2) on the backing file (offsets in the backing file), keeping
 * the cached size in step. Windows need no dropping: a punched or zeroed
 * range reads as zeros through MAP_SHARED. 0 or -errno. */
int backing_fallocate(struct panefs *fs, struct backing *b, int mode,
		      uint64_t off, uint64_t len);

/*
 * If inode in is open (has a backing), adopt the backing file's current
 * size: an outside truncate drops windows past the new end at once, an
 * outside append is seen by the next read. Cheap (one fstat) and a no-op
 * for inodes that are not open.
 */
void backing_refresh_if_open(struct panefs *fs, struct inode *in);

#endif
