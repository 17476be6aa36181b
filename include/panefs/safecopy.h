/*
 * safecopy.h - memcpy to and from mapped windows that survives SIGBUS.
 *
 * Touching a MAP_SHARED page past the end of a file that someone truncated,
 * or a page of a hole the file system cannot allocate (disk full), raises
 * SIGBUS. safecopy installs one process-wide SA_SIGINFO handler; a copy arms
 * a thread-local jump buffer, and a fault inside the armed range returns an
 * error instead of killing the process. Any other SIGBUS is passed on to the
 * handler that was there before (or the default action).
 */
#ifndef PANEFS_SAFECOPY_H
#define PANEFS_SAFECOPY_H

#include <stddef.h>
#include <stdint.h>

/* Install the handler (idempotent, thread-safe). 0 or -errno. */
int safecopy_init(void);

/*
 * Copy n bytes; exactly one of src/dst is window memory, but any fault
 * inside [dst,dst+n) or [src,src+n) is caught. Returns 0, or -EFAULT when a
 * SIGBUS was caught (the bytes before the fault may have been copied).
 * The caller decides what the fault means (EIO on read; on write, see
 * extent.c which asks pwrite for the real errno, e.g. ENOSPC).
 */
int safe_copy(void *dst, const void *src, size_t n);

/* Number of faults caught since start (for stats). */
uint64_t safecopy_faults(void);

#endif
