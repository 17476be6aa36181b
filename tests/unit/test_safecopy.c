/*
 * test_safecopy.c - unit tests of fs/safecopy.c.
 *
 * Faults are real: a MAP_SHARED mapping of a file that was then truncated
 * raises SIGBUS on access past the new end. Tests that need a process whose
 * SIGBUS disposition was set *before* safecopy_init() re-execute this binary
 * with "--child MODE" (the parent has long installed the handler, and
 * pthread_once state survives fork, so a forked child would not do).
 *
 * cmocka installs its own SIGBUS handler around every test and restores the
 * previous one afterwards, so main() installs safecopy's first, saves it,
 * and every test that faults puts it back with own_sigbus().
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "panefs/safecopy.h"

static size_t page;
static struct sigaction safecopy_action;

/* Undo cmocka's per-test SIGBUS handler (see the top of the file). */
static void own_sigbus(void)
{
	assert_int_equal(sigaction(SIGBUS, &safecopy_action, NULL), 0);
}

/* A file of `pages` pages, mapped whole, then cut to `keep` bytes: bytes
 * from round_up(keep) on fault. Returns the mapping; *fdp the fd. */
static char *doomed_map(size_t pages, size_t keep, int *fdp)
{
	char path[] = "/var/tmp/panefs-sc-XXXXXX";
	int fd = mkstemp(path);
	char *p;

	if (fd < 0)
		abort();
	unlink(path);
	if (ftruncate(fd, (off_t)(pages * page)))
		abort();
	p = mmap(NULL, pages * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		abort();
	memset(p, 'q', pages * page);
	if (ftruncate(fd, (off_t)keep))
		abort();
	*fdp = fd;
	return p;
}

static void undoom(char *p, size_t pages, int fd)
{
	munmap(p, pages * page);
	close(fd);
}

static bool sigbus_blocked(void)
{
	sigset_t set;

	pthread_sigmask(SIG_SETMASK, NULL, &set);
	return sigismember(&set, SIGBUS) == 1;
}

static void test_normal_copy(void **state)
{
	static const size_t sizes[] = {0, 1, 7, 64, 4095, 4096, 65537};
	char *a = malloc(65537), *b = malloc(65537);
	size_t i, k;
	uint64_t before = safecopy_faults();

	(void)state;
	assert_int_equal(safecopy_init(), 0);
	assert_int_equal(safecopy_init(), 0); /* idempotent */
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (k = 0; k < sizes[i]; k++)
			a[k] = (char)(k * 31 + i);
		memset(b, 0, 65537);
		assert_int_equal(safe_copy(b, a, sizes[i]), 0);
		assert_memory_equal(a, b, sizes[i]);
		if (sizes[i] < 65537)
			assert_int_equal(b[sizes[i]], 0);
	}
	assert_int_equal(safecopy_faults(), before);
	free(a);
	free(b);
}

static void test_fault_read(void **state)
{
	int fd;
	char *m = doomed_map(4, page + 10, &fd);
	char *buf = malloc(4 * page);
	uint64_t before = safecopy_faults();

	(void)state;
	own_sigbus();
	memset(buf, 0, 4 * page);
	/* Whole pages before the new end still copy. */
	assert_int_equal(safe_copy(buf, m, 2 * page), 0);
	assert_int_equal(buf[2 * page - 1], 0); /* past EOF in last page */
	assert_int_equal(buf[page + 9], 'q');
	/* Past it: an error, not a death. Leading bytes may be copied. */
	assert_int_equal(safe_copy(buf, m, 4 * page), -EFAULT);
	assert_int_equal(buf[0], 'q');
	assert_int_equal(safecopy_faults(), before + 1);
	assert_false(sigbus_blocked());
	/* A second fault on the same thread is caught too. */
	assert_int_equal(safe_copy(buf, m + 3 * page, 1), -EFAULT);
	assert_int_equal(safecopy_faults(), before + 2);
	assert_false(sigbus_blocked());
	/* And ordinary copies still work afterwards. */
	assert_int_equal(safe_copy(buf, m, 16), 0);
	free(buf);
	undoom(m, 4, fd);
}

static void test_fault_write(void **state)
{
	int fd;
	char *m = doomed_map(2, 0, &fd);
	char src[64] = "hello";
	uint64_t before = safecopy_faults();

	(void)state;
	own_sigbus();
	assert_int_equal(safe_copy(m + page + 5, src, sizeof(src)), -EFAULT);
	assert_int_equal(safe_copy(m, src, 1), -EFAULT);
	assert_int_equal(safecopy_faults(), before + 2);
	undoom(m, 2, fd);
}

/* ---- threads ---- */

#define MT_THREADS 6
#define MT_ROUNDS 300

static void *mt_thread(void *arg)
{
	int fd, i, bad = 0;
	char *m = doomed_map(3, page, &fd);
	char buf[256];

	(void)arg;
	for (i = 0; i < MT_ROUNDS; i++) {
		if (safe_copy(buf, m + 2 * page + (i % 64), sizeof(buf)) !=
		    -EFAULT)
			bad++;
		if (safe_copy(buf, m + (i % 64), sizeof(buf)) != 0 ||
		    buf[0] != 'q')
			bad++;
		if (sigbus_blocked())
			bad++;
	}
	undoom(m, 3, fd);
	return (void *)(intptr_t)bad;
}

