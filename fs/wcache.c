/*
 * wcache.c - the window cache (the contract is in include/panefs/wcache.h).
 *
 * Layout
 * ------
 * The cache is split into nshards stripes (a power of two). A window's
 * stripe is picked by a hash of (file id, window index); each stripe has its
 * own mutex, open hash table and LRU list, so gets of different windows
 * rarely share a lock or a cache line. The budget is global: the bytes and
 * windows mapped are atomics shared by all stripes.
 *
 * Life of a window
 * ----------------
 *   hashed, pinned     in the hash table, off the LRU list, pins > 0
 *   hashed, unpinned   in the hash table and at some place on the LRU list
 *   retired, pinned    unhooked by truncate/forget/replacement; nobody can
 *                      find it any more; unmapped at its last put
 *   dead               unhooked and unpinned: it stops counting against the
 *                      budget at once and is munmap'd and freed by whoever
 *                      made it dead, after dropping the stripe lock
 * Only unpinned windows are on the LRU list, so a victim is found in O(1) and
 * can never be pinned. A window enters the list (at the most recently used
 * end) when its last pin is released. The LRU is per stripe: eviction takes
 * the tail of the evicting thread's own stripe first, then of the others in
 * turn, so the global order is approximate (exact with one stripe).
 *
 * Budget
 * ------
 * A miss reserves its bytes (adds them to wc->bytes) before it maps, evicts
 * until bytes <= budget, then maps. Concurrent misses see each other's
 * reservations, so together they evict just enough and the bytes really
 * mapped stay within budget unless every window is pinned (overcommit, as
 * the contract allows); puts then shrink the cache back.
 *
 * Counters
 * --------
 * hits and misses count wcache_get() calls; a miss that loses an insert race
 * and uses the other thread's window is still a miss. evictions counts the
 * windows unmapped to honour the budget or to answer an mmap ENOMEM; windows
 * dropped by truncate, forget or replacement of a short window are not
 * evictions. peak_* are sampled after each insert, so with one thread they
 * are exact and with several they may include other threads' reservations.
 *
 * Locks
 * -----
 * A stripe lock is a leaf: no other lock is taken under it, no two stripe
 * locks are ever held at once, and none is held across mmap, munmap, msync
 * or a table allocation.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "panefs/wcache.h"
#include "util.h"
#include "wcache_i.h"

#define WC_DEFAULT_SHARDS 8
#define WC_MAX_SHARDS 256
#define WC_MIN_BUCKETS 16
#define WC_MAX_INIT_BUCKETS 4096
/* Bounds window and granularity so that no size arithmetic can overflow. */
#define WC_MAX_WINDOW ((uint64_t)1 << 40)
#define WC_CACHELINE 64

struct wc_shard;

struct window {
	/* Immutable from creation until the window is dead. */
	uint64_t id;
	uint64_t index;
	uint64_t hash;
	char *base;
	uint64_t len;
	bool writable;
	struct wc_shard *shard;

	/* protected by shard->lock (written on every get and put) */
	struct window *hnext;	/* hash chain; once dead, the victim list */
	struct window **hpprev; /* the pointer that points at us */
	struct window *lru_prev, *lru_next; /* only when hashed && !pins */
	unsigned pins;
	bool hashed;
};

struct wc_shard {
	pthread_mutex_t lock;
	/* protected by lock */
	struct window **buckets;
	size_t nbuckets;	 /* a power of two */
	size_t count;		 /* hashed windows */
	struct window *lru_head; /* most recently released */
	struct window *lru_tail; /* next victim */
	uint64_t hits, misses, evictions;
} __attribute__((aligned(WC_CACHELINE)));

struct wcache {
	/* Immutable after wcache_new(). */
	uint64_t window;
	uint64_t gran;
	uint64_t page;
	unsigned nshards; /* a power of two */
	unsigned shard_shift;
	struct wc_shard *shards;
	wc_mmap_fn mmap_fn; /* test hook; changed only while single threaded */

