/*
 * inode.h - the low-level API's inode table.
 *
 * Inode number spaces (the fuse_ino_t the kernel sees):
 * - FUSE_ROOT_ID (1) is the root of SOURCE.
 * - Every other number is the address of a struct inode (as libfuse's
 *   passthrough_ll does): O(1) to resolve, valid until the kernel forgets it.
 * - Backing inodes mirror an entry of SOURCE. They are identified by the
 *   backing file system's file handle (name_to_handle_at), so the daemon
 *   holds no descriptor per looked-up inode (RLIMIT_NOFILE is 20,000 here
 *   and a `find` over a big tree would exhaust it). Where the backing file
 *   system has no handles, an O_PATH descriptor is held instead.
 * - Synthetic inodes (split chunks, view files and directories) have
 *   kind != INODE_BACKING, no handle and no descriptor: inode_open() and
 *   inode_pathfd_get() refuse them (-EINVAL). What they look like in the
 *   mount is node.c's business. Chunks live in the table's hash like
 *   backing inodes (made by a lookup, freed by FORGET) and hold one lookup
 *   on the file they cut; view files and view directories belong to the
 *   views tree (vtree.c), which frees them at unmount, never FORGET.
 * st_ino reported to the kernel is the backing st_ino, so inode numbers are
 * stable across lookups and remounts.
 */
#ifndef PANEFS_INODE_H
#define PANEFS_INODE_H

#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

struct panefs;
struct backing;
struct file_handle;

enum inode_kind {
	INODE_BACKING = 0,
	INODE_CHUNK, /* split mode: chunk `index` of regular file `target` */
	INODE_VIEW,  /* views mode: a view of `target` (vn) */
	INODE_VDIR,  /* views mode: a directory of the table (vn) */
};

struct vnode;

struct inode {
	/* Fixed after creation. */
	enum inode_kind kind;
	mode_t type;              /* S_IFMT bits */
	dev_t dev;                /* backing st_dev */
	ino_t ino;                /* backing st_ino */
	struct file_handle *fh;   /* NULL when pathfd is used instead */
	int pathfd;               /* O_PATH fd when no handle (and for root), else -1 */
	struct inode *target;     /* CHUNK: the file it cuts; VIEW: its backing file */
	uint64_t index;           /* CHUNK: chunk number */
	struct vnode *vn;         /* VIEW, VDIR: node of the views tree */

	/* Protected by the inode table lock. */
	uint64_t nlookup;
	struct inode *hnext;      /* hash chain */

	/* Protected by lock. */
	pthread_mutex_t lock;
	struct backing *backing;  /* shared open data; NULL when not open */
	/* Atomic: reads of this file to serve by copying, not zero-copy
	 * (ops_file.c, after a reply faulted). On the inode, not the
	 * backing, so that it outlives the open that faulted. */
	unsigned copy_reads;

	/* The backing file at the last open (kcache.h); valid if stamped. */
	bool stamped;
	uint64_t stamp_size;
	struct timespec stamp_mtime, stamp_ctime;
};

int inode_table_init(struct panefs *fs);   /* needs fs->source_fd */
void inode_table_destroy(struct panefs *fs);

/* The SOURCE directory's inode (never freed). */
struct inode *inode_root(struct panefs *fs);
/* The inode the mount's root shows (FUSE_ROOT_ID): the SOURCE root
 * unless set_top chose another (the views tree's root). */
struct inode *inode_top(struct panefs *fs);
void inode_set_top(struct panefs *fs, struct inode *in);
/*
 * Call fn(in, arg) for every inode in the table (the root and open inodes
 * included) with the table lock held: fn must be quick, do no I/O, and
 * take no lock but in->lock (the lock order allows it). Meant for sweeps
 * such as the shutdown flush, which only collects references here.
 */
void inode_for_each(struct panefs *fs, void (*fn)(struct inode *in, void *arg),
		    void *arg);
/* Resolve a kernel inode number. */
struct inode *inode_from_ino(struct panefs *fs, uint64_t ino);
/* The number to give the kernel for in. */
uint64_t inode_to_ino(struct panefs *fs, struct inode *in);

/*
 * Look up name in directory parent without following symlinks; name must be
 * one path component (no '/'). On success *st is filled, the inode is found
 * or created and its lookup count raised by one.
 */
int inode_lookup(struct panefs *fs, struct inode *parent, const char *name,
		 struct stat *st, struct inode **out);
/* Raise the lookup count by one (a reference handed to the kernel). */
void inode_ref(struct panefs *fs, struct inode *in);
/* Drop n lookups; frees the inode at zero (unless it is open, or owned by
 * the views tree). Freeing a chunk drops its lookup on the file. */
void inode_forget(struct panefs *fs, struct inode *in, uint64_t n);
/*
 * Called by backing_release() after the last open of in went away: it has
 * already set in->backing = NULL (under in->lock) and dropped every lock.
 * Frees in if the kernel has forgotten it meanwhile (nlookup == 0 and
 * in->backing still NULL), else does nothing. (The kernel holds its inode
 * until RELEASE is answered, so a racing FORGET is not expected; this is
 * for correctness if one comes anyway.)
 */
void inode_release_backing_done(struct panefs *fs, struct inode *in);

/*
 * Find or make the inode of chunk `index` of regular file inode `file`,
 * raising its lookup count by one. Its st_ino is chunk_ino. 0 or -ENOMEM.
 */
int inode_chunk_get(struct panefs *fs, struct inode *file, uint64_t index,
		    struct inode **out);
/* An inode number for synthetic entries: hashed from the parts, with the
 * top bit set so it never equals a real one. */
uint64_t inode_synth_ino(uint64_t a, uint64_t b, const void *p, size_t n);
/* A synthetic inode outside the table (views tree), nlookup 0, or NULL. */
struct inode *inode_synth_new(enum inode_kind kind, mode_t type);
void inode_synth_free(struct inode *in);

/*
 * Like inode_lookup, for the entry that descriptor fd names (O_PATH or
 * open; e.g. one just created): no name, so no race with renames. With
 * adopt, fd must be O_PATH and is consumed in all cases; otherwise the
 * caller keeps it. Raises the lookup count by one on success.
 */
int inode_lookup_fd(struct panefs *fs, int fd, bool adopt, struct stat *st,
		    struct inode **out);
/* lstat of the backing entry (falls back to the open backing descriptor
 * when the entry is gone but still open). 0 or -errno. */
int inode_stat(struct panefs *fs, struct inode *in, struct stat *st);

/*
 * Open the backing entry with open(2) flags (O_PATH allowed; O_NOFOLLOW and
 * O_CLOEXEC are added). Returns a new fd that the caller closes, or -errno.
 */
int inode_open(struct panefs *fs, struct inode *in, int flags);

/*
 * A descriptor naming the entry for *at() calls (O_PATH; for the root and
 * held-pathfd inodes it is the held one). Pair every get with a put.
 */
int inode_pathfd_get(struct panefs *fs, struct inode *in);
void inode_pathfd_put(struct panefs *fs, struct inode *in, int fd);

#endif
