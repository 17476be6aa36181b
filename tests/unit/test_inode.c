/*
 * test_inode.c - the inode table keeps every lookup inside SOURCE.
 *
 * A real inode table (fs/inode.c compiled in) over a temporary SOURCE,
 * asked what a crafted FUSE request could ask, which the kernel itself
 * never sends:
 * - LOOKUP ".." in the root answers the root inode (the same object, one
 *   more lookup reference), so no walk climbs out of SOURCE; "." answers
 *   the directory itself; ".." of a subdirectory is the root object again
 *   (hashed by handle: the kernel must not see two node ids for one
 *   directory);
 * - names with '/', empty names and names over NAME_MAX are refused
 *   (EINVAL, ENOENT, ENAMETOOLONG), so "a/b" or "../x" cannot walk;
 * - a symlink is looked up as a symlink (to /etc, or relative and escaping
 *   SOURCE): never followed, and used as a parent it refuses (ENOTDIR or
 *   ENOENT) instead of resolving names in the target;
 * - lookup counts: forget drops inodes, the root survives any forget.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "panefs/inode.h"
#include "panefs/panefs.h"

struct fixture {
	char top[64]; /* holds src/ and outside/ */
	char src[96];
	struct panefs fs;
};

static void mkpath(char *buf, size_t n, const char *a, const char *b)
{
	int r = snprintf(buf, n, "%s/%s", a, b);

	assert_true(r > 0 && (size_t)r < n);
}

