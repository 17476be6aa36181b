/*
 * test_parttable.c - MBR and GPT partition tables read by parttable_read().
 *
 * Images are built in memory by the builders below and served by a
 * "virtual disk": a size plus a list of written pieces, zeros elsewhere, so
 * a disk of 8 TiB costs a few sectors. Later writes win over earlier ones,
 * which is how tests damage a table. The read callback fails the test on
 * any read at or past the disk size (parttable.h promises none).
 *
 * The GPT builder has its own bitwise CRC-32, checked against the standard
 * check value, so parttable.c's CRC is tested against an independent one.
 * When sfdisk is installed, real images made by it are read too and the
 * result compared with "sfdisk -d".
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "panefs/parttable.h"

#define TIB (1ULL << 40)
#define MIB (1ULL << 20)

/* ------------------------------------------------------- virtual disk */

struct piece {
	uint64_t off;
	size_t len;
	uint8_t *data;
};

struct vdisk {
	uint64_t size;
	struct piece *pieces;
	size_t n, cap;
	uint64_t fail_from; /* reads reaching here fail with -EIO */
	unsigned reads;
};

static void vd_init(struct vdisk *d, uint64_t size)
{
	memset(d, 0, sizeof(*d));
	d->size = size;
	d->fail_from = UINT64_MAX;
}

static void vd_free(struct vdisk *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->pieces[i].data);
	free(d->pieces);
	d->pieces = NULL;
	d->n = d->cap = 0;
}

static void vd_write(struct vdisk *d, uint64_t off, const void *p, size_t len)
{
	struct piece *pc;

	assert_true(off + len <= d->size);
	if (d->n == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 16;
		d->pieces = realloc(d->pieces, d->cap * sizeof(*d->pieces));
		assert_non_null(d->pieces);
	}
	pc = &d->pieces[d->n++];
	pc->off = off;
	pc->len = len;
	pc->data = malloc(len ? len : 1);
	assert_non_null(pc->data);
	memcpy(pc->data, p, len);
}

static int vd_read(void *ctx, void *buf, size_t n, uint64_t off)
{
	struct vdisk *d = ctx;
	size_t i;

	d->reads++;
	if (off > d->size || n > d->size - off)
		fail_msg("read of %zu bytes at %llu past the disk size %llu", n,
			 (unsigned long long)off, (unsigned long long)d->size);
	if (off + n > d->fail_from)
		return -EIO;
	memset(buf, 0, n);
	for (i = 0; i < d->n; i++) {
		const struct piece *pc = &d->pieces[i];
		uint64_t lo = off > pc->off ? off : pc->off;
		uint64_t hi =
		    off + n < pc->off + pc->len ? off + n : pc->off + pc->len;

		if (lo < hi)
			memcpy((uint8_t *)buf + (lo - off),
			       pc->data + (lo - pc->off), hi - lo);
	}
	return 0;
}

static uint8_t vd_peek(struct vdisk *d, uint64_t off)
{
	uint8_t b;

	assert_int_equal(vd_read(d, &b, 1, off), 0);
	return b;
}

/* Damage one byte. */
static void vd_flip(struct vdisk *d, uint64_t off)
{
	uint8_t b = vd_peek(d, off) ^ 0x40;

	vd_write(d, off, &b, 1);
}

static void vd_zero(struct vdisk *d, uint64_t off, size_t len)
{
	uint8_t *z = calloc(1, len);

	assert_non_null(z);
	vd_write(d, off, z, len);
	free(z);
}

/* ------------------------------------------------------------ builders */

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

/* Bitwise, the slow obvious way: independent of parttable.c's table. */
static uint32_t ref_crc32(const uint8_t *p, size_t n)
{
	uint32_t crc = 0xFFFFFFFFU;
	int k;

	while (n--) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (crc & 1 ? 0xEDB88320U : 0);
	}
	return ~crc;
}

/* An MBR or EBR sector, in a 512-byte buffer. */
static void mbr_set(uint8_t *sec, unsigned slot, uint8_t type, uint32_t start,
		    uint32_t size)
{
	uint8_t *e = sec + 446 + 16 * slot;

	e[0] = 0;
	e[4] = type;
	put_le32(e + 8, start);
	put_le32(e + 12, size);
}

static void mbr_sign(uint8_t *sec)
{
	sec[510] = 0x55;
	sec[511] = 0xAA;
}

struct gpt_part {
	unsigned index; /* entry index, 0-based: partition number - 1 */
	uint64_t first, last;
};

struct gpt_spec {
	unsigned ss;
	uint64_t disk_size;
	uint32_t nentries;    /* 0: 128 */
	uint32_t entry_size;  /* 0: 128 */
	uint32_t header_size; /* 0: 92 */
	const struct gpt_part *parts;
	size_t nparts;
};

/* The fields of a header that tests may want wrong. */
struct gpt_fields {
	uint64_t my_lba, alt, entries_lba, first_usable, last_usable;
	uint32_t entries_crc;
};

