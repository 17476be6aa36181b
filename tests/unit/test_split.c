/*
 * test_split.c - chunk arithmetic and names of split mode (split.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "panefs/split.h"

static void test_count(void **state)
{
	(void)state;
	assert_int_equal(split_count(0, 4096), 0);
	assert_int_equal(split_count(1, 4096), 1);
	assert_int_equal(split_count(4095, 4096), 1);
	assert_int_equal(split_count(4096, 4096), 1);
	assert_int_equal(split_count(4097, 4096), 2);
	assert_int_equal(split_count(3ULL << 40, 1ULL << 30), 3072);
	assert_int_equal(split_count(INT64_MAX, 4096),
			 (uint64_t)INT64_MAX / 4096 + 1);
	assert_int_equal(split_count(100, 0), 0);
}

static void test_width(void **state)
{
	(void)state;
	assert_int_equal(split_width(0), 6);
	assert_int_equal(split_width(1), 6);
	assert_int_equal(split_width(1000000), 6); /* last index 999999 */
	assert_int_equal(split_width(1000001), 7); /* last index 1000000 */
	assert_int_equal(split_width(UINT64_MAX), 20);
}

static void test_names(void **state)
{
	char buf[SPLIT_NAME_MAX];
	uint64_t idx;

	(void)state;
	split_name(0, 6, buf);
	assert_string_equal(buf, "000000");
	split_name(42, 7, buf);
	assert_string_equal(buf, "0000042");
	split_name(UINT64_MAX - 1, 20, buf);
	assert_string_equal(buf, "18446744073709551614");

	assert_true(split_parse("000042", 6, 43, &idx));
	assert_int_equal(idx, 42);
	assert_false(split_parse("000043", 6, 43, &idx));  /* past the end */
	assert_false(split_parse("00042", 6, 43, &idx));   /* too short */
	assert_false(split_parse("0000042", 6, 43, &idx)); /* too long */
	assert_false(split_parse("00004x", 6, 43, &idx));
	assert_false(split_parse("-00004", 6, 43, &idx));
	assert_false(split_parse("", 6, 43, &idx));
	assert_false(split_parse("000000", 6, 0, &idx)); /* empty file */
	/* 20 digits that overflow 64 bits. */
	assert_false(split_parse("99999999999999999999", 20, UINT64_MAX, &idx));
	assert_true(split_parse("18446744073709551614", 20, UINT64_MAX, &idx));
	assert_int_equal(idx, UINT64_MAX - 1);
}

/* Every name parses back to its index, and names sort like indexes. */
static void test_round_trip(void **state)
{
	char a[SPLIT_NAME_MAX], b[SPLIT_NAME_MAX];
	uint64_t count = 1234567, i, idx;
	unsigned w = split_width(count);

	(void)state;
	for (i = 0; i < count; i += 997) {
		split_name(i, w, a);
		assert_int_equal(strlen(a), w);
		assert_true(split_parse(a, w, count, &idx));
		assert_int_equal(idx, i);
		split_name(i + 1 < count ? i + 1 : i, w, b);
		assert_true(strcmp(a, b) <= 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_count),
	    cmocka_unit_test(test_width),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
