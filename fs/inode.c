/*
 * inode.c - the inode table of the low-level API.
 *
 * What it guarantees
 * - One struct inode per backing object, whichever name or how many times
 *   it was looked up. Inodes are keyed by (st_dev, file handle); the handle
 *   carries the file system's generation number, so a deleted file whose
 *   st_ino is reused never aliases the new file. Where the backing file
 *   system has no file handles (name_to_handle_at gives EOPNOTSUPP) the key
 *   is (st_dev, st_ino) and the inode holds an O_PATH descriptor, which pins
 *   the backing inode so that its number cannot be reused while we know it.
 * - The root is SOURCE itself, always present, never freed; a lookup of
 *   ".." in the root answers the root, so no walk leaves SOURCE. Names are
 *   single components and symlinks are never followed (O_NOFOLLOW, *at()
 *   with names, handles).
 * - Descriptors are bounded (RLIMIT_NOFILE is 20,000 here; a `find` over a
 *   big tree must not exhaust it). Handle inodes hold no descriptor. O_PATH
 *   descriptors for *at() calls come from a cache of at most
 *   PATHFD_CACHE_MAX (256) entries, least recently used evicted; an entry in
 *   use is never closed under its user, and when all 256 are in use a get
 *   hands out a private descriptor that its put closes (so the total is
 *   256 + the number of requests in flight). Besides these the table holds
 *   two descriptors for the root (O_PATH, and O_RDONLY to decode handles:
 *   open_by_handle_at refuses an O_PATH mount_fd), one per other mounted
 *   file system met under SOURCE (at most MOUNTS_MAX, to decode handles
 *   there), and one per inode on a file system without handles (the only
 *   unbounded case).
 *
 * Lifetime: nlookup counts the kernel's references (every entry reply
 * raises it by one, FORGET drops it). An inode is freed when it reaches
 * zero, unless it is open (in->backing != NULL): then the backing's last
 * release frees it through inode_release_backing_done(). The kernel holds
 * its inode until RELEASE is answered, so FORGET cannot overtake the
 * release path.
 *
 * Stale handles: open_by_handle_at() fails with ESTALE once the backing
 * object is gone. That error is passed on unchanged: the VFS retries a path
 * walk that gets ESTALE once with LOOKUP_REVAL, which makes FUSE look the
 * name up again and so answer ENOENT (or find the new file under that name)
 * instead of a confusing "stale handle".
 *
 * Locks (see panefs.h for the global order): t->lock protects the hash and
 * every nlookup; it is taken before in->lock. pfd_lock (the descriptor
 * cache) and mnt_lock (the mount table) are leaves. No lock is held across
 * an open, close or stat, except that t->lock nests in->lock to read
 * in->backing.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "panefs/backing.h"
#include "panefs/inode.h"
#include "panefs/panefs.h"
#include "util.h"

/* FUSE_ROOT_ID; this file does not include libfuse. */
#define ROOT_ID 1

#define PATHFD_CACHE_MAX 256
#define PATHFD_HASH 512 /* power of two */
#define MOUNTS_MAX 32
#define HASH_MIN 1024 /* power of two */

/* A file handle with room for the largest one any file system makes. */
union handle_buf {
	struct file_handle fh;
	char buf[sizeof(struct file_handle) + MAX_HANDLE_SZ];
};

/* One cached O_PATH descriptor. */
struct pfd_ent {
	struct inode *in; /* NULL while on the free list */
	int fd;
	unsigned users;	       /* gets not yet put; never evicted while > 0 */
	struct pfd_ent *hnext; /* hash chain */
	struct pfd_ent *prev;  /* LRU list, most recent after the sentinel */
	struct pfd_ent *next;  /* LRU list, or free list */
};

/* A descriptor on another mounted file system, to decode its handles. */
struct mount_ent {
	dev_t dev;
	int fd;
};

