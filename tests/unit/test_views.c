/*
 * test_views.c - the views table parser (views.h): every field form, the
 * escapes, comments and line endings, name normalisation, each error with
 * its line and message, duplicate and directory conflicts in both orders,
 * and a full-size table (VIEWS_MAX lines) in reasonable time.
 *
 * Every table is handed to the parser in a malloc'd block of exactly its
 * length, without a NUL terminator, so ASan reports any read past the end.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "panefs/views.h"

#define TIB (1ULL << 40)

/* Parse text[0..len) from an exact-size heap copy. */
static int parse_n(const char *text, size_t len, struct view_table *t,
		   struct views_error *e)
{
	char *copy = malloc(len ? len : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, text, len);
	memset(t, 0x5a, sizeof(*t)); /* must be overwritten either way */
	rc = views_parse(copy, len, t, e);
	free(copy);
	return rc;
}

static void check_one_line(const char *msg)
{
	const char *c;

	assert_true(strlen(msg) < sizeof(((struct views_error *)0)->msg));
	for (c = msg; *c; c++)
		assert_true((unsigned char)*c >= 0x20 && *c != 0x7f);
}

/* Parse, expect success with count views. */
static void parse_ok_n(const char *text, size_t len, struct view_table *t,
		       size_t count)
{
	struct views_error e;
	int rc = parse_n(text, len, t, &e);

	if (rc != 0)
		print_error("unexpected error on line %u: %s\n", e.line, e.msg);
	assert_int_equal(rc, 0);
	assert_int_equal(t->count, count);
	assert_non_null(t->v);
}

static void parse_ok(const char *text, struct view_table *t, size_t count)
{
	parse_ok_n(text, strlen(text), t, count);
}

/* Parse, expect -EINVAL on line with a message containing want. */
static void parse_bad_n(const char *text, size_t len, unsigned line,
			const char *want)
{
	struct view_table t;
	struct views_error e;
	int rc = parse_n(text, len, &t, &e);

	if (rc != -EINVAL || e.line != line || !strstr(e.msg, want))
		print_error("got %d, line %u '%s'; want line %u '%s'\n", rc,
			    e.line, rc ? e.msg : "", line, want);
	assert_int_equal(rc, -EINVAL);
	assert_int_equal(e.line, line);
	assert_non_null(strstr(e.msg, want));
	check_one_line(e.msg);
	/* Nothing is left in the table on error. */
	assert_null(t.v);
	assert_int_equal(t.count, 0);
}

static void parse_bad(const char *text, unsigned line, const char *want)
{
	parse_bad_n(text, strlen(text), line, want);
}

static void check_view(const struct view_entry *v, const char *name,
		       const char *backing, uint64_t offset, uint64_t length,
		       bool ro, unsigned line)
{
	assert_string_equal(v->name, name);
	assert_string_equal(v->backing, backing);
	assert_true(v->offset == offset);
	assert_true(v->length == length);
	assert_false(v->partitions);
	assert_int_equal(v->ro, ro);
	assert_int_equal(v->line, line);
}

/* -------------------------------------------------------------- fields */

static void test_fields(void **state)
{
	struct view_table t;

	(void)state;
	parse_ok("disk/boot img/disk.raw 1048576 536870912 ro\n"
		 "disk/root img/disk.raw 512M - rw\n"
		 "swap swap.img 0 4G\n",
		 &t, 3);
	check_view(&t.v[0], "disk/boot", "img/disk.raw", 1 << 20, 512 << 20,
		   true, 1);
	check_view(&t.v[1], "disk/root", "img/disk.raw", 512 << 20, VIEW_TO_END,
		   false, 2);
	check_view(&t.v[2], "swap", "swap.img", 0, 4ULL << 30, false, 3);
	views_free(&t);
	assert_null(t.v);
	assert_int_equal(t.count, 0);
	views_free(&t); /* twice is harmless */
	views_free(NULL);
}

