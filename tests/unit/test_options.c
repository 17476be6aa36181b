/*
 * test_options.c - the command line: sizes, panefs options, what is passed
 * on to libfuse, what fstab lines may carry, and the one-line errors.
 *
 * The pass-through strings checked here are exactly what reaches
 * fuse_session_new() (main.c adds only fsname=SOURCE when no fsname= was
 * given), so a change in them is a change in what the kernel sees.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "panefs/options.h"

#define MAX_ARGS 32

/* argv as the program gets it, from a NULL-terminated list. */
static int parse(const char *const *args, struct panefs_options *o, char *err,
		 size_t errlen)
{
	char *argv[MAX_ARGS + 2];
	int argc = 0;

	argv[argc++] = (char *)"panefs";
	while (*args) {
		assert_true(argc <= MAX_ARGS);
		argv[argc++] = (char *)*args++;
	}
	argv[argc] = NULL;
	return panefs_parse_args(argc, argv, o, err, errlen);
}

#define ARGV(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Parse, expect success, and return what goes to libfuse after "-o". */
static const char *parse_ok(const char *const *args, struct panefs_options *o)
{
	char err[256] = "";
	int rc = parse(args, o, err, sizeof(err));

	if (rc != 0)
		print_error("unexpected error: %s\n", err);
	assert_int_equal(rc, 0);
	assert_non_null(o->fuse_argv);
	assert_true(o->fuse_argc == 1 || o->fuse_argc == 3);
	assert_string_equal(o->fuse_argv[0], "panefs");
	if (o->fuse_argc == 1)
		return "";
	assert_string_equal(o->fuse_argv[1], "-o");
	return o->fuse_argv[2];
}

/* Parse, expect -EINVAL with an error line containing want. */
static void parse_bad(const char *const *args, const char *want)
{
	struct panefs_options o;
	char err[256] = "";
	int rc = parse(args, &o, err, sizeof(err));

	assert_int_equal(rc, -EINVAL);
	if (!strstr(err, want))
		print_error("error '%s' does not mention '%s'\n", err, want);
	assert_non_null(strstr(err, want));
	assert_null(strchr(err, '\n'));
	/* Nothing is left allocated on error. */
	assert_null(o.source);
	assert_null(o.mountpoint);
	assert_null(o.views);
	assert_null(o.stats_file);
	assert_null(o.fuse_argv);
}

/* ---------------------------------------------------------------- sizes */

static void test_size_good(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} good[] = {
	    {"0", 0},
	    {"1", 1},
	    {"4096", 4096},
	    {"007", 7},
	    {"1K", 1024},
	    {"1k", 1024},
	    {"1KiB", 1024},
	    {"1kib", 1024},
	    {"1KIB", 1024},
	    {"64K", 64 << 10},
	    {"1M", 1 << 20},
	    {"1m", 1 << 20},
	    {"1MiB", 1 << 20},
	    {"256M", 256ULL << 20},
	    {"2G", 2ULL << 30},
	    {"2GiB", 2ULL << 30},
	    {"3T", 3ULL << 40},
	    {"3TiB", 3ULL << 40},
	    {"16383T", 16383ULL << 40},
	    {"16384T", 16384ULL << 40},
	    /* Edges of 64 bits. */
	    {"16777215T", 16777215ULL << 40},
	    {"17179869183G", 17179869183ULL << 30},
	    {"18446744073709551615", UINT64_MAX},
	    {"18014398509481983K", 18014398509481983ULL << 10},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uint64_t v = 12345;

		if (panefs_parse_size(good[i].s, &v) != 0)
			print_error("rejected '%s'\n", good[i].s);
		assert_int_equal(panefs_parse_size(good[i].s, &v), 0);
		assert_true(v == good[i].v);
	}
}

