/*
 * fuzz_size.c - libFuzzer harness for panefs_parse_size().
 *
 * The input bytes, cut at the first NUL, are the size text. Beyond "never
 * crashes, never reads out of bounds" (ASan/UBSan), it checks what the
 * parser promises in options.h against an independent reference written
 * the slow, obvious way (128-bit arithmetic instead of overflow tests):
 * - it accepts exactly DIGITS [KMGT [iB]] (any case), nothing else;
 * - the value is the one the text means, and overflow is refused;
 * - on failure *out is left alone;
 * - an accepted value printed in decimal parses back to the same number.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "panefs/options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The reference: 0 and *out, or -1. Saturates in 128 bits, so any value
 * above UINT64_MAX is seen as such however many digits it has. */
static int ref_parse(const char *s, uint64_t *out)
{
	const unsigned __int128 cap = (unsigned __int128)UINT64_MAX + 1;
	unsigned __int128 v = 0;
	unsigned shift = 0;
	const char *p = s;

	if (!(*p >= '0' && *p <= '9'))
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned)(*p - '0');
		if (v > cap)
			v = cap;
	}
	if (*p) {
		const char *u = strchr("kKmMgGtT", *p);

		if (!u)
			return -1;
		shift = 10 * (unsigned)((u - "kKmMgGtT") / 2 + 1);
		p++;
		if ((p[0] == 'i' || p[0] == 'I') &&
		    (p[1] == 'b' || p[1] == 'B'))
			p += 2;
		if (*p)
			return -1;
	}
	v <<= shift; /* v <= 2^64, shift <= 40: fits in 128 bits */
	if (v > UINT64_MAX)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint64_t sentinel = 0x5a5a5a5a5a5a5a5aULL;
	uint64_t got = sentinel, want = 0, again = sentinel;
	char *s, dec[32];
	int rc, ref;

	/* A heap copy of exactly the text plus its NUL, so ASan catches any
	 * read past the terminator. */
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	rc = panefs_parse_size(s, &got);
	ref = ref_parse(s, &want);
	if (rc != 0 && rc != -EINVAL)
		abort(); /* the contract: 0 or -EINVAL */
	if ((rc == 0) != (ref == 0))
		abort(); /* accepts what the grammar refuses, or the reverse */
	if (rc != 0 && got != sentinel)
		abort(); /* wrote *out on failure */
	if (rc == 0) {
		if (got != want)
			abort();
		snprintf(dec, sizeof(dec), "%" PRIu64, got);
		if (panefs_parse_size(dec, &again) != 0 || again != got)
			abort(); /* does not round-trip through decimal */
	}
	free(s);
	return 0;
}
