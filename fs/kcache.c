/*
 * kcache.c - the stamp that decides whether an open keeps the kernel's
 * page cache: see kcache.h.
 */
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>

#include "panefs/inode.h"
#include "panefs/kcache.h"

static bool same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

bool kcache_open(struct inode *in, int fd)
{
	bool keep = false;
	struct stat st;

	if (fstat(fd, &st) < 0) {
		kcache_forget(in);
		return false;
	}
	pthread_mutex_lock(&in->lock);
	keep = in->stamped && in->stamp_size == (uint64_t)st.st_size &&
	       same_time(&in->stamp_mtime, &st.st_mtim) &&
	       same_time(&in->stamp_ctime, &st.st_ctim);
	in->stamped = true;
	in->stamp_size = (uint64_t)st.st_size;
	in->stamp_mtime = st.st_mtim;
	in->stamp_ctime = st.st_ctim;
	pthread_mutex_unlock(&in->lock);
	return keep;
}

void kcache_forget(struct inode *in)
{
	pthread_mutex_lock(&in->lock);
	in->stamped = false;
	pthread_mutex_unlock(&in->lock);
}
