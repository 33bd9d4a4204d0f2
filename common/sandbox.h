/*
 * sandbox.h: seccomp allow-lists for the daemons' steady state.
 *
 * sandbox_apply installs, on every thread of the process (TSYNC), a filter
 * that allows what the running daemon needs (libuv, BoringSSL, recvmmsg/
 * sendmmsg, key and certificate reloads, metrics, syslog, the signer
 * socket) and refuses anything else (exec, fork, ptrace, mount, bind,
 * listen, new network sockets, ...). Each role gets its own list: new
 * sockets are AF_UNIX SOCK_DGRAM (syslog, sd_notify), plus SOCK_SEQPACKET
 * in the KE server (the signer); ioctl only FIONBIO, FIOCLEX, FIONCLEX and
 * FIONREAD (TCGETS and TIOCGWINSZ fail with ENOTTY); clock_adjtime on
 * CLOCK_REALTIME, sched_setaffinity and the PTP clock reads
 * PTP_SYS_OFFSET_EXTENDED and PTP_SYS_OFFSET in the responder only. Call it after
 * setup: sockets bound, files loaded, privileges dropped, threads started.
 *
 * A refused call raises SIGSYS (SECCOMP_RET_TRAP); the handler installed
 * here writes one line naming the syscall number to stderr and the process
 * then dies of SIGSYS, so a missing entry always shows up in the log
 * (|debug| is kept for the callers and changes nothing). Without
 * libseccomp (meson -Dseccomp=disabled) it logs a
 * warning once and returns 1.
 */
#ifndef NTS_SANDBOX_H
#define NTS_SANDBOX_H

#include "common/compiler.h"

/* Sanitizer builds allow what their runtimes need at exit (LeakSanitizer
 * stops the world with a ptrace helper process): clone without
 * CLONE_THREAD, ptrace, wait4, prctl. Never in a normal build. */
#if defined(__SANITIZE_ADDRESS__)
#define NTS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define NTS_SANITIZER 1
#endif
#endif

enum sandbox_role {
	SANDBOX_KE,
	SANDBOX_RESPONDER,
	SANDBOX_SIGNER,
};

int sandbox_apply(enum sandbox_role role, int debug) NTS_WUR;

/* sandbox_available is 1 if the build has seccomp support. */
int sandbox_available(void);

#endif
