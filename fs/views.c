/*
 * views.c - the views table parser (views.h): text in, a list of views or
 * one error out. Pure: no I/O, no globals, no libfuse, so it is unit
 * tested and fuzzed on buffers.
 *
 * Guarantees beyond views.h:
 * - Never reads past text + len; the text needs no NUL terminator.
 * - The error reported is the first one in the file: lines are checked in
 *   order, and a duplicate or directory conflict between two earlier lines
 *   wins over a syntax error further down. A conflict is reported on the
 *   later of its two lines, naming the earlier one in the message.
 * - The message is one printable line: the user's text is quoted cut to
 *   QUOTE_MAX bytes and control characters become '?'.
 * - Keywords ("partitions", "-", "ro", "rw") are matched after unescaping,
 *   so "\-" is "-"; no field can be empty.
 * - A '\r' just before the end of a line (CRLF tables) is dropped before
 *   the line is split, so a backslash before it is still "at the end".
 * - Name conflicts cost O(n log n) comparisons: the names are sorted so
 *   that everything under a name follows it at once, then one pass with a
 *   stack of the names above the current one finds every conflict.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "panefs/options.h"
#include "panefs/views.h"

/* The fields a line may have (NAME BACKING OFFSET LENGTH MODE); one more
 * is stored only to be counted. */
#define FIELDS_MAX 5

/* Longest piece of user text quoted in a message, in bytes. */
#define QUOTE_MAX 60

/* Largest OFFSET + LENGTH: 63 bits, what off_t holds. */
#define VIEW_END_MAX ((uint64_t)INT64_MAX)

#define EXPECTED_MSG                                                           \
	"expected NAME BACKING OFFSET LENGTH [ro|rw] or "                      \
	"NAME BACKING partitions [ro|rw]"

struct parser {
	const char *text;
	size_t len;
	size_t pos;    /* start of the next line */
	unsigned line; /* 1-based number of the current line */
	char *scratch; /* unescaped fields of the current line */
	size_t scratch_cap;
	struct view_entry *v;
	size_t count;
	size_t cap;
	struct views_error *err;
};

/* One name in the conflict check: sorted copies, not the entries. */
struct name_ref {
	const char *name;
	size_t len;
	unsigned line;
	bool partitions;
};

/* A name above the current one in the sorted pass, and the name on the
 * stack so far with the smallest line (the best partner for a conflict). */
struct stack_item {
	const struct name_ref *ref;
	const struct name_ref *min;
};

static void set_err(struct views_error *err, unsigned line, const char *fmt,
		    ...) __attribute__((format(printf, 3, 4)));

