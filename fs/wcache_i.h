/*
 * wcache_i.h - private hooks into the window cache, for unit tests only.
 *
 * These are compiled into the core (they cost nothing on the hot path) but
 * are not part of the interface between modules: nothing outside fs/wcache.c
 * and tests/unit/ may include this file.
 */
#ifndef PANEFS_WCACHE_I_H
#define PANEFS_WCACHE_I_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "panefs/wcache.h"

/* The key of a resident window, as listed by wcache_lru_keys(). */
struct wc_key {
	uint64_t id;
	uint64_t index;
	uint64_t len;
	unsigned pins;
};

/* Number of lock stripes actually used (after rounding). */
unsigned wcache_nshards(const struct wcache *wc);

/* The stripe that (id, index) hashes to. */
unsigned wcache_shard_of(const struct wcache *wc, uint64_t id, uint64_t index);

/*
 * List the hashed windows of stripe `shard`: first the unpinned ones in LRU
 * order, most recently used first (the next victim is the last of these),
 * then the pinned ones (which are not on the LRU list) in no set order.
 * Fills at most max keys; returns how many windows there are.
 */
size_t wcache_lru_keys(struct wcache *wc, unsigned shard, struct wc_key *keys,
		       size_t max);

/*
 * Replace the mmap the cache calls (NULL restores mmap(2)). Lets a test make
 * mmap fail with ENOMEM on demand and watch the evict-and-retry path. Only
 * call it while no other thread uses the cache.
 */
typedef void *(*wc_mmap_fn)(void *addr, size_t len, int prot, int flags, int fd,
			    off_t off);
void wcache_set_mmap_fn(struct wcache *wc, wc_mmap_fn fn);

#endif
