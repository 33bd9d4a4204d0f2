/*
 * test_sandbox.c: the seccomp allow-list, applied in forked children:
 * allowed calls work (Unix sockets, threads, files); a network socket,
 * fork and execve kill the process (SIGSYS), and before it dies the SIGSYS
 * handler writes one line naming the syscall to stderr (issue 18: a
 * seccomp kill used to leave nothing in the log).
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
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

/* run: |what| in a sandboxed child; its stderr goes to |out| */
static int run_out(int what, int debug, char *out, size_t out_len)
{
	int st, p[2];
	size_t got = 0;
	if (pipe(p) != 0) {
		return -1;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], 2);
		child(what, debug);
	}
	close(p[1]);
	while (got + 1 < out_len) {
		ssize_t n = read(p[0], out + got, out_len - 1 - got);
		if (n <= 0) {
			break;
		}
		got += (size_t)n;
	}
	out[got] = '\0';
	close(p[0]);
	if (pid < 0 || waitpid(pid, &st, 0) != pid) {
		return -1;
	}
	return st;
}

static int run(int what, int debug)
{
	char out[512];
	return run_out(what, debug, out, sizeof(out));
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
		CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
	}
	/* the refused call is named on stderr before the process dies */
	char out[512], want[64];
	snprintf(want, sizeof(want), "seccomp: syscall %d is not allowed", (int)SYS_socket);
	st = run_out(1, 0, out, sizeof(out));
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
	CHECK(strstr(out, want) != NULL);
	if (strstr(out, want) == NULL) {
		fprintf(stderr, "  child's stderr: \"%s\"\n", out);
	}
	return test_summary("sandbox");
}