struct inode_table {
	pthread_mutex_t lock;
	struct inode **buckets; /* protected by lock */
	size_t nbuckets;	/* protected by lock; power of two */
	size_t count;		/* protected by lock */
	struct inode *root;	/* fixed */
	struct inode *top;	/* fixed after start: what FUSE_ROOT_ID shows */
	int root_mfd;		/* fixed: SOURCE opened O_RDONLY, to decode
				   handles (O_PATH will not do there) */

	pthread_mutex_t pfd_lock;
	struct pfd_ent ents[PATHFD_CACHE_MAX]; /* protected by pfd_lock */
	struct pfd_ent *pfd_hash[PATHFD_HASH]; /* protected by pfd_lock */
	struct pfd_ent lru;		       /* sentinel; pfd_lock */
	struct pfd_ent *pfd_free;	       /* protected by pfd_lock */

	pthread_mutex_t mnt_lock;
	struct mount_ent mounts[MOUNTS_MAX]; /* protected by mnt_lock */
	unsigned nmounts;		     /* protected by mnt_lock */
};

/* ---- hashing ------------------------------------------------------- */

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;

	while (n--) {
		h ^= *c++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t key_hash(dev_t dev, ino_t ino, const struct file_handle *fh)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	h = fnv1a(h, &dev, sizeof(dev));
	if (fh) {
		h = fnv1a(h, &fh->handle_type, sizeof(fh->handle_type));
		h = fnv1a(h, fh->f_handle, fh->handle_bytes);
	} else {
		h = fnv1a(h, &ino, sizeof(ino));
	}
	return h;
}

static bool key_match(const struct inode *in, dev_t dev, ino_t ino,
		      const struct file_handle *fh)
{
	if (in->dev != dev || in->kind != INODE_BACKING)
		return false;
	if (!fh || !in->fh)
		return !fh && !in->fh && in->ino == ino;
	return in->fh->handle_type == fh->handle_type &&
	       in->fh->handle_bytes == fh->handle_bytes &&
	       memcmp(in->fh->f_handle, fh->f_handle, fh->handle_bytes) == 0;
}

static size_t inode_bucket(const struct inode_table *t, const struct inode *in)
{
	return key_hash(in->dev, in->ino, in->fh) & (t->nbuckets - 1);
}

/* Called with t->lock held. */
static struct inode *hash_find(struct inode_table *t, dev_t dev, ino_t ino,
			       const struct file_handle *fh)
{
	struct inode *in;

	in = t->buckets[key_hash(dev, ino, fh) & (t->nbuckets - 1)];
	for (; in; in = in->hnext)
		if (key_match(in, dev, ino, fh))
			return in;
	return NULL;
}

/* Called with t->lock held. Doubling is best effort: a failed allocation
 * only makes chains longer. */
static void hash_grow(struct inode_table *t)
{
	size_t n = t->nbuckets * 2, i;
	struct inode **nb, *in, *next;

	nb = calloc(n, sizeof(*nb));
	if (!nb)
		return;
	for (i = 0; i < t->nbuckets; i++) {
		for (in = t->buckets[i]; in; in = next) {
			size_t b = key_hash(in->dev, in->ino, in->fh) & (n - 1);

			next = in->hnext;
			in->hnext = nb[b];
			nb[b] = in;
		}
	}
	free(t->buckets);
	t->buckets = nb;
	t->nbuckets = n;
}

/* Called with t->lock held. */
static void hash_insert(struct inode_table *t, struct inode *in)
{
	size_t b;

	if (t->count >= t->nbuckets * 2)
		hash_grow(t);
	b = inode_bucket(t, in);
	in->hnext = t->buckets[b];
	t->buckets[b] = in;
	t->count++;
}

/* Called with t->lock held. */
static void hash_remove(struct inode_table *t, struct inode *in)
{
	struct inode **pp = &t->buckets[inode_bucket(t, in)];

	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == in) {
			*pp = in->hnext;
			t->count--;
			break;
		}
	}
	in->hnext = NULL;
}

/* ---- the O_PATH descriptor cache ----------------------------------- */

