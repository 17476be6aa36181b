/*
 * parttable.h - read the partition table of a disk image (MBR with
 * extended/logical partitions, or GPT). Pure: bytes come through a read
 * callback, so it is unit-tested on buffers and fuzzed.
 *
 * Numbering follows Linux: MBR primary partitions keep their slot number
 * (1-4, empty slots skipped), logical partitions count from 5 in chain
 * order; the extended container itself is not listed. GPT partitions are
 * numbered by entry index + 1, unused entries skipped.
 *
 * GPT is used when the MBR holds a protective (0xEE) entry. The header is
 * looked for at LBA 1 with 512-byte then 4096-byte sectors; its CRC32 and
 * the entry array's CRC32 must match; if the primary header is damaged,
 * the backup header (last LBA) is tried. MBR assumes 512-byte sectors.
 *
 * Every partition must lie inside the image; a damaged table (bad
 * signature, bad CRC, a loop or more than PART_MAX entries in the logical
 * chain, a partition past the end, overlapping GPT entries' array with
 * itself...) is an error with a reason, never a crash or a hang.
 */
#ifndef PANEFS_PARTTABLE_H
#define PANEFS_PARTTABLE_H

#include <stddef.h>
#include <stdint.h>

#define PART_MAX 256

struct partition {
	unsigned number;   /* 1-based, as Linux names it (sda<number>) */
	uint64_t offset;   /* bytes from the start of the image */
	uint64_t length;   /* bytes */
};

/*
 * Read n bytes at off into buf. Returns 0, or -errno. Reads past the end
 * of the image are not made (parttable_read checks against disk_size
 * first).
 */
typedef int (*part_read_fn)(void *ctx, void *buf, size_t n, uint64_t off);

/*
 * Fill out[0 .. *count) in ascending partition number. Returns 0, or
 * -EINVAL with a one-line reason in why (no newline) for an absent or
 * damaged table or a table with no partitions, or the read callback's
 * -errno. At most max partitions are returned (more is an error).
 */
int parttable_read(part_read_fn rd, void *ctx, uint64_t disk_size,
		   struct partition *out, unsigned max, unsigned *count,
		   char *why, size_t whylen);

#endif
