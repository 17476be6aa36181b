/*
 * util.h - small helpers shared by the core files.
 */
#ifndef PANEFS_UTIL_H
#define PANEFS_UTIL_H

#include <errno.h>
#include <stdint.h>

/* The one place a failed libc call becomes our -errno convention. */
static inline int neg_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

static inline uint64_t round_up(uint64_t x, uint64_t m)
{
	return (x + m - 1) / m * m;
}

static inline uint64_t round_down(uint64_t x, uint64_t m)
{
	return x / m * m;
}

#endif