static size_t pfd_bucket(const struct inode *in)
{
	return ((uintptr_t)in >> 4) & (PATHFD_HASH - 1);
}

/* Called with pfd_lock held. */
static struct pfd_ent *pfd_find(struct inode_table *t, const struct inode *in)
{
	struct pfd_ent *e = t->pfd_hash[pfd_bucket(in)];

	for (; e; e = e->hnext)
		if (e->in == in)
			return e;
	return NULL;
}

static void lru_unlink(struct pfd_ent *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
}

static void lru_push_front(struct inode_table *t, struct pfd_ent *e)
{
	e->next = t->lru.next;
	e->prev = &t->lru;
	t->lru.next->prev = e;
	t->lru.next = e;
}

/* Unhook e from the hash and the LRU and put it on the free list; returns
 * its descriptor for the caller to close once pfd_lock is dropped. */
static int pfd_evict(struct inode_table *t, struct pfd_ent *e)
{
	struct pfd_ent **pp = &t->pfd_hash[pfd_bucket(e->in)];
	int fd = e->fd;

	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
	}
	lru_unlink(e);
	e->in = NULL;
	e->fd = -1;
	e->hnext = NULL;
	e->prev = NULL;
	e->next = t->pfd_free;
	t->pfd_free = e;
	return fd;
}

/*
 * Offer fd (O_PATH, owned by the caller) to the cache for in, with `users`
 * already counted (0 or 1). Returns the descriptor to use: fd itself, or the
 * one already cached for in (then fd has been closed). If the cache is full
 * of entries in use, fd stays private and *cached is false.
 */
static int pfd_insert(struct inode_table *t, struct inode *in, int fd,
		      unsigned users, bool *cached)
{
	struct pfd_ent *e;
	int victim = -1, close_fd = -1, ret = fd;

	*cached = true;
	pthread_mutex_lock(&t->pfd_lock);
	e = pfd_find(t, in);
	if (e) {
		/* Another thread cached one meanwhile: use it. */
		e->users += users;
		lru_unlink(e);
		lru_push_front(t, e);
		close_fd = fd;
		ret = e->fd;
		goto out_unlock;
	}
	if (!t->pfd_free) {
		for (e = t->lru.prev; e != &t->lru; e = e->prev)
			if (e->users == 0)
				break;
		if (e == &t->lru) {
			*cached = false;
			goto out_unlock;
		}
		victim = pfd_evict(t, e);
	}
	e = t->pfd_free;
	t->pfd_free = e->next;
	e->in = in;
	e->fd = fd;
	e->users = users;
	e->hnext = t->pfd_hash[pfd_bucket(in)];
	t->pfd_hash[pfd_bucket(in)] = e;
	lru_push_front(t, e);
out_unlock:
	pthread_mutex_unlock(&t->pfd_lock);
	if (victim >= 0)
		close(victim);
	if (close_fd >= 0)
		close(close_fd);
	return ret;
}

/* Forget in's cached descriptor (the inode is being freed). */
static void pfd_drop(struct inode_table *t, struct inode *in)
{
	struct pfd_ent *e;
	int fd = -1;

	pthread_mutex_lock(&t->pfd_lock);
	e = pfd_find(t, in);
	if (e)
		fd = pfd_evict(t, e);
	pthread_mutex_unlock(&t->pfd_lock);
	if (fd >= 0)
		close(fd);
}

/* ---- mounts ---------------------------------------------------------- */

/*
 * open_by_handle_at() decodes a handle in the file system of its mount_fd,
 * so a handle from another file system mounted under SOURCE needs a
 * descriptor on that one. Returns it (not to be closed), or -1.
 */
static int mount_fd(struct panefs *fs, dev_t dev)
{
	struct inode_table *t = fs->itab;
	unsigned i;
	int fd = -1;

	if (dev == t->root->dev)
		return t->root_mfd;
	pthread_mutex_lock(&t->mnt_lock);
	for (i = 0; i < t->nmounts; i++) {
		if (t->mounts[i].dev == dev) {
			fd = t->mounts[i].fd;
			break;
		}
	}
	pthread_mutex_unlock(&t->mnt_lock);
	return fd;
}