static void test_sizes(void **state)
{
	struct view_table t;

	(void)state;
	parse_ok("a f 1K 2k\n"
		 "b f 3KiB 4kib\n"
		 "c f 5M 6MiB\n"
		 "d f 7G 8g\n"
		 "e f 3T 1T\n"			/* above 2 TiB */
		 "g f 2199023255553 -\n"	/* 2 TiB + 1 */
		 "h f 9223372036854775807 0\n"	/* 2^63 - 1 */
		 "i f 9223372036854775807 -\n"	/* '-' at the edge */
		 "j f 8388607T 1099511627775\n" /* sum 2^63 - 1 */
		 "k f 0 9223372036854775807\n"	/* length 2^63 - 1 */
		 "l f 007 0\n",
		 &t, 11);
	check_view(&t.v[0], "a", "f", 1024, 2048, false, 1);
	check_view(&t.v[1], "b", "f", 3 << 10, 4 << 10, false, 2);
	check_view(&t.v[2], "c", "f", 5 << 20, 6 << 20, false, 3);
	check_view(&t.v[3], "d", "f", 7ULL << 30, 8ULL << 30, false, 4);
	check_view(&t.v[4], "e", "f", 3 * TIB, TIB, false, 5);
	check_view(&t.v[5], "g", "f", 2 * TIB + 1, VIEW_TO_END, false, 6);
	check_view(&t.v[6], "h", "f", INT64_MAX, 0, false, 7);
	check_view(&t.v[7], "i", "f", INT64_MAX, VIEW_TO_END, false, 8);
	check_view(&t.v[8], "j", "f", 8388607 * TIB, TIB - 1, false, 9);
	check_view(&t.v[9], "k", "f", 0, INT64_MAX, false, 10);
	check_view(&t.v[10], "l", "f", 7, 0, false, 11);
	views_free(&t);
}

static void test_modes(void **state)
{
	struct view_table t;

	(void)state;
	parse_ok("a f 0 1\nb f 0 1 ro\nc f 0 1 rw\n"
		 "d f partitions\ne f partitions ro\ng f partitions rw\n",
		 &t, 6);
	assert_false(t.v[0].ro);
	assert_true(t.v[1].ro);
	assert_false(t.v[2].ro);
	assert_false(t.v[3].ro);
	assert_true(t.v[4].ro);
	assert_false(t.v[5].ro);
	views_free(&t);
}

static void test_partitions(void **state)
{
	struct view_table t;
	size_t i;

	(void)state;
	parse_ok("disk images/disk.img partitions\n"
		 "other/disk images/b.img partitions ro\n"
		 "plain images/c.img 0 -\n",
		 &t, 3);
	for (i = 0; i < 2; i++) {
		assert_true(t.v[i].partitions);
		assert_true(t.v[i].offset == 0);
		assert_true(t.v[i].length == VIEW_TO_END);
		assert_int_equal(t.v[i].line, i + 1);
	}
	assert_string_equal(t.v[0].name, "disk");
	assert_string_equal(t.v[0].backing, "images/disk.img");
	assert_false(t.v[0].ro);
	assert_string_equal(t.v[1].name, "other/disk");
	assert_true(t.v[1].ro);
	assert_false(t.v[2].partitions);
	views_free(&t);
}

static void test_escapes(void **state)
{
	struct view_table t;

	(void)state;
	parse_ok("my\\ disk dir\\ 1/a\\ b.img 0 1\n"
		 "\\#hash f\\#x 0 1\n"
		 "back\\\\slash f 0 1\n"
		 "tab\\\there f 0 1\n"
		 "\\a\\b\\c f 0 1\n" /* any escaped byte is itself */
		 "dash f 0 \\-\n"    /* keywords after unescaping */
		 "parts f \\partitions \\ro\n"
		 "sl\\/ash f 0 1\n", /* an escaped '/' is still '/' */
		 &t, 8);
	check_view(&t.v[0], "my disk", "dir 1/a b.img", 0, 1, false, 1);
	check_view(&t.v[1], "#hash", "f#x", 0, 1, false, 2);
	check_view(&t.v[2], "back\\slash", "f", 0, 1, false, 3);
	check_view(&t.v[3], "tab\there", "f", 0, 1, false, 4);
	check_view(&t.v[4], "abc", "f", 0, 1, false, 5);
	check_view(&t.v[5], "dash", "f", 0, VIEW_TO_END, false, 6);
	assert_true(t.v[6].partitions);
	assert_true(t.v[6].ro);
	assert_string_equal(t.v[7].name, "sl/ash");
	views_free(&t);

	parse_bad("a f 0 1\\", 1, "backslash at the end of a line");
	parse_bad("a f 0 1\n\nb f 0 1 \\\n", 3,
		  "backslash at the end of a line");
	parse_bad("a f 0 1\r\nb\\\r\n", 2, "backslash at the end of a line");
	/* Even after a comment sign: the escape makes '#' a field. */
	parse_bad("a f 0 1 \\#\n", 1, "bad mode '#'");
}

