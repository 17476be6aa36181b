/*
 * options.h - the command line: sizes, panefs options, FUSE pass-through.
 *
 * Parsing is a pure function of argv: nothing is opened or mounted, so it
 * can be unit-tested and fuzzed. Checks that need the file system (SOURCE
 * is a directory, ...) happen in main.c.
 */
#ifndef PANEFS_OPTIONS_H
#define PANEFS_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PANEFS_DEFAULT_WINDOW (1ULL << 20)   /* 1 MiB */
#define PANEFS_DEFAULT_CACHE (1ULL << 30)    /* 1 GiB */
#define PANEFS_DEFAULT_READAHEAD (1ULL << 20) /* 1 MiB */
#define PANEFS_READAHEAD_MAX (1ULL << 30)
#define PANEFS_STATS_INTERVAL 5             /* seconds between stats_file rewrites */

/* log_level=: syslog's levels (and FUSE_LOG_*'s numbers). */
enum {
	PANEFS_LOG_ERR = 3,
	PANEFS_LOG_WARNING = 4,
	PANEFS_LOG_NOTICE = 5,
	PANEFS_LOG_INFO = 6,
	PANEFS_LOG_DEBUG = 7,
};

struct panefs_options {
	char *source;      /* as given (main.c resolves it) */
	char *mountpoint;
	uint64_t window;   /* bytes, before rounding to the granularity */
	uint64_t cache;    /* budget in bytes */
	uint64_t readahead;   /* kernel read-ahead in bytes; 0 = kernel's */
	bool readahead_given; /* readahead= was on the command line */
	uint64_t split;    /* 0 = not split mode */
	char *views;       /* NULL = not views mode */
	char *stats_file;  /* NULL = none */
	int log_level;     /* PANEFS_LOG_*; -d makes it DEBUG */
	bool ro;
	bool foreground;   /* -f */
	bool debug;        /* -d */
	bool single_thread;/* -s */
	bool allow_other;
	bool default_permissions;
	bool no_default_permissions; /* explicit opt-out with allow_other */
	bool show_help;
	bool show_version;
	/* Options for libfuse, in argv form: argv[0], "-o", "a,b", ... */
	int fuse_argc;
	char **fuse_argv;
	/* Session-loop options (fuse_parse_cmdline's, consumed here). */
	unsigned max_threads;      /* max_threads=N; 0 = libfuse default */
	unsigned max_idle_threads; /* max_idle_threads=N; 0 = libfuse default */
	bool clone_fd;             /* clone_fd */
	bool fsname_given;         /* fsname= is in fuse_argv: main adds none */
};

/*
 * Parse a size: a decimal byte count, optionally followed by K, M, G or T
 * (powers of 1024; also KiB/MiB/GiB/TiB and lower case). Rejects empty
 * strings, signs, junk, and values that overflow 64 bits. 0 or -EINVAL.
 */
int panefs_parse_size(const char *s, uint64_t *out);

/*
 * Parse argv. On error returns -EINVAL and writes one line (no newline)
 * naming the problem into err. On success fills o; free with
 * panefs_options_free().
 */
int panefs_parse_args(int argc, char **argv, struct panefs_options *o,
		      char *err, size_t errlen);
void panefs_options_free(struct panefs_options *o);

/* Text for --help (options and defaults). */
const char *panefs_usage(void);

#endif
