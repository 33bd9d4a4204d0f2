/*
 * test_sandbox.c: the seccomp allow-list, applied in forked children:
 * allowed calls work (Unix sockets, threads, files); a network socket,
 * fork and execve kill the process (SIGSYS); with debug the SIGSYS handler
 * names the syscall and exits with 128 + SIGSYS.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/sandbox.h"
#include "tests/unit/testutil.h"

static void *thread_main(void *arg)
{
	return arg;
}

/* child: apply the filter, then run |what|; exits 0 if it was allowed */
static void child(int what, int debug)
{
	if (!sandbox_apply(SANDBOX_KE, debug)) {
		_exit(2);
	}
	switch (what) {
	case 0: { /* allowed: Unix socket, a thread, reading a file */
		int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
		pthread_t t;
		char b[16];
		int f = open("/proc/self/stat", O_RDONLY);
		if (fd < 0 || f < 0 || read(f, b, sizeof(b)) <= 0 ||
		    pthread_create(&t, NULL, thread_main, NULL) != 0 ||
		    pthread_join(t, NULL) != 0) {
			_exit(3);
		}
		_exit(0);
	}
	case 1:
		(void)socket(AF_INET, SOCK_DGRAM, 0);
		break;
	case 2:
		(void)fork();
		break;
	case 3: {
		char *argv[] = {"/bin/true", NULL};
		execv(argv[0], argv);
		break;
	}
	}
	_exit(0); /* not stopped: the filter let it through */
}

static int run(int what, int debug)
{
	int st;
	pid_t pid = fork();
	if (pid == 0) {
		child(what, debug);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid) {
		return -1;
	}
	return st;
}

int main(void)
{
	log_init("test_sandbox", 0, LOG_LVL_ERR);
	if (!sandbox_available()) {
		printf("sandbox: built without seccomp, nothing to test\n");
		return 77; /* meson: skipped */
	}
	int st = run(0, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	for (int what = 1; what <= 3; what++) {
#ifdef NTS_SANITIZER
		if (what == 2) {
			continue; /* sanitizer builds allow fork-like clones */
		}
#endif
		st = run(what, 0);
		CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
		st = run(what, 1);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 128 + SIGSYS);
	}
	return test_summary("sandbox");
}