static int proc_reopen(int fd, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, flags | O_CLOEXEC);
}

/*
 * Make sure handles of file system dev can be decoded, remembering a
 * descriptor on it taken from fd (which names an entry there of type
 * mode). False when that is not possible or the table is full: the caller
 * then uses a held O_PATH descriptor.
 */
static bool mount_register(struct panefs *fs, dev_t dev, mode_t mode, int fd)
{
	struct inode_table *t = fs->itab;
	int nfd, close_fd;
	bool ok = true;
	unsigned i;

	if (mount_fd(fs, dev) >= 0)
		goto out;
	/* open_by_handle_at() refuses an O_PATH mount_fd (EBADF), so open
	 * for reading; only a directory (the usual mount point) or a
	 * regular file, whose opening has no side effects, and never for
	 * writing (that would make exec fail with ETXTBSY). */
	ok = false;
	if (!S_ISDIR(mode) && !S_ISREG(mode))
		goto out;
	nfd = proc_reopen(fd, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	if (nfd < 0)
		goto out;
	close_fd = nfd;
	pthread_mutex_lock(&t->mnt_lock);
	for (i = 0; i < t->nmounts; i++) {
		if (t->mounts[i].dev == dev) {
			ok = true; /* registered meanwhile */
			goto out_unlock;
		}
	}
	if (t->nmounts < MOUNTS_MAX) {
		t->mounts[t->nmounts].dev = dev;
		t->mounts[t->nmounts].fd = nfd;
		t->nmounts++;
		close_fd = -1;
		ok = true;
	}
out_unlock:
	pthread_mutex_unlock(&t->mnt_lock);
	if (close_fd >= 0)
		close(close_fd);
out:
	return ok;
}

/* ---- inodes ---------------------------------------------------------- */

static struct inode *inode_new(const struct stat *st,
			       const struct file_handle *fh, int pathfd)
{
	struct inode *in;
	size_t hsz;

	in = calloc(1, sizeof(*in));
	if (!in)
		goto out;
	in->kind = INODE_BACKING;
	in->type = st->st_mode & S_IFMT;
	in->dev = st->st_dev;
	in->ino = st->st_ino;
	in->pathfd = pathfd;
	if (fh) {
		hsz = sizeof(*fh) + fh->handle_bytes;
		in->fh = malloc(hsz);
		if (!in->fh)
			goto out_free;
		memcpy(in->fh, fh, hsz);
	}
	if (pthread_mutex_init(&in->lock, NULL) != 0)
		goto out_free;
	return in;

out_free:
	free(in->fh);
	free(in);
	in = NULL;
out:
	return in;
}

/* Free an inode already out of the hash. */
static void inode_free(struct panefs *fs, struct inode *in)
{
	struct inode *file = in->kind == INODE_CHUNK ? in->target : NULL;

	/* Drop the cached descriptor before free(): the cache is keyed by
	 * address and a new inode may get this one. */
	pfd_drop(fs->itab, in);
	if (in->pathfd >= 0)
		close(in->pathfd);
	pthread_mutex_destroy(&in->lock);
	free(in->fh);
	free(in);
	/* A chunk held a lookup on the file it cuts. */
	if (file)
		inode_forget(fs, file, 1);
}

/*
 * Find or make the inode of the entry fd names (any descriptor: O_PATH or
 * open), raising its lookup count; fill *st. With adopt, fd is an O_PATH
 * descriptor handed over to us (kept or closed here in every case);
 * otherwise the caller keeps it.
 */
static int get_by_fd(struct panefs *fs, int fd, bool adopt, struct stat *st,
		     struct inode **out)
{
	struct inode_table *t = fs->itab;
	union handle_buf hb;
	struct file_handle *fh = &hb.fh;
	struct inode *in, *fresh = NULL;
	int mount_id, pathfd = -1, rc = 0;
	bool cached;

	if (fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
		rc = neg_errno();
		goto out;
	}
	fh->handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(fd, "", fh, &mount_id, AT_EMPTY_PATH) < 0) {
		if (errno != EOPNOTSUPP) {
			rc = neg_errno();
			goto out;
		}
		fh = NULL;
	} else if (!mount_register(fs, st->st_dev, st->st_mode, fd)) {
		fh = NULL;
	}

	pthread_mutex_lock(&t->lock);
	in = hash_find(t, st->st_dev, st->st_ino, fh);
	if (in)
		in->nlookup++;
	pthread_mutex_unlock(&t->lock);
	if (in)
		goto found;

	if (!fh) {
		/* No handle: hold an O_PATH descriptor instead. */
		if (adopt) {
			pathfd = fd;
			adopt = false;
		} else {
			pathfd = proc_reopen(fd, O_PATH);
			if (pathfd < 0) {
				rc = neg_errno();
				goto out;
			}
		}
	}
	fresh = inode_new(st, fh, pathfd);
	if (!fresh) {
		if (pathfd >= 0)
			close(pathfd);
		rc = -ENOMEM;
		goto out;
	}

	pthread_mutex_lock(&t->lock);
	in = hash_find(t, st->st_dev, st->st_ino, fh);
	if (!in) {
		in = fresh;
		fresh = NULL;
		hash_insert(t, in);
	}
	in->nlookup++;
	pthread_mutex_unlock(&t->lock);
	if (fresh)
		inode_free(fs, fresh); /* lost a race: never hashed */

found:
	/* A freshly looked-up entry is likely used next (a directory as the
	 * parent of the next lookups, getattr, getxattr from ls -l): cache
	 * the descriptor we already have. The kernel's new reference keeps
	 * in alive. */
	if (adopt) {
		if (in->pathfd < 0)
			pfd_insert(t, in, fd, 0, &cached);
		else
			close(fd);
		adopt = false;
	}
	*out = in;
out:
	if (adopt)
		close(fd);
	return rc;
}