static void set_err(struct views_error *err, unsigned line, const char *fmt,
		    ...)
{
	va_list ap;
	char *c;

	err->line = line;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	/* Quoted fields may hold tabs, a lone '\r' or any other byte. */
	for (c = err->msg; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
}

/*
 * s, cut to QUOTE_MAX bytes plus "..." if longer, into q (QUOTE_MAX + 4
 * bytes). A cut does not split a UTF-8 sequence.
 */
static void quote(char *q, const char *s)
{
	size_t n = strlen(s);

	if (n <= QUOTE_MAX) {
		memcpy(q, s, n + 1);
	} else {
		n = QUOTE_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		memcpy(q, s, n);
		memcpy(q + n, "...", 4);
	}
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Split line[0..n) into fields, unescaped, each NUL-terminated in buf
 * (n + 1 bytes are enough: every field but the last is followed by a
 * separator it does not copy). The first FIELDS_MAX + 1 go to f[],
 * *nf counts them all. A '#' opening a field ends the line.
 */
static int split_fields(struct parser *p, const char *line, size_t n, char *buf,
			char **f, unsigned *nf)
{
	size_t i = 0;
	int rc = 0;

	*nf = 0;
	while (i < n) {
		if (is_blank(line[i])) {
			i++;
			continue;
		}
		if (line[i] == '#')
			break;
		if (*nf <= FIELDS_MAX)
			f[*nf] = buf;
		(*nf)++;
		while (i < n && !is_blank(line[i])) {
			if (line[i] == '\\') {
				if (i + 1 == n) {
					set_err(p->err, p->line,
						"backslash at the end of a "
						"line");
					rc = -EINVAL;
					goto out;
				}
				i++;
			}
			*buf++ = line[i++];
		}
		*buf++ = '\0';
	}
out:
	return rc;
}

/* Does the path have a component equal to comp ("." or "..")? */
static bool has_component(const char *path, const char *comp)
{
	size_t cl = strlen(comp);
	const char *s = path;
	bool found = false;

	while (*s && !found) {
		size_t n = strcspn(s, "/");

		found = n == cl && memcmp(s, comp, cl) == 0;
		s += n;
		s += strspn(s, "/");
	}
	return found;
}

/*
 * raw, normalised ('/' runs collapsed, trailing '/' dropped) into a new
 * string in *out, or -EINVAL with the reason.
 */
static int normalise_name(struct parser *p, const char *raw, char **out)
{
	char q[QUOTE_MAX + 4];
	const char *s = raw;
	char *norm = NULL, *w;
	int rc = -EINVAL;

	*out = NULL;
	quote(q, raw);
	if (raw[0] == '/') {
		set_err(p->err, p->line, "bad NAME '%s': absolute", q);
		goto out;
	}
	norm = malloc(strlen(raw) + 1);
	if (!norm) {
		rc = -ENOMEM;
		goto out;
	}
	w = norm;
	while (*s) {
		size_t n = strcspn(s, "/");

		if ((n == 1 && s[0] == '.') ||
		    (n == 2 && s[0] == '.' && s[1] == '.')) {
			set_err(p->err, p->line,
				"bad NAME '%s': '%.*s' component", q, (int)n,
				s);
			goto out;
		}
		if (n > NAME_MAX) {
			set_err(p->err, p->line,
				"bad NAME '%s': a component is longer than "
				"%d bytes",
				q, NAME_MAX);
			goto out;
		}
		if (w > norm)
			*w++ = '/';
		memcpy(w, s, n);
		w += n;
		s += n;
		s += strspn(s, "/");
	}
	*w = '\0';
	if (w == norm) {
		/* Not reachable from split_fields (no empty field, and a
		 * leading '/' is refused above); kept for safety. */
		set_err(p->err, p->line, "bad NAME '%s': empty", q);
		goto out;
	}
	if ((size_t)(w - norm) >= PATH_MAX) {
		set_err(p->err, p->line, "bad NAME '%s': longer than %d bytes",
			q, PATH_MAX - 1);
		goto out;
	}
	*out = norm;
	norm = NULL;
	rc = 0;
out:
	free(norm);
	return rc;
}

static int check_backing(struct parser *p, const char *raw)
{
	char q[QUOTE_MAX + 4];
	int rc = 0;

	if (raw[0] == '/' || has_component(raw, "..")) {
		quote(q, raw);
		set_err(p->err, p->line, "BACKING '%s' leaves SOURCE", q);
		rc = -EINVAL;
	}
	return rc;
}

/* A size field no larger than max; what names the column in messages. */
static int parse_field_size(struct parser *p, const char *what, const char *s,
			    uint64_t max, uint64_t *out)
{
	char q[QUOTE_MAX + 4];
	int rc = -EINVAL;

	quote(q, s);
	if (panefs_parse_size(s, out) < 0)
		set_err(p->err, p->line, "bad %s '%s': not a size", what, q);
	else if (*out > max)
		set_err(p->err, p->line, "bad %s '%s': more than 2^63-1 bytes",
			what, q);
	else
		rc = 0;
	return rc;
}

/* The optional mode word; NULL is the default, rw. */
static int parse_mode(struct parser *p, const char *s, bool *ro)
{
	char q[QUOTE_MAX + 4];
	int rc = 0;

	*ro = s && strcmp(s, "ro") == 0;
	if (s && !*ro && strcmp(s, "rw") != 0) {
		quote(q, s);
		set_err(p->err, p->line, "bad mode '%s': not ro or rw", q);
		rc = -EINVAL;
	}
	return rc;
}

/* OFFSET and LENGTH of a plain view, into e. */
static int parse_range(struct parser *p, const char *off, const char *len,
		       struct view_entry *e)
{
	char qo[QUOTE_MAX + 4], ql[QUOTE_MAX + 4];
	int rc;

	rc = parse_field_size(p, "OFFSET", off, VIEW_END_MAX, &e->offset);
	if (rc < 0)
		goto out;
	if (strcmp(len, "-") == 0) {
		e->length = VIEW_TO_END;
		goto out;
	}
	rc = parse_field_size(p, "LENGTH", len, VIEW_END_MAX, &e->length);
	if (rc < 0)
		goto out;
	if (e->length > VIEW_END_MAX - e->offset) {
		quote(qo, off);
		quote(ql, len);
		set_err(p->err, p->line,
			"OFFSET '%s' + LENGTH '%s' is past 2^63-1 bytes", qo,
			ql);
		rc = -EINVAL;
	}
out:
	return rc;
}

/* Room for one more entry in p->v. */
static int grow(struct parser *p)
{
	struct view_entry *nv;
	size_t ncap;
	int rc = 0;

	if (p->count < p->cap)
		goto out;
	ncap = p->cap ? p->cap * 2 : 16;
	nv = realloc(p->v, ncap * sizeof(*nv));
	if (!nv) {
		rc = -ENOMEM;
		goto out;
	}
	p->v = nv;
	p->cap = ncap;
out:
	return rc;
}

/* Fields f[0..nf) of one line that is not blank: one more view. */
static int parse_fields(struct parser *p, char **f, unsigned nf)
{
	struct view_entry e = {.line = p->line};
	bool parts = nf >= 3 && strcmp(f[2], "partitions") == 0;
	const char *mode = NULL;
	int rc = -EINVAL;

	if (parts ? (nf != 3 && nf != 4) : (nf != 4 && nf != 5)) {
		set_err(p->err, p->line, EXPECTED_MSG);
		goto out;
	}
	if (p->count == VIEWS_MAX) {
		set_err(p->err, p->line, "more than %d views", VIEWS_MAX);
		goto out;
	}
	rc = normalise_name(p, f[0], &e.name);
	if (rc < 0)
		goto out;
	rc = check_backing(p, f[1]);
	if (rc < 0)
		goto out;
	if (parts) {
		e.partitions = true;
		e.offset = 0;
		e.length = VIEW_TO_END;
		mode = nf == 4 ? f[3] : NULL;
	} else {
		rc = parse_range(p, f[2], f[3], &e);
		if (rc < 0)
			goto out;
		mode = nf == 5 ? f[4] : NULL;
	}
	rc = parse_mode(p, mode, &e.ro);
	if (rc < 0)
		goto out;
	rc = grow(p);
	if (rc < 0)
		goto out;
	e.backing = strdup(f[1]);
	if (!e.backing) {
		rc = -ENOMEM;
		goto out;
	}
	p->v[p->count++] = e;
	e.name = NULL;
	e.backing = NULL;
out:
	free(e.name);
	free(e.backing);
	return rc;
}

/* The line at p->pos: bounds (without '\n' and a '\r' before it). */
static void next_line(struct parser *p, const char **line, size_t *n)
{
	const char *s = p->text + p->pos;
	size_t left = p->len - p->pos;
	const char *nl = memchr(s, '\n', left);
	size_t ln = nl ? (size_t)(nl - s) : left;

	p->pos += nl ? ln + 1 : ln;
	p->line++;
	if (ln > 0 && s[ln - 1] == '\r')
		ln--;
	*line = s;
	*n = ln;
}

static int parse_line(struct parser *p, const char *line, size_t n)
{
	char *f[FIELDS_MAX + 1];
	unsigned nf;
	int rc = -EINVAL;

	if (memchr(line, '\0', n)) {
		set_err(p->err, p->line, "NUL byte in the line");
		goto out;
	}
	if (n + 1 > p->scratch_cap) {
		char *s = realloc(p->scratch, n + 1);

		if (!s) {
			rc = -ENOMEM;
			goto out;
		}
		p->scratch = s;
		p->scratch_cap = n + 1;
	}
	rc = split_fields(p, line, n, p->scratch, f, &nf);
	if (rc < 0 || nf == 0)
		goto out;
	rc = parse_fields(p, f, nf);
out:
	return rc;
}

/*
 * Byte order with '/' just above the end of the string and below every
 * other byte: then the names under "a" ("a/...") sort right after "a"
 * itself, before "a!" or "a0". Ties are broken by line, for a stable
 * report.
 */
static int cmp_ref(const void *a, const void *b)
{
	const struct name_ref *x = a, *y = b;
	const unsigned char *s = (const unsigned char *)x->name;
	const unsigned char *t = (const unsigned char *)y->name;
	int rc = 0;

	while (*s && *s == *t) {
		s++;
		t++;
	}
	if (*s != *t) {
		int cs = *s == '/' ? 1 : (*s ? *s + 1 : 0);
		int ct = *t == '/' ? 1 : (*t ? *t + 1 : 0);

		rc = cs < ct ? -1 : 1;
	} else if (x->line != y->line) {
		rc = x->line < y->line ? -1 : 1;
	}
	return rc;
}

/* Is a the same name as b, or a directory on b's way? */
static bool same_or_above(const struct name_ref *a, const struct name_ref *b)
{
	return a->len <= b->len && memcmp(a->name, b->name, a->len) == 0 &&
	       (a->len == b->len || b->name[a->len] == '/');
}

/* The conflict between a (earlier line) and b (later line), reported. */
static void report_conflict(struct views_error *err, const struct name_ref *a,
			    const struct name_ref *b)
{
	char qa[QUOTE_MAX + 4], qb[QUOTE_MAX + 4];

	quote(qa, a->name);
	quote(qb, b->name);
	if (a->len == b->len)
		set_err(err, b->line, "duplicate NAME '%s' (first on line %u)",
			qb, a->line);
	else if (b->len < a->len && b->partitions)
		set_err(err, b->line,
			"partitions NAME '%s' cannot also hold '%s' "
			"(line %u)",
			qb, qa, a->line);
	else if (b->len < a->len)
		set_err(err, b->line,
			"NAME '%s' is also a directory of '%s' (line %u)", qb,
			qa, a->line);
	else if (a->partitions)
		set_err(err, b->line,
			"NAME '%s' is under '%s', which holds partitions "
			"(line %u)",
			qb, qa, a->line);
	else
		set_err(err, b->line,
			"NAME '%s' is under '%s', which is a view (line %u)",
			qb, qa, a->line);
}

/*
 * Duplicate names and names that are also directories of others. Of all
 * conflicting pairs, the one whose later line comes first is reported
 * (then the one whose earlier line does).
 */
static int check_names(const struct view_entry *v, size_t count,
		       struct views_error *err)
{
	struct name_ref *refs = NULL;
	struct stack_item *stack = NULL;
	const struct name_ref *best_a = NULL, *best_b = NULL;
	size_t i, depth = 0;
	int rc = 0;

	if (count < 2)
		goto out;
	refs = malloc(count * sizeof(*refs));
	stack = malloc(count * sizeof(*stack));
	if (!refs || !stack) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < count; i++) {
		refs[i].name = v[i].name;
		refs[i].len = strlen(v[i].name);
		refs[i].line = v[i].line;
		refs[i].partitions = v[i].partitions;
	}
	qsort(refs, count, sizeof(*refs), cmp_ref);
	for (i = 0; i < count; i++) {
		const struct name_ref *r = &refs[i];
		const struct name_ref *min = r;

		while (depth > 0 && !same_or_above(stack[depth - 1].ref, r))
			depth--;
		if (depth > 0) {
			/* Every name on the stack conflicts with r: the one
			 * with the smallest line makes the earliest report. */
			const struct name_ref *m = stack[depth - 1].min;
			const struct name_ref *a = m->line < r->line ? m : r;
			const struct name_ref *b = a == m ? r : m;

			if (!best_b || b->line < best_b->line ||
			    (b->line == best_b->line &&
			     a->line < best_a->line)) {
				best_a = a;
				best_b = b;
			}
			if (m->line < r->line)
				min = m;
		}
		stack[depth].ref = r;
		stack[depth].min = min;
		depth++;
	}
	if (best_b) {
		report_conflict(err, best_a, best_b);
		rc = -EINVAL;
	}
out:
	free(stack);
	free(refs);
	return rc;
}

static void free_entries(struct view_entry *v, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		free(v[i].name);
		free(v[i].backing);
	}
	free(v);
}

