/*
 * test_log.c - the log sink's level filter (log.c): what passes at each
 * log_level, and that the text reaches the stream unchanged. The syslog
 * side is checked by tests/integration/deploy.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "panefs/log.h"
#include "panefs/options.h"

/* Everything written to f since it was opened. */
static void slurp(FILE *f, char *buf, size_t len)
{
	size_t n;

	fflush(f);
	rewind(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
}

static void test_filter(void **state)
{
	static const char *const name[] = {
	    [PANEFS_LOG_ERR] = "error",	    [PANEFS_LOG_WARNING] = "warning",
	    [PANEFS_LOG_NOTICE] = "notice", [PANEFS_LOG_INFO] = "info",
	    [PANEFS_LOG_DEBUG] = "debug",
	};
	char buf[1024], want[1024];
	int max, lvl;

	(void)state;
	for (max = PANEFS_LOG_ERR; max <= PANEFS_LOG_DEBUG; max++) {
		FILE *f = tmpfile();

		assert_non_null(f);
		plog_open(max, f);
		want[0] = '\0';
		for (lvl = PANEFS_LOG_ERR; lvl <= PANEFS_LOG_DEBUG; lvl++) {
			assert_int_equal(plog_enabled(lvl), lvl <= max);
			plog(lvl, "panefs: %s %d\n", name[lvl], lvl);
			if (lvl <= max)
				snprintf(want + strlen(want),
					 sizeof(want) - strlen(want),
					 "panefs: %s %d\n", name[lvl], lvl);
		}
		slurp(f, buf, sizeof(buf));
		if (strcmp(buf, want) != 0)
			print_error("max %d: got [%s] want [%s]\n", max, buf,
				    want);
		assert_string_equal(buf, want);
		fclose(f);
	}
	plog_open(PANEFS_LOG_NOTICE, NULL);
}

/* libfuse's messages (no "panefs: ", any level number) pass unchanged. */
static void test_passthrough_text(void **state)
{
	FILE *f = tmpfile();
	char buf[256];

	(void)state;
	assert_non_null(f);
	plog_open(PANEFS_LOG_NOTICE, f);
	plog(PANEFS_LOG_ERR, "fuse: %s\n", "writing device: Bad address");
	plog(PANEFS_LOG_DEBUG, "unique: %d, opcode: LOOKUP\n", 2);
	plog(PANEFS_LOG_NOTICE, "no newline");
	slurp(f, buf, sizeof(buf));
	assert_string_equal(buf,
			    "fuse: writing device: Bad address\nno newline");
	fclose(f);
	plog_open(PANEFS_LOG_NOTICE, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_filter),
	    cmocka_unit_test(test_passthrough_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