static void test_size_bad(void **state)
{
	static const char *const bad[] = {
	    "",
	    "-1",
	    "+1",
	    "1.5G",
	    "12X",
	    " 1",
	    "1 ",
	    "0x10",
	    "K",
	    "M1",
	    "1KK",
	    "1KB",
	    "1B",
	    "1Ki",
	    "1iB",
	    "1K ",
	    "1,000",
	    "1e6",
	    "１",
	    /* Overflow. */
	    "18446744073709551616",
	    "99999999999999999999999",
	    "16777216T",
	    "17179869184G",
	    "18014398509481984K",
	    "18014398509481984KiB",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v = 777;

		if (panefs_parse_size(bad[i], &v) != -EINVAL)
			print_error("accepted '%s'\n", bad[i]);
		assert_int_equal(panefs_parse_size(bad[i], &v), -EINVAL);
		assert_true(v == 777); /* untouched on error */
	}
	assert_int_equal(panefs_parse_size(NULL, NULL), -EINVAL);
}

/* ----------------------------------------------------------------- args */

static void test_defaults(void **state)
{
	struct panefs_options o;
	const char *pass;

	(void)state;
	pass = parse_ok(ARGV("src", "mnt"), &o);
	assert_string_equal(o.source, "src");
	assert_string_equal(o.mountpoint, "mnt");
	assert_true(o.window == PANEFS_DEFAULT_WINDOW);
	assert_true(o.cache == PANEFS_DEFAULT_CACHE);
	assert_true(o.split == 0);
	assert_null(o.views);
	assert_false(o.ro);
	assert_false(o.foreground);
	assert_false(o.debug);
	assert_false(o.single_thread);
	assert_false(o.allow_other);
	assert_false(o.default_permissions);
	assert_false(o.no_default_permissions);
	assert_false(o.show_help);
	assert_false(o.show_version);
	assert_false(o.fsname_given);
	assert_false(o.clone_fd);
	assert_int_equal(o.max_threads, 0);
	assert_int_equal(o.max_idle_threads, 0);
	assert_string_equal(pass, "subtype=panefs");
	assert_null(o.fuse_argv[o.fuse_argc]);
	panefs_options_free(&o);
	panefs_options_free(&o); /* idempotent */
}

static void test_flags(void **state)
{
	struct panefs_options o;
	const char *pass;

	(void)state;
	pass = parse_ok(ARGV("-f", "-s", "src", "mnt"), &o);
	assert_true(o.foreground);
	assert_true(o.single_thread);
	assert_false(o.debug);
	assert_string_equal(pass, "subtype=panefs");
	panefs_options_free(&o);

	/* -d implies -f and passes debug on. */
	pass = parse_ok(ARGV("src", "-d", "mnt"), &o);
	assert_true(o.debug);
	assert_true(o.foreground);
	assert_string_equal(pass, "debug,subtype=panefs");
	panefs_options_free(&o);

	pass = parse_ok(ARGV("-o", "debug", "-d", "src", "mnt"), &o);
	assert_true(o.debug);
	assert_true(o.foreground);
	assert_string_equal(pass, "debug,subtype=panefs");
	panefs_options_free(&o);
}

