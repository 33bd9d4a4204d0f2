/*
 * worker.h: the packet-moving threads. Each worker owns one socket per
 * listen address (SO_REUSEPORT spreads clients across workers), its stats
 * and its buffers, and loops recvmmsg -> resp_handle -> sendmmsg.
 */
#ifndef NTS_WORKER_H
#define NTS_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "ntp-responder/responder.h"
#include "ntp-responder/xdp.h"

#define WORKER_MAX_SOCKETS 16
#define WORKER_BATCH       32

/* Cache-line aligned: a worker's counters never share a line with its
 * neighbour's fields, so the packet path does not bounce lines between
 * CPUs. */
struct worker {
	_Alignas(64) int id;
	int cpu; /* -1: no pinning */
	int fds[WORKER_MAX_SOCKETS];
	int num_fds;
	struct xdp_sock *xsks[WORKER_MAX_SOCKETS]; /* AF_XDP (xdp.h): polled with fds */
	int num_xsks;
	const struct resp_ctx *ctx;
	_Alignas(64) struct resp_stats stats;
	_Atomic int *stop;
	pthread_t thread;
	int started;
};

/* worker_open_socket binds a UDP socket for |addr| with SO_REUSEPORT,
 * IP(V6)_FREEBIND, kernel receive timestamps and packet info, DF on IPv4
 * responses (IP_PMTUDISC_PROBE), and asks for a
 * receive buffer of |rcvbuf| bytes (SO_RCVBUFFORCE while privileged, else
 * SO_RCVBUF, which the kernel caps at net.core.rmem_max; 0 leaves the
 * default). Returns the fd or -1 (errno set). */
int worker_open_socket(const struct sockaddr *addr, socklen_t len, int rcvbuf);

int worker_start(struct worker *w);
void worker_join(struct worker *w);

#endif
