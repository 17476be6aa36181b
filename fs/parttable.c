/*
 * parttable.c - read an MBR or GPT partition table through a read callback.
 *
 * Pure: no I/O but the callback, no allocation, no global state, no
 * libfuse, so it is unit-tested on buffers and fuzzed. Guarantees:
 * - Nothing is read at or past disk_size: every read goes through
 *   read_at(), which checks the range first (overflow-safe), and every
 *   buffer is a fixed array on the stack, so a table cannot make us read
 *   or allocate much: a sector for the MBR and each EBR, a sector for a
 *   GPT header, and at most GPT_ARRAY_MAX bytes of GPT entries, read in
 *   chunks of GPT_BUF bytes twice (once for the CRC, once to parse).
 * - Every listed partition lies inside the image, has a non-zero length,
 *   and the list is in ascending number order (primaries, then logicals
 *   in chain order; GPT in entry order).
 * - The logical (EBR) chain stops after PART_MAX links and refuses a link
 *   back to an EBR already visited, so a damaged chain cannot hang us.
 * - Failure is -EINVAL with one lower-case line in why, or the callback's
 *   -errno; *count is 0 on any failure.
 *
 * Where Linux (block/partitions/msdos.c, efi.c) has an opinion we follow
 * it, so the numbers match /dev/sdaN: an MBR slot is empty when its sector
 * count is 0; a first sector whose boot flags are not 0x00/0x80 is not a
 * partition table (it is most likely a FAT boot sector); an EBR without
 * the 0x55AA signature ends the chain quietly. Unlike Linux we refuse,
 * rather than truncate, a partition that runs past the end of the image.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "panefs/parttable.h"

#define MBR_SECTOR 512U
#define MBR_ENTRIES_AT 446U
#define MBR_ENTRY_SIZE 16U
#define MBR_FIRST_LOGICAL 5U

#define MBR_TYPE_GPT 0xEEU

#define GPT_SIG "EFI PART"
#define GPT_HEADER_MIN 92U	 /* the fields defined by UEFI 2.x */
#define GPT_ENTRY_MIN 128U	 /* UEFI: 128 * 2^n; we take any 8 * n */
#define GPT_BUF 4096U		 /* largest sector, entry and read chunk */
#define GPT_ARRAY_MAX (1U << 20) /* entry array bytes we agree to read */

/* Everything one parttable_read() call works with. */
struct pt_state {
	part_read_fn rd;
	void *ctx;
	uint64_t disk_size;
	struct partition *out;
	unsigned max;
	unsigned count;
	char *why;
	size_t whylen;
	bool io_failed; /* the callback failed: its errno wins */
};

/* A GPT header's fields that matter once it is found valid. */
struct gpt_header {
	unsigned ss;	      /* sector size it was found with */
	uint64_t lba;	      /* where it is */
	uint64_t entries_lba; /* where its entry array starts */
	uint32_t nentries;
	uint32_t entry_size;
	uint32_t entries_crc;
};

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

/*
 * CRC-32 as GPT uses it (IEEE 802.3, reflected, polynomial 0xEDB88320),
 * four bits at a time from a 16-entry table. Start with crc = 0; pass the
 * previous result to continue over more data.
 */
static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n)
{
	static const uint32_t nibble[16] = {
	    0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac,
	    0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
	    0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
	    0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
	};

	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		crc = (crc >> 4) ^ nibble[crc & 15];
		crc = (crc >> 4) ^ nibble[crc & 15];
	}
	return ~crc;
}