	/* Lock free. bytes and windows include reservations of misses in
	 * flight and retired windows that are still pinned. */
	_Atomic uint64_t budget;
	_Atomic uint64_t bytes;
	_Atomic uint64_t windows;
	_Atomic uint64_t peak_bytes;
	_Atomic uint64_t peak_windows;
	_Atomic uint64_t enomem_retries;
	_Atomic uint64_t next_id;
};

static void shard_lock(struct wc_shard *s)
{
	pthread_mutex_lock(&s->lock);
}

static void shard_unlock(struct wc_shard *s)
{
	pthread_mutex_unlock(&s->lock);
}

static uint64_t key_hash(uint64_t id, uint64_t index)
{
	/* splitmix64 finaliser: consecutive indices spread over stripes */
	uint64_t x = id * 0x9e3779b97f4a7c15ULL ^ index;

	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* Stripes use the top bits of the hash, buckets the bottom ones, so the
 * windows of one stripe still spread over all its buckets. */
static unsigned shard_index(const struct wcache *wc, uint64_t h)
{
	return wc->nshards == 1 ? 0 : (unsigned)(h >> wc->shard_shift);
}

/* ---- LRU list (protected by shard->lock) ---- */

static void lru_push_head(struct wc_shard *s, struct window *w)
{
	w->lru_prev = NULL;
	w->lru_next = s->lru_head;
	if (s->lru_head)
		s->lru_head->lru_prev = w;
	else
		s->lru_tail = w;
	s->lru_head = w;
}

static void lru_unlink(struct wc_shard *s, struct window *w)
{
	if (w->lru_prev)
		w->lru_prev->lru_next = w->lru_next;
	else
		s->lru_head = w->lru_next;
	if (w->lru_next)
		w->lru_next->lru_prev = w->lru_prev;
	else
		s->lru_tail = w->lru_prev;
	w->lru_prev = w->lru_next = NULL;
}

/* ---- hash table (protected by shard->lock) ---- */

static void bucket_link(struct window **head, struct window *w)
{
	w->hnext = *head;
	if (w->hnext)
		w->hnext->hpprev = &w->hnext;
	w->hpprev = head;
	*head = w;
}

static struct window *hash_find(struct wc_shard *s, uint64_t h, uint64_t id,
				uint64_t index)
{
	struct window *w = s->buckets[h & (s->nbuckets - 1)];

	while (w && !(w->id == id && w->index == index))
		w = w->hnext;
	return w;
}

static void hash_insert(struct wc_shard *s, struct window *w)
{
	bucket_link(&s->buckets[w->hash & (s->nbuckets - 1)], w);
	s->count++;
}

static void hash_remove(struct wc_shard *s, struct window *w)
{
	*w->hpprev = w->hnext;
	if (w->hnext)
		w->hnext->hpprev = w->hpprev;
	s->count--;
}

/* Double the stripe's table. The allocation is done unlocked; if another
 * thread resized meanwhile, ours is thrown away. Failure is harmless: the
 * chains just get longer. */
static void grow_table(struct wc_shard *s)
{
	struct window **nb, **old = NULL;
	size_t want, i;

	shard_lock(s);
	want = s->nbuckets * 2;
	shard_unlock(s);

	nb = calloc(want, sizeof(*nb));
	if (!nb)
		return;

	shard_lock(s);
	if (s->nbuckets * 2 == want) {
		for (i = 0; i < s->nbuckets; i++) {
			struct window *w = s->buckets[i], *next;

			for (; w; w = next) {
				next = w->hnext;
				bucket_link(&nb[w->hash & (want - 1)], w);
			}
		}
		old = s->buckets;
		s->buckets = nb;
		s->nbuckets = want;
		nb = NULL;
	}
	shard_unlock(s);
	free(nb);
	free(old);
}

/* ---- accounting (lock free) ---- */

static void account_add(struct wcache *wc, uint64_t len)
{
	atomic_fetch_add(&wc->bytes, len);
	atomic_fetch_add(&wc->windows, 1);
}

static void account_sub(struct wcache *wc, uint64_t len)
{
	atomic_fetch_sub(&wc->bytes, len);
	atomic_fetch_sub(&wc->windows, 1);
}

static void raise_peak(_Atomic uint64_t *peak, uint64_t v)
{
	uint64_t old = atomic_load_explicit(peak, memory_order_relaxed);

	while (v > old && !atomic_compare_exchange_weak(peak, &old, v))
		;
}

static void update_peaks(struct wcache *wc)
{
	raise_peak(&wc->peak_bytes, atomic_load(&wc->bytes));
	raise_peak(&wc->peak_windows, atomic_load(&wc->windows));
}

static bool over_budget(struct wcache *wc)
{
	return atomic_load_explicit(&wc->bytes, memory_order_relaxed) >
	       atomic_load_explicit(&wc->budget, memory_order_relaxed);
}

/* ---- window life ---- */

static void pin_locked(struct wc_shard *s, struct window *w)
{
	if (w->pins++ == 0)
		lru_unlink(s, w);
}

/* Unhook w so nobody finds it again. Returns true when it is dead now (the
 * caller must account_sub() it under the lock and destroy it after);
 * otherwise its last put will. */
static bool retire_locked(struct wc_shard *s, struct window *w)
{
	hash_remove(s, w);
	w->hashed = false;
	if (w->pins)
		return false;
	lru_unlink(s, w);
	return true;
}

/* munmap and free a list of dead windows chained through hnext. */
static void destroy_list(struct window *w)
{
	struct window *next;

	for (; w; w = next) {
		next = w->hnext;
		munmap(w->base, w->len);
		free(w);
	}
}

/*
 * Evict LRU windows until the cache is within budget or no unpinned window
 * is left, starting with stripe `first`. One stripe lock at a time; each
 * stripe's victims are unmapped after its lock is dropped.
 */
static void shrink(struct wcache *wc, unsigned first)
{
	unsigned i;

	for (i = 0; i < wc->nshards && over_budget(wc); i++) {
		struct wc_shard *s =
		    &wc->shards[(first + i) & (wc->nshards - 1)];
		struct window *dead = NULL, *w;

		shard_lock(s);
		while (s->lru_tail && over_budget(wc)) {
			w = s->lru_tail;
			retire_locked(s, w);
			account_sub(wc, w->len);
			s->evictions++;
			w->hnext = dead;
			dead = w;
		}
		shard_unlock(s);
		destroy_list(dead);
	}
}

/* Evict one unpinned window, whatever the budget (mmap said ENOMEM).
 * Returns false when there is none. */
static bool evict_one(struct wcache *wc, unsigned first)
{
	struct window *w = NULL;
	unsigned i;

	for (i = 0; i < wc->nshards && !w; i++) {
		struct wc_shard *s =
		    &wc->shards[(first + i) & (wc->nshards - 1)];

		shard_lock(s);
		w = s->lru_tail;
		if (w) {
			retire_locked(s, w);
			account_sub(wc, w->len);
			s->evictions++;
			w->hnext = NULL;
		}
		shard_unlock(s);
	}
	destroy_list(w);
	return w != NULL;
}

/* Release one pin; a retired window dies at its last put. */
static void unpin(struct wcache *wc, struct window *w)
{
	struct wc_shard *s = w->shard;
	bool dead = false;

	shard_lock(s);
	if (--w->pins == 0) {
		if (w->hashed) {
			lru_push_head(s, w);
		} else {
			account_sub(wc, w->len);
			w->hnext = NULL;
			dead = true;
		}
	}
	shard_unlock(s);
	if (dead)
		destroy_list(w);
	/* Overcommitted while everything was pinned: shrink back now. */
	if (over_budget(wc))
		shrink(wc, (unsigned)(s - wc->shards));
}

/* mmap a window, answering ENOMEM by evicting and retrying. No lock held. */
static int map_window(struct wcache *wc, const struct wc_file *f,
		      uint64_t start, uint64_t len, unsigned first,
		      char **basep)
{
	int prot = f->writable ? PROT_READ | PROT_WRITE : PROT_READ;
	int rc = 0, e;
	void *p;

	for (;;) {
		p = wc->mmap_fn(NULL, len, prot, MAP_SHARED, f->fd,
				(off_t)start);
		if (p != MAP_FAILED)
			break;
		e = errno;
		if (e != ENOMEM || !evict_one(wc, first)) {
			rc = e > 0 ? -e : -EIO;
			goto out;
		}
		atomic_fetch_add(&wc->enomem_retries, 1);
	}
	*basep = p;
out:
	return rc;
}

/* A cached window serves a get if it covers what the file size allows now
 * and is writable when the caller needs that. */
static bool usable(const struct window *w, uint64_t len, bool writable)
{
	return w->len >= len && (w->writable || !writable);
}

int wcache_get(struct wcache *wc, const struct wc_file *f, uint64_t off,
	       uint64_t file_size, struct wc_ref *ref)
{
	struct window *w, *nw = NULL, *dead = NULL;
	uint64_t index, start, len, h;
	struct wc_shard *s;
	bool grow = false;
	char *base = NULL;
	void *mem;
	unsigned si;
	int rc = 0;

	if (!wc || !f || !ref || off >= file_size || file_size > INT64_MAX) {
		rc = -EINVAL;
		goto out;
	}
	if (f->fd < 0) {
		rc = -EBADF;
		goto out;
	}

	index = off / wc->window;
	start = index * wc->window;
	len = file_size - start;
	len = len < wc->window ? round_up(len, wc->page) : wc->window;
	h = key_hash(f->id, index);
	si = shard_index(wc, h);
	s = &wc->shards[si];

	shard_lock(s);
	w = hash_find(s, h, f->id, index);
	if (w && usable(w, len, f->writable)) {
		pin_locked(s, w);
		s->hits++;
		shard_unlock(s);
		goto fill;
	}
	/* Too short (the file grew) or read-only: replace it. */
	if (w && retire_locked(s, w)) {
		account_sub(wc, w->len);
		w->hnext = NULL;
		dead = w;
	}
	s->misses++;
	shard_unlock(s);
	destroy_list(dead);
	dead = NULL;

	/* Allocate before mapping so that no failure needs an munmap. A
	 * line of its own: pins and LRU links of windows used by different
	 * threads must not share a cache line. */
	if (posix_memalign(&mem, WC_CACHELINE, sizeof(*nw))) {
		rc = -ENOMEM;
		goto out;
	}
	nw = mem;
	account_add(wc, len);
	shrink(wc, si);
	rc = map_window(wc, f, start, len, si, &base);
	if (rc)
		goto out_unreserve;

	*nw = (struct window){
	    .id = f->id,
	    .index = index,
	    .hash = h,
	    .base = base,
	    .len = len,
	    .writable = f->writable,
	    .shard = s,
	    .pins = 1,
	    .hashed = true,
	};

	shard_lock(s);
	w = hash_find(s, h, f->id, index);
	if (w && usable(w, len, f->writable)) {
		/* Lost an insert race: use the winner's window, drop ours. */
		pin_locked(s, w);
		shard_unlock(s);
		munmap(base, len);
		account_sub(wc, len);
		goto fill;
	}
	if (w && retire_locked(s, w)) {
		account_sub(wc, w->len);
		w->hnext = NULL;
		dead = w;
	}
	hash_insert(s, nw);
	grow = s->count > 2 * s->nbuckets;
	shard_unlock(s);
	destroy_list(dead);
	update_peaks(wc);
	if (grow)
		grow_table(s);
	w = nw;
	nw = NULL;
fill:
	ref->w = w;
	ref->base = w->base;
	ref->start = w->index * wc->window;
	ref->len = w->len;
	goto out;
out_unreserve:
	account_sub(wc, len);
out:
	free(nw);
	return rc;
}

void wcache_put(struct wcache *wc, struct wc_ref *ref)
{
	if (!ref || !ref->w)
		return;
	unpin(wc, ref->w);
	ref->w = NULL;
	ref->base = NULL;
}

/* Retire every window of file id that maps bytes at or past limit. */
static void drop_from(struct wcache *wc, uint64_t id, uint64_t limit)
{
	unsigned i;
	size_t b;

	for (i = 0; i < wc->nshards; i++) {
		struct wc_shard *s = &wc->shards[i];
		struct window *dead = NULL, *w, *next;

		shard_lock(s);
		for (b = 0; b < s->nbuckets; b++) {
			for (w = s->buckets[b]; w; w = next) {
				next = w->hnext;
				if (w->id != id ||
				    w->index * wc->window + w->len <= limit)
					continue;
				if (retire_locked(s, w)) {
					account_sub(wc, w->len);
					w->hnext = dead;
					dead = w;
				}
			}
		}
		shard_unlock(s);
		destroy_list(dead);
	}
}

void wcache_truncate(struct wcache *wc, uint64_t id, uint64_t new_size)
{
	if (new_size > INT64_MAX)
		new_size = INT64_MAX;
	drop_from(wc, id, round_up(new_size, wc->page));
}

void wcache_forget(struct wcache *wc, uint64_t id)
{
	drop_from(wc, id, 0);
}

int wcache_flush(struct wcache *wc, uint64_t id)
{
	struct window **v = NULL, **nv, *w;
	size_t cap = 0, n, i, b;
	unsigned si;
	int rc = 0;

	for (si = 0; si < wc->nshards; si++) {
		struct wc_shard *s = &wc->shards[si];

	again:
		/* Pin the stripe's windows of this file (as many as fit),
		 * counting them all; msync happens unlocked. */
		n = 0;
		shard_lock(s);
		for (b = 0; b < s->nbuckets; b++) {
			for (w = s->buckets[b]; w; w = w->hnext) {
				if (w->id != id)
					continue;
				if (n < cap) {
					pin_locked(s, w);
					v[n] = w;
				}
				n++;
			}
		}
		shard_unlock(s);
		if (n > cap) {
			for (i = 0; i < cap; i++)
				unpin(wc, v[i]);
			nv = realloc(v, 2 * n * sizeof(*v));
			if (!nv) {
				rc = -ENOMEM;
				goto out;
			}
			v = nv;
			cap = 2 * n;
			goto again;
		}
		for (i = 0; i < n; i++) {
			if (msync(v[i]->base, v[i]->len, MS_SYNC) && !rc)
				rc = neg_errno();
		}
		for (i = 0; i < n; i++)
			unpin(wc, v[i]);
	}
out:
	free(v);
	return rc;
}

void wcache_set_budget(struct wcache *wc, uint64_t budget)
{
	atomic_store(&wc->budget, budget);
	shrink(wc, 0);
}

void wcache_get_stats(struct wcache *wc, struct wcache_stats *st)
{
	unsigned i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < wc->nshards; i++) {
		struct wc_shard *s = &wc->shards[i];

		shard_lock(s);
		st->hits += s->hits;
		st->misses += s->misses;
		st->evictions += s->evictions;
		shard_unlock(s);
	}
	st->windows = atomic_load(&wc->windows);
	st->bytes = atomic_load(&wc->bytes);
	st->peak_bytes = atomic_load(&wc->peak_bytes);
	st->peak_windows = atomic_load(&wc->peak_windows);
	st->enomem_retries = atomic_load(&wc->enomem_retries);
	st->budget = atomic_load(&wc->budget);
	st->window = wc->window;
}