static int check_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0)
		return -ENOENT;
	if (n > NAME_MAX)
		return -ENAMETOOLONG;
	if (memchr(name, '/', n))
		return -EINVAL;
	return 0;
}

int inode_lookup(struct panefs *fs, struct inode *parent, const char *name,
		 struct stat *st, struct inode **out)
{
	struct inode_table *t = fs->itab;
	int pfd, fd, rc;

	rc = check_name(name);
	if (rc)
		goto out;
	if (strcmp(name, ".") == 0 ||
	    (strcmp(name, "..") == 0 && parent == t->root)) {
		/* ".." of the root is the root: never leave SOURCE. */
		rc = inode_stat(fs, parent, st);
		if (rc)
			goto out;
		pthread_mutex_lock(&t->lock);
		parent->nlookup++;
		pthread_mutex_unlock(&t->lock);
		*out = parent;
		goto out;
	}

	pfd = inode_pathfd_get(fs, parent);
	if (pfd < 0) {
		rc = pfd;
		goto out;
	}
	/* Open first, then stat and hash the descriptor: the attributes and
	 * the handle are of one object even if the name is being renamed. */
	fd = openat(pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		rc = neg_errno();
	inode_pathfd_put(fs, parent, pfd);
	if (fd < 0)
		goto out;
	rc = get_by_fd(fs, fd, true, st, out);
out:
	return rc;
}

int inode_lookup_fd(struct panefs *fs, int fd, bool adopt, struct stat *st,
		    struct inode **out)
{
	return get_by_fd(fs, fd, adopt, st, out);
}

/* Called with t->lock held. True if in may be freed now: unhashes it. */
static bool unhash_if_unused(struct inode_table *t, struct inode *in)
{
	bool open;

	if (in == t->root || in == t->top || in->nlookup != 0 ||
	    in->kind == INODE_VIEW || in->kind == INODE_VDIR)
		return false;
	pthread_mutex_lock(&in->lock);
	open = in->backing != NULL;
	pthread_mutex_unlock(&in->lock);
	if (open)
		return false;
	hash_remove(t, in);
	return true;
}

void inode_ref(struct panefs *fs, struct inode *in)
{
	pthread_mutex_lock(&fs->itab->lock);
	in->nlookup++;
	pthread_mutex_unlock(&fs->itab->lock);
}

void inode_forget(struct panefs *fs, struct inode *in, uint64_t n)
{
	struct inode_table *t = fs->itab;
	bool dead;

	pthread_mutex_lock(&t->lock);
	/* More forgets than lookups would be a kernel or table bug; clamp
	 * rather than wrap around and leak. */
	in->nlookup -= n < in->nlookup ? n : in->nlookup;
	dead = unhash_if_unused(t, in);
	pthread_mutex_unlock(&t->lock);
	if (dead)
		inode_free(fs, in);
}

void inode_release_backing_done(struct panefs *fs, struct inode *in)
{
	struct inode_table *t = fs->itab;
	bool dead;

	pthread_mutex_lock(&t->lock);
	dead = unhash_if_unused(t, in);
	pthread_mutex_unlock(&t->lock);
	if (dead)
		inode_free(fs, in);
}

uint64_t inode_synth_ino(uint64_t a, uint64_t b, const void *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	h = fnv1a(h, &a, sizeof(a));
	h = fnv1a(h, &b, sizeof(b));
	if (n)
		h = fnv1a(h, p, n);
	return h | (1ULL << 63);
}

struct inode *inode_synth_new(enum inode_kind kind, mode_t type)
{
	struct inode *in = calloc(1, sizeof(*in));