static void test_own_options(void **state)
{
	struct panefs_options o;
	const char *pass;

	(void)state;
	pass = parse_ok(
	    ARGV("-o", "window=64K,cache=1G,split=4M", "src", "mnt"), &o);
	assert_true(o.window == 64 << 10);
	assert_true(o.cache == 1ULL << 30);
	assert_true(o.split == 4 << 20);
	assert_true(o.readahead == PANEFS_DEFAULT_READAHEAD);
	assert_false(o.readahead_given);
	assert_string_equal(pass, "subtype=panefs");
	panefs_options_free(&o);

	parse_ok(ARGV("-o", "readahead=8M", "src", "mnt"), &o);
	assert_true(o.readahead == 8 << 20 && o.readahead_given);
	panefs_options_free(&o);
	parse_ok(ARGV("-o", "readahead=0", "src", "mnt"), &o);
	assert_true(o.readahead == 0 && o.readahead_given);
	panefs_options_free(&o);
	parse_ok(ARGV("-o", "readahead=0K", "src", "mnt"), &o);
	assert_true(o.readahead == 0);
	panefs_options_free(&o);

	pass =
	    parse_ok(ARGV("-o", "views=/etc/panefs.views", "src", "mnt"), &o);
	assert_string_equal(o.views, "/etc/panefs.views");
	assert_string_equal(pass, "subtype=panefs");
	panefs_options_free(&o);

	/* Escaped commas in our own values. */
	pass = parse_ok(ARGV("-o", "views=/a\\,b\\\\c,ro", "src", "mnt"), &o);
	assert_string_equal(o.views, "/a,b\\c");
	assert_true(o.ro);
	assert_string_equal(pass, "ro,subtype=panefs");
	panefs_options_free(&o);

	pass = parse_ok(ARGV("-o", "max_threads=8,max_idle_threads=2,clone_fd",
			     "src", "mnt"),
			&o);
	assert_int_equal(o.max_threads, 8);
	assert_int_equal(o.max_idle_threads, 2);
	assert_true(o.clone_fd);
	assert_string_equal(pass, "subtype=panefs");
	panefs_options_free(&o);

	/* The last of a repeated option wins; rw undoes ro. */
	pass = parse_ok(
	    ARGV("-o", "window=1M,ro", "-o", "window=2M,rw", "src", "mnt"), &o);
	assert_true(o.window == 2 << 20);
	assert_false(o.ro);
	assert_string_equal(pass, "ro,rw,subtype=panefs");
	panefs_options_free(&o);

	/* window equal to cache is fine. */
	pass = parse_ok(ARGV("-o", "window=4M,cache=4M", "src", "mnt"), &o);
	assert_true(o.window == o.cache);
	panefs_options_free(&o);
}

static void test_glued_and_multiple(void **state)
{
	struct panefs_options o;
	const char *pass;

	(void)state;
	pass = parse_ok(ARGV("-owindow=128K,ro", "src", "-ocache=8M", "mnt",
			     "-o", "allow_other"),
			&o);
	assert_true(o.window == 128 << 10);
	assert_true(o.cache == 8 << 20);
	assert_true(o.ro);
	assert_true(o.allow_other);
	assert_string_equal(
	    pass, "ro,allow_other,default_permissions,subtype=panefs");
	panefs_options_free(&o);

	/* Options after the positionals, as mount.fuse3 calls us. */
	pass = parse_ok(ARGV("src", "mnt", "-o", "rw,dev,suid,window=1M"), &o);
	assert_string_equal(o.source, "src");
	assert_string_equal(o.mountpoint, "mnt");
	assert_string_equal(pass, "rw,dev,suid,subtype=panefs");
	panefs_options_free(&o);

	/* Empty items are skipped. */
	pass = parse_ok(ARGV("-o", ",,ro,,", "-o", "", "src", "mnt"), &o);
	assert_string_equal(pass, "ro,subtype=panefs");
	panefs_options_free(&o);

	/* -- ends the options. */
	pass = parse_ok(ARGV("-f", "--", "-src", "-mnt"), &o);
	assert_string_equal(o.source, "-src");
	assert_string_equal(o.mountpoint, "-mnt");
	panefs_options_free(&o);

	/* "-" alone is a name. */
	pass = parse_ok(ARGV("-", "mnt"), &o);
	assert_string_equal(o.source, "-");
	panefs_options_free(&o);
}

static void test_passthrough(void **state)
{
	static const char *const all =
	    "allow_root,auto_unmount,blkdev,dev,nodev,suid,nosuid,exec,"
	    "noexec,atime,noatime,sync,async,dirsync,max_read=131072,"
	    "blksize=4096,context=system_u:object_r:tmp_t:s0,fscontext=a,"
	    "defcontext=b,rootcontext=c,user=alice,fsname=disk\\,one,"
	    "subtype=vol";
	struct panefs_options o;
	const char *pass;

	(void)state;
	pass = parse_ok(ARGV("-o", all, "src", "mnt"), &o);
	/* Verbatim and in order (escapes kept for libfuse); allow_root
	 * brings default_permissions; the user's subtype replaces ours. */
	assert_true(strncmp(pass, all, strlen(all)) == 0);
	assert_string_equal(pass + strlen(all), ",default_permissions");
	assert_true(o.fsname_given);
	assert_true(o.default_permissions);
	panefs_options_free(&o);

	pass = parse_ok(ARGV("-o", "default_permissions", "src", "mnt"), &o);
	assert_true(o.default_permissions);
	assert_false(o.allow_other);
	assert_string_equal(pass, "default_permissions,subtype=panefs");
	panefs_options_free(&o);
}

