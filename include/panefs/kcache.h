/*
 * kcache.h - when the kernel may keep its page cache of a file across opens.
 *
 * The kernel keeps a page cache per FUSE inode. Dropping it at every open
 * (keep_cache=0) makes a re-read of a file as slow as the first read; keeping
 * it blindly would serve stale bytes after the backing file changed outside
 * the mount. So each inode remembers a stamp of its backing file - size,
 * mtime and ctime - taken at its last open, and an open keeps the cache
 * only when the stamp still matches (FOPEN_KEEP_CACHE). Writes through the
 * mount keep the kernel's cache coherent themselves, but they move mtime:
 * the release of a handle opened for writing forgets the stamp, so the next
 * open starts clean. For files that stay open, the kernel drops the cache
 * when a refreshed size differs; a same-size change made outside the mount
 * is seen at the next open (AUTO_INVAL_DATA is off: see ops.c).
 *
 * The stamp lives in struct inode under in->lock. No FUSE in here.
 */
#ifndef PANEFS_KCACHE_H
#define PANEFS_KCACHE_H

#include <stdbool.h>

struct inode;

/* At an open of in whose backing file is open as fd: true when the
 * kernel's page cache of in may be kept (the backing file has not changed
 * since the last open). Records the current stamp either way; an fstat
 * failure answers false. */
bool kcache_open(struct inode *in, int fd);
/* Forget the stamp: the next open drops the kernel's cache. */
void kcache_forget(struct inode *in);

#endif