uint64_t wcache_window_size(const struct wcache *wc)
{
	return wc->window;
}

uint64_t wcache_granularity(const struct wcache *wc)
{
	return wc->gran;
}

uint64_t wcache_new_file_id(struct wcache *wc)
{
	/* Ids start at 1 so that 0 never names a file. */
	return atomic_fetch_add(&wc->next_id, 1) + 1;
}

static size_t pow2_at_least(size_t x)
{
	size_t p = 1;

	while (p < x)
		p <<= 1;
	return p;
}

struct wcache *wcache_new(const struct wcache_params *p, int *err)
{
	struct wcache *wc = NULL;
	uint64_t page, gran, per_shard;
	unsigned i = 0, nshards;
	void *mem = NULL;
	long pg;
	int rc = 0;

	pg = sysconf(_SC_PAGESIZE);
	if (pg <= 0) {
		rc = -EINVAL;
		goto fail;
	}
	page = (uint64_t)pg;
	if (!p || p->window == 0 || p->window > WC_MAX_WINDOW ||
	    p->granularity > WC_MAX_WINDOW) {
		rc = -EINVAL;
		goto fail;
	}
	gran = p->granularity ? p->granularity : page;
	if (gran % page) {
		rc = -EINVAL;
		goto fail;
	}
	nshards = p->shards ? p->shards : WC_DEFAULT_SHARDS;
	if (nshards > WC_MAX_SHARDS)
		nshards = WC_MAX_SHARDS;
	nshards = (unsigned)pow2_at_least(nshards);