static void test_allow_other_rule(void **state)
{
	struct panefs_options o;
	const char *pass;

	(void)state;
	pass = parse_ok(ARGV("-o", "allow_other", "src", "mnt"), &o);
	assert_true(o.allow_other);
	assert_true(o.default_permissions);
	assert_string_equal(pass,
			    "allow_other,default_permissions,subtype=panefs");
	panefs_options_free(&o);

	/* Given explicitly: not added twice. */
	pass = parse_ok(
	    ARGV("-o", "default_permissions,allow_other", "src", "mnt"), &o);
	assert_string_equal(pass,
			    "default_permissions,allow_other,subtype=panefs");
	panefs_options_free(&o);

	/* The opt-out is ours: recorded, not passed on. */
	pass = parse_ok(
	    ARGV("-o", "allow_other,no_default_permissions", "src", "mnt"), &o);
	assert_true(o.allow_other);
	assert_true(o.no_default_permissions);
	assert_false(o.default_permissions);
	assert_string_equal(pass, "allow_other,subtype=panefs");
	panefs_options_free(&o);
}

/*
 * Found by fuzzing (tests/fuzz/fuzz_args.c): an option ending in a lone
 * backslash escaped the comma joining it to the next one, so libfuse saw
 * "user=x\\,default_permissions,..." as one option and allow_other ran
 * without default_permissions. The backslash is now doubled.
 */
static void test_trailing_backslash(void **state)
{
	struct panefs_options o;
	const char *pass;

	(void)state;
	pass = parse_ok(ARGV("-o", "allow_other,user=x\\", "src", "mnt"), &o);
	assert_true(o.default_permissions);
	assert_string_equal(pass, "allow_other,user=x\\\\,"
				  "default_permissions,subtype=panefs");
	panefs_options_free(&o);

	/* An escaped backslash at the end is already whole. */
	pass = parse_ok(
	    ARGV("-o", "subtype=a\\\\", "-o", "allow_other", "src", "mnt"), &o);
	assert_string_equal(pass, "subtype=a\\\\,allow_other,"
				  "default_permissions");
	panefs_options_free(&o);
}

