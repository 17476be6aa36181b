/*
 * test_kcache.c - the stamp rule of kcache.h against a real file.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "panefs/inode.h"
#include "panefs/kcache.h"

struct fixture {
	char path[64];
	int fd;
	struct inode in;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->path, sizeof(f->path), "/tmp/test_kcache.XXXXXX");
	f->fd = mkstemp(f->path);
	assert_true(f->fd >= 0);
	assert_int_equal(write(f->fd, "abcd", 4), 4);
	pthread_mutex_init(&f->in.lock, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	close(f->fd);
	unlink(f->path);
	pthread_mutex_destroy(&f->in.lock);
	free(f);
	return 0;
}

/* Set the file's mtime to a fixed second: a change of the stamp that no
 * clock granularity can hide. */
static void set_mtime(int fd, time_t sec)
{
	struct timespec ts[2] = {{sec, 0}, {sec, 0}};

	assert_int_equal(futimens(fd, ts), 0);
}

static void first_open_drops(void **state)
{
	struct fixture *f = *state;

	assert_false(kcache_open(&f->in, f->fd));
	assert_true(f->in.stamped);
}

static void unchanged_file_keeps(void **state)
{
	struct fixture *f = *state;

	assert_false(kcache_open(&f->in, f->fd));
	assert_true(kcache_open(&f->in, f->fd));
	assert_true(kcache_open(&f->in, f->fd));
}

static void size_change_drops(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	set_mtime(f->fd, 1000000);
	assert_false(kcache_open(&f->in, f->fd));
	assert_int_equal(ftruncate(f->fd, 2), 0);
	/* Same mtime as before, only the size (and ctime) differ. */
	set_mtime(f->fd, 1000000);
	assert_int_equal(fstat(f->fd, &st), 0);
	assert_int_equal(st.st_size, 2);
	assert_false(kcache_open(&f->in, f->fd));
	assert_true(kcache_open(&f->in, f->fd));
}

static void mtime_change_drops(void **state)
{
	struct fixture *f = *state;

	set_mtime(f->fd, 1000000);
	assert_false(kcache_open(&f->in, f->fd));
	assert_true(kcache_open(&f->in, f->fd));
	set_mtime(f->fd, 2000000);
	assert_false(kcache_open(&f->in, f->fd));
	assert_true(kcache_open(&f->in, f->fd));
}

static void forget_drops_once(void **state)
{
	struct fixture *f = *state;

	assert_false(kcache_open(&f->in, f->fd));
	assert_true(kcache_open(&f->in, f->fd));
	kcache_forget(&f->in);
	assert_false(f->in.stamped);
	assert_false(kcache_open(&f->in, f->fd));
	assert_true(kcache_open(&f->in, f->fd));
}

static void bad_fd_drops(void **state)
{
	struct fixture *f = *state;

	assert_false(kcache_open(&f->in, f->fd));
	assert_false(kcache_open(&f->in, -1));
	assert_false(f->in.stamped);
	assert_false(kcache_open(&f->in, f->fd));
	assert_true(kcache_open(&f->in, f->fd));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(first_open_drops, setup, teardown),
	    cmocka_unit_test_setup_teardown(unchanged_file_keeps, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(size_change_drops, setup, teardown),
	    cmocka_unit_test_setup_teardown(mtime_change_drops, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(forget_drops_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(bad_fd_drops, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
