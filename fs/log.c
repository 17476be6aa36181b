/*
 * log.c - the one log sink (contract in panefs/log.h): a level filter in
 * front of a stdio stream or syslog.
 *
 * Why a global: libfuse's fuse_set_log_func() hook has no user pointer, and
 * libfuse itself logs through it, so the sink cannot hang off struct
 * panefs. It is written only before threads start (see the header).
 */
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "panefs/log.h"

#define PLOG_PREFIX "panefs: "

static struct {
	int max;     /* drop messages with a level above this */
	FILE *out;   /* the stream, when not syslog */
	bool syslog; /* after plog_use_syslog() */
} plog_state = {LOG_NOTICE, NULL, false};

void plog_open(int max, FILE *out)
{
	plog_state.max = max;
	plog_state.out = out;
	plog_state.syslog = false;
}

void plog_use_syslog(void)
{
	openlog("panefs", LOG_PID, LOG_DAEMON);
	plog_state.syslog = true;
}

bool plog_enabled(int level)
{
	return level <= plog_state.max;
}

void plog_vlog(int level, const char *fmt, va_list ap)
{
	char buf[1024];
	const char *msg = buf;
	size_t n;
	FILE *out;

	if (!plog_enabled(level))
		return;
	if (!plog_state.syslog) {
		out = plog_state.out ? plog_state.out : stderr;
		vfprintf(out, fmt, ap);
		fflush(out);
		return;
	}
	/* One syslog record: no "panefs: " (the ident says it), no newline
	 * (some syslog daemons would show it as #012). Longer messages are
	 * cut at the buffer: none of ours comes close. */
	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (strncmp(msg, PLOG_PREFIX, sizeof(PLOG_PREFIX) - 1) == 0)
		msg += sizeof(PLOG_PREFIX) - 1;
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		buf[(size_t)(msg - buf) + --n] = '\0';
	syslog(level, "%s", msg);
}

void plog(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	plog_vlog(level, fmt, ap);
	va_end(ap);
}