/* Found by fuzzing: "\\012" in -o put a newline into the error line. */
static void test_error_one_printable_line(void **state)
{
	struct panefs_options o;
	char err[256];
	size_t i;

	(void)state;
	assert_int_equal(parse(ARGV("-o", "bad\\012\\033[2Jopt", "src", "mnt"),
			       &o, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "unknown option 'bad??[2Jopt'");
	assert_int_equal(
	    parse(ARGV("src", "mnt", "extra\nline"), &o, err, sizeof(err)),
	    -EINVAL);
	for (i = 0; err[i]; i++)
		assert_true((unsigned char)err[i] >= 0x20);
}

static void test_fstab(void **state)
{
	struct panefs_options o;
	const char *pass;

	(void)state;
	/* What mount(8) -> mount.fuse3 hands us for an fstab line. */
	pass = parse_ok(ARGV("/srv/data", "/mnt/data", "-o",
			     "rw,defaults,_netdev,noauto,nofail,users,"
			     "x-systemd.automount,comment=hello,window=1M,"
			     "relatime,nonempty,dev,suid"),
			&o);
	assert_string_equal(o.source, "/srv/data");
	assert_string_equal(o.mountpoint, "/mnt/data");
	assert_true(o.window == 1 << 20);
	assert_string_equal(pass, "rw,dev,suid,subtype=panefs");
	panefs_options_free(&o);

	pass = parse_ok(ARGV("src", "mnt", "-o",
			     "defaults,user,auto,nouser,"
			     "owner,group"),
			&o);
	assert_string_equal(pass, "subtype=panefs");
	panefs_options_free(&o);
}

static void test_help_version(void **state)
{
	struct panefs_options o;
	char err[128];

	(void)state;
	assert_int_equal(parse(ARGV("-h"), &o, err, sizeof(err)), 0);
	assert_true(o.show_help);
	panefs_options_free(&o);
	assert_int_equal(parse(ARGV("--help"), &o, err, sizeof(err)), 0);
	assert_true(o.show_help);
	panefs_options_free(&o);
	assert_int_equal(parse(ARGV("-V"), &o, err, sizeof(err)), 0);
	assert_true(o.show_version);
	panefs_options_free(&o);
	assert_int_equal(parse(ARGV("--version"), &o, err, sizeof(err)), 0);
	assert_true(o.show_version);
	assert_false(o.show_help);
	panefs_options_free(&o);
	/* Help wins over anything else on the line, even errors. */
	assert_int_equal(parse(ARGV("-o", "bogus", "a", "b", "c", "--help"), &o,
			       err, sizeof(err)),
			 0);
	assert_true(o.show_help);
	panefs_options_free(&o);
	/* ... but not after "--". */
	parse_bad(ARGV("--", "-h"), "missing MOUNTPOINT");
}

static void test_errors(void **state)
{
	(void)state;
	parse_bad(ARGV("mnt"), "missing MOUNTPOINT");
	parse_bad(ARGV("-f"), "missing SOURCE");
	parse_bad(ARGV("a", "b", "c"), "unexpected argument 'c'");
	parse_bad(ARGV("-x", "a", "b"), "unknown option '-x'");
	parse_bad(ARGV("--foreground", "a", "b"),
		  "unknown option '--foreground'");
	parse_bad(ARGV("-fd", "a", "b"), "unknown option '-fd'");
	parse_bad(ARGV("a", "b", "-o"), "option '-o' needs an argument");
	parse_bad(ARGV("-o", "foo", "a", "b"), "unknown option 'foo'");
	parse_bad(ARGV("-o", "ro,foo=1", "a", "b"), "unknown option 'foo=1'");
	parse_bad(ARGV("-o", "ro=1", "a", "b"), "unknown option 'ro=1'");
	parse_bad(ARGV("-o", "kernel_cache", "a", "b"),
		  "unknown option 'kernel_cache'");
	parse_bad(ARGV("-o", "direct_io", "a", "b"),
		  "unknown option 'direct_io'");
	parse_bad(ARGV("-o", "strictatime", "a", "b"),
		  "unknown option 'strictatime'");
	parse_bad(ARGV("-o", "window=x", "a", "b"), "bad size 'x' for window=");
	parse_bad(ARGV("-o", "cache=1.5G", "a", "b"),
		  "bad size '1.5G' for cache=");
	parse_bad(ARGV("-o", "split=-1", "a", "b"), "bad size '-1' for split=");
	parse_bad(ARGV("-o", "window=", "a", "b"), "bad size '' for window=");
	parse_bad(ARGV("-o", "window=16777216T", "a", "b"),
		  "size '16777216T' too large for window=");
	parse_bad(ARGV("-o", "window", "a", "b"),
		  "option 'window' needs a value (window=SIZE)");
	parse_bad(ARGV("-o", "views", "a", "b"),
		  "option 'views' needs a value");
	parse_bad(ARGV("-o", "views=", "a", "b"), "views");
	parse_bad(ARGV("-o", "window=0", "a", "b"), "window= must be greater");
	parse_bad(ARGV("-o", "cache=0", "a", "b"), "cache= must be greater");
	parse_bad(ARGV("-o", "split=0", "a", "b"), "split= must be greater");
	parse_bad(ARGV("-o", "readahead=-1", "a", "b"),
		  "bad size '-1' for readahead=");
	parse_bad(ARGV("-o", "readahead=2G", "a", "b"),
		  "readahead (2147483648 bytes) is larger than 1G");
	parse_bad(ARGV("-o", "readahead", "a", "b"),
		  "option 'readahead' needs a value (readahead=SIZE)");
	parse_bad(
	    ARGV("-o", "window=2M,cache=1M", "a", "b"),
	    "window (2097152 bytes) is larger than cache (1048576 bytes)");
	parse_bad(ARGV("-o", "split=1M,views=v", "a", "b"),
		  "split= and views=");
	parse_bad(ARGV("-o", "max_threads=0", "a", "b"),
		  "bad number '0' for max_threads=");
	parse_bad(ARGV("-o", "max_threads=x", "a", "b"),
		  "bad number 'x' for max_threads=");
	parse_bad(ARGV("-o", "max_threads=100001", "a", "b"), "max_threads=");
	parse_bad(ARGV("-o", "max_idle_threads=-1", "a", "b"),
		  "max_idle_threads=");
	parse_bad(ARGV("-o", "max_read=abc", "a", "b"),
		  "bad number 'abc' for max_read=");
	parse_bad(ARGV("-o", "max_read=1M", "a", "b"), "max_read=");
	parse_bad(ARGV("-o", "blksize=", "a", "b"), "blksize=");
	parse_bad(
	    ARGV("-o", "default_permissions,no_default_permissions", "a", "b"),
	    "no_default_permissions");
	/* Errors after allocations (views, source) leak nothing. */
	parse_bad(ARGV("a", "-o", "views=v", "b", "c"),
		  "unexpected argument 'c'");
}

/* -------------------------------------------------- log_level, stats_file */

static void test_log_level(void **state)
{
	static const struct {
		const char *opt;
		int level;
	} good[] = {
	    {"log_level=error", PANEFS_LOG_ERR},
	    {"log_level=warning", PANEFS_LOG_WARNING},
	    {"log_level=notice", PANEFS_LOG_NOTICE},
	    {"log_level=info", PANEFS_LOG_INFO},
	    {"log_level=debug", PANEFS_LOG_DEBUG},
	    /* The last wins. */
	    {"log_level=debug,log_level=error", PANEFS_LOG_ERR},
	    /* From an fstab line. */
	    {"defaults,_netdev,log_level=info", PANEFS_LOG_INFO},
	};
	struct panefs_options o;
	const char *pass;
	size_t i;

	(void)state;
	/* Syslog's numbers, which are also libfuse's FUSE_LOG_*. */
	assert_int_equal(PANEFS_LOG_ERR, 3);
	assert_int_equal(PANEFS_LOG_WARNING, 4);
	assert_int_equal(PANEFS_LOG_NOTICE, 5);
	assert_int_equal(PANEFS_LOG_INFO, 6);
	assert_int_equal(PANEFS_LOG_DEBUG, 7);

	/* Default: notice. -f alone changes no level. */
	parse_ok(ARGV("src", "mnt"), &o);
	assert_int_equal(o.log_level, PANEFS_LOG_NOTICE);
	panefs_options_free(&o);
	parse_ok(ARGV("-f", "src", "mnt"), &o);
	assert_int_equal(o.log_level, PANEFS_LOG_NOTICE);
	panefs_options_free(&o);

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		pass = parse_ok(ARGV("-o", good[i].opt, "src", "mnt"), &o);
		if (o.log_level != good[i].level)
			print_error("-o %s gave level %d\n", good[i].opt,
				    o.log_level);
		assert_int_equal(o.log_level, good[i].level);
		/* Ours alone: nothing for libfuse, no -f implied. */
		assert_string_equal(pass, "subtype=panefs");
		assert_false(o.foreground);
		assert_false(o.debug);
		panefs_options_free(&o);
	}

	/* -d and -o debug mean debug output, whatever log_level says. */
	parse_ok(ARGV("-d", "src", "mnt"), &o);
	assert_int_equal(o.log_level, PANEFS_LOG_DEBUG);
	assert_true(o.foreground);
	panefs_options_free(&o);
	parse_ok(ARGV("-o", "log_level=error", "-d", "src", "mnt"), &o);
	assert_int_equal(o.log_level, PANEFS_LOG_DEBUG);
	panefs_options_free(&o);
	pass =
	    parse_ok(ARGV("-o", "debug,log_level=warning", "src", "mnt"), &o);
	assert_int_equal(o.log_level, PANEFS_LOG_DEBUG);
	assert_true(o.foreground);
	assert_string_equal(pass, "debug,subtype=panefs");
	panefs_options_free(&o);

	/* Bad values: one line naming the value and the choices. */
	parse_bad(ARGV("-o", "log_level=loud", "a", "b"),
		  "bad log_level 'loud' (error, warning, notice, info or "
		  "debug)");
	parse_bad(ARGV("-o", "log_level=", "a", "b"), "bad log_level ''");
	parse_bad(ARGV("-o", "log_level=DEBUG", "a", "b"),
		  "bad log_level 'DEBUG'");
	parse_bad(ARGV("-o", "log_level=7", "a", "b"), "bad log_level '7'");
	parse_bad(ARGV("-o", "log_level=err", "a", "b"), "bad log_level 'err'");
	parse_bad(ARGV("-o", "log_level=debug ", "a", "b"),
		  "bad log_level 'debug '");
	parse_bad(ARGV("-o", "log_level", "a", "b"),
		  "option 'log_level' needs a value (log_level=LEVEL)");
	/* A bad level wins over -d (the input is still wrong). */
	parse_bad(ARGV("-d", "-o", "log_level=x", "a", "b"),
		  "bad log_level 'x'");
}

