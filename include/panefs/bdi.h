/*
 * bdi.h - the kernel's read-ahead for a FUSE mount.
 *
 * The kernel reads ahead in a FUSE file by max_readahead, which starts at
 * 128 KiB (VM_READAHEAD_PAGES) and which the INIT reply may only lower. A
 * sequential reader therefore sends 128 KiB requests, one round trip each.
 * The mount's backing_dev_info (/sys/class/bdi/MAJ:MIN/read_ahead_kb, root
 * only) raises it: the kernel then asks for up to max_pages (1 MiB) a
 * request and keeps several in flight. No FUSE in here.
 */
#ifndef PANEFS_BDI_H
#define PANEFS_BDI_H

#include <stdint.h>
#include <sys/types.h>

/*
 * The device number of the newest mount on mountpoint (an absolute path
 * as in /proc/self/mountinfo), read from mountinfo, without touching the
 * mount itself (its daemon may not be serving yet). 0 or -errno (-ENOENT:
 * no such mount).
 */
int bdi_mount_dev(const char *mountinfo, const char *mountpoint, dev_t *dev);
/* Write read_ahead_kb (bytes rounded up to KiB) of device dev under
 * sysfs_root ("/sys/class/bdi"). 0 or -errno. */
int bdi_set_readahead(const char *sysfs_root, dev_t dev, uint64_t bytes);

#endif
