/*
 * vtree.c - build the tree a views table shows; see vtree.h.
 *
 * Two passes. The first goes through the table in line order and checks
 * each view against SOURCE (so the error reported is the first bad line):
 * BACKING is opened O_PATH with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS) below SOURCE's descriptor, which refuses "..",
 * absolute paths and symlinks that lead out (EXDEV), then adopted by the
 * inode table; sizes are checked against it and partition tables read.
 * The second builds the tree from the names in sorted order: names that
 * share a directory are then contiguous, so the directories on the way
 * form a stack and the build is linear; each directory's children are
 * sorted afterwards for binary search.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "panefs/inode.h"
#include "panefs/panefs.h"
#include "panefs/parttable.h"
#include "panefs/vtree.h"
#include "util.h"

/* What pass one learned about one table entry. */
struct resolved {
	const struct view_entry *e;
	struct inode *file;	 /* the backing file; one lookup held */
	struct partition *parts; /* partitions lines */
	unsigned nparts;
};

static void set_err(struct views_error *err, unsigned line, const char *fmt,
		    ...) __attribute__((format(printf, 3, 4)));

static void set_err(struct views_error *err, unsigned line, const char *fmt,
		    ...)
{
	va_list ap;

	err->line = line;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

static int open_beneath(int dirfd, const char *path)
{
	struct open_how how;
	long fd;

	memset(&how, 0, sizeof(how));
	how.flags = O_PATH | O_CLOEXEC;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	return fd < 0 ? neg_errno() : (int)fd;
}

struct pread_ctx {
	int fd;
};

static int pread_cb(void *ctx, void *buf, size_t n, uint64_t off)
{
	struct pread_ctx *c = ctx;
	size_t done = 0;
	ssize_t r;

	while (done < n) {
		r = pread(c->fd, (char *)buf + done, n - done,
			  (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return neg_errno();
		if (r == 0)
			return -EIO; /* shrank under us */
		done += (size_t)r;
	}
	return 0;
}

static int read_parts(struct panefs *fs, struct resolved *r, uint64_t size,
		      struct views_error *err)
{
	struct pread_ctx ctx;
	char why[160];
	int rc;

	r->parts = calloc(PART_MAX, sizeof(*r->parts));
	if (!r->parts) {
		rc = -ENOMEM;
		set_err(err, r->e->line, "out of memory");
		goto out;
	}
	ctx.fd = inode_open(fs, r->file, O_RDONLY);
	if (ctx.fd < 0) {
		rc = ctx.fd;
		set_err(err, r->e->line, "cannot open BACKING '%s': %s",
			r->e->backing, strerror(-rc));
		goto out;
	}
	why[0] = '\0';
	rc = parttable_read(pread_cb, &ctx, size, r->parts, PART_MAX,
			    &r->nparts, why, sizeof(why));
	close(ctx.fd);
	if (rc == -EINVAL)
		set_err(err, r->e->line, "BACKING '%s': %s", r->e->backing,
			why);
	else if (rc)
		set_err(err, r->e->line, "cannot read BACKING '%s': %s",
			r->e->backing, strerror(-rc));
out:
	return rc;
}

/* Pass one for one entry. */
static int resolve(struct panefs *fs, struct resolved *r,
		   struct views_error *err)
{
	const struct view_entry *e = r->e;
	uint64_t size;
	struct stat st;
	int fd, rc;

	fd = open_beneath(fs->source_fd, e->backing);
	if (fd < 0) {
		rc = fd;
		if (rc == -EXDEV || rc == -ELOOP)
			set_err(err, e->line, "BACKING '%s' leaves SOURCE",
				e->backing);
		else if (rc == -ENOENT || rc == -ENOTDIR)
			set_err(err, e->line,
				"unknown BACKING '%s': no such file in SOURCE",
				e->backing);
		else
			set_err(err, e->line, "BACKING '%s': %s", e->backing,
				strerror(-rc));
		goto out;
	}
	rc = inode_lookup_fd(fs, fd, true, &st, &r->file);
	if (rc) {
		set_err(err, e->line, "BACKING '%s': %s", e->backing,
			strerror(-rc));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		set_err(err, e->line, "BACKING '%s' is not a regular file",
			e->backing);
		goto out;
	}
	size = st.st_size > 0 ? (uint64_t)st.st_size : 0;
	if (e->partitions) {
		rc = read_parts(fs, r, size, err);
		goto out;
	}
	rc = -EINVAL;
	if (e->offset > size) {
		set_err(err, e->line,
			"OFFSET %llu is past the end of '%s' (%llu bytes)",
			(unsigned long long)e->offset, e->backing,
			(unsigned long long)size);
		goto out;
	}
	if (e->length != VIEW_TO_END && e->length > size - e->offset) {
		set_err(err, e->line,
			"OFFSET + LENGTH (%llu) is past the end of '%s' (%llu "
			"bytes)",
			(unsigned long long)(e->offset + e->length), e->backing,
			(unsigned long long)size);
		goto out;
	}
	rc = 0;
out:
	return rc;
}

/* ---- nodes ----------------------------------------------------------- */

static struct vnode *node_new(struct panefs *fs, struct vnode *parent,
			      const char *name, size_t len, bool dir,
			      const char *path, size_t pathlen)
{
	struct vnode *vn, **kids;

	vn = calloc(1, sizeof(*vn));
	if (!vn)
		goto fail;
	vn->name = strndup(name, len);
	vn->in = inode_synth_new(dir ? INODE_VDIR : INODE_VIEW,
				 dir ? S_IFDIR : S_IFREG);
	if (!vn->name || !vn->in)
		goto fail;
	vn->in->vn = vn;
	vn->in->ino = (ino_t)inode_synth_ino(dir, 0, path, pathlen);
	vn->parent = parent;
	if (parent) {
		kids =
		    realloc(parent->kids, (parent->nkids + 1) * sizeof(*kids));
		if (!kids)
			goto fail;
		parent->kids = kids;
		kids[parent->nkids++] = vn;
		if (dir)
			parent->ndirs++;
	}
	(void)fs;
	return vn;
fail:
	if (vn) {
		inode_synth_free(vn->in);
		free(vn->name);
		free(vn);
	}
	return NULL;
}

static void node_free(struct panefs *fs, struct vnode *vn)
{
	size_t i;

	for (i = 0; i < vn->nkids; i++)
		node_free(fs, vn->kids[i]);
	if (vn->in && vn->in->kind == INODE_VIEW && vn->in->target)
		inode_forget(fs, vn->in->target, 1);
	inode_synth_free(vn->in);
	free(vn->kids);
	free(vn->name);
	free(vn);
}

static int kid_cmp(const void *a, const void *b)
{
	const struct vnode *x = *(struct vnode *const *)a;
	const struct vnode *y = *(struct vnode *const *)b;

	return strcmp(x->name, y->name);
}

static void sort_kids(struct vnode *vn)
{
	size_t i;

	if (vn->nkids > 1)
		qsort(vn->kids, vn->nkids, sizeof(*vn->kids), kid_cmp);
	for (i = 0; i < vn->nkids; i++)
		sort_kids(vn->kids[i]);
}

struct vnode *vnode_child(const struct vnode *dir, const char *name)
{
	size_t lo = 0, hi = dir->nkids, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(name, dir->kids[mid]->name);
		if (c == 0)
			return dir->kids[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* A view node for file at [offset, offset + length). */
static struct vnode *add_view(struct panefs *fs, struct vnode *dir,
			      const char *name, const char *path,
			      struct inode *file, uint64_t offset,
			      uint64_t length, bool ro)
{
	struct vnode *vn;

	vn = node_new(fs, dir, name, strlen(name), false, path, strlen(path));
	if (!vn)
		return NULL;
	vn->offset = offset;
	vn->length = length;
	vn->ro = ro || fs->opt.ro;
	inode_ref(fs, file); /* dropped in node_free() */
	vn->in->target = file;
	return vn;
}

/*
 * The directory stack of the sorted build: stack[0] is the root,
 * stack[i] the directory of the first i components of the current name.
 * Returns the directory holding the last component of name (depth
 * components deep), making what is missing.
 */
#define DEPTH_MAX (PATH_MAX / 2 + 1)

static struct vnode *dir_for(struct panefs *fs, struct vnode **stack,
			     unsigned *depth, const char *name, bool whole)
{
	const char *p = name, *slash, *end;
	unsigned level = 0;
	struct vnode *d;
	size_t clen;

	for (;;) {
		slash = strchr(p, '/');
		if (!slash && !whole)
			break; /* p is the leaf */
		end = slash ? slash : p + strlen(p);
		clen = (size_t)(end - p);
		if (level + 1 < *depth &&
		    strlen(stack[level + 1]->name) == clen &&
		    memcmp(stack[level + 1]->name, p, clen) == 0) {
			level++;
		} else {
			if (level + 1 >= DEPTH_MAX)
				return NULL;
			d = node_new(fs, stack[level], p, clen, true, name,
				     (size_t)(end - name));
			if (!d)
				return NULL;
			stack[++level] = d;
			/* What was deeper belongs to names already done. */
			*depth = level + 1;
		}
		if (!slash)
			break;
		p = slash + 1;
	}
	*depth = level + 1;
	return stack[level];
}

static int cmp_name(const void *a, const void *b)
{
	const struct resolved *x = *(const struct resolved *const *)a;
	const struct resolved *y = *(const struct resolved *const *)b;

	return strcmp(x->e->name, y->e->name);
}

static const char *last_component(const char *name)
{
	const char *s = strrchr(name, '/');

	return s ? s + 1 : name;
}

/* ---- overlaps --------------------------------------------------------- */

struct view_list {
	struct vnode **v;
	size_t n, cap;
};

static int collect_views(struct vnode *vn, struct view_list *l)
{
	struct vnode **nv;
	size_t i;
	int rc = 0;

	if (vn->in->kind == INODE_VIEW) {
		if (l->n == l->cap) {
			l->cap = l->cap ? 2 * l->cap : 64;
			nv = realloc(l->v, l->cap * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			l->v = nv;
		}
		l->v[l->n++] = vn;
	}
	for (i = 0; i < vn->nkids && !rc; i++)
		rc = collect_views(vn->kids[i], l);
	return rc;
}

static uint64_t view_end(const struct vnode *vn)
{
	return vn->length == VIEW_TO_END ? UINT64_MAX : vn->offset + vn->length;
}

static int by_file_offset(const void *a, const void *b)
{
	const struct vnode *x = *(struct vnode *const *)a;
	const struct vnode *y = *(struct vnode *const *)b;

	if (x->in->target != y->in->target)
		return (uintptr_t)x->in->target < (uintptr_t)y->in->target ? -1
									   : 1;
	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	return 0;
}

/*
 * Mark every view that shares bytes with another view of its file. One
 * sweep in (file, offset) order: a view overlaps an earlier one exactly
 * when it starts before the furthest end seen so far in its file, and then
 * it overlaps the view with that end (both contain its start), which is
 * marked too; any other earlier view it overlaps also overlaps that one,
 * so it was marked when the later of the two was swept. Empty views share
 * nothing.
 */
static int mark_overlaps(struct vtree *vt)
{
	struct view_list l = {0};
	struct vnode *far = NULL, *vn;
	size_t i;
	int rc;

	rc = collect_views(vt->root, &l);
	if (rc)
		goto out;
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), by_file_offset);
	for (i = 0; i < l.n; i++) {
		vn = l.v[i];
		if (vn->length == 0)
			continue;
		if (far && far->in->target == vn->in->target &&
		    vn->offset < view_end(far)) {
			far->shared = true;
			vn->shared = true;
		}
		if (!far || far->in->target != vn->in->target ||
		    view_end(vn) > view_end(far))
			far = vn;
	}
out:
	free(l.v);
	return rc;
}

/* Pass two: the tree, from names in sorted order. */
static int build(struct panefs *fs, struct vtree *vt, struct resolved *res,
		 size_t n, struct views_error *err)
{
	struct resolved **order = NULL;
	struct vnode **stack = NULL, *dir;
	char path[PATH_MAX + 16];
	unsigned depth = 1, k;
	size_t i;
	int rc = -ENOMEM;

	order = malloc(n * sizeof(*order));
	stack = calloc(DEPTH_MAX, sizeof(*stack));
	if (!order || !stack)
		goto out;
	for (i = 0; i < n; i++)
		order[i] = &res[i];
	qsort(order, n, sizeof(*order), cmp_name);
	stack[0] = vt->root;
	for (i = 0; i < n; i++) {
		const struct view_entry *e = order[i]->e;

		dir = dir_for(fs, stack, &depth, e->name, e->partitions);
		if (!dir)
			goto out;
		if (!e->partitions) {
			if (!add_view(fs, dir, last_component(e->name), e->name,
				      order[i]->file, e->offset, e->length,
				      e->ro))
				goto out;
			continue;
		}
		for (k = 0; k < order[i]->nparts; k++) {
			const struct partition *p = &order[i]->parts[k];
			char kid[16];

			snprintf(kid, sizeof(kid), "p%u", p->number);
			snprintf(path, sizeof(path), "%s/%s", e->name, kid);
			if (!add_view(fs, dir, kid, path, order[i]->file,
				      p->offset, p->length, e->ro))
				goto out;
		}
	}
	sort_kids(vt->root);
	rc = mark_overlaps(vt);
out:
	if (rc)
		set_err(err, 0, "out of memory building the views tree");
	free(stack);
	free(order);
	return rc;
}

int vtree_build(struct panefs *fs, const struct view_table *t,
		struct views_error *err)
{
	struct resolved *res;
	struct vtree *vt = NULL;
	struct stat st;
	size_t i;
	int rc = -ENOMEM;

	memset(err, 0, sizeof(*err));
	res = calloc(t->count ? t->count : 1, sizeof(*res));
	if (!res) {
		set_err(err, 0, "out of memory");
		goto out;
	}
	for (i = 0; i < t->count; i++) {
		res[i].e = &t->v[i];
		rc = resolve(fs, &res[i], err);
		if (rc)
			goto out;
	}

	rc = -ENOMEM;
	vt = calloc(1, sizeof(*vt));
	if (!vt) {
		set_err(err, 0, "out of memory");
		goto out;
	}
	if (fstat(fs->source_fd, &st) < 0) {
		rc = neg_errno();
		set_err(err, 0, "cannot stat SOURCE: %s", strerror(-rc));
		goto out;
	}
	/* Directories are the table's: readable and searchable as SOURCE
	 * is, never writable. */
	vt->dir_attr = st;
	vt->dir_attr.st_mode = S_IFDIR | (st.st_mode & 0555);
	vt->dir_attr.st_size = 0;
	vt->dir_attr.st_blocks = 0;
	vt->root = node_new(fs, NULL, "", 0, true, "", 0);
	if (!vt->root) {
		set_err(err, 0, "out of memory");
		goto out;
	}
	rc = build(fs, vt, res, t->count, err);
	if (rc)
		goto out;
	fs->vt = vt;
	vt = NULL;
	inode_set_top(fs, fs->vt->root->in);
out:
	if (vt && vt->root)
		node_free(fs, vt->root);
	free(vt);
	for (i = 0; res && i < t->count; i++) {
		if (res[i].file)
			inode_forget(fs, res[i].file, 1);
		free(res[i].parts);
	}
	free(res);
	return rc;
}

void vtree_destroy(struct panefs *fs)
{
	if (!fs->vt)
		return;
	inode_set_top(fs, inode_root(fs));
	node_free(fs, fs->vt->root);
	free(fs->vt);
	fs->vt = NULL;
}
