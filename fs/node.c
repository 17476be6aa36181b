/*
 * node.c - what each inode looks like in the mount; see node.h.
 *
 * Attributes of synthetic entries come from the backing file they show
 * (owner, mode bits, times), with the size of the part shown and an
 * inode number of their own (inode_synth_ino(): top bit set, so it never
 * equals a real one and tools that pair (st_dev, st_ino) see distinct
 * files). Set-ID bits are never shown on synthetic entries: executing a
 * chunk or a view is not executing the file. st_blocks is the file's,
 * scaled by the part shown, so `du` stays near the truth for sparse files.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "panefs/extent.h"
#include "panefs/inode.h"
#include "panefs/node.h"
#include "panefs/panefs.h"
#include "panefs/split.h"
#include "panefs/vtree.h"

static bool is_split_file(const struct panefs *fs, const struct inode *in)
{
	return fs->opt.split && in->kind == INODE_BACKING &&
	       in->type == S_IFREG;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Bytes [base, base + cap) of a file of size bytes that exist. */
static uint64_t part_len(uint64_t size, uint64_t base, uint64_t cap)
{
	return size > base ? min_u64(cap, size - base) : 0;
}

/* Turn the stat of a backing file into that of a part of it. */
static void as_part(struct stat *st, const struct inode *in, uint64_t len)
{
	uint64_t size = st->st_size > 0 ? (uint64_t)st->st_size : 0;

	st->st_mode = S_IFREG | (st->st_mode & 0777);
	st->st_ino = in->ino;
	st->st_nlink = 1;
	if (size)
		st->st_blocks =
		    (blkcnt_t)((unsigned __int128)st->st_blocks * len / size);
	st->st_size = (off_t)len;
}

/* A split file shows as a directory: searchable where readable. */
static void as_dir(struct stat *st)
{
	mode_t perm = st->st_mode & (0777 | S_ISVTX);

	st->st_mode = S_IFDIR | perm | ((perm & 0444) >> 2);
	st->st_nlink = 2;
}

static uint64_t view_len(const struct vnode *vn, uint64_t size)
{
	if (vn->length != VIEW_TO_END)
		return vn->length;
	return size > vn->offset ? size - vn->offset : 0;
}

int node_stat(struct panefs *fs, struct inode *in, struct stat *st)
{
	uint64_t size, split = fs->opt.split;
	int rc = 0;

	switch (in->kind) {
	case INODE_BACKING:
		rc = inode_stat(fs, in, st);
		if (!rc && is_split_file(fs, in))
			as_dir(st);
		break;
	case INODE_CHUNK:
	case INODE_VIEW:
		rc = inode_stat(fs, in->target, st);
		if (rc)
			break;
		size = st->st_size > 0 ? (uint64_t)st->st_size : 0;
		as_part(st, in,
			in->kind == INODE_CHUNK
			    ? part_len(size, in->index * split, split)
			    : view_len(in->vn, size));
		break;
	case INODE_VDIR:
		*st = fs->vt->dir_attr;
		st->st_ino = in->ino;
		st->st_nlink = 2 + in->vn->ndirs;
		break;
	}
	return rc;
}

/* The size of file in (a split file's), from SOURCE. */
static int file_size(struct panefs *fs, struct inode *in, uint64_t *size)
{
	struct stat st;
	int rc = inode_stat(fs, in, &st);

	if (!rc)
		*size = st.st_size > 0 ? (uint64_t)st.st_size : 0;
	return rc;
}

static int chunk_lookup(struct panefs *fs, struct inode *file, const char *name,
			struct stat *st, struct inode **out)
{
	uint64_t size, count, index;
	int rc;

	rc = file_size(fs, file, &size);
	if (rc)
		goto out;
	count = split_count(size, fs->opt.split);
	if (!split_parse(name, split_width(count), count, &index)) {
		rc = -ENOENT;
		goto out;
	}
	rc = inode_chunk_get(fs, file, index, out);
	if (rc)
		goto out;
	rc = node_stat(fs, *out, st);
	if (rc)
		inode_forget(fs, *out, 1);
out:
	return rc;
}

static int vdir_lookup(struct panefs *fs, struct inode *dir, const char *name,
		       struct stat *st, struct inode **out)
{
	const struct vnode *vn = dir->vn;
	struct vnode *kid;
	struct inode *in;
	int rc;

