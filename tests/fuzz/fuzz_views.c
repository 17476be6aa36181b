/*
 * fuzz_views.c - libFuzzer harness for views_parse().
 *
 * The input bytes are the table text as they are (NUL bytes included, no
 * terminator): libFuzzer hands them over in a heap block of exactly that
 * size, so ASan sees any read past text + len.
 *
 * Checked on every input (a violation aborts, which libFuzzer reports):
 * - no crash, no undefined behaviour, no leak;
 * - the return is 0 or -EINVAL (-ENOMEM cannot happen under the fuzzer's
 *   rss limit for tables this small);
 * - on error: the table is left empty, the message is a non-empty,
 *   NUL-terminated, printable line, and the line is one of the input's
 *   (0 only for a table without views, or one too large);
 * - on success: 1 to VIEWS_MAX views in increasing line order; every NAME
 *   normalised (relative, no empty, "." or ".." component, no trailing
 *   '/', components within NAME_MAX, under PATH_MAX in all); every BACKING
 *   relative without a ".." component; partitions views span 0 to the
 *   end; OFFSET + LENGTH within 63 bits; no NAME twice and none a
 *   directory of another (checked the slow way, pair by pair);
 * - the parsed table, written back out with escapes, parses to the same
 *   views (the escapes and the normalisation agree with each other).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "panefs/views.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			abort();                                               \
	} while (0)

/* Above this many views the pairwise conflict check is skipped (slow). */
#define PAIRWISE_MAX 2000

static unsigned count_lines(const uint8_t *data, size_t size)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < size; i++)
		if (data[i] == '\n')
			n++;
	return n + (size > 0 && data[size - 1] != '\n');
}

static void check_error(const struct view_table *t, const struct views_error *e,
			unsigned lines)
{
	const char *end = memchr(e->msg, '\0', sizeof(e->msg));
	const char *c;

	CHECK(t->v == NULL && t->count == 0);
	CHECK(end != NULL && end > e->msg);
	for (c = e->msg; c < end; c++)
		CHECK((unsigned char)*c >= 0x20 && *c != 0x7f);
	CHECK(e->line <= lines);
	if (e->line == 0)
		CHECK(strcmp(e->msg, "the table lists no views") == 0 ||
		      strstr(e->msg, "larger than") != NULL);
}

static void check_name(const char *name)
{
	const char *s = name;
	size_t len = strlen(name);

	CHECK(len > 0 && len < PATH_MAX);
	CHECK(name[0] != '/' && name[len - 1] != '/');
	CHECK(strchr(name, '\n') == NULL);
	while (*s) {
		size_t n = strcspn(s, "/");

		CHECK(n > 0 && n <= NAME_MAX);
		CHECK(!(n == 1 && s[0] == '.'));
		CHECK(!(n == 2 && s[0] == '.' && s[1] == '.'));
		s += n;
		if (*s == '/')
			s++;
	}
}

static void check_backing(const char *b)
{
	const char *s = b;

	CHECK(b[0] != '\0' && b[0] != '/');
	CHECK(strchr(b, '\n') == NULL);
	while (*s) {
		size_t n = strcspn(s, "/");

		CHECK(!(n == 2 && s[0] == '.' && s[1] == '.'));
		s += n;
		s += strspn(s, "/");
	}
}

/* a equals b, or b lies under directory a. */
static bool same_or_under(const char *a, const char *b)
{
	size_t la = strlen(a);

	return strncmp(a, b, la) == 0 && (b[la] == '\0' || b[la] == '/');
}

static void check_table(const struct view_table *t, unsigned lines)
{
	size_t i, j;

	CHECK(t->count >= 1 && t->count <= VIEWS_MAX && t->v != NULL);
	for (i = 0; i < t->count; i++) {
		const struct view_entry *v = &t->v[i];

		check_name(v->name);
		check_backing(v->backing);
		CHECK(v->line >= 1 && v->line <= lines);
		CHECK(i == 0 || v->line > t->v[i - 1].line);
		if (v->partitions) {
			CHECK(v->offset == 0 && v->length == VIEW_TO_END);
		} else {
			CHECK(v->offset <= INT64_MAX);
			CHECK(v->length == VIEW_TO_END ||
			      v->length <= INT64_MAX - v->offset);
		}
	}
	if (t->count > PAIRWISE_MAX)
		return;
	for (i = 0; i < t->count; i++)
		for (j = 0; j < t->count; j++)
			CHECK(i == j ||
			      !same_or_under(t->v[i].name, t->v[j].name));
}

/* s with the bytes the table syntax gives a meaning escaped. */
static void put_field(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (strchr(" \t#\\\r", *s))
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc(' ', f);
}

/* Write t back out as a table and parse it: the same views come back. */
static void check_round_trip(const struct view_table *t)
{
	struct view_table t2;
	struct views_error e;
	char *text = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&text, &len);

	CHECK(f != NULL);
	for (i = 0; i < t->count; i++) {
		const struct view_entry *v = &t->v[i];

		put_field(f, v->name);
		put_field(f, v->backing);
		if (v->partitions)
			fputs("partitions", f);
		else if (v->length == VIEW_TO_END)
			fprintf(f, "%" PRIu64 " -", v->offset);
		else
			fprintf(f, "%" PRIu64 " %" PRIu64, v->offset,
				v->length);
		fputs(v->ro ? " ro\n" : " rw\n", f);
	}
	CHECK(fclose(f) == 0);
	CHECK(views_parse(text, len, &t2, &e) == 0);
	CHECK(t2.count == t->count);
	for (i = 0; i < t->count; i++) {
		const struct view_entry *a = &t->v[i], *b = &t2.v[i];

		CHECK(strcmp(a->name, b->name) == 0);
		CHECK(strcmp(a->backing, b->backing) == 0);
		CHECK(a->offset == b->offset && a->length == b->length);
		CHECK(a->partitions == b->partitions && a->ro == b->ro);
		CHECK(b->line == i + 1);
	}
	views_free(&t2);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct view_table t;
	struct views_error e;
	unsigned lines = count_lines(data, size);
	int rc;

	memset(&t, 0xa5, sizeof(t));
	memset(&e, 0xa5, sizeof(e));
	rc = views_parse((const char *)data, size, &t, &e);
	CHECK(rc == 0 || rc == -EINVAL);
	if (rc == 0) {
		check_table(&t, lines);
		check_round_trip(&t);
		views_free(&t);
		CHECK(t.v == NULL && t.count == 0);
	} else {
		check_error(&t, &e, lines);
	}
	return 0;
}
