/*
 * fuzz_parttable.c - libFuzzer harness for parttable_read().
 *
 * The input is the start of a disk image. Its first 8 bytes (MBR boot
 * code, which the parser never looks at) choose the disk size: 0 means
 * "the input's size"; anything else, taken modulo 16 TiB, is a disk that
 * may be shorter than the input (the rest must then never be read) or
 * much longer (zeros past the input, so the GPT backup header, EBRs or
 * partitions may land far away). Beyond "never crashes, never reads out
 * of bounds" (ASan/UBSan), it checks what parttable.h promises:
 * - no read at or past disk_size, and a bounded amount read in all;
 * - 0 or -EINVAL (the callback never fails here), *count 0 on error, a
 *   non-empty one-line reason on error and an empty one on success;
 * - on success 1..max partitions, numbers strictly ascending from 1 up,
 *   each non-empty and inside the disk;
 * - the same image with max one smaller fails with "more than", writing
 *   no more than max entries (out[] and why are exact-size heap blocks).
 *
 * CRCs stop a fuzzer cold: a mutated GPT header no longer matches its
 * CRC, and the checks behind it are never reached. So when bit 0 of byte
 * 8 (boot code again) is set, the harness first rewrites the entry-array
 * and header CRCs of whatever "EFI PART" headers sit at LBA 1 and at the
 * last LBA (512- and 4096-byte sectors), as a tool writing a bogus but
 * well-checksummed table would. With the bit clear, CRCs are as given.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "panefs/parttable.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DISK_CAP (1ULL << 44)	 /* 16 TiB */
#define READ_CAP (5ULL << 20)	 /* bytes one parttable_read() may read */
#define FIX_ARRAY_MAX (1U << 20) /* as parttable.c: larger is refused */

struct image {
	const uint8_t *data;
	size_t size;
	uint64_t disk_size;
	uint64_t read_total;
};

static int image_read(void *ctx, void *buf, size_t n, uint64_t off)
{
	struct image *im = ctx;
	size_t have = 0;

	if (off > im->disk_size || n > im->disk_size - off)
		abort(); /* read past disk_size */
	im->read_total += n;
	if (im->read_total > READ_CAP)
		abort(); /* a table made us read without bound */
	if (off < im->size) {
		have = im->size - off < n ? im->size - off : n;
		memcpy(buf, im->data + off, have);
	}
	memset((uint8_t *)buf + have, 0, n - have);
	return 0;
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

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* CRC-32 (IEEE), byte table; continue with the previous result. */
static uint32_t crc32_cont(uint32_t crc, uint8_t byte)
{
	static uint32_t table[256];
	static int ready;
	uint32_t c;
	unsigned i, k;

	if (!ready) {
		for (i = 0; i < 256; i++) {
			for (c = i, k = 0; k < 8; k++)
				c = (c >> 1) ^ (c & 1 ? 0xEDB88320U : 0);
			table[i] = c;
		}
		ready = 1;
	}
	crc = ~crc;
	crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF];
	return ~crc;
}

/* CRC of [off, off + len) of the disk: the buffer, then zeros. */
static uint32_t disk_crc(const struct image *im, uint64_t off, uint64_t len)
{
	uint32_t crc = 0;
	uint64_t i;

	for (i = 0; i < len; i++)
		crc =
		    crc32_cont(crc, off + i < im->size ? im->data[off + i] : 0);
	return crc;
}

/* Give the header at LBA lba (sector size ss) correct CRCs, if it is a
 * header lying within the input. */
static void fix_header(const struct image *im, uint8_t *buf, unsigned ss,
		       uint64_t lba)
{
	uint64_t nsect = im->disk_size / ss, off, elba, bytes;
	uint32_t hs, crc;
	uint8_t *h;

	if (lba == 0 || lba >= nsect)
		return;
	off = lba * ss;
	if (off >= im->size || im->size - off < 92)
		return;
	h = buf + off;
	if (memcmp(h, "EFI PART", 8) != 0)
		return;
	elba = get_le64(h + 72);
	bytes = (uint64_t)get_le32(h + 80) * get_le32(h + 84);
	if (bytes <= FIX_ARRAY_MAX && elba < nsect &&
	    bytes <= im->disk_size - elba * ss)
		put_le32(h + 88, disk_crc(im, elba * ss, bytes));
	hs = get_le32(h + 12);
	if (hs > ss || hs > im->size - off)
		return;
	put_le32(h + 16, 0);
	for (crc = 0; hs--; h++)
		crc = crc32_cont(crc, *h);
	put_le32(buf + off + 16, crc);
}

static void fix_gpt_crcs(struct image *im, uint8_t *buf)
{
	static const unsigned sizes[] = {512, 4096};
	unsigned i;

	for (i = 0; i < 2; i++) {
		fix_header(im, buf, sizes[i], 1);
		fix_header(im, buf, sizes[i], im->disk_size / sizes[i] - 1);
	}
}

static void check_why(const char *why, size_t whylen, int rc)
{
	size_t len = strnlen(why, whylen);

	if (len == whylen)
		abort(); /* not terminated */
	if (strchr(why, '\n'))
		abort();
	if ((rc == 0) != (len == 0))
		abort(); /* a reason exactly when failing */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct image im = {.data = data, .size = size};
	struct partition *out, *fewer = NULL;
	uint8_t *copy = NULL;
	const size_t whylen = 160, shortlen = 5;
	char *why, *shortwhy;
	unsigned count = 777, count2 = 777, i;
	uint64_t raw = 0;
	int rc;

	for (i = 0; i < 8 && i < size; i++)
		raw |= (uint64_t)data[i] << (8 * i);
	im.disk_size = raw ? raw % DISK_CAP : size;
	if (size > 8 && (data[8] & 1)) {
		copy = malloc(size);
		if (!copy)
			return 0;
		memcpy(copy, data, size);
		im.data = copy;
		fix_gpt_crcs(&im, copy);
	}

	out = malloc(PART_MAX * sizeof(*out));
	why = malloc(whylen);
	shortwhy = malloc(shortlen);
	if (!out || !why || !shortwhy)
		goto done;

	rc = parttable_read(image_read, &im, im.disk_size, out, PART_MAX,
			    &count, why, whylen);
	if (rc != 0 && rc != -EINVAL)
		abort();
	check_why(why, whylen, rc);
	if (rc) {
		if (count != 0)
			abort();
		goto done;
	}
	if (count == 0 || count > PART_MAX)
		abort();
	for (i = 0; i < count; i++) {
		const struct partition *p = &out[i];

		if (p->number == 0 || (i && p->number <= out[i - 1].number))
			abort(); /* not ascending */
		if (p->length == 0 || p->offset > im.disk_size ||
		    p->length > im.disk_size - p->offset)
			abort(); /* empty or outside the disk */
	}

	/* One fewer allowed: an error, and nothing written past max. */
	fewer = malloc((count - 1) * sizeof(*fewer) + 1);
	if (!fewer)
		goto done;
	im.read_total = 0;
	rc = parttable_read(image_read, &im, im.disk_size,
			    count > 1 ? fewer : NULL, count - 1, &count2,
			    shortwhy, shortlen);
	if (rc != -EINVAL || count2 != 0)
		abort();
	check_why(shortwhy, shortlen, rc);
	if (strcmp(shortwhy, "more") != 0)
		abort(); /* "more than N partitions", truncated */
done:
	free(copy);
	free(fewer);
	free(shortwhy);
	free(why);
	free(out);
	return 0;
}