/*
 * top/src          SOURCE
 * top/src/sub/     a directory
 * top/src/file     a regular file
 * top/src/abs      -> /etc
 * top/src/sub/rel  -> ../../outside   (escapes SOURCE)
 * top/outside/passwd                  (must never be reached)
 */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char p[PATH_MAX];
	int fd;

	assert_non_null(f);
	strcpy(f->top, "/tmp/panefs-test-inode.XXXXXX");
	assert_non_null(mkdtemp(f->top));
	mkpath(f->src, sizeof(f->src), f->top, "src");
	assert_int_equal(mkdir(f->src, 0755), 0);
	mkpath(p, sizeof(p), f->top, "outside");
	assert_int_equal(mkdir(p, 0755), 0);
	mkpath(p, sizeof(p), f->top, "outside/passwd");
	fd = open(p, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	mkpath(p, sizeof(p), f->src, "sub");
	assert_int_equal(mkdir(p, 0755), 0);
	mkpath(p, sizeof(p), f->src, "file");
	fd = open(p, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	mkpath(p, sizeof(p), f->src, "abs");
	assert_int_equal(symlink("/etc", p), 0);
	mkpath(p, sizeof(p), f->src, "sub/rel");
	assert_int_equal(symlink("../../outside", p), 0);

	f->fs.source_fd = open(f->src, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->fs.source_fd >= 0);
	assert_int_equal(inode_table_init(&f->fs), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	inode_table_destroy(&f->fs);
	close(f->fs.source_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->top);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Look name up in dir; expect success, return the inode. */
static struct inode *lookup_ok(struct fixture *f, struct inode *dir,
			       const char *name, struct stat *st)
{
	struct inode *in = NULL;
	int rc = inode_lookup(&f->fs, dir, name, st, &in);

	if (rc)
		print_error("lookup '%s': %s\n", name, strerror(-rc));
	assert_int_equal(rc, 0);
	assert_non_null(in);
	return in;
}

static void test_dotdot_of_root_is_root(void **state)
{
	struct fixture *f = *state;
	struct inode *root = inode_root(&f->fs);
	struct stat st, want;
	struct inode *in;
	int i;

	assert_int_equal(stat(f->src, &want), 0);
	for (i = 0; i < 3; i++) {
		in = lookup_ok(f, root, "..", &st);
		assert_ptr_equal(in, root);
		/* FUSE_ROOT_ID */
		assert_int_equal(inode_to_ino(&f->fs, in), 1);
		/* The attributes are SOURCE's, not its parent's. */
		assert_int_equal(st.st_ino, want.st_ino);
		assert_int_equal(st.st_dev, want.st_dev);
		inode_forget(&f->fs, in, 1);
	}
	in = lookup_ok(f, root, ".", &st);
	assert_ptr_equal(in, root);
	inode_forget(&f->fs, in, 1);
	/* More forgets than lookups never free the root. */
	inode_forget(&f->fs, root, 1000);
	in = lookup_ok(f, root, "..", &st);
	assert_ptr_equal(in, root);
	assert_int_equal(st.st_ino, want.st_ino);
}

static void test_dotdot_of_subdir_is_root(void **state)
{
	struct fixture *f = *state;
	struct inode *root = inode_root(&f->fs);
	struct inode *sub, *up, *self;
	struct stat st;

	sub = lookup_ok(f, root, "sub", &st);
	assert_true(S_ISDIR(st.st_mode));
	assert_ptr_not_equal(sub, root);
	up = lookup_ok(f, sub, "..", &st);
	assert_ptr_equal(up, root); /* one node id per directory */
	self = lookup_ok(f, sub, ".", &st);
	assert_ptr_equal(self, sub);
	inode_forget(&f->fs, up, 1);
	inode_forget(&f->fs, self, 1);
	inode_forget(&f->fs, sub, 1);
}

static void test_bad_names(void **state)
{
	struct fixture *f = *state;
	struct inode *root = inode_root(&f->fs);
	struct inode *in = NULL;
	char longname[NAME_MAX + 2];
	struct stat st;

	assert_int_equal(inode_lookup(&f->fs, root, "sub/rel", &st, &in),
			 -EINVAL);
	assert_int_equal(inode_lookup(&f->fs, root, "../outside", &st, &in),
			 -EINVAL);
	assert_int_equal(inode_lookup(&f->fs, root, "/etc", &st, &in), -EINVAL);
	assert_int_equal(inode_lookup(&f->fs, root, "..//", &st, &in), -EINVAL);
	assert_int_equal(inode_lookup(&f->fs, root, "/", &st, &in), -EINVAL);
	assert_int_equal(inode_lookup(&f->fs, root, "", &st, &in), -ENOENT);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(inode_lookup(&f->fs, root, longname, &st, &in),
			 -ENAMETOOLONG);
	assert_null(in);
}

static void test_symlinks_not_followed(void **state)
{
	struct fixture *f = *state;
	struct inode *root = inode_root(&f->fs);
	struct inode *abs, *sub, *rel, *in = NULL;
	struct stat st;
	int rc;

	abs = lookup_ok(f, root, "abs", &st);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(abs->type, S_IFLNK);
	/* As a parent, a symlink resolves nothing: /etc/passwd exists. */
	rc = inode_lookup(&f->fs, abs, "passwd", &st, &in);
	assert_true(rc == -ENOTDIR || rc == -ENOENT);
	assert_null(in);
	rc = inode_lookup(&f->fs, abs, "..", &st, &in);
	assert_true(rc == -ENOTDIR || rc == -ENOENT);
	assert_null(in);

	sub = lookup_ok(f, root, "sub", &st);
	rel = lookup_ok(f, sub, "rel", &st);
	assert_true(S_ISLNK(st.st_mode));
	rc = inode_lookup(&f->fs, rel, "passwd", &st, &in);
	assert_true(rc == -ENOTDIR || rc == -ENOENT);
	assert_null(in);

	/* Opening the symlink inode for data refuses too (ELOOP), and
	 * O_PATH gets the link itself. */
	rc = inode_open(&f->fs, abs, O_RDONLY);
	assert_true(rc < 0);
	rc = inode_open(&f->fs, rel, O_PATH);
	assert_true(rc >= 0);
	assert_int_equal(
	    fstatat(rc, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISLNK(st.st_mode));
	close(rc);

	inode_forget(&f->fs, rel, 1);
	inode_forget(&f->fs, sub, 1);
	inode_forget(&f->fs, abs, 1);
}

static void test_same_object_same_inode(void **state)
{
	struct fixture *f = *state;
	struct inode *root = inode_root(&f->fs);
	struct inode *a, *b;
	struct stat st;

	a = lookup_ok(f, root, "file", &st);
	b = lookup_ok(f, root, "file", &st);
	assert_ptr_equal(a, b);
	assert_int_equal(a->nlookup, 2);
	inode_forget(&f->fs, a, 2);
	/* Freed now; a new lookup works (and may reuse the address). */
	a = lookup_ok(f, root, "file", &st);
	assert_true(S_ISREG(st.st_mode));
	inode_forget(&f->fs, a, 1);
}

/* Chunk inodes (split mode): one per (file, index), with numbers of
 * their own; each holds a lookup on its file, so the file outlives the
 * kernel's forgetting it while a chunk is known; no descriptor. */
static void test_chunks(void **state)
{
	struct fixture *f = *state;
	struct inode *file, *again, *c5, *c5b, *c6;
	struct stat st;

	file = lookup_ok(f, inode_root(&f->fs), "file", &st);
	assert_int_equal(inode_chunk_get(&f->fs, file, 5, &c5), 0);
	assert_int_equal(inode_chunk_get(&f->fs, file, 5, &c5b), 0);
	assert_int_equal(inode_chunk_get(&f->fs, file, 6, &c6), 0);
	assert_ptr_equal(c5, c5b);
	assert_ptr_not_equal(c5, c6);
	assert_int_equal(c5->kind, INODE_CHUNK);
	assert_ptr_equal(c5->target, file);
	assert_int_equal(c5->index, 5);
	assert_true((uint64_t)c5->ino >> 63);
	assert_true(c5->ino != c6->ino && c5->ino != file->ino);
	assert_int_equal(inode_open(&f->fs, c5, O_RDONLY), -EINVAL);
	assert_int_equal(inode_pathfd_get(&f->fs, c5), -EINVAL);

	/* The kernel forgets the file: the chunks keep it. */
	inode_forget(&f->fs, file, 1);
	again = lookup_ok(f, inode_root(&f->fs), "file", &st);
	assert_ptr_equal(again, file);
	inode_forget(&f->fs, again, 1);
	/* Then the chunks; the last one lets the file go (ASan checks). */
	inode_forget(&f->fs, c5, 2);
	assert_ptr_equal(c6->target, file);
	inode_forget(&f->fs, c6, 1);
}

/* The mount's top inode (FUSE_ROOT_ID) can be another than SOURCE's root
 * (views mode); neither is ever freed by FORGET. */
static void test_top(void **state)
{
	struct fixture *f = *state;
	struct inode *root = inode_root(&f->fs), *top;

	assert_ptr_equal(inode_top(&f->fs), root);
	assert_ptr_equal(inode_from_ino(&f->fs, 1), root);
	top = inode_synth_new(INODE_VDIR, S_IFDIR);
	assert_non_null(top);
	inode_set_top(&f->fs, top);
	assert_ptr_equal(inode_from_ino(&f->fs, 1), top);
	assert_int_equal(inode_to_ino(&f->fs, top), 1);
	assert_true(inode_to_ino(&f->fs, root) != 1);
	inode_ref(&f->fs, top);
	inode_forget(&f->fs, top, 5);
	assert_int_equal(top->nlookup, 0);
	inode_set_top(&f->fs, root);
	inode_synth_free(top);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_dotdot_of_root_is_root, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_dotdot_of_subdir_is_root,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_names, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_symlinks_not_followed, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_chunks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_top, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_same_object_same_inode, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