static void test_stats_file(void **state)
{
	struct panefs_options o;
	const char *pass;

	(void)state;
	parse_ok(ARGV("src", "mnt"), &o);
	assert_null(o.stats_file);
	panefs_options_free(&o);

	pass = parse_ok(
	    ARGV("-o", "stats_file=/var/lib/prom/panefs.prom", "src", "mnt"),
	    &o);
	assert_string_equal(o.stats_file, "/var/lib/prom/panefs.prom");
	assert_string_equal(pass, "subtype=panefs"); /* ours alone */
	panefs_options_free(&o);
	assert_null(o.stats_file);

	/* Relative paths are kept as given (main.c resolves them). */
	parse_ok(ARGV("-ostats_file=rel/x.prom", "src", "mnt"), &o);
	assert_string_equal(o.stats_file, "rel/x.prom");
	panefs_options_free(&o);

	/* The last wins; "\," is a comma in the path. */
	parse_ok(
	    ARGV("-o", "stats_file=/a,stats_file=/b\\,c.prom", "src", "mnt"),
	    &o);
	assert_string_equal(o.stats_file, "/b,c.prom");
	panefs_options_free(&o);

	/* With the other options of an fstab line. */
	pass = parse_ok(ARGV("-o",
			     "defaults,window=1M,stats_file=/run/p.prom,"
			     "log_level=warning,allow_other",
			     "src", "mnt"),
			&o);
	assert_string_equal(o.stats_file, "/run/p.prom");
	assert_int_equal(o.log_level, PANEFS_LOG_WARNING);
	assert_string_equal(pass,
			    "allow_other,default_permissions,subtype=panefs");
	panefs_options_free(&o);

	parse_bad(ARGV("-o", "stats_file=", "a", "b"),
		  "option 'stats_file' needs a PATH (stats_file=PATH)");
	parse_bad(ARGV("-o", "stats_file", "a", "b"),
		  "option 'stats_file' needs a value (stats_file=PATH)");
	/* An error after the path was copied leaks nothing (ASan). */
	parse_bad(ARGV("a", "-o", "stats_file=s.prom", "b", "c"),
		  "unexpected argument 'c'");
	parse_bad(ARGV("-o", "stats_file=s.prom,log_level=no", "a", "b"),
		  "bad log_level 'no'");
}

