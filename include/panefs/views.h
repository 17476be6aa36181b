/*
 * views.h - the views table (views=FILE): a pure parser from text to a
 * list of views, or an error naming the line and the reason.
 *
 * Format (one view a line; blank lines and comments ignored):
 *
 *     NAME  BACKING  OFFSET  LENGTH  [ro|rw]
 *     NAME  BACKING  partitions      [ro|rw]
 *
 * - Fields are separated by spaces or tabs. A backslash makes the next
 *   character literal (`\ ` a space in a name, `\#`, `\\`); a backslash at
 *   the end of a line is an error.
 * - `#` at the start of a field starts a comment to the end of the line.
 * - NAME: a relative path inside the mount ("disk/boot"). Directories on
 *   the way are made as needed. Normalised: repeated '/' collapse, a
 *   trailing '/' is dropped; empty, absolute, "." or ".." components, a
 *   component longer than NAME_MAX or a path longer than PATH_MAX are
 *   errors.
 * - BACKING: a path relative to SOURCE. An absolute path or a ".."
 *   component is an error ("leaves SOURCE"); whether it exists and stays
 *   inside SOURCE through symlinks is checked later, when the mount is
 *   built (vtree.c), not here.
 * - OFFSET, LENGTH: sizes as panefs_parse_size() takes them (bytes or
 *   K/M/G/T); LENGTH "-" means "to the end of the backing file"
 *   (VIEW_TO_END). OFFSET + LENGTH must not overflow 63 bits.
 * - The mode word is optional; the default is rw (a read-only mount makes
 *   every view read-only anyway).
 * - "partitions" in the OFFSET column: NAME becomes a directory holding
 *   one view per partition of the disk image BACKING (p1, p2, ...).
 *
 * Checks made here (pure): syntax and field count, bad sizes, bad mode
 * words, bad NAME or BACKING paths, a duplicate NAME, a NAME that is also
 * a directory of another NAME (either order; a partitions NAME is a
 * directory too, and names under it are its partitions' alone), and a
 * table that lists no view at all.
 */
#ifndef PANEFS_VIEWS_H
#define PANEFS_VIEWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIEW_TO_END UINT64_MAX

/* Most views a table may list, and the largest table text accepted. */
#define VIEWS_MAX 100000
#define VIEWS_TEXT_MAX (16u << 20)

struct view_entry {
	char *name;        /* normalised, see above */
	char *backing;     /* as written, unescaped; relative */
	uint64_t offset;   /* 0 for partitions */
	uint64_t length;   /* VIEW_TO_END for "-" and for partitions */
	bool partitions;
	bool ro;
	unsigned line;     /* 1-based line of the table */
};

struct view_table {
	struct view_entry *v;
	size_t count;
};

struct views_error {
	unsigned line;     /* 1-based; 0 when the error is not of one line */
	char msg[256];     /* one line, no newline, no file name */
};

/*
 * Parse len bytes of text (need not be NUL-terminated; a NUL byte in it is
 * an error). On success returns 0 and fills *out (free with views_free()).
 * On error returns -EINVAL, fills *err and leaves *out empty. -ENOMEM when
 * memory runs out. Never reads past text + len.
 */
int views_parse(const char *text, size_t len, struct view_table *out,
		struct views_error *err);
void views_free(struct view_table *t);

#endif
