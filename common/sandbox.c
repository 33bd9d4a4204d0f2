/*
 * sandbox.c: seccomp allow-lists (see sandbox.h).
 */
#include "common/sandbox.h"

#include "common/log.h"

#ifdef NTS_HAVE_SECCOMP

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <linux/ptp_clock.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <seccomp.h>

/* Every daemon: I/O on descriptors it has, the event loop, memory, threads,
 * time, signals, randomness, and the file operations of reloads (reading
 * keys and certificates, watching directories, writing a health file). */
static const int common_calls[] = {
    SCMP_SYS(read),
    SCMP_SYS(write),
    SCMP_SYS(readv),
    SCMP_SYS(writev),
    SCMP_SYS(pread64),
    SCMP_SYS(pwrite64),
    SCMP_SYS(close),
    SCMP_SYS(lseek),
    SCMP_SYS(fstat),
    SCMP_SYS(newfstatat),
    SCMP_SYS(statx),
    SCMP_SYS(stat),
    SCMP_SYS(lstat),
    SCMP_SYS(fcntl),
    SCMP_SYS(dup),
    SCMP_SYS(dup3),
    SCMP_SYS(pipe2),
    SCMP_SYS(eventfd2),
    SCMP_SYS(openat),
    SCMP_SYS(open),
    SCMP_SYS(readlink),
    SCMP_SYS(getdents64),
    SCMP_SYS(rename),
    SCMP_SYS(renameat),
    SCMP_SYS(renameat2),
    SCMP_SYS(unlink),
    SCMP_SYS(unlinkat),
    SCMP_SYS(fsync),
    SCMP_SYS(fdatasync),
    SCMP_SYS(fchmod),
    SCMP_SYS(umask),
    SCMP_SYS(inotify_init1),
    SCMP_SYS(inotify_add_watch),
    SCMP_SYS(inotify_rm_watch),
    SCMP_SYS(connect),
    SCMP_SYS(accept),
    SCMP_SYS(accept4),
    SCMP_SYS(recvfrom),
    SCMP_SYS(sendto),
    SCMP_SYS(recvmsg),
    SCMP_SYS(sendmsg),
    SCMP_SYS(recvmmsg),
    SCMP_SYS(sendmmsg),
    SCMP_SYS(shutdown),
    SCMP_SYS(getsockopt),
    SCMP_SYS(setsockopt),
    SCMP_SYS(getsockname),
    SCMP_SYS(getpeername),
    SCMP_SYS(epoll_create1),
    SCMP_SYS(epoll_ctl),
    SCMP_SYS(epoll_wait),
    SCMP_SYS(epoll_pwait),
    SCMP_SYS(epoll_pwait2),
    SCMP_SYS(poll),
    SCMP_SYS(ppoll),
    SCMP_SYS(clock_gettime),
    SCMP_SYS(clock_getres),
    SCMP_SYS(gettimeofday),
    SCMP_SYS(time),
    SCMP_SYS(nanosleep),
    SCMP_SYS(clock_nanosleep),
    SCMP_SYS(mmap),
    SCMP_SYS(munmap),
    SCMP_SYS(mremap),
    SCMP_SYS(mprotect),
    SCMP_SYS(madvise),
    SCMP_SYS(brk),
    SCMP_SYS(mlock),
    SCMP_SYS(munlock),
    SCMP_SYS(futex),
    SCMP_SYS(set_robust_list),
    SCMP_SYS(rseq),
    SCMP_SYS(sched_yield),
    SCMP_SYS(sched_getaffinity),
    SCMP_SYS(gettid),
    SCMP_SYS(getpid),
    SCMP_SYS(tgkill),
    SCMP_SYS(exit),
    SCMP_SYS(exit_group),
    SCMP_SYS(rt_sigreturn),
    SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(rt_sigaction),
    SCMP_SYS(sigaltstack),
    SCMP_SYS(restart_syscall),
    SCMP_SYS(getrandom),
    SCMP_SYS(uname),
    SCMP_SYS(getuid),
    SCMP_SYS(geteuid),
    SCMP_SYS(getgid),
    SCMP_SYS(getegid),
    SCMP_SYS(getrlimit),
    SCMP_SYS(prlimit64),
    SCMP_SYS(sysinfo),
};

/* What sanitizer runtimes need at exit (LeakSanitizer stops the world
 * with a ptrace helper) and when reporting. Never in a normal build. */