	if (!in)
		goto out;
	in->kind = kind;
	in->type = type & S_IFMT;
	in->pathfd = -1;
	if (pthread_mutex_init(&in->lock, NULL) != 0) {
		free(in);
		in = NULL;
	}
out:
	return in;
}

void inode_synth_free(struct inode *in)
{
	if (!in)
		return;
	pthread_mutex_destroy(&in->lock);
	free(in);
}

/* Called with t->lock held. */
static struct inode *chunk_find(struct inode_table *t, struct inode *file,
				uint64_t index, uint64_t ino)
{
	struct inode *in;

	in = t->buckets[key_hash(file->dev, ino, NULL) & (t->nbuckets - 1)];
	for (; in; in = in->hnext)
		if (in->kind == INODE_CHUNK && in->target == file &&
		    in->index == index)
			return in;
	return NULL;
}

int inode_chunk_get(struct panefs *fs, struct inode *file, uint64_t index,
		    struct inode **out)
{
	struct inode_table *t = fs->itab;
	uint64_t ino =
	    inode_synth_ino(file->dev, file->ino, &index, sizeof(index));
	struct inode *in, *fresh;
	int rc = 0;

	fresh = inode_synth_new(INODE_CHUNK, S_IFREG);
	if (!fresh) {
		rc = -ENOMEM;
		goto out;
	}
	fresh->dev = file->dev;
	fresh->ino = (ino_t)ino;
	fresh->target = file;
	fresh->index = index;

