/*
 * daemon.h - daemon mode: detach from the caller once the mount works.
 *
 * Why not fuse_daemonize(): in libfuse 3.14 its parent exits 0 as soon as
 * the child has called setsid() and pointed stdio at /dev/null; if the
 * child fails before that, the parent reads EOF and exits 0 all the same,
 * and nothing the child does after it (starting threads, the session
 * loop) can still report a failure to the caller. panefs promises more:
 * the command returns 0 only once the mount answers, or else the status
 * (1 or 2) and the reason on stderr.
 *
 * Use (main.c), after fuse_session_mount():
 *
 *	daemon_detach(&d, foreground, mountpoint, fuse_session_fd(se));
 *	... anything that may still fail: start threads (they do not survive
 *	    a fork, so never before daemon_detach), open files; on failure
 *	    say why on stderr, unmount, exit 1 ...
 *	daemon_ready(&d);
 *	session loop
 *
 * Without -f, daemon_detach() forks; the parent never returns from it: it
 * closes its copy of the /dev/fuse descriptor and waits for the child.
 * - The child calls daemon_ready(): stdio goes to /dev/null, the log to
 *   syslog, and the parent is told. The parent then stat()s MOUNTPOINT:
 *   the kernel holds that GETATTR until the session loop has answered
 *   INIT, so when stat() returns the mount works, and the parent exits 0.
 *   If the child dies first, the connection is aborted (the parent holds
 *   no descriptor on it), stat() fails, and the parent exits 1 saying so.
 * - The child exits before daemon_ready() (having unmounted and said why
 *   on the caller's stderr): the parent exits with the child's status.
 * The child is in a session of its own (setsid), with "/" as working
 * directory, so it outlives the caller's shell and terminal.
 *
 * With -f both calls only change to "/" (as libfuse does); the log stays
 * on stderr.
 *
 * Test hook: PANEFS_TEST_DAEMON_FAIL=1 in the environment makes
 * daemon_ready() fail, as a failure after the fork would (exit 1, nothing
 * left mounted): tests/integration/deploy.sh checks the caller sees it.
 */
#ifndef PANEFS_DAEMON_H
#define PANEFS_DAEMON_H

#include <stdbool.h>

struct daemon_ctl {
	int ready_fd;    /* child: write end of the pipe to the parent; -1 */
	bool foreground; /* -f: no fork */
};

/*
 * Fork unless foreground; returns in the child (or the only process): 0,
 * or -errno after logging why (the caller unmounts and exits 1).
 */
int daemon_detach(struct daemon_ctl *d, bool foreground,
		  const char *mountpoint, int fuse_fd);

/*
 * Setup is done: detach stdio, log to syslog, release the parent.
 * 0, or -errno after logging why (the caller unmounts and exits 1).
 */
int daemon_ready(struct daemon_ctl *d);

#endif