static void test_error_buffer(void **state)
{
	struct panefs_options o;
	char err[8];

	(void)state;
	/* A short buffer is truncated, never overrun; NULL is allowed. */
	assert_int_equal(
	    parse(ARGV("-o", "a_very_long_unknown_option", "a", "b"), &o, err,
		  sizeof(err)),
	    -EINVAL);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	assert_int_equal(parse(ARGV("-o", "bogus", "a", "b"), &o, NULL, 0),
			 -EINVAL);
	/* argc 0 (no argv[0]) still works. */
	assert_int_equal(panefs_parse_args(0, NULL, &o, err, sizeof(err)),
			 -EINVAL);
}

static void test_usage(void **state)
{
	static const char *const mentioned[] = {
	    "-f",
	    "-d",
	    "-s",
	    "-h",
	    "--help",
	    "-V",
	    "--version",
	    "window=SIZE",
	    "cache=SIZE",
	    "readahead=SIZE",
	    "ro",
	    "rw",
	    "split=SIZE",
	    "views=FILE",
	    "max_threads=N",
	    "max_idle_threads=N",
	    "clone_fd",
	    "no_default_permissions",
	    "allow_other",
	    "allow_root",
	    "default_permissions",
	    "fsname=",
	    "subtype=",
	    "auto_unmount",
	    "blkdev",
	    "nodev",
	    "nosuid",
	    "noexec",
	    "noatime",
	    "dirsync",
	    "max_read=N",
	    "blksize=N",
	    "context=",
	    "user=",
	    "defaults",
	    "_netdev",
	    "noauto",
	    "nofail",
	    "users",
	    "x-*",
	    "comment=",
	    "relatime",
	    "nonempty",
	    "KiB",
	    "powers of 1024",
	    "\\,",
	    "fstab",
	    "Exit status",
	    "stats_file=PATH",
	    "log_level=LEVEL",
	    "notice (default)",
	};
	const char *u = panefs_usage();
	char def[64];
	size_t i;

	(void)state;
	assert_non_null(u);
	assert_ptr_equal(u, panefs_usage());
	for (i = 0; i < sizeof(mentioned) / sizeof(mentioned[0]); i++) {
		if (!strstr(u, mentioned[i]))
			print_error("usage lacks '%s'\n", mentioned[i]);
		assert_non_null(strstr(u, mentioned[i]));
	}
	/* Defaults, spelled as the header defines them. */
	snprintf(def, sizeof(def), "(default %lluM)",
		 (unsigned long long)(PANEFS_DEFAULT_WINDOW >> 20));
	assert_non_null(strstr(u, def));
	snprintf(def, sizeof(def), "(default %lluG)",
		 (unsigned long long)(PANEFS_DEFAULT_CACHE >> 30));
	assert_non_null(strstr(u, def));
	snprintf(def, sizeof(def), "(default %lluM;",
		 (unsigned long long)(PANEFS_DEFAULT_READAHEAD >> 20));
	assert_non_null(strstr(u, def));
	/* Every line fits a terminal. */
	for (i = 0; u[i];) {
		size_t n = strcspn(u + i, "\n");

		assert_true(n <= 79);
		i += n + (u[i + n] ? 1 : 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_size_good),
	    cmocka_unit_test(test_size_bad),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_flags),
	    cmocka_unit_test(test_own_options),
	    cmocka_unit_test(test_glued_and_multiple),
	    cmocka_unit_test(test_passthrough),
	    cmocka_unit_test(test_allow_other_rule),
	    cmocka_unit_test(test_trailing_backslash),
	    cmocka_unit_test(test_error_one_printable_line),
	    cmocka_unit_test(test_fstab),
	    cmocka_unit_test(test_help_version),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_error_buffer),
	    cmocka_unit_test(test_usage),
	    cmocka_unit_test(test_log_level),
	    cmocka_unit_test(test_stats_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