/* Write a header with valid CRC at LBA at, whatever its fields say. */
static void gpt_header(struct vdisk *d, const struct gpt_spec *s, uint64_t at,
		       const struct gpt_fields *f)
{
	uint8_t *h = calloc(1, s->ss);
	uint32_t hs = s->header_size ? s->header_size : 92;

	assert_non_null(h);
	memcpy(h, "EFI PART", 8);
	put_le32(h + 8, 0x00010000);
	put_le32(h + 12, hs);
	put_le64(h + 24, f->my_lba);
	put_le64(h + 32, f->alt);
	put_le64(h + 40, f->first_usable);
	put_le64(h + 48, f->last_usable);
	memset(h + 56, 0xA5, 16); /* disk GUID */
	put_le64(h + 72, f->entries_lba);
	put_le32(h + 80, s->nentries ? s->nentries : 128);
	put_le32(h + 84, s->entry_size ? s->entry_size : 128);
	put_le32(h + 88, f->entries_crc);
	put_le32(h + 16, ref_crc32(h, hs < s->ss ? hs : s->ss));
	vd_write(d, at * s->ss, h, s->ss);
	free(h);
}

/* Protective MBR, primary header and entries, backup entries and header. */
static void gpt_build_fields(struct vdisk *d, const struct gpt_spec *s,
			     struct gpt_fields *primary)
{
	const uint32_t n = s->nentries ? s->nentries : 128;
	const uint32_t esize = s->entry_size ? s->entry_size : 128;
	const size_t array = (size_t)n * esize;
	const uint64_t asect = (array + s->ss - 1) / s->ss;
	const uint64_t nsect = s->disk_size / s->ss;
	const uint64_t last = nsect - 1;
	uint8_t mbr[512] = {0};
	struct gpt_fields backup;
	uint8_t *ents;
	uint32_t crc;
	size_t i;

	vd_init(d, s->disk_size);
	mbr_set(mbr, 0, 0xEE, 1,
		nsect - 1 > 0xFFFFFFFFU ? 0xFFFFFFFFU : (uint32_t)(nsect - 1));
	mbr_sign(mbr);
	vd_write(d, 0, mbr, sizeof(mbr));

	ents = calloc(1, array ? array : 1);
	assert_non_null(ents);
	for (i = 0; i < s->nparts; i++) {
		uint8_t *e = ents + (size_t)s->parts[i].index * esize;

		assert_true(s->parts[i].index < n);
		memset(e, 0x11 + (int)i, 16);	   /* type GUID */
		memset(e + 16, 0x77 + (int)i, 16); /* unique GUID */
		put_le64(e + 32, s->parts[i].first);
		put_le64(e + 40, s->parts[i].last);
	}
	crc = ref_crc32(ents, array);
	vd_write(d, 2 * s->ss, ents, array);
	vd_write(d, (last - asect) * s->ss, ents, array);
	primary->my_lba = 1;
	primary->alt = last;
	primary->entries_lba = 2;
	primary->first_usable = 2 + asect;
	primary->last_usable = last - asect - 1;
	primary->entries_crc = crc;
	backup = *primary;
	backup.my_lba = last;
	backup.alt = 1;
	backup.entries_lba = last - asect;
	gpt_header(d, s, 1, primary);
	gpt_header(d, s, last, &backup);
	free(ents);
}

static void gpt_build(struct vdisk *d, const struct gpt_spec *s)
{
	struct gpt_fields primary;

	gpt_build_fields(d, s, &primary);
}

/* ------------------------------------------------------------- checks */

struct want {
	unsigned number;
	uint64_t offset, length;
};

static void check_ok_max(struct vdisk *d, unsigned max, const struct want *w,
			 size_t n)
{
	struct partition out[PART_MAX];
	unsigned count = 12345, i;
	char why[200] = "stale";
	int rc;

	rc = parttable_read(vd_read, d, d->size, out, max, &count, why,
			    sizeof(why));
	if (rc != 0)
		print_error("unexpected error %d: %s\n", rc, why);
	assert_int_equal(rc, 0);
	assert_string_equal(why, "");
	assert_int_equal(count, n);
	for (i = 0; i < count; i++) {
		if (out[i].number != w[i].number ||
		    out[i].offset != w[i].offset ||
		    out[i].length != w[i].length)
			print_error(
			    "[%u]: got %u %llu+%llu, want %u "
			    "%llu+%llu\n",
			    i, out[i].number, (unsigned long long)out[i].offset,
			    (unsigned long long)out[i].length, w[i].number,
			    (unsigned long long)w[i].offset,
			    (unsigned long long)w[i].length);
		assert_int_equal(out[i].number, w[i].number);
		assert_true(out[i].offset == w[i].offset);
		assert_true(out[i].length == w[i].length);
	}
}

static void check_ok(struct vdisk *d, const struct want *w, size_t n)
{
	check_ok_max(d, PART_MAX, w, n);
}

/* Expect -EINVAL and exactly this reason. */
static void check_bad_max(struct vdisk *d, unsigned max, const char *reason)
{
	struct partition out[PART_MAX];
	unsigned count = 12345;
	char why[200] = "stale";
	int rc;

	rc = parttable_read(vd_read, d, d->size, out, max, &count, why,
			    sizeof(why));
	if (rc != -EINVAL || strcmp(why, reason) != 0)
		print_error("got %d '%s', want '%s'\n", rc, why, reason);
	assert_int_equal(rc, -EINVAL);
	assert_string_equal(why, reason);
	assert_int_equal(count, 0);
}

