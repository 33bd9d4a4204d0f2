/*
 * test_sandbox.c: the seccomp allow-list, applied in forked children:
 * allowed calls work (Unix sockets, threads, files); a network socket,
 * fork and execve kill the process (SIGSYS), and before it dies the SIGSYS
 * handler writes one line naming the syscall to stderr (issue 18: a
 * seccomp kill used to leave nothing in the log). Per role: TIOCSTI and
 * Unix stream sockets refused everywhere, the signer's SOCK_SEQPACKET only
 * in the KE server, clock_adjtime(CLOCK_REALTIME) and the PTP clock reads
 * only in the responder.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/ptp_clock.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/sandbox.h"
#include "tests/unit/testutil.h"

static void *thread_main(void *arg)
{
	return arg;
}

static enum sandbox_role role = SANDBOX_KE;

/* child: apply the filter, then run |what|; exits 0 if it was allowed */
static void child(int what, int debug)
{
	struct timex tx;
	memset(&tx, 0, sizeof(tx));
	if (!sandbox_apply(role, debug)) {
		_exit(2);
	}
	switch (what) {
	case 0: { /* allowed: Unix socket, a thread, reading a file */
		int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
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
	case 4: { /* push a character into an inherited terminal */
		char c = 'x';
		(void)ioctl(0, TIOCSTI, &c);
		break;
	}
	case 5: /* a Unix stream socket (a control socket like BIRD's) */
		(void)socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		break;
	case 6: /* the KE server's connection to the signer */
		(void)socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		break;
	case 7: { /* allowed everywhere: the ioctls of libuv and glibc */
		int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1, n = 0;
		struct termios t;
		if (fd < 0 || ioctl(fd, FIONBIO, &one) != 0 || ioctl(fd, FIOCLEX) != 0 ||
		    ioctl(fd, FIONREAD, &n) != 0) {
			_exit(4);
		}
		if (ioctl(fd, TCGETS, &t) != -1 || errno != ENOTTY) { /* isatty */
			_exit(5);
		}
		_exit(0);
	}
	case 8: /* reading the kernel clock state: responder only */
		if (clock_adjtime(CLOCK_REALTIME, &tx) < 0) {
			_exit(6);
		}
		break;
	case 9:
		(void)syscall(SYS_adjtimex, &tx);
		break;
	case 10:
		(void)syscall(SYS_clock_adjtime, CLOCK_TAI, &tx);
		break;
	case 11: { /* reading a PTP clock (AF_XDP timestamps): responder only */
		struct ptp_sys_offset_extended e;
		struct ptp_sys_offset o;
		memset(&e, 0, sizeof(e));
		memset(&o, 0, sizeof(o));
		int fd = open("/dev/null", O_RDONLY);
		if (fd < 0 || ioctl(fd, PTP_SYS_OFFSET_EXTENDED, &e) != -1 ||
		    ioctl(fd, PTP_SYS_OFFSET, &o) != -1) {
			_exit(7);
		}
		break;
	}
	case 12: /* and no other PTP request (setting the clock) */
		(void)ioctl(0, PTP_ENABLE_PPS, 1);
		break;
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
	/* one allow-list per role (issue 12 item 9): 1 = allowed */
	static const struct {
		int what;
		int allowed[3]; /* KE, responder, signer */
	} per_role[] = {
	    {0, {1, 1, 1}}, {4, {0, 0, 0}}, {5, {0, 0, 0}},  {6, {1, 0, 0}},  {7, {1, 1, 1}},
	    {8, {0, 1, 0}}, {9, {0, 0, 0}}, {10, {0, 0, 0}}, {11, {0, 1, 0}}, {12, {0, 0, 0}},
	};
	static const enum sandbox_role roles[] = {SANDBOX_KE, SANDBOX_RESPONDER, SANDBOX_SIGNER};
	for (size_t r = 0; r < 3; r++) {
		role = roles[r];
		for (size_t i = 0; i < NTS_ARRAY_SIZE(per_role); i++) {
			st = run(per_role[i].what, 0);
			if (per_role[i].allowed[r]) {
				CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
			} else {
				CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
			}
			if (!(per_role[i].allowed[r] ? WIFEXITED(st) && WEXITSTATUS(st) == 0
			                             : WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS)) {
				fprintf(stderr, "  role %zu, case %d: status 0x%x\n", r,
				        per_role[i].what, (unsigned)st);
			}
		}
	}
	role = SANDBOX_KE;

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
