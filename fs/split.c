/*
 * split.c - chunk arithmetic and names of split mode; see split.h.
 */
#include <stdio.h>

#include "panefs/split.h"

uint64_t split_count(uint64_t size, uint64_t chunk)
{
	if (chunk == 0)
		return 0;
	return size / chunk + (size % chunk != 0);
}

unsigned split_width(uint64_t count)
{
	uint64_t last = count ? count - 1 : 0;
	unsigned digits = 1;

	while (last >= 10) {
		last /= 10;
		digits++;
	}
	return digits < SPLIT_MIN_DIGITS ? SPLIT_MIN_DIGITS : digits;
}

void split_name(uint64_t index, unsigned width, char *buf)
{
	snprintf(buf, SPLIT_NAME_MAX, "%0*llu", (int)width,
		 (unsigned long long)index);
}

bool split_parse(const char *name, unsigned width, uint64_t count,
		 uint64_t *index)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; name[i]; i++) {
		if (i >= width || name[i] < '0' || name[i] > '9')
			return false;
		/* width <= 20 digits; the count check below bounds v, but
		 * 20 digits can still overflow 64 bits. */
		if (v > (UINT64_MAX - (uint64_t)(name[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	if (i != width || v >= count)
		return false;
	*index = v;
	return true;
}
