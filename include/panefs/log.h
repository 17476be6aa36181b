/*
 * log.h - the daemon's one log sink: panefs's own messages and libfuse's.
 *
 * main.c hands plog_vlog() to fuse_set_log_func(), so fuse_log() from
 * anywhere (panefs or libfuse) ends here. No FUSE in this file.
 *
 * Contract
 * --------
 * - Levels are syslog's numbers (LOG_ERR 3 .. LOG_DEBUG 7), which are also
 *   FUSE_LOG_* and PANEFS_LOG_*. A message whose level is above the limit
 *   (less severe) is dropped before it is formatted.
 * - The sink is a stdio stream (stderr in the foreground, or a test's
 *   file) or syslog. Messages conventionally start with "panefs: " (or
 *   libfuse's "fuse: ") and end in '\n'; on syslog, whose ident is
 *   already "panefs", our prefix and the newline are left out.
 * - The state is process-wide, because libfuse's log hook takes no
 *   argument. plog_open() and plog_use_syslog() must be called before
 *   any thread that logs is started (main.c: before the session loop);
 *   after that plog_vlog() is safe from any thread (stdio and syslog lock
 *   per call).
 */
#ifndef PANEFS_LOG_H
#define PANEFS_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

/* Log to out (a stream, e.g. stderr) messages at level max and below. */
void plog_open(int max, FILE *out);

/* From now on log to syslog (openlog("panefs", LOG_PID, LOG_DAEMON)). */
void plog_use_syslog(void);

/* Would a message at this level be logged? */
bool plog_enabled(int level);

/* Log one message (printf format). The signature fits
 * fuse_set_log_func() once the level is cast. */
void plog_vlog(int level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
void plog(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