static void test_comments_blank(void **state)
{
	struct view_table t;

	(void)state;
	parse_ok("# the views\n"
		 "\n"
		 "   \t \n"
		 "  # indented comment \\\n" /* a backslash in a comment */
		 "a f 0 1 # trailing comment\n"
		 "b f 0 1 ro #\n"
		 "c#d f#g 0 1\n" /* '#' inside a field */
		 "e f partitions # no mode\n"
		 "#\n",
		 &t, 4);
	check_view(&t.v[0], "a", "f", 0, 1, false, 5);
	check_view(&t.v[1], "b", "f", 0, 1, true, 6);
	check_view(&t.v[2], "c#d", "f#g", 0, 1, false, 7);
	assert_string_equal(t.v[3].name, "e");
	assert_true(t.v[3].partitions);
	assert_int_equal(t.v[3].line, 8);
	views_free(&t);
}

static void test_line_endings(void **state)
{
	struct view_table t;

	(void)state;
	/* CRLF, blank CRLF lines, a CRLF comment, no final newline. */
	parse_ok("a f 0 1\r\n\r\n# c\r\nb f 0 - ro\r\nc f partitions\r\n"
		 "d f 0 2",
		 &t, 4);
	check_view(&t.v[0], "a", "f", 0, 1, false, 1);
	check_view(&t.v[1], "b", "f", 0, VIEW_TO_END, true, 4);
	assert_true(t.v[2].partitions);
	assert_false(t.v[2].ro);
	check_view(&t.v[3], "d", "f", 0, 2, false, 6);
	views_free(&t);

	/* A final CR without LF; a CR inside a line is an ordinary byte. */
	parse_ok("a f 0 1 ro\r", &t, 1);
	check_view(&t.v[0], "a", "f", 0, 1, true, 1);
	views_free(&t);
	parse_ok("a\rb f 0 1\n", &t, 1);
	assert_string_equal(t.v[0].name, "a\rb");
	views_free(&t);
	parse_bad("a f 0 1 ro\r\r\n", 1, "bad mode 'ro?'");

	/* Tabs and runs of blanks separate fields. */
	parse_ok("\ta\tf\t0\t1\tro\t\n  b \t f  0\t\t- \n", &t, 2);
	check_view(&t.v[0], "a", "f", 0, 1, true, 1);
	check_view(&t.v[1], "b", "f", 0, VIEW_TO_END, false, 2);
	views_free(&t);
}

static void test_names_normalised(void **state)
{
	static const struct {
		const char *raw, *norm;
	} cases[] = {
	    {"a//b/", "a/b"},
	    {"a/", "a"},
	    {"a///b////c//", "a/b/c"},
	    {"...", "..."},
	    {"a/.b/..c/c..", "a/.b/..c/c.."},
	    {"x/.../y", "x/.../y"},
	};
	char line[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct view_table t;

		snprintf(line, sizeof(line), "%s f 0 1\n", cases[i].raw);
		parse_ok(line, &t, 1);
		assert_string_equal(t.v[0].name, cases[i].norm);
		views_free(&t);
	}
}

