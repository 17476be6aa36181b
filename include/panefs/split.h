/*
 * split.h - chunk arithmetic and names of split mode (split=SIZE). Pure.
 *
 * A file of `size` bytes cut into chunks of S bytes has ceil(size / S)
 * chunks (none when empty), named by their zero-padded decimal index:
 * at least SPLIT_MIN_DIGITS digits, more when the last index needs them,
 * all of one width so that `ls` and shell globs sort them in order.
 */
#ifndef PANEFS_SPLIT_H
#define PANEFS_SPLIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPLIT_MIN_DIGITS 6
#define SPLIT_NAME_MAX 21 /* 20 digits of a uint64_t and a NUL */

uint64_t split_count(uint64_t size, uint64_t chunk);
/* Digits of every name for a file of `count` chunks. */
unsigned split_width(uint64_t count);
/* Write chunk index's name (width digits) into buf[SPLIT_NAME_MAX]. */
void split_name(uint64_t index, unsigned width, char *buf);
/* The index a name stands for: exactly width digits, below count. */
bool split_parse(const char *name, unsigned width, uint64_t count,
		 uint64_t *index);

#endif
