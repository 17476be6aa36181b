/*
 * wcache.h - the window cache: a bounded, LRU-evicted set of mmap windows.
 *
 * A window is a MAP_SHARED mapping of one backing file at an offset that is a
 * multiple of the allocation granularity, WINDOW bytes long (or shorter at
 * the end of the file, where it covers only the pages that exist). Windows
 * are found by (file id, window index) in O(1). No FUSE in here.
 *
 * Contract
 * --------
 * - Every successful wcache_get() is matched by exactly one wcache_put() of
 *   the same struct wc_ref. Between the two, ref->base .. ref->base+ref->len
 *   stays mapped: no eviction, truncate, drop or resize unmaps a pinned
 *   window. After wcache_put() the pointer is dead; do not keep it.
 * - Pins are meant to be short: the span of one copy or one reply. A caller
 *   must not block on anything else while holding a pin.
 * - The budget bounds the bytes mapped by the cache. Only pinned windows may
 *   push it over: when a miss finds every window pinned, the new window is
 *   mapped anyway (never a failure, never a wait), and the cache shrinks back
 *   under budget as pins are released. So the excess is at most the windows
 *   pinned at once (threads x windows each pins).
 * - When mmap fails with ENOMEM (e.g. vm.max_map_count reached) the cache
 *   evicts unpinned windows and retries; only when none is left does
 *   wcache_get() return -ENOMEM.
 * - A window that is dropped (truncate, drop, forget, resize) while pinned is
 *   unhooked at once (later gets map a fresh one) and unmapped at its last put.
 * - Memory accessed through a window may fault (SIGBUS) if the file shrinks
 *   underneath; copy through safecopy.h, not plain memcpy.
 * - All functions are thread-safe. mmap, munmap and msync never run under a
 *   cache lock.
 *
 * Errors: functions return 0 (or a count) on success, -errno on failure.
 */
#ifndef PANEFS_WCACHE_H
#define PANEFS_WCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wcache;
struct window;

struct wcache_params {
	uint64_t window;      /* requested window length; rounded up to granularity */
	uint64_t granularity; /* mapping offset unit; 0 = page size. Must be a
				 multiple of the page size. */
	uint64_t budget;      /* most bytes mapped at once (see contract) */
	unsigned shards;      /* lock stripes; 0 = default. Rounded to a power of 2 */
};

/* The identity of a backing file as the cache sees it. The caller owns it
 * and keeps fd open until wcache_forget(id) has returned. */
struct wc_file {
	uint64_t id;   /* unique for the life of the cache: wcache_new_file_id() */
	int fd;        /* open O_RDONLY or O_RDWR */
	bool writable; /* map PROT_READ|PROT_WRITE (needs fd O_RDWR) */
};

/* A pinned window, filled by wcache_get(). */
struct wc_ref {
	struct window *w; /* opaque, for wcache_put() */
	char *base;       /* address of file byte `start` */
	uint64_t start;   /* file offset of the window, multiple of granularity */
	uint64_t len;     /* bytes mapped from start */
};

struct wcache_stats {
	uint64_t hits, misses, evictions;
	uint64_t windows;      /* windows mapped now (incl. retired pinned ones) */
	uint64_t bytes;        /* bytes mapped now */
	uint64_t peak_bytes;   /* most bytes mapped at once since creation */
	uint64_t peak_windows;
	uint64_t enomem_retries; /* mmap ENOMEM answered by evict and retry */
	uint64_t budget;
	uint64_t window;
};

/* Create a cache. Returns NULL and sets *err (-errno) on failure
 * (e.g. -EINVAL for a granularity that is not a multiple of the page size). */
struct wcache *wcache_new(const struct wcache_params *p, int *err);
/* Unmap everything and free. No window may be pinned. */
void wcache_free(struct wcache *wc);

uint64_t wcache_window_size(const struct wcache *wc);
uint64_t wcache_granularity(const struct wcache *wc);
uint64_t wcache_new_file_id(struct wcache *wc);

/*
 * Pin the window of file f that contains byte off. file_size is the caller's
 * current idea of the file's size and must be > off; the file must really be
 * at least that long (grow it first). The window covers
 * [start, start + min(window, round_up_page(file_size - start))). A cached
 * window shorter than that (the file grew) is replaced.
 */
int wcache_get(struct wcache *wc, const struct wc_file *f, uint64_t off,
	       uint64_t file_size, struct wc_ref *ref);
void wcache_put(struct wcache *wc, struct wc_ref *ref);

/* The file is now new_size bytes: drop every window that maps bytes at or
 * past round_up_page(new_size). */
void wcache_truncate(struct wcache *wc, uint64_t id, uint64_t new_size);
/* msync(MS_SYNC) every window of the file. Returns 0 or the first -errno. */
int wcache_flush(struct wcache *wc, uint64_t id);
/* Drop every window of the file (last close). */
void wcache_forget(struct wcache *wc, uint64_t id);

/* Change the budget; shrinking evicts unpinned windows at once. */
void wcache_set_budget(struct wcache *wc, uint64_t budget);
void wcache_get_stats(struct wcache *wc, struct wcache_stats *st);

#endif