static void test_name_limits(void **state)
{
	char comp[NAME_MAX + 2], *text, *p;
	struct view_table t;
	size_t n;

	(void)state;
	/* A component of NAME_MAX bytes is fine, one more is not. */
	memset(comp, 'c', NAME_MAX);
	comp[NAME_MAX] = '\0';
	text = malloc(2 * PATH_MAX);
	assert_non_null(text);
	snprintf(text, 2 * PATH_MAX, "d/%s f 0 1\n", comp);
	parse_ok(text, &t, 1);
	assert_int_equal(strlen(t.v[0].name), NAME_MAX + 2);
	views_free(&t);
	comp[NAME_MAX] = 'c';
	comp[NAME_MAX + 1] = '\0';
	snprintf(text, 2 * PATH_MAX, "d f 0 1\nd/%s f 0 1\n", comp);
	parse_bad(text, 2, "component is longer than 255 bytes");
	/* The quote is cut short, the reason still shows. */
	parse_bad(text, 2, "'d/ccc");
	parse_bad(text, 2, "...'");

	/* PATH_MAX - 1 bytes after normalisation is fine, one more is not;
	 * extra slashes do not count. */
	p = text;
	for (n = 0; n + 2 <= PATH_MAX - 1; n += 2) {
		*p++ = 'a';
		*p++ = '/';
		*p++ = '/';
	}
	*p++ = 'z'; /* PATH_MAX - 1 bytes */
	memcpy(p, " f 0 1\n", 8);
	parse_ok(text, &t, 1);
	assert_int_equal(strlen(t.v[0].name), PATH_MAX - 1);
	views_free(&t);
	p[0] = 'y';
	memcpy(p + 1, " f 0 1\n", 8);
	parse_bad(text, 1, "longer than 4095 bytes");
	free(text);
}

/* -------------------------------------------------------------- errors */

static void test_name_errors(void **state)
{
	(void)state;
	parse_bad("/abs f 0 1\n", 1, "bad NAME '/abs': absolute");
	parse_bad("# c\n//x f 0 1\n", 2, "bad NAME '//x': absolute");
	parse_bad("a/./b f 0 1\n", 1, "bad NAME 'a/./b': '.' component");
	parse_bad(". f 0 1\n", 1, "bad NAME '.': '.' component");
	parse_bad("x f 0 1\n.. f 0 1\n", 2, "bad NAME '..': '..' component");
	parse_bad("a/.. f 0 1\n", 1, "bad NAME 'a/..': '..' component");
	parse_bad("a/../b f 0 1\n", 1, "'..' component");
	parse_bad("a//./ f partitions\n", 1, "'.' component");
}

static void test_backing_errors(void **state)
{
	struct view_table t;

	(void)state;
	parse_bad("a /etc/passwd 0 1\n", 1,
		  "BACKING '/etc/passwd' leaves SOURCE");
	parse_bad("a ../x 0 1\n", 1, "BACKING '../x' leaves SOURCE");
	parse_bad("a d/../../x 0 1\n", 1, "BACKING 'd/../../x' leaves SOURCE");
	parse_bad("a d/.. 0 1\n", 1, "BACKING 'd/..' leaves SOURCE");
	parse_bad("a .. partitions\n", 1, "BACKING '..' leaves SOURCE");
	parse_bad("a d//..//x 0 1\n", 1, "leaves SOURCE");
	/* Kept as written: not normalised, "." and dotted names are fine. */
	parse_ok("a ./d//x/ 0 1\nb ..x/x.. 0 1\nc ... 0 1\nd . 0 1\n", &t, 4);
	assert_string_equal(t.v[0].backing, "./d//x/");
	assert_string_equal(t.v[1].backing, "..x/x..");
	assert_string_equal(t.v[2].backing, "...");
	assert_string_equal(t.v[3].backing, ".");
	views_free(&t);
}

