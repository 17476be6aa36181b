/*
 * node.h - what each inode looks like in the mount, whatever the mode.
 *
 * The inode table knows backing entries and synthetic inodes; this layer
 * decides how the kernel sees them:
 * - passthrough: as they are in SOURCE;
 * - split (split=S): a regular file F of SOURCE shows as a directory whose
 *   entries are F's chunks (INODE_CHUNK), each a regular file;
 * - views (views=FILE): only the table's tree (INODE_VDIR, INODE_VIEW).
 * The FUSE handlers ask here first and pass through to SOURCE only what
 * node_may_edit() allows. No FUSE in here.
 */
#ifndef PANEFS_NODE_H
#define PANEFS_NODE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

struct panefs;
struct inode;

/* Attributes as the mount shows them. */
int node_stat(struct panefs *fs, struct inode *in, struct stat *st);

/* Look name up in dir as the mount shows it; on success raises the
 * lookup count of *out by one. -ENOENT, -ENOTDIR, ... */
int node_lookup(struct panefs *fs, struct inode *dir, const char *name,
		struct stat *st, struct inode **out);

/* The backing inode whose bytes and attributes in shows: itself, a
 * chunk's or a view's file; NULL for a views directory. */
struct inode *node_data_inode(struct inode *in);

/* True when in is a synthetic entry (chunk, view, views directory) or a
 * split file: the mount shows something SOURCE does not have there. */
bool node_is_synthetic(struct panefs *fs, struct inode *in);

/* A directory the mount lists itself (a split file, a views directory). */
bool node_is_synth_dir(struct panefs *fs, struct inode *in);

/* 0 if names may be made, removed and renamed in dir (a SOURCE
 * directory outside views mode), else -EPERM. */
int node_may_edit(struct panefs *fs, struct inode *dir);

/* readdir(3)'s d_type as the mount shows an entry of a SOURCE directory
 * (a regular file is a directory in split mode). */
unsigned char node_dtype(struct panefs *fs, unsigned char d_type);

/*
 * Entry number pos (0-based; "." and ".." not counted) of a synthetic
 * directory: its name (room for NAME_MAX + 1), S_IFMT type and st_ino.
 * Returns 1 with the entry, 0 past the last, or -errno.
 */
int node_dir_entry(struct panefs *fs, struct inode *dir, uint64_t pos,
		   char *name, mode_t *type, uint64_t *ino);

/* The shape of a file the mount shows as regular (extent.h). */
struct node_file {
	struct inode *target; /* the backing file's inode */
	uint64_t base;
	uint64_t length;      /* EXTENT_TO_END or a fixed length */
	bool grow;
	bool ro;              /* a read-only view */
	bool resizable;       /* truncate allowed: passthrough files only */
	bool direct;          /* serve without the kernel's page cache (a
				 view overlapping another: vtree.h) */
};
/* 0, or -EISDIR / -EINVAL for what is not shown as a regular file. */
int node_file(struct panefs *fs, struct inode *in, struct node_file *nf);

#endif