int views_parse(const char *text, size_t len, struct view_table *out,
		struct views_error *err)
{
	struct views_error dummy;
	struct parser p = {.text = text, .len = len};
	int rc = 0, crc;

	if (!err)
		err = &dummy;
	p.err = err;
	err->line = 0;
	err->msg[0] = '\0';
	if (!out || (!text && len > 0)) {
		set_err(err, 0, "no table");
		rc = -EINVAL;
		goto out;
	}
	out->v = NULL;
	out->count = 0;
	if (len > VIEWS_TEXT_MAX) {
		set_err(err, 0, "the table is larger than %u MiB",
			VIEWS_TEXT_MAX >> 20);
		rc = -EINVAL;
		goto out;
	}
	while (rc == 0 && p.pos < len) {
		const char *line;
		size_t n;

		next_line(&p, &line, &n);
		rc = parse_line(&p, line, n);
	}
	if (rc == -ENOMEM)
		goto out;
	/* Lines before a syntax error may already conflict: that error
	 * comes first in the file, so it is the one reported. */
	crc = check_names(p.v, p.count, err);
	if (crc < 0)
		rc = crc;
	if (rc == 0 && p.count == 0) {
		set_err(err, 0, "the table lists no views");
		rc = -EINVAL;
	}
out:
	if (rc == -ENOMEM)
		set_err(err, 0, "out of memory");
	if (rc == 0) {
		out->v = p.v;
		out->count = p.count;
	} else {
		free_entries(p.v, p.count);
	}
	free(p.scratch);
	return rc;
}

void views_free(struct view_table *t)
{
	if (t) {
		free_entries(t->v, t->count);
		t->v = NULL;
		t->count = 0;
	}
}
