/*
 * test_bdi.c - finding a mount's device in mountinfo and writing its
 * read_ahead_kb (bdi.h), against files made here.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "panefs/bdi.h"

static char dir[64];
static char info[128]; /* dir/mountinfo, written by setup() */

static const char mountinfo[] =
    "22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
    "60 22 0:52 / /mnt/a rw,nosuid shared:30 - fuse.panefs /src rw\n"
    "61 22 0:53 / /mnt/with\\040space rw shared:31 - fuse.panefs /s rw\n"
    "garbage line\n"
    "62 22 x:y / /mnt/bad rw - fuse /s rw\n"
    "63 60 0:54 / /mnt/a rw shared:32 - fuse.panefs /src2 rw\n";

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_bdi.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(info, sizeof(info), "%s/mountinfo", dir);
	write_file(info, mountinfo);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* The first line of path is want. */
static void expect_line(const char *path, const char *want)
{
	char buf[32] = {0};
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, want);
}

static void finds_newest_mount(void **state)
{
	dev_t dev = 0;

	(void)state;
	assert_int_equal(bdi_mount_dev(info, "/mnt/a", &dev), 0);
	/* Two mounts on /mnt/a: the later line is the newer one. */
	assert_int_equal(major(dev), 0);
	assert_int_equal(minor(dev), 54);
	assert_int_equal(bdi_mount_dev(info, "/mnt/with space", &dev), 0);
	assert_int_equal(minor(dev), 53);
	assert_int_equal(bdi_mount_dev(info, "/", &dev), 0);
	assert_int_equal(major(dev), 254);
	assert_int_equal(minor(dev), 1);
}

static void absent_or_malformed(void **state)
{
	char path[128];
	dev_t dev = 0;

	(void)state;
	assert_int_equal(bdi_mount_dev(info, "/mnt/none", &dev), -ENOENT);
	assert_int_equal(bdi_mount_dev(info, "/mnt/bad", &dev), -ENOENT);
	assert_int_equal(bdi_mount_dev(info, "/mnt/with\\040space", &dev),
			 -ENOENT);
	snprintf(path, sizeof(path), "%s/nothere", dir);
	assert_int_equal(bdi_mount_dev(path, "/mnt/a", &dev), -ENOENT);
}

static void writes_kib_rounded_up(void **state)
{
	char path[160];

	(void)state;
	snprintf(path, sizeof(path), "%s/0:54", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/0:54/read_ahead_kb", dir);
	write_file(path, "128\n");
	assert_int_equal(bdi_set_readahead(dir, makedev(0, 54), 4 << 20), 0);
	expect_line(path, "4096\n");
	assert_int_equal(bdi_set_readahead(dir, makedev(0, 54), 1000), 0);
	expect_line(path, "1\n");
	/* No such device: the error, nothing created. */
	assert_int_equal(bdi_set_readahead(dir, makedev(0, 99), 4096), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(finds_newest_mount, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(absent_or_malformed, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(writes_kib_rounded_up, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
