/*
 * daemon.c - daemon mode (contract in panefs/daemon.h): fork after the
 * mount, and let the caller go only once the mount answers, or with the
 * daemon's own exit status and its reason on the caller's stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>

#include "panefs/daemon.h"
#include "panefs/log.h"
#include "util.h"

/* The byte the child writes once it serves. */
#define DAEMON_READY 'R'

/*
 * The caller's side: never returns, and leaves by _exit(): this is a
 * forked copy of the daemon, which must neither run its exit path (that
 * would unmount) nor flush stdio buffers twice. No thread exists yet, so
 * stdio is safe here.
 */
static void __attribute__((noreturn))
parent_wait(pid_t child, int rfd, const char *mountpoint)
{
	struct stat st;
	ssize_t r;
	char c;
	int ws;

	/* libfuse's handlers (installed before the fork) would only mark
	 * our copy of the session as exited: let ^C end the wait. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	do
		r = read(rfd, &c, 1);
	while (r < 0 && errno == EINTR);
	if (r == 1 && c == DAEMON_READY) {
		/* Answered only once the session loop runs. */
		if (stat(mountpoint, &st) == 0)
			_exit(0);
		fprintf(stderr,
			"panefs: the daemon (pid %ld) stopped before the mount "
			"on '%s' answered: %s\n",
			(long)child, mountpoint, strerror(errno));
		_exit(1);
	}
	/* The child failed before it was ready: it said why on our stderr
	 * and unmounted. Its status is ours. */
	while (waitpid(child, &ws, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "panefs: waiting for the daemon: %s\n",
				strerror(errno));
			_exit(1);
		}
	}
	if (WIFEXITED(ws) && WEXITSTATUS(ws) != 0)
		_exit(WEXITSTATUS(ws));
	if (WIFSIGNALED(ws))
		fprintf(stderr,
			"panefs: the daemon (pid %ld) died of signal %d (%s) "
			"before the mount was ready\n",
			(long)child, WTERMSIG(ws), strsignal(WTERMSIG(ws)));
	else
		fprintf(stderr,
			"panefs: the daemon (pid %ld) exited before the mount "
			"was ready\n",
			(long)child);
	_exit(1);
}

int daemon_detach(struct daemon_ctl *d, bool foreground, const char *mountpoint,
		  int fuse_fd)
{
	int p[2], rc;
	pid_t pid;

	d->ready_fd = -1;
	d->foreground = foreground;
	if (!foreground) {
		/* O_CLOEXEC: no helper the daemon runs later (fusermount3)
		 * may hold the pipe and keep the caller waiting. */
		if (pipe2(p, O_CLOEXEC) < 0) {
			rc = neg_errno();
			plog(LOG_ERR, "panefs: cannot become a daemon: %s\n",
			     strerror(-rc));
			return rc;
		}
		fflush(stdout);
		fflush(stderr);
		pid = fork();
		if (pid < 0) {
			rc = neg_errno();
			plog(LOG_ERR, "panefs: cannot become a daemon: %s\n",
			     strerror(-rc));
			close(p[0]);
			close(p[1]);
			return rc;
		}
		if (pid > 0) {
			/* A child dying before it serves must abort the
			 * connection, or our stat() would wait forever. */
			close(fuse_fd);
			close(p[1]);
			parent_wait(pid, p[0], mountpoint);
		}
		close(p[0]);
		d->ready_fd = p[1];
		if (setsid() < 0) {
			rc = neg_errno();
			plog(LOG_ERR, "panefs: setsid: %s\n", strerror(-rc));
			return rc;
		}
	}
	/* The daemon must not keep a directory of the caller's busy. */
	if (chdir("/") < 0) {
		rc = neg_errno();
		plog(LOG_ERR, "panefs: chdir /: %s\n", strerror(-rc));
		return rc;
	}
	return 0;
}

int daemon_ready(struct daemon_ctl *d)
{
	const char *fail = getenv("PANEFS_TEST_DAEMON_FAIL");
	char c = DAEMON_READY;
	ssize_t r;
	int fd, rc;

	if (fail && *fail && strcmp(fail, "0") != 0) {
		plog(
		    LOG_ERR,
		    "panefs: PANEFS_TEST_DAEMON_FAIL is set: failing after the "
		    "mount, before the daemon is ready\n");
		return -ECANCELED;
	}
	if (d->foreground)
		return 0;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		rc = neg_errno();
		plog(LOG_ERR, "panefs: /dev/null: %s\n", strerror(-rc));
		return rc;
	}
	/* dup2 clears O_CLOEXEC on 0, 1 and 2. */
	if (dup2(fd, STDIN_FILENO) < 0 || dup2(fd, STDOUT_FILENO) < 0 ||
	    dup2(fd, STDERR_FILENO) < 0) {
		rc = neg_errno();
		plog(LOG_ERR, "panefs: redirecting stdio: %s\n", strerror(-rc));
		close(fd);
		return rc;
	}
	if (fd > STDERR_FILENO)
		close(fd);
	plog_use_syslog();
	do
		r = write(d->ready_fd, &c, 1);
	while (r < 0 && errno == EINTR);
	/* A parent that is gone (killed) changes nothing for the daemon:
	 * EPIPE, not SIGPIPE (fuse_set_signal_handlers() ignores it). */
	close(d->ready_fd);
	d->ready_fd = -1;
	return 0;
}