static void test_size_errors(void **state)
{
	(void)state;
	parse_bad("a f 12Q 1\n", 1, "bad OFFSET '12Q': not a size");
	parse_bad("a f -1 1\n", 1, "bad OFFSET '-1': not a size");
	parse_bad("a f - 1\n", 1, "bad OFFSET '-': not a size");
	parse_bad("a f 1.5M 1\n", 1, "bad OFFSET '1.5M': not a size");
	parse_bad("a f 0x10 1\n", 1, "bad OFFSET '0x10': not a size");
	parse_bad("a f +1 1\n", 1, "bad OFFSET '+1': not a size");
	parse_bad("a f 18446744073709551616 1\n", 1,
		  "bad OFFSET '18446744073709551616': not a size");
	parse_bad("a f 0 1X\n", 1, "bad LENGTH '1X': not a size");
	parse_bad("a f 0 --\n", 1, "bad LENGTH '--': not a size");
	parse_bad("a f 0 partitions\n", 1, "bad LENGTH 'partitions'");
	parse_bad("a f 1 2\nb f 0 K\n", 2, "bad LENGTH 'K': not a size");
	/* 63 bits: each alone, and the sum. */
	parse_bad("a f 9223372036854775808 0\n", 1,
		  "bad OFFSET '9223372036854775808': more than 2^63-1 bytes");
	parse_bad("a f 8388608T -\n", 1, "bad OFFSET '8388608T'");
	parse_bad("a f 18446744073709551615 1\n", 1, "more than 2^63-1");
	parse_bad("a f 0 9223372036854775808\n", 1,
		  "bad LENGTH '9223372036854775808': more than 2^63-1");
	parse_bad("a f 0 16777215T\n", 1, "bad LENGTH '16777215T'");
	parse_bad("a f 8388607T 1T\n", 1,
		  "OFFSET '8388607T' + LENGTH '1T' is past 2^63-1 bytes");
	parse_bad("a f 9223372036854775807 1\n", 1, "is past 2^63-1");
	parse_bad("a f 4611686018427387904 4611686018427387904\n", 1,
		  "is past 2^63-1");
}

static void test_mode_errors(void **state)
{
	(void)state;
	parse_bad("a f 0 1 RO\n", 1, "bad mode 'RO': not ro or rw");
	parse_bad("a f 0 1 r\n", 1, "bad mode 'r'");
	parse_bad("a f 0 1 rwx\n", 1, "bad mode 'rwx'");
	parse_bad("a f partitions 1\n", 1, "bad mode '1'");
	parse_bad("a f partitions -\n", 1, "bad mode '-'");
}

#define EXPECTED_FIELDS                                                        \
	"expected NAME BACKING OFFSET LENGTH [ro|rw] or "                      \
	"NAME BACKING partitions [ro|rw]"

static void test_field_count(void **state)
{
	(void)state;
	parse_bad("a\n", 1, EXPECTED_FIELDS);
	parse_bad("a f\n", 1, EXPECTED_FIELDS);
	parse_bad("ok f 0 1\na f 0\n", 2, EXPECTED_FIELDS);
	parse_bad("a f 0 1 ro x\n", 1, EXPECTED_FIELDS);
	parse_bad("a f 0 1 ro x y z w v\n", 1, EXPECTED_FIELDS);
	parse_bad("a f partitions 0 1\n", 1, EXPECTED_FIELDS);
	parse_bad("a f partitions ro x\n", 1, EXPECTED_FIELDS);
	parse_bad("a f 0 1 ro\\ \n", 1, "bad mode 'ro '");
	/* The message is whole: it fits the buffer. */
	{
		struct view_table t;
		struct views_error e;

		assert_int_equal(parse_n("a\n", 2, &t, &e), -EINVAL);
		assert_string_equal(e.msg, EXPECTED_FIELDS);
	}
}

static void test_nul_byte(void **state)
{
	static const char t1[] = "a f 0 1\nb\0 f 0 1\n";
	static const char t2[] = "a f 0 1 # comment \0 too\n";
	static const char t3[] = "\0";

	(void)state;
	parse_bad_n(t1, sizeof(t1) - 1, 2, "NUL byte");
	parse_bad_n(t2, sizeof(t2) - 1, 1, "NUL byte");
	parse_bad_n(t3, sizeof(t3) - 1, 1, "NUL byte");
}

static void test_empty(void **state)
{
	struct view_table t;
	struct views_error e;

	(void)state;
	parse_bad("", 0, "the table lists no views");
	parse_bad("\n\n\n", 0, "the table lists no views");
	parse_bad("# nothing\n   \n\t# here\r\n", 0,
		  "the table lists no views");
	/* NULL text of length 0 is an empty table. */
	assert_int_equal(views_parse(NULL, 0, &t, &e), -EINVAL);
	assert_int_equal(e.line, 0);
	assert_string_equal(e.msg, "the table lists no views");
	assert_null(t.v);
}

