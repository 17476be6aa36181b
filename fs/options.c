/*
 * options.c - the command line, parsed by hand as a pure function of argv.
 *
 * No libfuse here (this file is in the FUSE-free core so it can be unit
 * tested and fuzzed), and no file system access. Guarantees:
 * - Every -o option is either ours (consumed), passed on to libfuse in
 *   o->fuse_argv, or dropped because it only matters to mount(8)/fstab.
 *   Anything else is refused here with a line naming it, because libfuse's
 *   fuse_session_new() fails on an option it does not know, and by then the
 *   user would get a less useful message.
 * - The pass-through allow-list is what fuse_session_new() of libfuse 3.14
 *   accepts (checked by experiment), minus the options that make no sense
 *   for a low-level daemon.
 * - On error nothing is left allocated in o, the return is -EINVAL and err
 *   holds one line without a newline.
 *
 * Escapes: as in libfuse, "\," is a comma inside an option and "\\" a
 * backslash ("\NNN" octal too). Our own values (views=FILE) are unescaped;
 * passed-on options keep their escapes so libfuse unescapes them once.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "panefs/options.h"

/* Largest max_threads / max_idle_threads accepted (libfuse's own cap). */
#define PANEFS_MAX_THREADS 100000U

/*
 * libfuse 3.14 fuse_session_new() accepts these; panefs passes them on
 * unchanged (after checking the value where one is expected).
 */
static const char *const pass_flags[] = {
    "allow_root", "auto_unmount", "blkdev", "dev",     "nodev",
    "suid",	  "nosuid",	  "exec",   "noexec",  "atime",
    "noatime",	  "sync",	  "async",  "dirsync", NULL,
};

/* Pass-through options of the form name=VALUE: any value. */
static const char *const pass_strings[] = {
    "context=", "fscontext=", "defcontext=", "rootcontext=", "user=", NULL,
};

/* Pass-through options of the form name=N: a decimal number. */
static const char *const pass_numbers[] = {
    "max_read=",
    "blksize=",
    NULL,
};

/*
 * fstab and mount(8) options that mean nothing to the daemon: accepted and
 * dropped so that fstab lines work. "relatime" is the kernel's default for
 * FUSE; "nonempty" is always true in FUSE 3.
 */
static const char *const drop_flags[] = {
    "defaults", "_netdev", "noauto", "auto",	 "nofail",   "user", "users",
    "nouser",	"owner",   "group",  "relatime", "nonempty", NULL,
};

/* Prefixes of dropped options: x-systemd.automount, comment=... */
static const char *const drop_prefixes[] = {
    "x-",
    "comment=",
    NULL,
};

struct parse_state {
	struct panefs_options *o;
	char *err;
	size_t errlen;
	char *pass; /* joined pass-through options, escapes kept */
	size_t pass_len;
	bool allow_root;
	bool default_permissions_given;
	bool debug_given; /* "debug" already in pass */
	bool subtype_given;
};

static void set_err(struct parse_state *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_err(struct parse_state *ps, const char *fmt, ...)
{
	va_list ap;
	char *c;

	if (!ps->err || ps->errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(ps->err, ps->errlen, fmt, ap);
	va_end(ap);
	/* The message quotes the user's text, which may hold a newline or an
	 * escape sequence (also as "\012" inside -o): keep it one printable
	 * line (found by fuzzing). UTF-8 passes. */
	for (c = ps->err; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
}

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

/* The entry of list that s starts with (list entries end in '='). */
static const char *prefix_in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strncmp(*list, s, strlen(*list)) == 0)
			return *list;
	return NULL;
}

static int parse_size_range(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	unsigned shift = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	switch (*p) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case 't':
	case 'T':
		shift = 40;
		break;
	default:
		return -EINVAL;
	}
	if (shift) {
		p++;
		/* Optional "iB" (KiB) or "ib" (kib); nothing else. */
		if ((p[0] == 'i' || p[0] == 'I') &&
		    (p[1] == 'B' || p[1] == 'b'))
			p += 2;
		if (*p != '\0')
			return -EINVAL;
		if (v > (UINT64_MAX >> shift))
			return -ERANGE;
		v <<= shift;
	}
	*out = v;
	return 0;
}

int panefs_parse_size(const char *s, uint64_t *out)
{
	uint64_t v;

	if (!s || !out || parse_size_range(s, &v) < 0)
		return -EINVAL;
	*out = v;
	return 0;
}

