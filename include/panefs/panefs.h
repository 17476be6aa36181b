/*
 * panefs.h - the one struct everything hangs off. No globals: a test can
 * make two.
 *
 * Lock order (outer first): inode table lock -> inode->lock ->
 * backing->lock -> wcache shard locks. No lock is held across mmap,
 * munmap, msync, I/O or a fuse_reply_*() call.
 */
#ifndef PANEFS_PANEFS_H
#define PANEFS_PANEFS_H

#include <stdint.h>

#include "panefs/options.h"
#include "panefs/wcache.h"

struct inode_table;
struct stats;
struct vtree;

struct panefs {
	struct panefs_options opt;
	struct wcache *wc;
	int source_fd;             /* O_PATH|O_DIRECTORY of SOURCE; mount_fd for handles */
	struct inode_table *itab;
	struct vtree *vt;          /* views mode: the table's tree; else NULL */
	struct stats *stats;       /* counters (stats.h); lock-free */
	double attr_timeout;       /* seconds; entry and attribute timeouts */
	double entry_timeout;
};

#endif
