/*
 * fuzz_args.c - libFuzzer harness for panefs_parse_args().
 *
 * Input layout: the first byte picks the error buffer (NULL, or 1, 2, 16,
 * 80 or 512 bytes, so truncation is exercised); the rest is split at NUL
 * and newline bytes into argv[1..] (argv[0] is "panefs"), each argument in
 * its own exact-size heap block so ASan sees any read past its end.
 *
 * Checked on every input (a violation aborts, which libFuzzer reports):
 * - no crash, no undefined behaviour, no leak (ASan's leak check runs
 *   after each input that allocated more than it freed);
 * - argv is not written to (parsing is a pure function of argv);
 * - the return is 0 or -EINVAL;
 * - on error: the message is NUL-terminated inside the buffer, one
 *   printable line (no newline, no control character at all), not empty
 *   when there was room for a character, nothing is written past errlen,
 *   and nothing is left allocated in the options;
 * - on success: SOURCE and MOUNTPOINT are set, window > 0, cache >= window,
 *   libfuse's argv is { argv0 } or { argv0, "-o", "a,b,..." } with no
 *   empty option in the list, subtype= is always there, and the security
 *   rule holds: allow_other or allow_root without no_default_permissions
 *   means default_permissions is set and passed on to the kernel;
 * - parsing the same argv twice gives the same result.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "panefs/options.h"

#define MAX_ARGS 64
#define ERR_MAX 512
#define CANARY 0xa5

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const size_t errlens[] = {0, 1, 2, 16, 80, ERR_MAX};

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			abort();                                               \
	} while (0)

/* Item raw[0..n) without fuse_opt escapes (backslash-x is x, backslash-NNN
 * octal), as libfuse will read it, into out (n + 1 bytes). */
static void unescape_item(const char *raw, size_t n, char *out)
{
	const char *end = raw + n;

	while (raw < end) {
		if (raw[0] == '\\' && raw + 1 < end) {
			raw++;
			if (end - raw >= 3 && raw[0] >= '0' && raw[0] <= '3' &&
			    raw[1] >= '0' && raw[1] <= '7' && raw[2] >= '0' &&
			    raw[2] <= '7') {
				*out++ =
				    (char)((raw[0] - '0') * 64 +
					   (raw[1] - '0') * 8 + (raw[2] - '0'));
				raw += 3;
				continue;
			}
		}
		*out++ = *raw++;
	}
	*out = '\0';
}

/*
 * Does the libfuse option list (fuse_opt syntax: items split at commas
 * not escaped by a backslash) hold an item that, unescaped, equals want
 * (or starts with it when prefix)? Also checks that no item is empty.
 */
static bool has_item(const char *list, const char *want, bool prefix)
{
	size_t wl = strlen(want);
	bool found = false;
	const char *s = list;
	char *item;

	item = malloc(strlen(list) + 1);
	CHECK(item != NULL);
	for (;;) {
		const char *e = s;

		while (*e && *e != ',') {
			if (e[0] == '\\' && e[1])
				e++;
			e++;
		}
		CHECK(e > s); /* an empty item: ",," or a leading comma */
		unescape_item(s, (size_t)(e - s), item);
		if (prefix ? strncmp(item, want, wl) == 0
			   : strcmp(item, want) == 0)
			found = true;
		if (!*e)
			break;
		s = e + 1;
	}
	free(item);
	return found;
}