#ifdef NTS_SANITIZER
static const int sanitizer_calls[] = {
    SCMP_SYS(ptrace),
    SCMP_SYS(wait4),
    SCMP_SYS(prctl),
    SCMP_SYS(clone),
    SCMP_SYS(readlinkat),
    SCMP_SYS(access),
    SCMP_SYS(faccessat),
    SCMP_SYS(getppid),
    SCMP_SYS(process_vm_readv),
    SCMP_SYS(sched_setaffinity),
    SCMP_SYS(personality),
    SCMP_SYS(getrusage),
    SCMP_SYS(setrlimit),
    SCMP_SYS(pipe),
    SCMP_SYS(kill),
    SCMP_SYS(tkill),
    SCMP_SYS(getdents),
};
#endif

/* on_sigsys runs when the filter refuses a call (SECCOMP_RET_TRAP): it writes
 * one line naming the syscall to stderr (journald, or the terminal) with
 * write(2) only, then dies of SIGSYS. SA_RESETHAND has already put back the
 * default action, so the re-raised signal terminates the process and a
 * supervisor sees the same status as with SECCOMP_RET_KILL_PROCESS. */
static void on_sigsys(int sig, siginfo_t *info, void *uctx)
{
	static const char head[] = "seccomp: syscall ";
	static const char tail[] = " is not allowed: killed (see docs/troubleshooting.md)\n";
	char msg[sizeof(head) + 12 + sizeof(tail)];
	size_t len = sizeof(head) - 1;
	char digits[12];
	int n = 0;
	unsigned v = (unsigned)info->si_syscall;
	(void)uctx;
	memcpy(msg, head, len);
	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0 && n < (int)sizeof(digits));
	while (n > 0) {
		msg[len++] = digits[--n];
	}
	memcpy(msg + len, tail, sizeof(tail) - 1);
	len += sizeof(tail) - 1;
	ssize_t w = write(2, msg, len);
	(void)w;
	raise(sig);
	_exit(128 + SIGSYS); /* not reached */
}

/* add_ioctls: |action| for ioctl with each request in |reqs| (its low 32
 * bits: the request argument is an unsigned long). */
static int add_ioctls(scmp_filter_ctx ctx, uint32_t action, const unsigned long *reqs,
                      size_t num_reqs)
{
	for (size_t i = 0; i < num_reqs; i++) {
		const struct scmp_arg_cmp req = {
		    .arg = 1, .op = SCMP_CMP_MASKED_EQ, .datum_a = 0xffffffffu, .datum_b = reqs[i]};
		if (seccomp_rule_add(ctx, action, SCMP_SYS(ioctl), 1, req) != 0) {
			return 0;
		}
	}
	return 1;
}

/* add_ioctl_rules: ioctl only with the requests libuv and glibc use on
 * sockets and files (non-blocking, close-on-exec, bytes readable); the
 * terminal queries a library may make on an inherited terminal (isatty,
 * window size) fail with ENOTTY. Everything else, TIOCSTI (pushing input
 * into an inherited terminal) first, is refused like any call outside the
 * list. */
static int add_ioctl_rules(scmp_filter_ctx ctx)
{
	static const unsigned long allowed[] = {FIONBIO, FIOCLEX, FIONCLEX, FIONREAD};
	static const unsigned long tty[] = {TCGETS, TIOCGWINSZ};
	return add_ioctls(ctx, SCMP_ACT_ALLOW, allowed, NTS_ARRAY_SIZE(allowed)) &&
	       add_ioctls(ctx, SCMP_ACT_ERRNO(ENOTTY), tty, NTS_ARRAY_SIZE(tty));
}

/* add_socket_rules: new sockets after setup are Unix datagram sockets only
 * (syslog's /dev/log, sd_notify), plus, in the KE server, the SOCK_SEQPACKET
 * connection to the signer. Everything facing the network is bound before
 * the filter. A responder or signer cannot make a Unix stream socket, so it
 * cannot connect to a control socket such as BIRD's (connect(2)'s path is
 * in memory a filter cannot read). */