static void test_threads(void **state)
{
	pthread_t th[MT_THREADS];
	uint64_t before = safecopy_faults();
	void *bad;
	int i;

	(void)state;
	own_sigbus();
	for (i = 0; i < MT_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, mt_thread, NULL),
				 0);
	for (i = 0; i < MT_THREADS; i++) {
		assert_int_equal(pthread_join(th[i], &bad), 0);
		assert_null(bad);
	}
	assert_int_equal(safecopy_faults(), before + MT_THREADS * MT_ROUNDS);
}

/* ---- a safe_copy inside a signal handler that interrupted another ---- */

static char *re_map;
static volatile sig_atomic_t re_calls, re_bad;

static void re_alarm(int sig)
{
	char buf[128];

	(void)sig;
	re_calls++;
	if (safe_copy(buf, re_map + 2 * page, sizeof(buf)) != -EFAULT)
		re_bad++;
	if (safe_copy(buf, re_map, sizeof(buf)) != 0 || buf[5] != 'q')
		re_bad++;
}

static void test_reentrant(void **state)
{
	struct itimerval it = {{0, 200}, {0, 200}};
	struct itimerval off = {{0, 0}, {0, 0}};
	size_t big = 8 << 20;
	char *src = malloc(big), *dst = malloc(big);
	struct sigaction sa, old;
	uint64_t before = safecopy_faults();
	int fd, i;

	(void)state;
	own_sigbus();
#ifdef __SANITIZE_THREAD__
	/* TSan runs handlers with every signal blocked, and a fault while
	 * SIGBUS is blocked kills: the kernel's rule, not ours. */
	skip();
#endif
	re_map = doomed_map(3, page, &fd);
	memset(src, 'z', big);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = re_alarm;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	for (i = 0; i < 200 && re_calls < 50; i++) {
		src[i] = (char)i;
		assert_int_equal(safe_copy(dst, src, big), 0);
		assert_memory_equal(dst, src, big);
	}
	assert_int_equal(setitimer(ITIMER_REAL, &off, NULL), 0);
	assert_int_equal(sigaction(SIGALRM, &old, NULL), 0);
	assert_true(re_calls > 0);
	assert_int_equal(re_bad, 0);
	assert_int_equal(safecopy_faults(), before + (uint64_t)re_calls);
	/* The outer frames were restored: a fault here is still caught. */
	assert_int_equal(safe_copy(dst, re_map + 2 * page, 8), -EFAULT);
	undoom(re_map, 3, fd);
	free(src);
	free(dst);
}

/* ---- chaining to the previous handler, in a fresh process ---- */

static volatile sig_atomic_t child_armed_done;

static void child_handler(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	/* Only an unarmed fault may arrive here, and only after the armed
	 * one was absorbed by safecopy. */
	if (sig != SIGBUS || !child_armed_done)
		_exit(43);
	_exit(si->si_code > 0 ? 42 : 44);
}

static void child_plain_handler(int sig)
{
	_exit(sig == SIGBUS ? 45 : 46);
}

/* Runs in the re-executed child; exit status tells the parent. */
static int child_main(const char *mode)
{
	struct rlimit no_core = {0, 0};
	struct sigaction sa;
	char buf[64];
	int fd;
	char *m;

	setrlimit(RLIMIT_CORE, &no_core);
	alarm(10); /* a handler that loops on the fault fails, not hangs */
	page = (size_t)sysconf(_SC_PAGESIZE);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	if (!strcmp(mode, "siginfo") || !strcmp(mode, "kill")) {
		sa.sa_sigaction = child_handler;
		sa.sa_flags = SA_SIGINFO;
	} else if (!strcmp(mode, "plain")) {
		sa.sa_handler = child_plain_handler;
	} else {
		sa.sa_handler = SIG_DFL;
	}
	if (sigaction(SIGBUS, &sa, NULL))
		return 10;
	if (safecopy_init())
		return 11;
	m = doomed_map(2, 0, &fd);
	/* An armed fault is ours: the previous handler must not see it. */
	if (safe_copy(buf, m, sizeof(buf)) != -EFAULT)
		return 12;
	child_armed_done = 1;
	if (!strcmp(mode, "kill")) {
		kill(getpid(), SIGBUS);
		return 13;
	}
	/* An unarmed fault goes to the previous handler (or kills). */
	buf[0] = *(volatile char *)m;
	return 14;
}

static int run_child(const char *mode)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		execl("/proc/self/exe", "test_safecopy", "--child", mode,
		      (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void test_chain_siginfo_handler(void **state)
{
	int st = run_child("siginfo");

	(void)state;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 42);
}

static void test_chain_plain_handler(void **state)
{
	int st = run_child("plain");

	(void)state;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 45);
}

static void test_chain_sent_signal(void **state)
{
	int st = run_child("kill");

	(void)state;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 44);
}

static void test_chain_default_kills(void **state)
{
	int st = run_child("default");

	(void)state;
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGBUS);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_normal_copy),
	    cmocka_unit_test(test_fault_read),
	    cmocka_unit_test(test_fault_write),
	    cmocka_unit_test(test_threads),
	    cmocka_unit_test(test_reentrant),
	    cmocka_unit_test(test_chain_siginfo_handler),
	    cmocka_unit_test(test_chain_plain_handler),
	    cmocka_unit_test(test_chain_sent_signal),
	    cmocka_unit_test(test_chain_default_kills),
	};

	if (argc == 3 && !strcmp(argv[1], "--child"))
		return child_main(argv[2]);
	page = (size_t)sysconf(_SC_PAGESIZE);
	if (safecopy_init() || sigaction(SIGBUS, NULL, &safecopy_action))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