	pthread_mutex_lock(&t->lock);
	in = chunk_find(t, file, index, ino);
	if (!in) {
		in = fresh;
		fresh = NULL;
		file->nlookup++; /* dropped when the chunk is freed */
		hash_insert(t, in);
	}
	in->nlookup++;
	pthread_mutex_unlock(&t->lock);
	inode_synth_free(fresh);
	*out = in;
out:
	return rc;
}

void inode_for_each(struct panefs *fs, void (*fn)(struct inode *in, void *arg),
		    void *arg)
{
	struct inode_table *t = fs->itab;
	struct inode *in;
	size_t i;

	pthread_mutex_lock(&t->lock);
	for (i = 0; i < t->nbuckets; i++)
		for (in = t->buckets[i]; in; in = in->hnext)
			fn(in, arg);
	pthread_mutex_unlock(&t->lock);
}

struct inode *inode_root(struct panefs *fs)
{
	return fs->itab->root;
}

struct inode *inode_top(struct panefs *fs)
{
	return fs->itab->top;
}

void inode_set_top(struct panefs *fs, struct inode *in)
{
	fs->itab->top = in;
}

struct inode *inode_from_ino(struct panefs *fs, uint64_t ino)
{
	if (ino == ROOT_ID)
		return fs->itab->top;
	return (struct inode *)(uintptr_t)ino;
}

uint64_t inode_to_ino(struct panefs *fs, struct inode *in)
{
	if (in == fs->itab->top)
		return ROOT_ID;
	return (uint64_t)(uintptr_t)in;
}

int inode_open(struct panefs *fs, struct inode *in, int flags)
{
	int mfd, fd;

	flags |= O_CLOEXEC;
	if (in->kind != INODE_BACKING) {
		/* Nothing in SOURCE is this entry (node.c answers for it). */
		fd = -EINVAL;
		goto out;
	}
	if (in->pathfd >= 0) {
		/* Reopening through /proc lands on the very inode the
		 * descriptor names (a symlink stays a symlink: O_PATH gets it,
		 * anything else gets ELOOP), so it cannot leave SOURCE. */
		fd = proc_reopen(in->pathfd, flags & ~O_NOFOLLOW);
	} else {
		mfd = mount_fd(fs, in->dev);
		if (mfd < 0) {
			fd = -ESTALE;
			goto out;
		}
		fd = open_by_handle_at(mfd, in->fh, flags | O_NOFOLLOW);
	}
	if (fd < 0)
		fd = neg_errno();
out:
	return fd;
}

int inode_pathfd_get(struct panefs *fs, struct inode *in)
{
	struct inode_table *t = fs->itab;
	struct pfd_ent *e;
	bool cached;
	int fd = in->pathfd;

	if (fd >= 0)
		goto out;

	pthread_mutex_lock(&t->pfd_lock);
	e = pfd_find(t, in);
	if (e) {
		e->users++;
		lru_unlink(e);
		lru_push_front(t, e);
		fd = e->fd;
	}
	pthread_mutex_unlock(&t->pfd_lock);
	if (e)
		goto out;

	fd = inode_open(fs, in, O_PATH);
	if (fd >= 0)
		fd = pfd_insert(t, in, fd, 1, &cached);
out:
	return fd;
}

void inode_pathfd_put(struct panefs *fs, struct inode *in, int fd)
{
	struct inode_table *t = fs->itab;
	struct pfd_ent *e;
	bool mine = false;

	if (fd < 0 || fd == in->pathfd)
		return;
	pthread_mutex_lock(&t->pfd_lock);
	e = pfd_find(t, in);
	if (e && e->fd == fd)
		e->users--;
	else /* a private one, handed out when the cache was full */
		mine = true;
	pthread_mutex_unlock(&t->pfd_lock);
	if (mine)
		close(fd);
}

int inode_stat(struct panefs *fs, struct inode *in, struct stat *st)
{
	int fd, rc = 0;

	fd = inode_pathfd_get(fs, in);
	if (fd >= 0) {
		if (fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) <
		    0)
			rc = neg_errno();
		inode_pathfd_put(fs, in, fd);
	} else {
		rc = fd;
	}
	if (rc != -ESTALE)
		goto out;

	/* Gone from the file system but still open through us (unlinked
	 * while open): the backing descriptor still has the attributes. */
	fd = -1;
	pthread_mutex_lock(&in->lock);
	if (in->backing)
		fd = fcntl(in->backing->wf.fd, F_DUPFD_CLOEXEC, 0);
	pthread_mutex_unlock(&in->lock);
	if (fd >= 0) {
		rc = fstat(fd, st) < 0 ? neg_errno() : 0;
		close(fd);
	}
out:
	return rc;
}

