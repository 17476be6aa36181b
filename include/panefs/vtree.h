/*
 * vtree.h - the tree a views table shows (views mode).
 *
 * Built once at start from a parsed table (views.h): every directory on
 * the way to a NAME becomes a VDIR node, every view a VIEW node, every
 * partitions line a VDIR with one VIEW per partition (p1, p2, ...). Each
 * node owns one synthetic inode (inode.h) for the mount's life; a VIEW's
 * inode has target = the backing file's inode, on which the tree holds a
 * lookup. The tree never changes after the build, so it is read without
 * locks.
 *
 * The build checks what the parser cannot: BACKING exists below SOURCE
 * (resolved with openat2(RESOLVE_BENEATH), so neither "..", an absolute
 * symlink nor a symlink out of SOURCE is followed out), is a regular file,
 * OFFSET and LENGTH lie inside it, and a partitions image has a readable
 * table. An error names the table line.
 *
 * Views that overlap another view of the same file are marked shared:
 * the kernel keeps a page cache per file it sees, so a write through one
 * view would leave stale pages in the other's cache. Shared views are
 * opened with direct I/O (no kernel page cache; every read is answered
 * from the windows, which both views share), which makes them coherent
 * at once, at the price of MAP_SHARED mmap (ENODEV with libfuse 3.14,
 * which cannot ask for FUSE_DIRECT_IO_ALLOW_MMAP).
 */
#ifndef PANEFS_VTREE_H
#define PANEFS_VTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "panefs/views.h"

struct panefs;
struct inode;

struct vnode {
	struct inode *in;       /* VIEW or VDIR inode; in->vn == this */
	char *name;             /* last component; "" for the root */
	struct vnode *parent;   /* NULL for the root */
	struct vnode **kids;    /* VDIR: sorted by name (strcmp) */
	size_t nkids;
	size_t ndirs;           /* VDIR: how many kids are directories */
	/* VIEW: bytes [offset, offset + length) of in->target's file */
	uint64_t offset;
	uint64_t length;        /* VIEW_TO_END: to the backing file's end */
	bool ro;
	bool shared;            /* VIEW: overlaps another view of its file */
};

struct vtree {
	struct vnode *root;
	struct stat dir_attr;   /* owner, mode bits and times of directories */
};

/*
 * Build the tree for table t in fs (inode table ready). On success sets
 * fs->vt and makes the root the mount's top inode. On error returns
 * -EINVAL (or -errno) with err filled (line = the table line), and leaves
 * nothing behind.
 */
int vtree_build(struct panefs *fs, const struct view_table *t,
		struct views_error *err);
void vtree_destroy(struct panefs *fs);

/* The child called name of directory node dir, or NULL. */
struct vnode *vnode_child(const struct vnode *dir, const char *name);

#endif