/* Only len bytes are read: what follows in the buffer is not the table. */
static void test_not_terminated(void **state)
{
	static const char text[] = "a f 0 10 ro\nb f 0 1\\\n";
	struct view_table t;

	(void)state;
	/* Cut inside LENGTH: "a f 0 1". */
	parse_ok_n(text, 7, &t, 1);
	check_view(&t.v[0], "a", "f", 0, 1, false, 1);
	views_free(&t);
	/* Cut before the mode and before the bad second line. */
	parse_ok_n(text, 9, &t, 1);
	check_view(&t.v[0], "a", "f", 0, 10, false, 1);
	views_free(&t);
	parse_ok_n(text, 12, &t, 1);
	check_view(&t.v[0], "a", "f", 0, 10, true, 1);
	views_free(&t);
	/* Cut inside the escape: a backslash at the very end. */
	parse_bad_n(text, 20, 2, "backslash at the end");
	parse_ok_n(text, 19, &t, 2);
	check_view(&t.v[1], "b", "f", 0, 1, false, 2);
	views_free(&t);
	/* Cut right after a CR of a CRLF: still dropped. */
	parse_ok_n("a f 0 1\r\nb", 8, &t, 1);
	check_view(&t.v[0], "a", "f", 0, 1, false, 1);
	views_free(&t);
}

static void test_null_args(void **state)
{
	struct view_table t;
	struct views_error e;

	(void)state;
	assert_int_equal(views_parse("a f 0 1", 7, NULL, &e), -EINVAL);
	assert_int_equal(views_parse(NULL, 3, &t, &e), -EINVAL);
	/* err may be NULL. */
	assert_int_equal(views_parse("a f 0 1", 7, &t, NULL), 0);
	views_free(&t);
	assert_int_equal(views_parse("a f 0", 5, &t, NULL), -EINVAL);
	assert_null(t.v);
}

static void test_message_printable(void **state)
{
	(void)state;
	/* A tab and a CR in the quoted field become '?'. */
	parse_bad("x\\\ty\\\rz f 0 1 bad\n", 1, "bad mode 'bad'");
	parse_bad("a f 0 1 b\\\ta\\\rd\n", 1, "bad mode 'b?a?d'");
	parse_bad("a f 0 \\\x01\n", 1, "bad LENGTH '?'");
}

static void test_too_large(void **state)
{
	size_t len = VIEWS_TEXT_MAX + 1;
	char *text = malloc(len);
	struct view_table t;
	struct views_error e;

	(void)state;
	assert_non_null(text);
	memset(text, ' ', len);
	memcpy(text, "a f 0 1\n", 8);
	assert_int_equal(views_parse(text, len, &t, &e), -EINVAL);
	assert_int_equal(e.line, 0);
	assert_non_null(strstr(e.msg, "larger than 16 MiB"));
	assert_null(t.v);
	/* Exactly VIEWS_TEXT_MAX is accepted. */
	assert_int_equal(views_parse(text, len - 1, &t, &e), 0);
	assert_int_equal(t.count, 1);
	views_free(&t);
	free(text);
}

/* ----------------------------------------------------------- conflicts */

static void test_duplicates(void **state)
{
	struct view_table t;

	(void)state;
	parse_bad("disk/a f 0 1\n# x\ndisk/a g 0 1\n", 3,
		  "duplicate NAME 'disk/a' (first on line 1)");
	/* Duplicates after normalisation, quoted normalised. */
	parse_bad("a//b/ f 0 1\na/b f 0 1\n", 2,
		  "duplicate NAME 'a/b' (first on line 1)");
	parse_bad("a/b f 0 1\na//b/ f 0 1\n", 2,
		  "duplicate NAME 'a/b' (first on line 1)");
	/* A partitions view and a plain view, either order. */
	parse_bad("d f partitions\nd f 0 1\n", 2,
		  "duplicate NAME 'd' (first on line 1)");
	parse_bad("d f 0 1\nd f partitions ro\n", 2,
		  "duplicate NAME 'd' (first on line 1)");
	/* Three times: the second is reported. */
	parse_bad("q f 0 1\nz f 0 1\nq f 0 2\nq f 0 3\n", 3,
		  "duplicate NAME 'q' (first on line 1)");
	/* Escaped and plain spellings of one name. */
	parse_bad("a\\ b f 0 1\nx f 0 1\na\\ b f 0 1\n", 3,
		  "duplicate NAME 'a b' (first on line 1)");
	/* Not duplicates. */
	parse_ok("a f 0 1\nA f 0 1\na. f 0 1\nab f 0 1\n", &t, 4);
	views_free(&t);
}

