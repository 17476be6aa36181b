/*
 * bdi.c - set a mount's read-ahead: see bdi.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/sysmacros.h>

#include "panefs/bdi.h"

/* Undo mountinfo's octal escapes (\040 space, \011 tab, \012 newline,
 * \134 backslash) in place. */
static void unescape(char *s)
{
	char *out = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
					(s[3] - '0'));
			s += 4;
		} else {
			*out++ = *s++;
		}
	}
	*out = '\0';
}

/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT ...": MAJ:MIN and MOUNTPOINT of one
 * line, or false if it is malformed. Modifies line. */
static bool parse_line(char *line, unsigned *maj, unsigned *min, char **mnt)
{
	char *save = NULL, *f;
	int i;

	for (i = 0, f = strtok_r(line, " ", &save); f && i < 4;
	     i++, f = strtok_r(NULL, " ", &save)) {
		if (i == 2 && sscanf(f, "%u:%u", maj, min) != 2)
			return false;
	}
	if (i != 4 || !f)
		return false;
	unescape(f);
	*mnt = f;
	return true;
}

int bdi_mount_dev(const char *mountinfo, const char *mountpoint, dev_t *dev)
{
	unsigned maj, min;
	char *line = NULL, *mnt;
	size_t cap = 0;
	int rc = -ENOENT;
	FILE *f;

	f = fopen(mountinfo, "re");
	if (!f)
		return -errno;
	/* Later lines are newer mounts: the last match is ours. */
	while (getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		if (parse_line(line, &maj, &min, &mnt) &&
		    strcmp(mnt, mountpoint) == 0) {
			*dev = makedev(maj, min);
			rc = 0;
		}
	}
	free(line);
	fclose(f);
	return rc;
}

int bdi_set_readahead(const char *sysfs_root, dev_t dev, uint64_t bytes)
{
	char path[256], val[32];
	int fd, n, rc = 0;
	ssize_t w;

	snprintf(path, sizeof(path), "%s/%u:%u/read_ahead_kb", sysfs_root,
		 major(dev), minor(dev));
	n = snprintf(val, sizeof(val), "%llu\n",
		     (unsigned long long)((bytes + 1023) / 1024));
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	w = write(fd, val, (size_t)n);
	if (w < 0)
		rc = -errno;
	else if (w != n)
		rc = -EIO;
	close(fd);
	return rc;
}