	wc = calloc(1, sizeof(*wc));
	if (!wc) {
		rc = -ENOMEM;
		goto fail;
	}
	wc->page = page;
	wc->gran = gran;
	wc->window = round_up(p->window, gran);
	wc->nshards = nshards;
	wc->shard_shift = 64 - (unsigned)__builtin_ctz(nshards);
	wc->mmap_fn = mmap;
	atomic_init(&wc->budget, p->budget);

	/* Stripes are cache-line aligned so their locks do not share lines. */
	if (posix_memalign(&mem, WC_CACHELINE, nshards * sizeof(*wc->shards))) {
		rc = -ENOMEM;
		goto fail_wc;
	}
	memset(mem, 0, nshards * sizeof(*wc->shards));
	wc->shards = mem;

	/* About two buckets per window the budget holds; grows on demand. */
	per_shard = p->budget / wc->window / nshards * 2;
	if (per_shard < WC_MIN_BUCKETS)
		per_shard = WC_MIN_BUCKETS;
	if (per_shard > WC_MAX_INIT_BUCKETS)
		per_shard = WC_MAX_INIT_BUCKETS;
	for (i = 0; i < nshards; i++) {
		struct wc_shard *s = &wc->shards[i];

		s->nbuckets = pow2_at_least((size_t)per_shard);
		s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
		if (!s->buckets) {
			rc = -ENOMEM;
			goto fail_shards;
		}
		rc = -pthread_mutex_init(&s->lock, NULL);
		if (rc) {
			free(s->buckets);
			goto fail_shards;
		}
	}
	if (err)
		*err = 0;
	return wc;

fail_shards:
	while (i-- > 0) {
		pthread_mutex_destroy(&wc->shards[i].lock);
		free(wc->shards[i].buckets);
	}
	free(wc->shards);
fail_wc:
	free(wc);
fail:
	if (err)
		*err = rc;
	return NULL;
}