static void test_directory_conflicts(void **state)
{
	struct view_table t;

	(void)state;
	/* The directory first, then the view of the same name. */
	parse_bad("disk/a f 0 1\n\n\n\ndisk f 0 1\n", 5,
		  "NAME 'disk' is also a directory of 'disk/a' (line 1)");
	/* The view first, then a name under it. */
	parse_bad("disk f 0 1\ndisk/a f 0 1\n", 2,
		  "NAME 'disk/a' is under 'disk', which is a view (line 1)");
	parse_bad("a f 0 1\nb f 0 1\na/b/c/d f 0 1\n", 3,
		  "NAME 'a/b/c/d' is under 'a', which is a view (line 1)");
	parse_bad("a/b/c/d f 0 1\na f 0 1\n", 2,
		  "NAME 'a' is also a directory of 'a/b/c/d' (line 1)");
	/* A partitions NAME is a directory nobody else may use. */
	parse_bad("disk f partitions\ndisk/p1 f 0 1\n", 2,
		  "NAME 'disk/p1' is under 'disk', which holds partitions "
		  "(line 1)");
	parse_bad(
	    "disk/x/y f 0 1\ndisk f partitions\n", 2,
	    "partitions NAME 'disk' cannot also hold 'disk/x/y' (line 1)");
	parse_bad("d f partitions\nd/e f partitions\n", 2, "holds partitions");
	/* Bytes sorting between "a" and "a/" ('!' ' ' '.' are below '/')
	 * do not hide a conflict. */
	parse_bad("a f 0 1\na! f 0 1\na\\ x f 0 1\na.b f 0 1\na/b f 0 1\n", 5,
		  "NAME 'a/b' is under 'a', which is a view (line 1)");
	parse_bad("a/b f 0 1\na! f 0 1\na\\ x f 0 1\na.b f 0 1\na f 0 1\n", 5,
		  "NAME 'a' is also a directory of 'a/b' (line 1)");
	/* Siblings, names that only share a prefix of bytes, fine. */
	parse_ok("a/b f 0 1\na/c f 0 1\nab/c f 0 1\na.b f 0 1\n"
		 "a!/x f 0 1\nx/y/z f partitions\nx/y/zz f 0 1\n"
		 "x/y/z! f partitions\n",
		 &t, 8);
	views_free(&t);
}

/* The first error in the file wins, whatever kind it is. */
static void test_first_error(void **state)
{
	(void)state;
	/* A conflict before a syntax error. */
	parse_bad("a f 0 1\nb f 0 1\na f 0 1\nc f 0\nd f 0 Q\n", 3,
		  "duplicate NAME 'a'");
	/* A syntax error before a conflict. */
	parse_bad("a f 0 1\nb f 0 1\nc f 0\na f 0 1\n", 3, EXPECTED_FIELDS);
	/* Among conflicts, the one whose later line comes first: 'a/b/c'
	 * (line 2) clashes with 'a' (line 1) before 'a/b' (line 3) does. */
	parse_bad("a f 0 1\na/b/c f 0 1\na/b f 0 1\n", 2,
		  "NAME 'a/b/c' is under 'a', which is a view (line 1)");
	/* Not next to each other once sorted: 'A/y' line 2 clashes with 'A'
	 * line 1 although 'A/x' (line 10) sorts between them. */
	parse_bad("A f 0 1\nA/y f 0 1\n\n\n\n\n\n\n\nA/x f 0 1\n", 2,
		  "NAME 'A/y' is under 'A', which is a view (line 1)");
	/* The same later line, two partners: the earlier partner. */
	parse_bad("d/y f 0 1\nd/x f 0 1\nd f 0 1\n", 3,
		  "NAME 'd' is also a directory of 'd/y' (line 1)");
	parse_bad("d/x f 0 1\nd/y f 0 1\nd f 0 1\n", 3,
		  "NAME 'd' is also a directory of 'd/x' (line 1)");
	/* A duplicate and a directory conflict on one line. */
	parse_bad("d/x f 0 1\nd f 0 1\nd f 0 1\n", 2,
		  "NAME 'd' is also a directory of 'd/x' (line 1)");
}