/* A decimal number in [1, max]. */
static int parse_count(const char *s, unsigned max, unsigned *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > max)
			return -ERANGE;
	}
	if (v == 0)
		return -ERANGE;
	*out = (unsigned)v;
	return 0;
}

/* Does raw[0..n) end in a backslash that escapes nothing? */
static bool lone_trailing_backslash(const char *raw, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (raw[i] == '\\' && i + 1 < n)
			i += 2;
		else if (raw[i] == '\\')
			return true; /* the last byte, escaping nothing */
		else
			i++;
	}
	return false;
}

/*
 * Append one raw (still escaped) option to the pass-through list.
 * A lone backslash at the end of an option is a literal backslash to
 * libfuse, but once joined it would escape the comma after it and glue the
 * next option on (found by fuzzing: "-o allow_other,user=x" plus a
 * backslash swallowed the default_permissions added after it). It is
 * doubled, which libfuse reads as the same one backslash.
 */
static int pass_on(struct parse_state *ps, const char *raw, size_t n)
{
	bool lone = lone_trailing_backslash(raw, n);
	size_t need = ps->pass_len + (ps->pass_len ? 1 : 0) + n + lone + 1;
	char *p = realloc(ps->pass, need);

	if (!p) {
		set_err(ps, "out of memory");
		return -ENOMEM;
	}
	if (ps->pass_len)
		p[ps->pass_len++] = ',';
	memcpy(p + ps->pass_len, raw, n);
	ps->pass_len += n;
	if (lone)
		p[ps->pass_len++] = '\\';
	p[ps->pass_len] = '\0';
	ps->pass = p;
	return 0;
}

static int pass_on_str(struct parse_state *ps, const char *s)
{
	return pass_on(ps, s, strlen(s));
}

/* Copy raw[0..n) into out (n + 1 bytes) removing fuse_opt escapes. */
static void unescape(const char *raw, size_t n, char *out)
{
	const char *end = raw + n;

	while (raw < end) {
		if (raw[0] == '\\' && raw + 1 < end) {
			raw++;
			if (end - raw >= 3 && raw[0] >= '0' && raw[0] <= '3' &&
			    raw[1] >= '0' && raw[1] <= '7' && raw[2] >= '0' &&
			    raw[2] <= '7') {
				*out++ =
				    (char)((raw[0] - '0') * 64 +
					   (raw[1] - '0') * 8 + (raw[2] - '0'));
				raw += 3;
				continue;
			}
		}
		*out++ = *raw++;
	}
	*out = '\0';
}

static int opt_size(struct parse_state *ps, const char *name, const char *val,
		    uint64_t *out)
{
	int rc = parse_size_range(val, out);

	if (rc == -ERANGE)
		set_err(ps, "size '%s' too large for %s=", val, name);
	else if (rc < 0)
		set_err(ps, "bad size '%s' for %s=", val, name);
	else if (*out == 0)
		set_err(ps, "%s= must be greater than 0", name);
	return rc < 0 ? -EINVAL : (*out == 0 ? -EINVAL : 0);
}

static int opt_count(struct parse_state *ps, const char *name, const char *val,
		     unsigned *out)
{
	int rc = parse_count(val, PANEFS_MAX_THREADS, out);

	if (rc < 0) {
		set_err(ps, "bad number '%s' for %s= (1 to %u)", val, name,
			PANEFS_MAX_THREADS);
		return -EINVAL;
	}
	return 0;
}

/* A plain decimal that libfuse or the kernel reads as unsigned int
 * (max_read=, blksize=). */
static bool is_number(const char *s)
{
	uint64_t v;

	return s[strspn(s, "0123456789")] == '\0' &&
	       parse_size_range(s, &v) == 0 && v <= UINT32_MAX;
}

/* What the value of our option opt is called in messages. */
static const char *value_name(const char *opt)
{
	if (strcmp(opt, "views") == 0)
		return "FILE";
	if (strcmp(opt, "stats_file") == 0)
		return "PATH";
	if (strcmp(opt, "log_level") == 0)
		return "LEVEL";
	if (strncmp(opt, "max", 3) == 0)
		return "N";
	return "SIZE";
}