static int add_socket_rules(scmp_filter_ctx ctx, enum sandbox_role role)
{
	const struct scmp_arg_cmp unix_only = {
	    .arg = 0, .op = SCMP_CMP_EQ, .datum_a = AF_UNIX, .datum_b = 0};
	const struct scmp_arg_cmp dgram = {
	    .arg = 1, .op = SCMP_CMP_MASKED_EQ, .datum_a = 0xf, .datum_b = SOCK_DGRAM};
	const struct scmp_arg_cmp seqpacket = {
	    .arg = 1, .op = SCMP_CMP_MASKED_EQ, .datum_a = 0xf, .datum_b = SOCK_SEQPACKET};
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2, unix_only, dgram) != 0) {
		return 0;
	}
	if (role == SANDBOX_KE &&
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2, unix_only, seqpacket) != 0) {
		return 0;
	}
	return 1;
}

int sandbox_available(void)
{
	return 1;
}

int sandbox_apply(enum sandbox_role role, int debug)
{
	int ok = 0;
	/* TRAP rather than KILL so that the refused call is logged; the
	 * handler then dies of SIGSYS. A compromised process could catch
	 * SIGSYS itself, but the call is refused either way. */
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	struct sigaction sa;
	(void)debug;
	if (ctx == NULL) {
		log_err("seccomp: cannot initialise a filter");
		return 0;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) != 0) {
		log_err("seccomp: cannot install the SIGSYS handler");
		goto out;
	}
	if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1) != 0) {
		log_err("seccomp: the kernel cannot synchronise threads");
		goto out;
	}
	for (size_t i = 0; i < NTS_ARRAY_SIZE(common_calls); i++) {
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, common_calls[i], 0) != 0) {
			log_err("seccomp: cannot allow syscall %d", common_calls[i]);
			goto out;
		}
	}
	if (!add_ioctl_rules(ctx) || !add_socket_rules(ctx, role)) {
		log_err("seccomp: cannot add a rule");
		goto out;
	}
#ifdef NTS_SANITIZER
	for (size_t i = 0; i < NTS_ARRAY_SIZE(sanitizer_calls); i++) {
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, sanitizer_calls[i], 0) != 0) {
			goto out;
		}
	}
#else
	/* threads (libuv's pool starts lazily), never processes */
	const struct scmp_arg_cmp thread_only = {
	    .arg = 0, .op = SCMP_CMP_MASKED_EQ, .datum_a = CLONE_THREAD, .datum_b = CLONE_THREAD};
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1, thread_only) != 0) {
		goto out;
	}
#endif
	/* clone3 passes its flags in memory a filter cannot see: ENOSYS makes
	 * glibc fall back to clone */
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) != 0) {
		goto out;
	}
	if (role == SANDBOX_RESPONDER) {
		/* reading the kernel's sync state: glibc's ntp_adjtime is
		 * clock_adjtime(CLOCK_REALTIME, &tx) with modes 0. The modes are
		 * in memory a filter cannot read, so set mode cannot be refused
		 * here: it needs CAP_SYS_TIME, which the unit does not grant
		 * (CapabilityBoundingSet=CAP_NET_BIND_SERVICE). adjtimex itself
		 * and the other clocks are refused. */
		const struct scmp_arg_cmp realtime = {
		    .arg = 0, .op = SCMP_CMP_EQ, .datum_a = CLOCK_REALTIME, .datum_b = 0};
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clock_adjtime), 1, realtime) !=
		    0) {
			goto out;
		}
		/* AF_XDP workers sampling the NIC's PTP clock once a second
		 * (ntp-responder/phc.c), on a descriptor opened before the
		 * filter: two read-only requests */
		static const unsigned long ptp[] = {PTP_SYS_OFFSET_EXTENDED, PTP_SYS_OFFSET};
		if (!add_ioctls(ctx, SCMP_ACT_ALLOW, ptp, NTS_ARRAY_SIZE(ptp))) {
			goto out;
		}
		/* workers pinning themselves to CPUs (pinworkers) */
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sched_setaffinity), 0) != 0) {
			goto out;
		}
	}
	if (seccomp_load(ctx) != 0) {
		log_err("seccomp: cannot load the filter");
		goto out;
	}
	log_info("seccomp allow-list active (a refused syscall is logged, then SIGSYS)");
	ok = 1;
out:
	seccomp_release(ctx);
	return ok;
}

#else

int sandbox_available(void)
{
	return 0;
}

int sandbox_apply(enum sandbox_role role, int debug)
{
	(void)role;
	(void)debug;
	log_warn("built without seccomp support: no system call allow-list");
	return 1;
}

#endif