static bool same_str(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static void check_same(const struct panefs_options *a,
		       const struct panefs_options *b)
{
	int i;

	CHECK(same_str(a->source, b->source));
	CHECK(same_str(a->mountpoint, b->mountpoint));
	CHECK(same_str(a->views, b->views));
	CHECK(a->window == b->window && a->cache == b->cache);
	CHECK(a->split == b->split);
	CHECK(a->ro == b->ro && a->foreground == b->foreground);
	CHECK(a->debug == b->debug && a->single_thread == b->single_thread);
	CHECK(a->allow_other == b->allow_other);
	CHECK(a->default_permissions == b->default_permissions);
	CHECK(a->no_default_permissions == b->no_default_permissions);
	CHECK(a->show_help == b->show_help);
	CHECK(a->show_version == b->show_version);
	CHECK(a->max_threads == b->max_threads);
	CHECK(a->max_idle_threads == b->max_idle_threads);
	CHECK(a->clone_fd == b->clone_fd);
	CHECK(a->fsname_given == b->fsname_given);
	CHECK(a->fuse_argc == b->fuse_argc);
	for (i = 0; i < a->fuse_argc; i++)
		CHECK(same_str(a->fuse_argv[i], b->fuse_argv[i]));
}

static void check_error(int rc, const char *err, size_t errlen,
			const struct panefs_options *o)
{
	const char *nul;
	size_t i;

	CHECK(rc == -EINVAL);
	/* "On error nothing is left allocated in o." */
	CHECK(!o->source && !o->mountpoint && !o->views && !o->fuse_argv);
	CHECK(o->fuse_argc == 0);
	if (!err)
		return;
	for (i = errlen; i < ERR_MAX; i++)
		CHECK((unsigned char)err[i] == CANARY);
	if (errlen == 0)
		return;
	nul = memchr(err, '\0', errlen);
	CHECK(nul != NULL);
	for (i = 0; err + i < nul; i++) /* one printable line */
		CHECK((unsigned char)err[i] >= 0x20 && err[i] != 0x7f);
	if (errlen > 1)
		CHECK(err[0] != '\0');
}

static void check_success(const char *err, size_t errlen,
			  const struct panefs_options *o)
{
	const char *list;

	if (err && errlen)
		CHECK(err[0] == '\0'); /* cleared, and no stray message */
	if (o->show_help || o->show_version)
		return;
	CHECK(o->source && o->mountpoint);
	CHECK(o->window > 0 && o->cache >= o->window);
	CHECK(!(o->split && o->views));
	CHECK(!(o->default_permissions && o->no_default_permissions));
	CHECK(o->fuse_argv && o->fuse_argv[0] && o->fuse_argv[0][0]);
	CHECK(o->fuse_argc == 1 || o->fuse_argc == 3);
	/* subtype=panefs is always added, so there is always a list. */
	CHECK(o->fuse_argc == 3);
	CHECK(strcmp(o->fuse_argv[1], "-o") == 0);
	list = o->fuse_argv[2];
	CHECK(has_item(list, "subtype=", true));
	/* The security rule (README, "Security"). */
	if ((o->allow_other || has_item(list, "allow_root", false)) &&
	    !o->no_default_permissions) {
		CHECK(o->default_permissions);
	}
	CHECK(o->default_permissions ==
	      has_item(list, "default_permissions", false));
	CHECK(!has_item(list, "no_default_permissions", false));
	if (o->allow_other)
		CHECK(has_item(list, "allow_other", false));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[MAX_ARGS + 2], *orig[MAX_ARGS + 2];
	size_t lens[MAX_ARGS + 2];
	struct panefs_options o, o2;
	char errbuf[ERR_MAX], *err;
	size_t errlen, pos, i;
	int argc = 0, rc, rc2, k;

	if (size == 0)
		return 0;
	errlen = errlens[data[0] % (sizeof(errlens) / sizeof(errlens[0]))];
	/* selector 0 means no buffer at all (err == NULL, errlen 0) */
	err = data[0] % (sizeof(errlens) / sizeof(errlens[0])) ? errbuf : NULL;
	memset(errbuf, CANARY, sizeof(errbuf));

	argv[argc] = strdup("panefs");
	orig[argc] = strdup("panefs");
	lens[argc++] = 6;
	for (pos = 1; pos <= size && argc < MAX_ARGS + 1;) {
		size_t end = pos;

		while (end < size && data[end] != '\0' && data[end] != '\n')
			end++;
		argv[argc] = malloc(end - pos + 1);
		orig[argc] = malloc(end - pos + 1);
		if (!argv[argc] || !orig[argc]) {
			free(argv[argc]);
			free(orig[argc]);
			break;
		}
		memcpy(argv[argc], data + pos, end - pos);
		argv[argc][end - pos] = '\0';
		memcpy(orig[argc], argv[argc], end - pos + 1);
		lens[argc++] = end - pos + 1;
		pos = end + 1;
	}
	argv[argc] = NULL;

	rc = panefs_parse_args(argc, argv, &o, err, errlen);
	for (k = 0; k < argc; k++)
		CHECK(memcmp(argv[k], orig[k], lens[k]) == 0);
	if (rc == 0)
		check_success(err, errlen, &o);
	else
		check_error(rc, err, errlen, &o);

	/* Deterministic: the same argv parses to the same options. */
	rc2 = panefs_parse_args(argc, argv, &o2, NULL, 0);
	CHECK(rc2 == rc);
	if (rc == 0)
		check_same(&o, &o2);

	panefs_options_free(&o);
	panefs_options_free(&o2);
	/* Freeing twice is harmless (the pointers were cleared). */
	panefs_options_free(&o);
	for (i = 0; i < (size_t)argc; i++) {
		free(argv[i]);
		free(orig[i]);
	}
	return 0;
}