int inode_table_init(struct panefs *fs)
{
	struct inode_table *t;
	union handle_buf hb;
	struct file_handle *fh = &hb.fh;
	struct inode *root = NULL;
	struct stat st;
	int mount_id, pathfd, rc = 0;
	unsigned i;

	t = calloc(1, sizeof(*t));
	if (!t) {
		rc = -ENOMEM;
		goto out;
	}
	t->nbuckets = HASH_MIN;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	if (!t->buckets) {
		rc = -ENOMEM;
		goto out_free;
	}
	t->lru.next = t->lru.prev = &t->lru;
	for (i = 0; i < PATHFD_CACHE_MAX; i++) {
		t->ents[i].fd = -1;
		t->ents[i].next =
		    i + 1 < PATHFD_CACHE_MAX ? &t->ents[i + 1] : NULL;
	}
	t->pfd_free = &t->ents[0];

	pathfd = fcntl(fs->source_fd, F_DUPFD_CLOEXEC, 0);
	if (pathfd < 0) {
		rc = neg_errno();
		goto out_buckets;
	}
	if (fstat(pathfd, &st) < 0) {
		rc = neg_errno();
		goto out_pathfd;
	}
	if (!S_ISDIR(st.st_mode)) {
		rc = -ENOTDIR;
		goto out_pathfd;
	}
	/* The root is hashed under its handle too, so that a ".." lookup
	 * from a subdirectory finds this inode and not a second one (the
	 * kernel cannot have two node ids for one directory). */
	fh->handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(pathfd, "", fh, &mount_id, AT_EMPTY_PATH) < 0) {
		if (errno != EOPNOTSUPP) {
			rc = neg_errno();
			goto out_pathfd;
		}
		fh = NULL;
	}
	root = inode_new(&st, fh, pathfd);
	if (!root) {
		rc = -ENOMEM;
		goto out_pathfd;
	}
	root->nlookup = 1; /* the kernel's implicit reference; never freed */
	t->root_mfd = proc_reopen(pathfd, O_RDONLY | O_DIRECTORY);
	if (t->root_mfd < 0) {
		rc = neg_errno();
		goto out_root;
	}
	if (pthread_mutex_init(&t->lock, NULL) != 0) {
		rc = -ENOMEM;
		goto out_mfd;
	}
	if (pthread_mutex_init(&t->pfd_lock, NULL) != 0) {
		rc = -ENOMEM;
		goto out_lock;
	}
	if (pthread_mutex_init(&t->mnt_lock, NULL) != 0) {
		rc = -ENOMEM;
		goto out_pfd_lock;
	}
	t->root = root;
	t->top = root;
	hash_insert(t, root);
	fs->itab = t;
	goto out;

out_pfd_lock:
	pthread_mutex_destroy(&t->pfd_lock);
out_lock:
	pthread_mutex_destroy(&t->lock);
out_mfd:
	close(t->root_mfd);
out_root:
	pthread_mutex_destroy(&root->lock);
	free(root->fh);
	free(root);
out_pathfd:
	close(pathfd);
out_buckets:
	free(t->buckets);
out_free:
	free(t);
out:
	return rc;
}

void inode_table_destroy(struct panefs *fs)
{
	struct inode_table *t = fs->itab;
	struct inode *in, *next;
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->nbuckets; i++) {
		for (in = t->buckets[i]; in; in = next) {
			next = in->hnext;
			/* Everything goes: no chunk drops a lookup on its
			 * file (which may be freed already). */
			in->target = NULL;
			inode_free(fs, in);
		}
	}
	for (i = 0; i < PATHFD_CACHE_MAX; i++)
		if (t->ents[i].in)
			close(t->ents[i].fd);
	for (i = 0; i < t->nmounts; i++)
		close(t->mounts[i].fd);
	close(t->root_mfd);
	pthread_mutex_destroy(&t->mnt_lock);
	pthread_mutex_destroy(&t->pfd_lock);
	pthread_mutex_destroy(&t->lock);
	free(t->buckets);
	free(t);
	fs->itab = NULL;
}