static const char *const log_levels[] = {
    [PANEFS_LOG_ERR] = "error",	    [PANEFS_LOG_WARNING] = "warning",
    [PANEFS_LOG_NOTICE] = "notice", [PANEFS_LOG_INFO] = "info",
    [PANEFS_LOG_DEBUG] = "debug",
};

static int opt_log_level(struct parse_state *ps, const char *val, int *out)
{
	size_t i;

	for (i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++) {
		if (log_levels[i] && strcmp(val, log_levels[i]) == 0) {
			*out = (int)i;
			return 0;
		}
	}
	set_err(ps,
		"bad log_level '%s' (error, warning, notice, info or debug)",
		val);
	return -EINVAL;
}

/* A non-empty path value (views=FILE, stats_file=PATH); the last wins. */
static int opt_path(struct parse_state *ps, const char *opt, const char *val,
		    char **out)
{
	if (*val == '\0') {
		set_err(ps, "option '%s' needs a %s (%s=%s)", opt,
			value_name(opt), opt, value_name(opt));
		return -EINVAL;
	}
	free(*out);
	*out = strdup(val);
	if (!*out) {
		set_err(ps, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/*
 * One option: opt is unescaped, raw/rawlen its text as given (passed on
 * verbatim so libfuse sees the same escapes).
 */
static int one_option(struct parse_state *ps, char *opt, const char *raw,
		      size_t rawlen)
{
	struct panefs_options *o = ps->o;
	char *eq = strchr(opt, '=');
	const char *val = eq ? eq + 1 : NULL;
	const char *pfx;

	if (eq)
		*eq = '\0';

	/* Ours, with a value. */
	if (strcmp(opt, "window") == 0 || strcmp(opt, "cache") == 0 ||
	    strcmp(opt, "readahead") == 0 || strcmp(opt, "split") == 0 ||
	    strcmp(opt, "views") == 0 || strcmp(opt, "stats_file") == 0 ||
	    strcmp(opt, "log_level") == 0 || strcmp(opt, "max_threads") == 0 ||
	    strcmp(opt, "max_idle_threads") == 0) {
		if (!val) {
			set_err(ps, "option '%s' needs a value (%s=%s)", opt,
				opt, value_name(opt));
			return -EINVAL;
		}
		if (strcmp(opt, "window") == 0)
			return opt_size(ps, opt, val, &o->window);
		if (strcmp(opt, "cache") == 0)
			return opt_size(ps, opt, val, &o->cache);
		if (strcmp(opt, "readahead") == 0) {
			o->readahead_given = true;
			/* 0 (in any unit) is allowed: the kernel's own. */
			if (panefs_parse_size(val, &o->readahead) == 0 &&
			    o->readahead == 0)
				return 0;
			return opt_size(ps, opt, val, &o->readahead);
		}
		if (strcmp(opt, "split") == 0)
			return opt_size(ps, opt, val, &o->split);
		if (strcmp(opt, "max_threads") == 0)
			return opt_count(ps, opt, val, &o->max_threads);
		if (strcmp(opt, "max_idle_threads") == 0)
			return opt_count(ps, opt, val, &o->max_idle_threads);
		if (strcmp(opt, "log_level") == 0)
			return opt_log_level(ps, val, &o->log_level);
		/* views=FILE, stats_file=PATH */
		return opt_path(ps, opt, val,
				strcmp(opt, "views") == 0 ? &o->views
							  : &o->stats_file);
	}
	if (eq)
		*eq = '=';

	/* Ours, flags. */
	if (strcmp(opt, "no_default_permissions") == 0) {
		o->no_default_permissions = true;
		return 0;
	}
	if (strcmp(opt, "clone_fd") == 0) {
		o->clone_fd = true;
		return 0;
	}
	/* Ours and libfuse's: recorded and passed on. */
	if (strcmp(opt, "ro") == 0 || strcmp(opt, "rw") == 0) {
		o->ro = opt[1] == 'o';
		return pass_on(ps, raw, rawlen);
	}
	if (strcmp(opt, "allow_other") == 0) {
		o->allow_other = true;
		return pass_on(ps, raw, rawlen);
	}
	if (strcmp(opt, "default_permissions") == 0) {
		o->default_permissions = true;
		ps->default_permissions_given = true;
		return pass_on(ps, raw, rawlen);
	}
	if (strcmp(opt, "debug") == 0) {
		o->debug = true;
		o->foreground = true;
		if (ps->debug_given)
			return 0;
		ps->debug_given = true;
		return pass_on(ps, raw, rawlen);
	}
	if (strncmp(opt, "fsname=", 7) == 0) {
		o->fsname_given = true;
		return pass_on(ps, raw, rawlen);
	}
	if (strncmp(opt, "subtype=", 8) == 0) {
		ps->subtype_given = true;
		return pass_on(ps, raw, rawlen);
	}

	/* libfuse's, passed on. */
	if (in_list(pass_flags, opt)) {
		if (strcmp(opt, "allow_root") == 0)
			ps->allow_root = true;
		return pass_on(ps, raw, rawlen);
	}
	if (prefix_in_list(pass_strings, opt))
		return pass_on(ps, raw, rawlen);
	pfx = prefix_in_list(pass_numbers, opt);
	if (pfx) {
		if (!is_number(opt + strlen(pfx))) {
			set_err(ps, "bad number '%s' for %s", opt + strlen(pfx),
				pfx);
			return -EINVAL;
		}
		return pass_on(ps, raw, rawlen);
	}

	/* fstab's, dropped. */
	if (in_list(drop_flags, opt) || prefix_in_list(drop_prefixes, opt))
		return 0;

	set_err(ps, "unknown option '%s'", opt);
	return -EINVAL;
}

/* "a,b\,c,d": split at unescaped commas; empty items are skipped. */
static int option_group(struct parse_state *ps, const char *s)
{
	char *buf;
	int rc = 0;

	buf = malloc(strlen(s) + 1);
	if (!buf) {
		set_err(ps, "out of memory");
		return -ENOMEM;
	}
	while (rc == 0 && *s) {
		const char *e = s;

		while (*e && *e != ',') {
			if (e[0] == '\\' && e[1] != '\0')
				e++;
			e++;
		}
		if (e > s) {
			unescape(s, (size_t)(e - s), buf);
			rc = one_option(ps, buf, s, (size_t)(e - s));
		}
		s = *e ? e + 1 : e;
	}
	free(buf);
	return rc;
}

static int set_positional(struct parse_state *ps, const char *arg)
{
	struct panefs_options *o = ps->o;
	char **slot;

	if (!o->source)
		slot = &o->source;
	else if (!o->mountpoint)
		slot = &o->mountpoint;
	else {
		set_err(ps, "unexpected argument '%s'", arg);
		return -EINVAL;
	}
	*slot = strdup(arg);
	if (!*slot) {
		set_err(ps, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* Checks across options, and what the options imply. */
static int finish(struct parse_state *ps)
{
	struct panefs_options *o = ps->o;

	if (!o->source) {
		set_err(ps, "missing SOURCE");
		return -EINVAL;
	}
	if (!o->mountpoint) {
		set_err(ps, "missing MOUNTPOINT");
		return -EINVAL;
	}
	if (o->window > o->cache) {
		set_err(ps,
			"window (%llu bytes) is larger than cache (%llu bytes)",
			(unsigned long long)o->window,
			(unsigned long long)o->cache);
		return -EINVAL;
	}
	if (o->readahead > PANEFS_READAHEAD_MAX) {
		set_err(ps, "readahead (%llu bytes) is larger than 1G",
			(unsigned long long)o->readahead);
		return -EINVAL;
	}
	if (o->split && o->views) {
		set_err(ps, "split= and views= cannot be used together");
		return -EINVAL;
	}
	if (o->no_default_permissions && ps->default_permissions_given) {
		set_err(ps, "default_permissions and no_default_permissions "
			    "contradict each other");
		return -EINVAL;
	}
	/*
	 * The rule: letting other users in (allow_other; allow_root is
	 * allow_other for the kernel) turns on the kernel's permission checks,
	 * since the daemon itself checks nothing, unless the user opts out.
	 */
	if ((o->allow_other || ps->allow_root) && !o->no_default_permissions)
		o->default_permissions = true;
	if (o->default_permissions && !ps->default_permissions_given &&
	    pass_on_str(ps, "default_permissions") < 0)
		return -ENOMEM;
	if (o->debug)
		o->log_level = PANEFS_LOG_DEBUG;
	if (o->debug && !ps->debug_given && pass_on_str(ps, "debug") < 0)
		return -ENOMEM;
	if (!ps->subtype_given && pass_on_str(ps, "subtype=panefs") < 0)
		return -ENOMEM;
	return 0;
}

static int build_fuse_argv(struct parse_state *ps, const char *argv0)
{
	struct panefs_options *o = ps->o;

	o->fuse_argv = calloc(4, sizeof(*o->fuse_argv));
	if (!o->fuse_argv)
		goto nomem;
	o->fuse_argv[0] = strdup(argv0 && *argv0 ? argv0 : "panefs");
	if (!o->fuse_argv[0])
		goto nomem;
	o->fuse_argc = 1;
	if (ps->pass) {
		o->fuse_argv[1] = strdup("-o");
		if (!o->fuse_argv[1])
			goto nomem;
		o->fuse_argc = 2;
		o->fuse_argv[2] = ps->pass; /* handed over */
		ps->pass = NULL;
		o->fuse_argc = 3;
	}
	return 0;
nomem:
	set_err(ps, "out of memory");
	return -ENOMEM;
}

static bool is_help(const char *a)
{
	return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0;
}

static bool is_version(const char *a)
{
	return strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0;
}

int panefs_parse_args(int argc, char **argv, struct panefs_options *o,
		      char *err, size_t errlen)
{
	struct parse_state ps;
	bool only_positional = false;
	int i, rc = 0;

	memset(o, 0, sizeof(*o));
	memset(&ps, 0, sizeof(ps));
	ps.o = o;
	ps.err = err;
	ps.errlen = errlen;
	if (err && errlen)
		err[0] = '\0';
	o->window = PANEFS_DEFAULT_WINDOW;
	o->log_level = PANEFS_LOG_NOTICE;
	o->cache = PANEFS_DEFAULT_CACHE;
	o->readahead = PANEFS_DEFAULT_READAHEAD;

	/* -h and -V win over everything else on the line, even errors. */
	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (is_help(argv[i]))
			o->show_help = true;
		else if (is_version(argv[i]))
			o->show_version = true;
	}
	if (o->show_help || o->show_version)
		return 0;

	for (i = 1; i < argc && rc == 0; i++) {
		const char *a = argv[i];

		if (only_positional || a[0] != '-' || a[1] == '\0') {
			rc = set_positional(&ps, a);
		} else if (strcmp(a, "--") == 0) {
			only_positional = true;
		} else if (strcmp(a, "-f") == 0) {
			o->foreground = true;
		} else if (strcmp(a, "-d") == 0 || strcmp(a, "--debug") == 0) {
			o->debug = true;
			o->foreground = true;
		} else if (strcmp(a, "-s") == 0) {
			o->single_thread = true;
		} else if (strcmp(a, "-o") == 0) {
			if (i + 1 >= argc) {
				set_err(&ps, "option '-o' needs an argument");
				rc = -EINVAL;
			} else {
				rc = option_group(&ps, argv[++i]);
			}
		} else if (strncmp(a, "-o", 2) == 0) {
			rc = option_group(&ps, a + 2);
		} else {
			set_err(&ps, "unknown option '%s'", a);
			rc = -EINVAL;
		}
	}
	if (rc == 0)
		rc = finish(&ps);
	if (rc == 0)
		rc = build_fuse_argv(&ps, argc > 0 ? argv[0] : NULL);

	free(ps.pass);
	if (rc < 0) {
		panefs_options_free(o);
		rc = -EINVAL;
	}
	return rc;
}

void panefs_options_free(struct panefs_options *o)
{
	int i;

	if (!o)
		return;
	free(o->source);
	free(o->mountpoint);
	free(o->views);
	free(o->stats_file);
	if (o->fuse_argv) {
		for (i = 0; i < o->fuse_argc; i++)
			free(o->fuse_argv[i]);
		free(o->fuse_argv);
	}
	o->source = NULL;
	o->mountpoint = NULL;
	o->views = NULL;
	o->stats_file = NULL;
	o->fuse_argv = NULL;
	o->fuse_argc = 0;
}

/* "1M" for 1 MiB: the largest unit that divides n exactly. */
static void fmt_size(char *buf, size_t len, uint64_t n)
{
	static const char units[] = "KMGT";
	int u = -1;

	while (n && u < 3 && (n & 1023) == 0) {
		n >>= 10;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%llu", (unsigned long long)n);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)n, units[u]);
}

static char usage_text[5120];
static pthread_once_t usage_once = PTHREAD_ONCE_INIT;

static void make_usage(void)
{
	char win[32], cache[32], ra[32];

	fmt_size(win, sizeof(win), PANEFS_DEFAULT_WINDOW);
	fmt_size(cache, sizeof(cache), PANEFS_DEFAULT_CACHE);
	fmt_size(ra, sizeof(ra), PANEFS_DEFAULT_READAHEAD);
	/* clang-format off */
	snprintf(usage_text, sizeof(usage_text),
"panefs options:\n"
"    -f                     stay in the foreground\n"
"    -d, -o debug           debug output (implies -f)\n"
"    -s                     single-threaded session loop\n"
"    -h, --help             this text\n"
"    -V, --version          versions of panefs and libfuse\n"
"    -o window=SIZE         window length, rounded up to the page size\n"
"                           (default %s)\n"
"    -o cache=SIZE          most bytes mapped at once (default %s);\n"
"                           must be at least the window\n"
"    -o readahead=SIZE      the kernel's read-ahead for this mount\n"
"                           (default %s; 0 leaves the kernel's 128K;\n"
"                           needs root: written to /sys/class/bdi)\n"
"    -o ro                  read-only mount (passed on to the kernel too);\n"
"                           rw undoes it\n"
"    -o split=SIZE          split mode: each regular file is a directory\n"
"                           of SIZE-byte chunk files 000000, 000001, ...\n"
"                           (SIZE is rounded up to the page size)\n"
"    -o views=FILE          views mode: show only the views listed in\n"
"                           FILE, one a line:\n"
"                             NAME BACKING OFFSET LENGTH [ro|rw]\n"
"                             NAME BACKING partitions [ro|rw]\n"
"                           (cannot be combined with split=)\n"
"    -o stats_file=PATH     rewrite PATH with the stats (Prometheus text\n"
"                           format) every %u seconds\n"
"    -o log_level=LEVEL     error, warning, notice (default), info or\n"
"                           debug; to syslog, or stderr with -f\n"
"    -o max_threads=N       most session-loop threads (default: libfuse's)\n"
"    -o max_idle_threads=N  most idle session-loop threads\n"
"    -o clone_fd            one /dev/fuse descriptor per thread\n"
"    -o allow_other         let other users in; turns on\n"
"                           default_permissions (allow_root too)\n"
"    -o default_permissions let the kernel check permissions\n"
"    -o no_default_permissions\n"
"                           do not add default_permissions for allow_other\n"
"    -o fsname=NAME         name in mount tables (default: SOURCE's path)\n"
"    -o subtype=TYPE        type shown as fuse.TYPE (default: panefs)\n"
"\n"
"Passed on to libfuse and the kernel unchanged:\n"
"    allow_root auto_unmount blkdev dev nodev suid nosuid exec noexec\n"
"    atime noatime sync async dirsync max_read=N blksize=N context=\n"
"    fscontext= defcontext= rootcontext= user=\n"
"Accepted and ignored, so that /etc/fstab lines work through mount.fuse3:\n"
"    defaults _netdev auto noauto nofail user users nouser owner group\n"
"    relatime (the default) nonempty (always so in FUSE 3) x-* comment=*\n"
"Any other option is an error.\n"
"\n"
"SIZE is a byte count, optionally followed by K, M, G or T (also KiB, MiB,\n"
"GiB, TiB, either case): powers of 1024, e.g. 4096, 64K, 1M, 2GiB.\n"
"Fractions, signs, spaces, hex and a bare B are refused.\n"
"Options may be given as -o a,b or -oa,b, repeatedly, anywhere on the line;\n"
"the last of a repeated option wins. In -o, \\, is a comma inside an option\n"
"and \\\\ a backslash (as libfuse). -- ends the options.\n"
"fstab: SOURCE MOUNTPOINT fuse.panefs defaults,window=1M 0 0\n"
"\n"
"Exit status: 0 after a clean unmount (or SIGTERM/SIGINT), 1 when mounting\n"
"or serving failed, 2 on bad input (nothing is mounted then).\n",
		 win, cache, ra, PANEFS_STATS_INTERVAL);
	/* clang-format on */
}

const char *panefs_usage(void)
{
	pthread_once(&usage_once, make_usage);
	return usage_text;
}