void wcache_free(struct wcache *wc)
{
	struct window *w, *next;
	unsigned i;
	size_t b;

	if (!wc)
		return;
	for (i = 0; i < wc->nshards; i++) {
		struct wc_shard *s = &wc->shards[i];

		for (b = 0; b < s->nbuckets; b++) {
			for (w = s->buckets[b]; w; w = next) {
				next = w->hnext;
				munmap(w->base, w->len);
				free(w);
			}
		}
		free(s->buckets);
		pthread_mutex_destroy(&s->lock);
	}
	free(wc->shards);
	free(wc);
}

/* ---- test hooks (wcache_i.h) ---- */

unsigned wcache_nshards(const struct wcache *wc)
{
	return wc->nshards;
}

unsigned wcache_shard_of(const struct wcache *wc, uint64_t id, uint64_t index)
{
	return shard_index(wc, key_hash(id, index));
}

size_t wcache_lru_keys(struct wcache *wc, unsigned shard, struct wc_key *keys,
		       size_t max)
{
	struct wc_shard *s = &wc->shards[shard & (wc->nshards - 1)];
	struct window *w;
	size_t n = 0, b;

	shard_lock(s);
	for (w = s->lru_head; w; w = w->lru_next, n++) {
		if (n < max)
			keys[n] =
			    (struct wc_key){w->id, w->index, w->len, w->pins};
	}
	for (b = 0; b < s->nbuckets; b++) {
		for (w = s->buckets[b]; w; w = w->hnext) {
			if (!w->pins)
				continue;
			if (n < max)
				keys[n] = (struct wc_key){w->id, w->index,
							  w->len, w->pins};
			n++;
		}
	}
	shard_unlock(s);
	return n;
}

void wcache_set_mmap_fn(struct wcache *wc, wc_mmap_fn fn)
{
	wc->mmap_fn = fn ? fn : mmap;
}