/* ---------------------------------------------------------------- size */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* n lines "dNNN/vNNNNNN[/deeper] img N 4K ro", plus extra after them. */
static char *big_table(size_t n, const char *extra, size_t *len)
{
	size_t cap = n * 64 + strlen(extra) + 1, off = 0, i;
	char *text = malloc(cap);

	assert_non_null(text);
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(
		    text + off, cap - off, "d%03zu/v%06zu%s img %zuK 4K%s\n",
		    i % 997, (i * 7919) % n, i % 3 ? "" : "/x/y", i,
		    i % 2 ? " ro" : "");
	off += (size_t)snprintf(text + off, cap - off, "%s", extra);
	*len = off;
	return text;
}

static void test_many_views(void **state)
{
	struct view_table t;
	struct views_error e;
	size_t len;
	char *text;
	double t0, dt;

	(void)state;
	text = big_table(VIEWS_MAX, "# end\n", &len);
	t0 = now();
	assert_int_equal(parse_n(text, len, &t, &e), 0);
	dt = now() - t0;
	assert_int_equal(t.count, VIEWS_MAX);
	assert_int_equal(t.v[VIEWS_MAX - 1].line, VIEWS_MAX);
	assert_string_equal(t.v[1].name, "d001/v007919");
	assert_string_equal(t.v[3].name, "d003/v023757/x/y");
	assert_true(t.v[3].offset == 3 << 10);
	/* Sorting and conflicts must not be quadratic: well under a second
	 * unsanitized; a generous bound for sanitizers and busy machines. */
	if (dt > 5.0)
		print_error("100000 views took %.2f s\n", dt);
	assert_true(dt < 5.0);
	views_free(&t);
	free(text);

	/* One more view is too many. */
	text = big_table(VIEWS_MAX, "# x\nlast f 0 1\n", &len);
	assert_int_equal(parse_n(text, len, &t, &e), -EINVAL);
	assert_int_equal(e.line, VIEWS_MAX + 2);
	assert_string_equal(e.msg, "more than 100000 views");
	free(text);

	/* A duplicate and a directory conflict at the end of a big table. */
	text = big_table(VIEWS_MAX - 1, "d000/v000000/x f 0 1\n", &len);
	t0 = now();
	assert_int_equal(parse_n(text, len, &t, &e), -EINVAL);
	dt = now() - t0;
	assert_true(dt < 5.0);
	assert_int_equal(e.line, VIEWS_MAX);
	assert_string_equal(e.msg, "NAME 'd000/v000000/x' is also a directory "
				   "of 'd000/v000000/x/y' (line 1)");
	free(text);
	text = big_table(VIEWS_MAX - 1, "d001/v007919 f 0 1\n", &len);
	assert_int_equal(parse_n(text, len, &t, &e), -EINVAL);
	assert_int_equal(e.line, VIEWS_MAX);
	assert_string_equal(e.msg, "duplicate NAME 'd001/v007919' "
				   "(first on line 2)");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fields),
	    cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_modes),
	    cmocka_unit_test(test_partitions),
	    cmocka_unit_test(test_escapes),
	    cmocka_unit_test(test_comments_blank),
	    cmocka_unit_test(test_line_endings),
	    cmocka_unit_test(test_names_normalised),
	    cmocka_unit_test(test_name_limits),
	    cmocka_unit_test(test_name_errors),
	    cmocka_unit_test(test_backing_errors),
	    cmocka_unit_test(test_size_errors),
	    cmocka_unit_test(test_mode_errors),
	    cmocka_unit_test(test_field_count),
	    cmocka_unit_test(test_nul_byte),
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_not_terminated),
	    cmocka_unit_test(test_null_args),
	    cmocka_unit_test(test_message_printable),
	    cmocka_unit_test(test_too_large),
	    cmocka_unit_test(test_duplicates),
	    cmocka_unit_test(test_directory_conflicts),
	    cmocka_unit_test(test_first_error),
	    cmocka_unit_test(test_many_views),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