static void vformat(char *buf, size_t len, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void vformat(char *buf, size_t len, const char *fmt, va_list ap)
{
	if (buf && len)
		vsnprintf(buf, len, fmt, ap);
}

/* Set the reason line and return -EINVAL. */
static int fail(struct pt_state *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(struct pt_state *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vformat(st->why, st->whylen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Same, into a scratch buffer (a GPT header's reason, kept for later). */
static int fail_to(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_to(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vformat(buf, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Is [off, off + n) inside the image? */
static bool inside(const struct pt_state *st, uint64_t off, uint64_t n)
{
	return off <= st->disk_size && n <= st->disk_size - off;
}

/*
 * Read n bytes at off. A range outside the image is -EINVAL without a
 * reason (the caller knows what it was looking for); a callback failure
 * is its -errno, with a reason, and marks the state so callers that try
 * alternatives (GPT backup) stop at once.
 */
static int read_at(struct pt_state *st, void *buf, size_t n, uint64_t off)
{
	int rc;

	if (!inside(st, off, n))
		return -EINVAL;
	rc = st->rd(st->ctx, buf, n, off);
	if (rc == 0)
		return 0;
	if (rc > 0)
		rc = -EIO; /* not the contract; do not let it pass as success */
	st->io_failed = true;
	fail(st, "cannot read %zu bytes at byte %llu of the image", n,
	     (unsigned long long)off);
	return rc;
}

/* Append a partition, checking that it fits the image and out[]. */
static int add_part(struct pt_state *st, unsigned number, uint64_t off,
		    uint64_t len)
{
	if (!inside(st, off, len))
		return fail(st, "partition %u ends past the end of the image",
			    number);
	if (st->count >= st->max)
		return fail(st, "more than %u partitions", st->max);
	st->out[st->count].number = number;
	st->out[st->count].offset = off;
	st->out[st->count].length = len;
	st->count++;
	return 0;
}

/* ------------------------------------------------------------------ MBR */

struct mbr_entry {
	uint8_t boot;
	uint8_t type;
	uint32_t start; /* sectors, relative to a base that depends */
	uint32_t size;	/* sectors; 0 is an empty slot */
};

static void mbr_entry_get(const uint8_t *sector, unsigned slot,
			  struct mbr_entry *e)
{
	const uint8_t *p = sector + MBR_ENTRIES_AT + slot * MBR_ENTRY_SIZE;

	e->boot = p[0];
	e->type = p[4];
	e->start = get_le32(p + 8);
	e->size = get_le32(p + 12);
}

static bool mbr_signed(const uint8_t *sector)
{
	return get_le16(sector + 510) == 0xAA55;
}

static bool mbr_is_extended(uint8_t type)
{
	return type == 0x05 || type == 0x0F || type == 0x85;
}

/*
 * Walk the EBR chain of the extended partition starting at sector ext
 * (absolute). Each EBR's entry 0 is a logical partition relative to that
 * EBR; entry 1, when it is an extended entry, is the next EBR relative to
 * ext. *next is the number the next logical partition gets.
 */
static int mbr_logicals(struct pt_state *st, uint64_t ext, unsigned *next)
{
	uint64_t seen[PART_MAX];
	unsigned nseen = 0, i;
	uint64_t ebr = ext;
	uint8_t sector[MBR_SECTOR];
	struct mbr_entry e;
	int rc;

	for (;;) {
		for (i = 0; i < nseen; i++)
			if (seen[i] == ebr)
				break;
		if (i < nseen || nseen == PART_MAX) {
			rc = fail(st, "logical partition chain loops or is "
				      "too long");
			goto out;
		}
		seen[nseen++] = ebr;

		rc = read_at(st, sector, sizeof(sector), ebr * MBR_SECTOR);
		if (rc == -EINVAL && !st->io_failed)
			rc = fail(st, "logical partition chain points past "
				      "the end of the image");
		if (rc)
			goto out;
		if (!mbr_signed(sector))
			break; /* Linux: the chain just ends */

		mbr_entry_get(sector, 0, &e);
		if (e.size && !mbr_is_extended(e.type)) {
			rc = add_part(st, *next, (ebr + e.start) * MBR_SECTOR,
				      (uint64_t)e.size * MBR_SECTOR);
			if (rc)
				goto out;
			(*next)++;
		}

		mbr_entry_get(sector, 1, &e);
		if (!e.size || !mbr_is_extended(e.type))
			break;
		ebr = ext + e.start;
	}
	rc = 0;
out:
	return rc;
}

/* The four primary slots (the extended containers are not listed), then
 * the logical partitions of each extended container in slot order. */
static int mbr_read(struct pt_state *st, const uint8_t *sector)
{
	unsigned slot, next = MBR_FIRST_LOGICAL;
	struct mbr_entry e;
	int rc = 0;

	for (slot = 0; slot < 4; slot++) {
		mbr_entry_get(sector, slot, &e);
		if (e.boot != 0x00 && e.boot != 0x80) {
			rc = fail(st,
				  "no partition table (entry %u has boot "
				  "flag 0x%02x)",
				  slot + 1, e.boot);
			goto out;
		}
	}
	for (slot = 0; slot < 4; slot++) {
		mbr_entry_get(sector, slot, &e);
		if (!e.size || mbr_is_extended(e.type))
			continue;
		rc = add_part(st, slot + 1, (uint64_t)e.start * MBR_SECTOR,
			      (uint64_t)e.size * MBR_SECTOR);
		if (rc)
			goto out;
	}
	for (slot = 0; slot < 4; slot++) {
		mbr_entry_get(sector, slot, &e);
		if (!e.size || !mbr_is_extended(e.type))
			continue;
		rc = mbr_logicals(st, e.start, &next);
		if (rc)
			goto out;
	}
out:
	return rc;
}

/* ------------------------------------------------------------------ GPT */

/*
 * Read and check the GPT header at lba with sector size ss. 0 and *h
 * filled, -EINVAL with the reason in reason[], or the callback's -errno.
 * The entry array's CRC is checked here too, so a valid header is one
 * whose entries can be trusted.
 */
static int gpt_header_read(struct pt_state *st, unsigned ss, uint64_t lba,
			   struct gpt_header *h, char *reason, size_t rlen)
{
	uint8_t buf[GPT_BUF];
	uint64_t nsectors = st->disk_size / ss;
	uint64_t first_usable, last_usable, my_lba, array, pos;
	uint32_t hsize, crc;
	int rc;

	if (lba == 0 || lba >= nsectors) {
		rc = fail_to(reason, rlen, "no GPT header at LBA %llu",
			     (unsigned long long)lba);
		goto out;
	}
	rc = read_at(st, buf, ss, lba * ss);
	if (rc)
		goto out;
	if (memcmp(buf, GPT_SIG, 8) != 0) {
		rc = fail_to(reason, rlen, "no GPT header at LBA %llu",
			     (unsigned long long)lba);
		goto out;
	}
	hsize = get_le32(buf + 12);
	if (hsize < GPT_HEADER_MIN || hsize > ss) {
		rc = fail_to(reason, rlen, "GPT header size %u is invalid",
			     (unsigned)hsize);
		goto out;
	}
	crc = get_le32(buf + 16);
	memset(buf + 16, 0, 4);
	if (crc32_update(0, buf, hsize) != crc) {
		rc = fail_to(reason, rlen, "GPT header CRC mismatch");
		goto out;
	}

	my_lba = get_le64(buf + 24);
	first_usable = get_le64(buf + 40);
	last_usable = get_le64(buf + 48);
	h->ss = ss;
	h->lba = lba;
	h->entries_lba = get_le64(buf + 72);
	h->nentries = get_le32(buf + 80);
	h->entry_size = get_le32(buf + 84);
	h->entries_crc = get_le32(buf + 88);

	if (my_lba != lba) {
		rc = fail_to(reason, rlen,
			     "GPT header at LBA %llu says it is at LBA %llu",
			     (unsigned long long)lba,
			     (unsigned long long)my_lba);
		goto out;
	}
	if (first_usable > last_usable || last_usable >= nsectors) {
		rc = fail_to(reason, rlen, "GPT usable range is invalid");
		goto out;
	}
	if (h->entry_size < GPT_ENTRY_MIN || h->entry_size % 8 ||
	    h->entry_size > GPT_BUF) {
		rc = fail_to(reason, rlen, "GPT entry size %u is invalid",
			     (unsigned)h->entry_size);
		goto out;
	}
	array = (uint64_t)h->nentries * h->entry_size;
	if (array > GPT_ARRAY_MAX) {
		rc = fail_to(reason, rlen,
			     "GPT entry array too large (%u entries of %u "
			     "bytes)",
			     (unsigned)h->nentries, (unsigned)h->entry_size);
		goto out;
	}
	if (h->entries_lba == 0) {
		rc = fail_to(reason, rlen, "GPT entry array overlaps the MBR");
		goto out;
	}
	if (h->entries_lba >= nsectors ||
	    !inside(st, h->entries_lba * ss, array)) {
		rc = fail_to(reason, rlen,
			     "GPT entry array is outside the image");
		goto out;
	}
	/* The array must not cover the header describing it. */
	if (h->entries_lba <= lba && lba * ss < h->entries_lba * ss + array) {
		rc = fail_to(reason, rlen,
			     "GPT entry array overlaps its header");
		goto out;
	}

	crc = 0;
	for (pos = 0; pos < array; pos += GPT_BUF) {
		size_t n = array - pos < GPT_BUF ? array - pos : GPT_BUF;

		rc = read_at(st, buf, n, h->entries_lba * ss + pos);
		if (rc)
			goto out;
		crc = crc32_update(crc, buf, n);
	}
	if (crc != h->entries_crc) {
		rc = fail_to(reason, rlen, "GPT entries CRC mismatch");
		goto out;
	}
	rc = 0;
out:
	return rc;
}

static bool guid_is_zero(const uint8_t *g)
{
	unsigned i;

	for (i = 0; i < 16; i++)
		if (g[i])
			return false;
	return true;
}

/* List the used entries of a header already checked. */
static int gpt_entries(struct pt_state *st, const struct gpt_header *h)
{
	uint8_t buf[GPT_BUF];
	const unsigned per_chunk = GPT_BUF / h->entry_size;
	const uint64_t nsectors = st->disk_size / h->ss;
	uint32_t i = 0;
	int rc = 0;

	while (i < h->nentries) {
		uint32_t k, n = h->nentries - i;

		if (n > per_chunk)
			n = per_chunk;
		rc = read_at(st, buf, (size_t)n * h->entry_size,
			     (h->entries_lba * h->ss) +
				 (uint64_t)i * h->entry_size);
		if (rc)
			goto out;
		for (k = 0; k < n; k++) {
			const uint8_t *e = buf + (size_t)k * h->entry_size;
			unsigned number = (unsigned)(i + k) + 1;
			uint64_t first = get_le64(e + 32);
			uint64_t last = get_le64(e + 40);

			if (guid_is_zero(e))
				continue;
			if (first > last) {
				rc = fail(st,
					  "partition %u ends before it "
					  "starts",
					  number);
				goto out;
			}
			if (last >= nsectors) {
				rc = fail(st,
					  "partition %u ends past the end "
					  "of the image",
					  number);
				goto out;
			}
			rc = add_part(st, number, first * h->ss,
				      (last - first + 1) * h->ss);
			if (rc)
				goto out;
		}
		i += n;
	}
out:
	return rc;
}

/* Does "EFI PART" start LBA 1 for sector size ss? */
static int gpt_signed_at(struct pt_state *st, unsigned ss, bool *yes)
{
	uint8_t sig[8];
	int rc;

	*yes = false;
	if (st->disk_size / ss < 2)
		return 0;
	rc = read_at(st, sig, sizeof(sig), ss);
	if (rc)
		return rc;
	*yes = memcmp(sig, GPT_SIG, 8) == 0;
	return 0;
}

/*
 * The MBR is protective. Find the primary header at LBA 1 (512-byte
 * sectors, then 4096); if it or its entries are damaged, try the backup
 * header at the last LBA (with the sector size the primary was found
 * with, else both).
 */
static int gpt_read(struct pt_state *st)
{
	static const unsigned sizes[] = {512, 4096};
	struct gpt_header h;
	char primary_why[128], scratch[128];
	unsigned i, ss = 0;
	bool yes;
	int rc;

	for (i = 0; i < 2 && !ss; i++) {
		rc = gpt_signed_at(st, sizes[i], &yes);
		if (rc)
			goto out;
		if (yes)
			ss = sizes[i];
	}
	rc = -EINVAL;
	snprintf(primary_why, sizeof(primary_why), "no GPT header at LBA 1");
	if (ss)
		rc = gpt_header_read(st, ss, 1, &h, primary_why,
				     sizeof(primary_why));
	for (i = 0; rc && !st->io_failed && i < (ss ? 1U : 2U); i++) {
		unsigned bss = ss ? ss : sizes[i];

		rc = gpt_header_read(st, bss, st->disk_size / bss - 1, &h,
				     scratch, sizeof(scratch));
	}
	if (st->io_failed)
		goto out;
	if (rc) {
		rc = fail(st, "%s and no valid backup header", primary_why);
		goto out;
	}
	rc = gpt_entries(st, &h);
out:
	return rc;
}

/* ---------------------------------------------------------------- entry */

int parttable_read(part_read_fn rd, void *ctx, uint64_t disk_size,
		   struct partition *out, unsigned max, unsigned *count,
		   char *why, size_t whylen)
{
	struct pt_state st = {
	    .rd = rd,
	    .ctx = ctx,
	    .disk_size = disk_size,
	    .out = out,
	    .max = max,
	    .why = why,
	    .whylen = whylen,
	};
	uint8_t sector[MBR_SECTOR];
	struct mbr_entry e;
	unsigned slot;
	bool gpt = false;
	int rc;

	if (why && whylen)
		why[0] = '\0';
	if (!rd || !count || (!out && max)) {
		rc = fail(&st, "bad arguments");
		goto out;
	}
	if (disk_size < MBR_SECTOR) {
		rc = fail(&st,
			  "no partition table (image shorter than %u "
			  "bytes)",
			  MBR_SECTOR);
		goto out;
	}
	rc = read_at(&st, sector, sizeof(sector), 0);
	if (rc)
		goto out;
	if (!mbr_signed(sector)) {
		rc = fail(&st, "no partition table (no 0x55AA signature)");
		goto out;
	}
	for (slot = 0; slot < 4; slot++) {
		mbr_entry_get(sector, slot, &e);
		if (e.type == MBR_TYPE_GPT)
			gpt = true;
	}
	rc = gpt ? gpt_read(&st) : mbr_read(&st, sector);
	if (rc)
		goto out;
	if (st.count == 0)
		rc = fail(&st, "the partition table lists no partitions");
out:
	if (count)
		*count = rc ? 0 : st.count;
	return rc;
}