static void check_bad(struct vdisk *d, const char *reason)
{
	check_bad_max(d, PART_MAX, reason);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- MBR */

static void test_ref_crc(void **state)
{
	(void)state;
	/* The standard CRC-32 check value. */
	assert_int_equal(ref_crc32((const uint8_t *)"123456789", 9),
			 0xCBF43926U);
}

static void test_no_table(void **state)
{
	static const uint64_t sizes[] = {0, 1, 100, 511};
	uint8_t sec[512] = {0};
	struct vdisk d;
	size_t i;

	(void)state;
	for (i = 0; i < N(sizes); i++) {
		vd_init(&d, sizes[i]);
		check_bad(&d, "no partition table (image shorter than 512 "
			      "bytes)");
		assert_int_equal(d.reads, 0);
		vd_free(&d);
	}

	/* Entries but no signature. */
	vd_init(&d, 1 * MIB);
	mbr_set(sec, 0, 0x83, 2048, 100);
	vd_write(&d, 0, sec, sizeof(sec));
	check_bad(&d, "no partition table (no 0x55AA signature)");
	sec[510] = 0xAA; /* the wrong way round */
	sec[511] = 0x55;
	vd_write(&d, 0, sec, sizeof(sec));
	check_bad(&d, "no partition table (no 0x55AA signature)");
	vd_free(&d);

	/* A FAT-like boot sector: signed, garbage boot flags. */
	vd_init(&d, 1 * MIB);
	memset(sec, 0, sizeof(sec));
	mbr_set(sec, 0, 0x83, 2048, 100);
	sec[446 + 16] = 0x12;
	mbr_sign(sec);
	vd_write(&d, 0, sec, sizeof(sec));
	check_bad(&d, "no partition table (entry 2 has boot flag 0x12)");
	vd_free(&d);
}

static void test_mbr_empty(void **state)
{
	uint8_t sec[512] = {0};
	struct vdisk d;

	(void)state;
	vd_init(&d, 1 * MIB);
	mbr_sign(sec);
	/* A type with no size is an empty slot. */
	mbr_set(sec, 2, 0x83, 2048, 0);
	vd_write(&d, 0, sec, sizeof(sec));
	check_bad(&d, "the partition table lists no partitions");
	vd_free(&d);

	/* An extended partition without logicals lists nothing either. */
	vd_init(&d, 1 * MIB);
	mbr_set(sec, 0, 0x05, 1000, 100);
	vd_write(&d, 0, sec, sizeof(sec));
	memset(sec, 0, sizeof(sec));
	mbr_sign(sec);
	vd_write(&d, 1000 * 512, sec, sizeof(sec));
	check_bad(&d, "the partition table lists no partitions");
	vd_free(&d);
}

static void test_mbr_primaries(void **state)
{
	uint8_t sec[512] = {0};
	struct vdisk d;

	(void)state;
	vd_init(&d, 64 * MIB);
	mbr_sign(sec);
	mbr_set(sec, 0, 0x83, 2048, 4096);
	vd_write(&d, 0, sec, sizeof(sec));
	{
		const struct want w[] = {{1, 2048 * 512, 4096 * 512}};

		check_ok(&d, w, N(w));
	}

	/* Slot 2 empty: numbers are kept, not packed. */
	mbr_set(sec, 2, 0x07, 10000, 20000);
	mbr_set(sec, 3, 0x0C, 30000, 1);
	sec[446 + 48] = 0x80; /* bootable */
	vd_write(&d, 0, sec, sizeof(sec));
	{
		const struct want w[] = {{1, 2048 * 512, 4096 * 512},
					 {3, 10000 * 512, 20000 * 512},
					 {4, 30000 * 512, 512}};

		check_ok(&d, w, N(w));
	}

	/* All four; the last one ends exactly at the end of the disk. */
	mbr_set(sec, 1, 0x83, 6144, 3856);
	mbr_set(sec, 3, 0x0C, 30000, 64 * 2048 - 30000);
	vd_write(&d, 0, sec, sizeof(sec));
	{
		const struct want w[] = {
		    {1, 2048 * 512, 4096 * 512},
		    {2, 6144 * 512, 3856 * 512},
		    {3, 10000 * 512, 20000 * 512},
		    {4, 30000 * 512, (64 * 2048 - 30000) * 512ULL}};

		check_ok(&d, w, N(w));
		check_bad_max(&d, 3, "more than 3 partitions");
		check_bad_max(&d, 0, "more than 0 partitions");
	}

	/* One sector too long. */
	mbr_set(sec, 2, 0x07, 10000, 64 * 2048 - 10000 + 1);
	vd_write(&d, 0, sec, sizeof(sec));
	check_bad(&d, "partition 3 ends past the end of the image");
	/* Starting past the end. */
	mbr_set(sec, 2, 0x07, 64 * 2048, 1);
	vd_write(&d, 0, sec, sizeof(sec));
	check_bad(&d, "partition 3 ends past the end of the image");
	vd_free(&d);
}

/* 32-bit sector numbers times 512 need 64 bits. */
static void test_mbr_near_2tib(void **state)
{
	uint8_t sec[512] = {0};
	struct vdisk d;
	const struct want w[] = {
	    {1, 2048 * 512, 0xFFFFF000ULL * 512 - 2048 * 512},
	    {2, 0xFFFFF000ULL * 512, 0xFFFFFFFFULL * 512},
	};

	(void)state;
	vd_init(&d, 4 * TIB);
	mbr_sign(sec);
	mbr_set(sec, 0, 0x83, 2048, 0xFFFFF000U - 2048);
	mbr_set(sec, 1, 0x83, 0xFFFFF000U, 0xFFFFFFFFU);
	vd_write(&d, 0, sec, sizeof(sec));
	check_ok(&d, w, N(w));
	vd_free(&d);
}

/* An EBR at sector ebr: a logical at ebr + lstart, a link to ext + next. */
static void put_ebr(struct vdisk *d, uint32_t ebr, uint32_t lstart,
		    uint32_t lsize, uint8_t link_type, uint32_t next)
{
	uint8_t sec[512] = {0};

	if (lsize)
		mbr_set(sec, 0, 0x83, lstart, lsize);
	if (link_type)
		mbr_set(sec, 1, link_type, next, 2048);
	mbr_sign(sec);
	vd_write(d, (uint64_t)ebr * 512, sec, sizeof(sec));
}

static void test_mbr_logicals(void **state)
{
	static const uint8_t ext_types[] = {0x05, 0x0F, 0x85};
	uint8_t sec[512] = {0};
	struct vdisk d;
	size_t i;
	/* Like sfdisk: 1 primary, 2 extended at 10240, 4 primary. */
	const struct want w[] = {{1, 2048 * 512, 8192 * 512},
				 {4, 92160 * 512, 4096 * 512},
				 {5, 12288 * 512, 10240 * 512},
				 {6, 24576 * 512, 2048 * 512},
				 {7, 30000 * 512ULL, 5000 * 512}};

	(void)state;
	for (i = 0; i < N(ext_types); i++) {
		const uint8_t t = ext_types[i];

		vd_init(&d, 64 * MIB);
		memset(sec, 0, sizeof(sec));
		mbr_sign(sec);
		mbr_set(sec, 0, 0x83, 2048, 8192);
		mbr_set(sec, 1, t, 10240, 81920);
		mbr_set(sec, 3, 0x83, 92160, 4096);
		vd_write(&d, 0, sec, sizeof(sec));
		/* Logicals relative to their EBR, links to the extended. */
		put_ebr(&d, 10240, 2048, 10240, t, 22528 - 10240);
		put_ebr(&d, 22528, 2048, 2048, t, 29000 - 10240);
		put_ebr(&d, 29000, 1000, 5000, 0, 0);
		check_ok(&d, w, N(w));
		check_bad_max(&d, 4, "more than 4 partitions");

		/* A logical past the end. */
		put_ebr(&d, 22528, 2048, 64 * 2048 - 22528 - 2047, t,
			29000 - 10240);
		check_bad(&d, "partition 6 ends past the end of the image");
		vd_free(&d);
	}
}

/* Linux: an EBR without a signature ends the chain, no error. Two
 * extended partitions: numbers go on from one chain to the next. */
static void test_mbr_chain_ends(void **state)
{
	uint8_t sec[512] = {0};
	struct vdisk d;
	const struct want w[] = {{5, 1100 * 512, 10 * 512},
				 {6, 1300 * 512, 10 * 512},
				 {7, 5100 * 512, 20 * 512}};

	(void)state;
	vd_init(&d, 64 * MIB);
	mbr_sign(sec);
	mbr_set(sec, 0, 0x05, 1000, 2000);
	mbr_set(sec, 2, 0x0F, 5000, 2000);
	vd_write(&d, 0, sec, sizeof(sec));
	put_ebr(&d, 1000, 100, 10, 0x05, 200);
	put_ebr(&d, 1200, 100, 10, 0x05, 400);
	vd_zero(&d, 1400 * 512, 512); /* unsigned: the chain ends here */
	put_ebr(&d, 5000, 100, 20, 0, 0);
	check_ok(&d, w, N(w));

	/* An empty entry 0 in the middle: no number is used up. */
	put_ebr(&d, 1000, 0, 0, 0x05, 200);
	{
		const struct want w2[] = {{5, 1300 * 512, 10 * 512},
					  {6, 5100 * 512, 20 * 512}};

		check_ok(&d, w2, N(w2));
	}
	vd_free(&d);
}

static void test_mbr_chain_loops(void **state)
{
	uint8_t sec[512] = {0};
	struct vdisk d;
	unsigned i;

	(void)state;
	vd_init(&d, 64 * MIB);
	mbr_sign(sec);
	mbr_set(sec, 0, 0x83, 100, 100);
	mbr_set(sec, 1, 0x05, 1000, 20000);
	vd_write(&d, 0, sec, sizeof(sec));

	/* Self loop. */
	put_ebr(&d, 1000, 10, 10, 0x05, 0);
	check_bad(&d, "logical partition chain loops or is too long");

	/* Two EBRs pointing at each other. */
	put_ebr(&d, 1000, 10, 10, 0x05, 500);
	put_ebr(&d, 1500, 10, 10, 0x05, 0);
	check_bad(&d, "logical partition chain loops or is too long");

	/* A longer cycle back into the middle of the chain. */
	put_ebr(&d, 1500, 10, 10, 0x05, 1000);
	put_ebr(&d, 2000, 10, 10, 0x05, 500);
	check_bad(&d, "logical partition chain loops or is too long");

	/* Pointing past the end of the image. */
	put_ebr(&d, 2000, 10, 10, 0x05, 64 * 2048);
	check_bad(&d, "logical partition chain points past the end of "
		      "the image");
	vd_free(&d);

	/* PART_MAX EBRs, all without a logical, are allowed; one more
	 * is too long. */
	vd_init(&d, 64 * MIB);
	vd_write(&d, 0, sec, sizeof(sec));
	for (i = 0; i < PART_MAX; i++)
		put_ebr(&d, 1000 + 10 * i, 0, 0, i + 1 < PART_MAX ? 0x05 : 0,
			10 * (i + 1));
	{
		const struct want w[] = {{1, 100 * 512, 100 * 512}};

		check_ok(&d, w, N(w));
	}
	put_ebr(&d, 1000 + 10 * (PART_MAX - 1), 0, 0, 0x05, 10 * PART_MAX);
	put_ebr(&d, 1000 + 10 * PART_MAX, 0, 0, 0, 0);
	check_bad(&d, "logical partition chain loops or is too long");
	vd_free(&d);
}

/* ---------------------------------------------------------------- GPT */

static const struct gpt_part three[] = {
    {0, 2048, 4095},
    {1, 4096, 10239},
    {4, 20000, 20000},
};

static void want_three(unsigned ss, struct want *w)
{
	unsigned i;

	for (i = 0; i < 3; i++) {
		w[i].number = three[i].index + 1;
		w[i].offset = three[i].first * ss;
		w[i].length = (three[i].last - three[i].first + 1) * ss;
	}
}

static void test_gpt_basic(void **state)
{
	static const unsigned sizes[] = {512, 4096};
	struct vdisk d;
	struct want w[3];
	size_t i;

	(void)state;
	for (i = 0; i < N(sizes); i++) {
		const unsigned ss = sizes[i];
		struct gpt_spec s = {.ss = ss,
				     .disk_size = 32768ULL * ss,
				     .parts = three,
				     .nparts = 3};

		want_three(ss, w);
		gpt_build(&d, &s);
		check_ok(&d, w, 3);
		check_bad_max(&d, 2, "more than 2 partitions");
		vd_free(&d);

		/* Other entry geometry: 16 entries of 256 bytes, and a
		 * longer header (its CRC covers the extra bytes). */
		s.nentries = 16;
		s.entry_size = 256;
		s.header_size = 120;
		gpt_build(&d, &s);
		check_ok(&d, w, 3);
		vd_free(&d);

		/* No used entry. */
		s.nparts = 0;
		gpt_build(&d, &s);
		check_bad(&d, "the partition table lists no partitions");
		vd_free(&d);
	}
}

static void test_gpt_backup(void **state)
{
	static const unsigned sizes[] = {512, 4096};
	struct vdisk d;
	struct want w[3];
	size_t i;
	int how;

	(void)state;
	for (i = 0; i < N(sizes); i++) {
		const unsigned ss = sizes[i];
		const struct gpt_spec s = {.ss = ss,
					   .disk_size = 32768ULL * ss,
					   .parts = three,
					   .nparts = 3};

		want_three(ss, w);
		for (how = 0; how < 4; how++) {
			gpt_build(&d, &s);
			switch (how) {
			case 0: /* header CRC */
				vd_flip(&d, ss + 40);
				break;
			case 1: /* signature gone */
				vd_zero(&d, ss, 8);
				break;
			case 2: /* whole header sector gone */
				vd_zero(&d, ss, ss);
				break;
			case 3: /* entries CRC */
				vd_flip(&d, 2 * ss + 32);
				break;
			}
			check_ok(&d, w, 3);
			vd_free(&d);
		}
	}
}

static void test_gpt_damaged(void **state)
{
	static const unsigned sizes[] = {512, 4096};
	struct vdisk d;
	size_t i;

	(void)state;
	for (i = 0; i < N(sizes); i++) {
		const unsigned ss = sizes[i];
		const struct gpt_spec s = {.ss = ss,
					   .disk_size = 32768ULL * ss,
					   .parts = three,
					   .nparts = 3};
		const uint64_t last = 32768ULL - 1;
		const uint64_t backup_entries = last - 16384 / ss;

		gpt_build(&d, &s);
		vd_flip(&d, ss + 40);
		vd_flip(&d, last * ss + 40);
		check_bad(&d, "GPT header CRC mismatch and no valid backup "
			      "header");
		vd_free(&d);

		gpt_build(&d, &s);
		vd_zero(&d, ss, 8);
		vd_zero(&d, last * ss, 8);
		check_bad(&d, "no GPT header at LBA 1 and no valid backup "
			      "header");
		vd_free(&d);

		gpt_build(&d, &s);
		vd_flip(&d, 2 * ss + 32);
		vd_flip(&d, backup_entries * ss + 32);
		check_bad(&d, "GPT entries CRC mismatch and no valid backup "
			      "header");
		vd_free(&d);

		/* The backup alone, damaged: still the primary's reason. */
		gpt_build(&d, &s);
		vd_flip(&d, 2 * ss + 32);
		vd_flip(&d, last * ss + 40);
		check_bad(&d, "GPT entries CRC mismatch and no valid backup "
			      "header");
		vd_free(&d);

		/* The backup is looked for at the last LBA of the image:
		 * an image cut short has none. */
		gpt_build(&d, &s);
		vd_flip(&d, ss + 40);
		d.size -= ss;
		check_bad(&d, "GPT header CRC mismatch and no valid backup "
			      "header");
		vd_free(&d);
	}
}

/* Header geometry: each field checked, the backup damaged too. */
static void test_gpt_geometry(void **state)
{
	static const struct gpt_spec s = {.ss = 512,
					  .disk_size = 32768ULL * 512,
					  .parts = three,
					  .nparts = 3};
	const uint64_t last = 32767;
	struct gpt_fields good, f;
	struct vdisk d;
	struct want w[3];
	uint8_t *array;
	unsigned i;
	const struct {
		uint64_t *field;
		uint64_t value;
		const char *reason;
	} bad[] = {
	    {&f.my_lba, 5, "GPT header at LBA 1 says it is at LBA 5"},
	    {&f.my_lba, last, "GPT header at LBA 1 says it is at LBA 32767"},
	    {&f.first_usable, last - 32, "GPT usable range is invalid"},
	    {&f.last_usable, last + 1, "GPT usable range is invalid"},
	    {&f.entries_lba, 0, "GPT entry array overlaps the MBR"},
	    {&f.entries_lba, 1, "GPT entry array overlaps its header"},
	    {&f.entries_lba, last - 10, "GPT entry array is outside the image"},
	    {&f.entries_lba, 1ULL << 62,
	     "GPT entry array is outside the image"},
	    {&f.entries_lba, UINT64_MAX,
	     "GPT entry array is outside the image"},
	};
	char reason[200];

	(void)state;
	want_three(512, w);
	for (i = 0; i < N(bad); i++) {
		gpt_build_fields(&d, &s, &good);
		f = good;
		*bad[i].field = bad[i].value;
		gpt_header(&d, &s, 1, &f);
		vd_flip(&d, last * 512 + 40);
		snprintf(reason, sizeof(reason),
			 "%s and no valid backup header", bad[i].reason);
		check_bad(&d, reason);
		vd_free(&d);
	}

	/* The array is read where the header says, not at LBA 2. */
	gpt_build_fields(&d, &s, &good);
	array = malloc(16384);
	assert_non_null(array);
	assert_int_equal(vd_read(&d, array, 16384, 2 * 512), 0);
	vd_write(&d, 1000 * 512, array, 16384);
	vd_zero(&d, 2 * 512, 16384);
	free(array);
	f = good;
	f.entries_lba = 1000;
	gpt_header(&d, &s, 1, &f);
	vd_flip(&d, last * 512 + 40);
	check_ok(&d, w, 3);
	vd_free(&d);

	/* A backup whose array covers it is refused too. */
	gpt_build_fields(&d, &s, &good);
	vd_flip(&d, 512 + 40);
	f = good;
	f.my_lba = last;
	f.entries_lba = last - 10;
	gpt_header(&d, &s, last, &f);
	check_bad(&d, "GPT header CRC mismatch and no valid backup header");
	vd_free(&d);
}

/* Header fields out of range, with valid CRCs: both headers say it. */
static void test_gpt_fields(void **state)
{
	static const struct {
		uint32_t hs, n, esize;
		const char *reason;
	} bad[] = {
	    {91, 0, 0, "GPT header size 91 is invalid"},
	    {513, 0, 0, "GPT header size 513 is invalid"},
	    {0, 0, 64, "GPT entry size 64 is invalid"},
	    {0, 0, 132, "GPT entry size 132 is invalid"},
	    {0, 0, 8192, "GPT entry size 8192 is invalid"},
	    {0, 8193, 128,
	     "GPT entry array too large (8193 entries of 128 "
	     "bytes)"},
	    {0, 1025, 1024,
	     "GPT entry array too large (1025 entries of 1024 "
	     "bytes)"},
	};
	char reason[200];
	struct vdisk d;
	struct want w[3];
	size_t i;

	(void)state;
	for (i = 0; i < N(bad); i++) {
		const struct gpt_spec s = {.ss = 512,
					   .disk_size = 64 * MIB,
					   .header_size = bad[i].hs,
					   .nentries = bad[i].n,
					   .entry_size = bad[i].esize,
					   .parts = three,
					   .nparts = 3};

		gpt_build(&d, &s);
		snprintf(reason, sizeof(reason),
			 "%s and no valid backup header", bad[i].reason);
		check_bad(&d, reason);
		vd_free(&d);
	}

	/* The largest array accepted: 1 MiB. */
	{
		const struct gpt_spec s = {.ss = 512,
					   .disk_size = 64 * MIB,
					   .nentries = 8192,
					   .parts = three,
					   .nparts = 3};

		want_three(512, w);
		gpt_build(&d, &s);
		check_ok(&d, w, 3);
		vd_free(&d);
	}
}

static void test_gpt_bad_entries(void **state)
{
	struct gpt_part p[] = {{0, 2048, 4095}, {1, 4096, 32767}};
	struct gpt_spec s = {
	    .ss = 512, .disk_size = 32768ULL * 512, .parts = p, .nparts = 2};
	struct vdisk d;

	(void)state;
	/* Inside the disk but over the backup: only the image's end
	 * counts. */
	{
		const struct want w[] = {{1, 2048 * 512, 2048 * 512},
					 {2, 4096 * 512, 28672 * 512}};

		gpt_build(&d, &s);
		check_ok(&d, w, N(w));
		vd_free(&d);
	}
	p[1].last = 32768;
	gpt_build(&d, &s);
	check_bad(&d, "partition 2 ends past the end of the image");
	vd_free(&d);

	p[1].first = UINT64_MAX - 1; /* first * 512 would wrap */
	p[1].last = UINT64_MAX;
	gpt_build(&d, &s);
	check_bad(&d, "partition 2 ends past the end of the image");
	vd_free(&d);

	p[1].first = 5000;
	p[1].last = 4999;
	gpt_build(&d, &s);
	check_bad(&d, "partition 2 ends before it starts");
	vd_free(&d);
}

/* Above 2 TiB, where 32-bit sector arithmetic would wrap. */
static void test_gpt_huge(void **state)
{
	static const unsigned sizes[] = {512, 4096};
	struct vdisk d;
	size_t i;

	(void)state;
	for (i = 0; i < N(sizes); i++) {
		const unsigned ss = sizes[i];
		const uint64_t disk = (i == 0 ? 8 : 40) * TIB + 7 * MIB;
		const uint64_t nsect = disk / ss;
		const struct gpt_part p[] = {
		    {0, 1 * MIB / ss, 3 * TIB / ss - 1},
		    {1, 3 * TIB / ss, nsect - 34},
		};
		const struct gpt_spec s = {
		    .ss = ss, .disk_size = disk, .parts = p, .nparts = 2};
		const struct want w[] = {
		    {1, 1 * MIB, 3 * TIB - 1 * MIB},
		    {2, 3 * TIB, (nsect - 33) * ss - 3 * TIB},
		};

		gpt_build(&d, &s);
		assert_true(w[1].offset > (1ULL << 41));
		check_ok(&d, w, N(w));

		/* And from the backup header at the very end. */
		vd_flip(&d, ss + 40);
		check_ok(&d, w, N(w));
		vd_free(&d);
	}
}

/* ------------------------------------------------- errors and contract */

static void test_read_errors(void **state)
{
	struct partition out[4];
	unsigned count = 7;
	char why[200];
	uint8_t sec[512] = {0};
	struct vdisk d;
	const struct gpt_spec s = {.ss = 512,
				   .disk_size = 32768ULL * 512,
				   .parts = three,
				   .nparts = 3};

	(void)state;
	/* The first sector. */
	vd_init(&d, 1 * MIB);
	d.fail_from = 0;
	assert_int_equal(parttable_read(vd_read, &d, d.size, out, 4, &count,
					why, sizeof(why)),
			 -EIO);
	assert_int_equal(count, 0);
	assert_string_equal(why, "cannot read 512 bytes at byte 0 of the "
				 "image");
	vd_free(&d);

	/* An EBR. */
	vd_init(&d, 1 * MIB);
	mbr_sign(sec);
	mbr_set(sec, 0, 0x05, 1000, 100);
	vd_write(&d, 0, sec, sizeof(sec));
	d.fail_from = 1000 * 512;
	assert_int_equal(parttable_read(vd_read, &d, d.size, out, 4, &count,
					why, sizeof(why)),
			 -EIO);
	vd_free(&d);

	/* GPT entries, and the backup is not tried instead. */
	gpt_build(&d, &s);
	d.fail_from = 3 * 512;
	count = 7;
	assert_int_equal(parttable_read(vd_read, &d, d.size, out, 4, &count,
					why, sizeof(why)),
			 -EIO);
	assert_int_equal(count, 0);
	vd_free(&d);
}

static void test_why_buffer(void **state)
{
	struct partition out[4];
	unsigned count = 7;
	char why[8];
	struct vdisk d;

	(void)state;
	vd_init(&d, 1 * MIB);
	/* Truncated, never overrun. */
	assert_int_equal(parttable_read(vd_read, &d, d.size, out, 4, &count,
					why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "no part");
	assert_int_equal(count, 0);
	/* No reason wanted. */
	assert_int_equal(
	    parttable_read(vd_read, &d, d.size, out, 4, &count, NULL, 0),
	    -EINVAL);
	/* Arguments. */
	assert_int_equal(
	    parttable_read(NULL, &d, d.size, out, 4, &count, why, sizeof(why)),
	    -EINVAL);
	assert_int_equal(
	    parttable_read(vd_read, &d, d.size, out, 4, NULL, why, sizeof(why)),
	    -EINVAL);
	vd_free(&d);
}

/* ------------------------------------------------------ against sfdisk */

static const char *find_sfdisk(void)
{
	static const char *const dirs[] = {"/usr/sbin", "/sbin", "/usr/bin",
					   "/bin", "/usr/local/sbin"};
	static char path[512];
	const char *env = getenv("PATH");
	size_t i;

	while (env && *env) {
		size_t n = strcspn(env, ":");

		if (n && n < sizeof(path) - 8) {
			snprintf(path, sizeof(path), "%.*s/sfdisk", (int)n,
				 env);
			if (access(path, X_OK) == 0)
				return path;
		}
		env += n + (env[n] ? 1 : 0);
	}
	for (i = 0; i < N(dirs); i++) {
		snprintf(path, sizeof(path), "%s/sfdisk", dirs[i]);
		if (access(path, X_OK) == 0)
			return path;
	}
	return NULL;
}

static int file_read(void *ctx, void *buf, size_t n, uint64_t off)
{
	int fd = *(int *)ctx;
	ssize_t got = pread(fd, buf, n, (off_t)off);

	if (got < 0)
		return -errno;
	return (size_t)got == n ? 0 : -EIO;
}

/* "type=5" and the like in a dump; GPT type GUIDs never match. */
static int dump_type_extended(const char *type)
{
	char *end;
	unsigned long t = strtoul(type, &end, 16);

	if (end == type || (*end != ',' && *end != '\n' && *end != '\0'))
		return 0;
	return t == 0x05 || t == 0x0F || t == 0x85;
}

/* The scratch files of one sfdisk test, removed by the teardown even when
 * an assertion ends the test early. */
struct scratch {
	char dir[32];
	char img[64], scr[64], dump[64];
	int fd;
};

static int scratch_setup(void **state)
{
	struct scratch *sc = calloc(1, sizeof(*sc));

	if (!sc)
		return -1;
	sc->fd = -1;
	*state = sc;
	return 0;
}

static int scratch_teardown(void **state)
{
	struct scratch *sc = *state;

	if (sc->fd >= 0)
		close(sc->fd);
	if (sc->dir[0]) {
		unlink(sc->img);
		unlink(sc->scr);
		unlink(sc->dump);
		rmdir(sc->dir);
	}
	free(sc);
	return 0;
}

/*
 * Make a 64 MiB image with sfdisk from script, read it with
 * parttable_read() and with "sfdisk -d", and compare. Extended containers
 * in sfdisk's dump are skipped (parttable.h does not list them).
 */
static void compare_with_sfdisk(struct scratch *sc, const char *script,
				unsigned expect)
{
	const char *sfdisk = find_sfdisk();
	char cmd[2048], line[512], why[200];
	struct partition out[PART_MAX];
	struct want got[PART_MAX];
	unsigned count = 0, ngot = 0, i;
	struct stat st;
	FILE *f;
	int rc;

	if (!sfdisk) {
		print_message("sfdisk not found: skipped\n");
		skip();
	}
	strcpy(sc->dir, "/tmp/panefs-pt-XXXXXX");
	assert_non_null(mkdtemp(sc->dir));
	snprintf(sc->img, sizeof(sc->img), "%s/disk.img", sc->dir);
	snprintf(sc->scr, sizeof(sc->scr), "%s/script", sc->dir);
	snprintf(sc->dump, sizeof(sc->dump), "%s/dump", sc->dir);

	sc->fd = open(sc->img, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(sc->fd >= 0);
	assert_int_equal(ftruncate(sc->fd, 64 * MIB), 0);
	f = fopen(sc->scr, "w");
	assert_non_null(f);
	fputs(script, f);
	fclose(f);

	snprintf(cmd, sizeof(cmd),
		 "'%s' -q --no-reread --no-tell-kernel '%s' <'%s' >'%s' 2>&1",
		 sfdisk, sc->img, sc->scr, sc->dump);
	rc = system(cmd);
	if (rc != 0)
		print_error("'%s' failed (%d)\n", cmd, rc);
	assert_int_equal(rc, 0);
	snprintf(cmd, sizeof(cmd), "'%s' -d '%s' >'%s' 2>&1", sfdisk, sc->img,
		 sc->dump);
	assert_int_equal(system(cmd), 0);

	/* "IMG5 : start=        2048, size=        8192, type=83" */
	f = fopen(sc->dump, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		const char *p = line + strlen(sc->img), *start, *size, *type;

		if (strncmp(line, sc->img, strlen(sc->img)) != 0)
			continue;
		if (*p == 'p')
			p++;
		start = strstr(p, "start=");
		size = strstr(p, "size=");
		type = strstr(p, "type=");
		if (!start || !size || !type || ngot == PART_MAX) {
			fclose(f);
			fail_msg("cannot parse sfdisk's line: %s", line);
		}
		if (dump_type_extended(type + 5))
			continue; /* the extended container */
		got[ngot].number = (unsigned)strtoul(p, NULL, 10);
		got[ngot].offset = strtoull(start + 6, NULL, 10) * 512;
		got[ngot].length = strtoull(size + 5, NULL, 10) * 512;
		ngot++;
	}
	fclose(f);
	assert_int_equal(ngot, expect);

	assert_int_equal(fstat(sc->fd, &st), 0);
	rc = parttable_read(file_read, &sc->fd, (uint64_t)st.st_size, out,
			    PART_MAX, &count, why, sizeof(why));
	if (rc)
		print_error("parttable_read: %d %s\n", rc, why);
	assert_int_equal(rc, 0);
	assert_int_equal(count, ngot);
	for (i = 0; i < count; i++) {
		assert_int_equal(out[i].number, got[i].number);
		assert_true(out[i].offset == got[i].offset);
		assert_true(out[i].length == got[i].length);
	}
}

static void test_sfdisk_mbr(void **state)
{
	compare_with_sfdisk(*state,
			    "label: dos\n"
			    "unit: sectors\n"
			    "\n"
			    "p1 : start=2048, size=8192, type=83\n"
			    "p2 : start=10240, size=81920, type=5\n"
			    "p4 : start=92160, size=4096, type=83\n"
			    "p5 : start=12288, size=10240, type=83\n"
			    "p6 : start=24576, size=2048, type=82\n"
			    "p7 : start=30000, size=5000, type=83\n",
			    5);
}

static void test_sfdisk_gpt(void **state)
{
	compare_with_sfdisk(*state,
			    "label: gpt\n"
			    "unit: sectors\n"
			    "\n"
			    "p1 : start=2048, size=8192\n"
			    "p2 : start=10240, size=16384\n"
			    "p5 : start=40000, size=5000\n"
			    "p128 : start=50000, size=1\n",
			    4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ref_crc),
	    cmocka_unit_test(test_no_table),
	    cmocka_unit_test(test_mbr_empty),
	    cmocka_unit_test(test_mbr_primaries),
	    cmocka_unit_test(test_mbr_near_2tib),
	    cmocka_unit_test(test_mbr_logicals),
	    cmocka_unit_test(test_mbr_chain_ends),
	    cmocka_unit_test(test_mbr_chain_loops),
	    cmocka_unit_test(test_gpt_basic),
	    cmocka_unit_test(test_gpt_backup),
	    cmocka_unit_test(test_gpt_damaged),
	    cmocka_unit_test(test_gpt_geometry),
	    cmocka_unit_test(test_gpt_fields),
	    cmocka_unit_test(test_gpt_bad_entries),
	    cmocka_unit_test(test_gpt_huge),
	    cmocka_unit_test(test_read_errors),
	    cmocka_unit_test(test_why_buffer),
	    cmocka_unit_test_setup_teardown(test_sfdisk_mbr, scratch_setup,
					    scratch_teardown),
	    cmocka_unit_test_setup_teardown(test_sfdisk_gpt, scratch_setup,
					    scratch_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