	if (strcmp(name, ".") == 0)
		in = dir;
	else if (strcmp(name, "..") == 0)
		in = vn->parent ? vn->parent->in : dir;
	else if ((kid = vnode_child(vn, name)))
		in = kid->in;
	else
		return -ENOENT;
	rc = node_stat(fs, in, st);
	if (!rc) {
		inode_ref(fs, in);
		*out = in;
	}
	return rc;
}

int node_lookup(struct panefs *fs, struct inode *dir, const char *name,
		struct stat *st, struct inode **out)
{
	int rc;

	if (dir->kind == INODE_VDIR)
		return vdir_lookup(fs, dir, name, st, out);
	if (dir->kind != INODE_BACKING)
		return -ENOTDIR;
	if (is_split_file(fs, dir)) {
		/* A split file's ".." is not known here (the kernel walks
		 * ".." itself); "." is the file. */
		if (strcmp(name, "..") == 0)
			return -ENOENT;
		if (strcmp(name, ".") == 0) {
			rc = node_stat(fs, dir, st);
			if (!rc) {
				inode_ref(fs, dir);
				*out = dir;
			}
			return rc;
		}
		return chunk_lookup(fs, dir, name, st, out);
	}
	rc = inode_lookup(fs, dir, name, st, out);
	if (!rc && is_split_file(fs, *out))
		as_dir(st);
	return rc;
}

struct inode *node_data_inode(struct inode *in)
{
	switch (in->kind) {
	case INODE_BACKING:
		return in;
	case INODE_CHUNK:
	case INODE_VIEW:
		return in->target;
	case INODE_VDIR:
		break;
	}
	return NULL;
}

bool node_is_synthetic(struct panefs *fs, struct inode *in)
{
	return in->kind != INODE_BACKING || is_split_file(fs, in);
}

bool node_is_synth_dir(struct panefs *fs, struct inode *in)
{
	return in->kind == INODE_VDIR || is_split_file(fs, in);
}

int node_may_edit(struct panefs *fs, struct inode *dir)
{
	if (fs->vt || dir->kind != INODE_BACKING || is_split_file(fs, dir))
		return -EPERM;
	return 0;
}

unsigned char node_dtype(struct panefs *fs, unsigned char d_type)
{
	if (fs->opt.split && d_type == DT_REG)
		return DT_DIR;
	return d_type;
}

int node_dir_entry(struct panefs *fs, struct inode *dir, uint64_t pos,
		   char *name, mode_t *type, uint64_t *ino)
{
	uint64_t size, count;
	const struct vnode *vn;
	int rc;

	if (dir->kind == INODE_VDIR) {
		vn = dir->vn;
		if (pos >= vn->nkids)
			return 0;
		snprintf(name, NAME_MAX + 1, "%s", vn->kids[pos]->name);
		*type = vn->kids[pos]->in->type;
		*ino = vn->kids[pos]->in->ino;
		return 1;
	}
	if (!is_split_file(fs, dir))
		return -ENOTDIR;
	rc = file_size(fs, dir, &size);
	if (rc)
		return rc;
	count = split_count(size, fs->opt.split);
	if (pos >= count)
		return 0;
	split_name(pos, split_width(count), name);
	*type = S_IFREG;
	*ino = inode_synth_ino(dir->dev, dir->ino, &pos, sizeof(pos));
	return 1;
}

int node_file(struct panefs *fs, struct inode *in, struct node_file *nf)
{
	memset(nf, 0, sizeof(*nf));
	switch (in->kind) {
	case INODE_BACKING:
		if (in->type == S_IFDIR || is_split_file(fs, in))
			return -EISDIR;
		if (in->type != S_IFREG)
			return -EINVAL;
		nf->target = in;
		nf->length = EXTENT_TO_END;
		nf->grow = true;
		nf->resizable = true;
		return 0;
	case INODE_CHUNK:
		nf->target = in->target;
		nf->base = in->index * fs->opt.split;
		nf->length = fs->opt.split;
		nf->grow = true;
		return 0;
	case INODE_VIEW:
		nf->target = in->target;
		nf->base = in->vn->offset;
		nf->length = in->vn->length == VIEW_TO_END ? EXTENT_TO_END
							   : in->vn->length;
		nf->ro = in->vn->ro;
		nf->direct = in->vn->shared;
		return 0;
	case INODE_VDIR:
		break;
	}
	return -EISDIR;
}
