/*
 * worker.c: batches of packets through resp_handle.
 */
#include "ntp-responder/worker.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/sock.h"

static int udp_setup(int fd, int family, void *arg)
{
	int one = 1;
	int rcvbuf = *(const int *)arg;
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) != 0) {
		return 0;
	}
	if (family == AF_INET6) {
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) != 0) {
			return 0;
		}
	} else {
		(void)setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
		if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) != 0) {
			return 0;
		}
		/* DF on every response: a response is never larger than its
		 * request, so it fits wherever the request came through, and a
		 * DF packet needs no IP ID (the kernel's __ip_select_ident, a
		 * hash and a shared atomic per packet, goes). PROBE rather than
		 * DO: the learned path MTU is ignored, so an ICMP "fragmentation
		 * needed" (which anyone can spoof) cannot make sends to a client
		 * fail with EMSGSIZE. */
		int pmtu = IP_PMTUDISC_PROBE;
		if (setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu)) != 0) {
			return 0;
		}
	}
	/* a burst or a descheduled worker must not overflow the ~200 KiB
	 * default buffer: that is loss at half load */
	if (rcvbuf > 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) != 0) {
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	}
	return 1;
}

int worker_open_socket(const struct sockaddr *addr, socklen_t len, int rcvbuf)
{
	return sock_open_bound(addr, len, SOCK_DGRAM, 0, udp_setup, &rcvbuf);
}

struct slot {
	uint8_t buf[NTP_MAX_PACKET + 1]; /* one more: larger packets are seen as such */
	uint8_t out[NTP_MAX_PACKET];
	struct sockaddr_storage peer;
	/* control buffers, aligned for struct cmsghdr */
	struct {
		_Alignas(struct cmsghdr) uint8_t buf[256];
	} rx_cmsg, tx_cmsg;
	struct iovec rx_iov, tx_iov;
};

/* reply_cmsg copies the destination address of the request into the
 * reply's source (IP_PKTINFO / IPV6_PKTINFO), so answers to an anycast or
 * secondary address come from that address even on a wildcard socket. */
static size_t reply_cmsg(struct slot *s, const struct msghdr *rx, struct timespec *out_ts)
{
	size_t tx_len = 0;
	int have_ts = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(rx); c != NULL;
	     c = CMSG_NXTHDR((struct msghdr *)rx, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			memcpy(out_ts, CMSG_DATA(c), sizeof(*out_ts));
			have_ts = 1;
		} else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			struct cmsghdr *t = (struct cmsghdr *)s->tx_cmsg.buf;
			t->cmsg_level = IPPROTO_IP;
			t->cmsg_type = IP_PKTINFO;
			t->cmsg_len = CMSG_LEN(sizeof(pi));
			pi.ipi_ifindex = 0;
			pi.ipi_spec_dst = pi.ipi_addr;
			memcpy(CMSG_DATA(t), &pi, sizeof(pi));
			tx_len = CMSG_SPACE(sizeof(pi));
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			struct cmsghdr *t = (struct cmsghdr *)s->tx_cmsg.buf;
			t->cmsg_level = IPPROTO_IPV6;
			t->cmsg_type = IPV6_PKTINFO;
			t->cmsg_len = CMSG_LEN(sizeof(pi));
			pi.ipi6_ifindex = 0;
			memcpy(CMSG_DATA(t), &pi, sizeof(pi));
			tx_len = CMSG_SPACE(sizeof(pi));
		}
	}
	if (!have_ts) {
		clock_gettime(CLOCK_REALTIME, out_ts); /* should not happen: SO_TIMESTAMPNS is on */
	}
	return tx_len;
}

/*
 * A response's transmit timestamp (T3) is read just before it is sealed, so
 * every microsecond between that and the kernel putting it on the wire is
 * an error in the client's offset (half of it) and delay: the wait for the
 * rest of a batch, and the kernel's sending of the responses ahead of it in
 * the same sendmmsg. Responses therefore go out once the oldest unsent one
 * is WORKER_TX_DELAY_NS old or WORKER_TX_MAX of them are ready, not only at
 * the end of a receive batch. By the client-observed offset (nts-bench
 * --tx-timestamps, bench/settle.sh; docs/benchmarks.md, "Settling the send
 * bound") the tail grows with both: p1 at half load, NTS -11, -14, -22,
 * -42 us at 0 (pairs), 5, 20, 50 us; plain -8, -31, -67, -95 us, and -5 to
 * -12 us once at most 4 go per sendmmsg. NTS responses per CPU-second were
 * 10-35% lower when each response is sent at once (a syscall each) and
 * did not differ measurably between 5 and 20 us or 4 and 32 per batch.
 * Either can be set at build time (-D...) for those comparisons; a bound of
 * 0 sends each response at once.
 */
#ifndef WORKER_TX_DELAY_NS
#define WORKER_TX_DELAY_NS 5000
#endif
#ifndef WORKER_TX_MAX
#define WORKER_TX_MAX 4
#endif

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void send_all(struct worker *w, int fd, struct mmsghdr *tx, int m)
{
	int sent = 0;
	while (sent < m) {
		int r = sendmmsg(fd, tx + sent, (unsigned)(m - sent), 0);
		if (r < 0) {
			if (errno == EINTR) {
				continue;
			}
			/* drop this one, keep the rest of the batch */
			metrics_inc(&w->stats.send_errors);
			sent++;
			continue;
		}
		sent += r;
	}
}

static void serve_socket(struct worker *w, int fd, struct slot *slots, struct mmsghdr *rx,
                         struct mmsghdr *tx)
{
	for (;;) {
		for (int i = 0; i < WORKER_BATCH; i++) {
			struct slot *s = &slots[i];
			s->rx_iov.iov_base = s->buf;
			s->rx_iov.iov_len = sizeof(s->buf);
			memset(&rx[i].msg_hdr, 0, sizeof(rx[i].msg_hdr));
			rx[i].msg_hdr.msg_name = &s->peer;
			rx[i].msg_hdr.msg_namelen = sizeof(s->peer);
			rx[i].msg_hdr.msg_iov = &s->rx_iov;
			rx[i].msg_hdr.msg_iovlen = 1;
			rx[i].msg_hdr.msg_control = s->rx_cmsg.buf;
			rx[i].msg_hdr.msg_controllen = sizeof(s->rx_cmsg.buf);
		}
		int n = recvmmsg(fd, rx, WORKER_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			return; /* EAGAIN: drained */
		}
		int m = 0;
		uint64_t first_tx = 0;
		for (int i = 0; i < n; i++) {
			struct slot *s = &slots[i];
			struct timespec t2;
			size_t cmsg_len = reply_cmsg(s, &rx[i].msg_hdr, &t2);
			size_t len = rx[i].msg_len;
			if (rx[i].msg_hdr.msg_flags & MSG_TRUNC) {
				len = sizeof(s->buf); /* too large: resp_handle drops it */
			}
			size_t out_len =
			    resp_handle_from(w->ctx, &w->stats, (const struct sockaddr *)&s->peer,
			                     s->buf, len, &t2, s->out);
			if (out_len == 0) {
				continue;
			}
			s->tx_iov.iov_base = s->out;
			s->tx_iov.iov_len = out_len;
			memset(&tx[m].msg_hdr, 0, sizeof(tx[m].msg_hdr));
			tx[m].msg_hdr.msg_name = &s->peer;
			tx[m].msg_hdr.msg_namelen = rx[i].msg_hdr.msg_namelen;
			tx[m].msg_hdr.msg_iov = &s->tx_iov;
			tx[m].msg_hdr.msg_iovlen = 1;
			tx[m].msg_hdr.msg_control = cmsg_len > 0 ? s->tx_cmsg.buf : NULL;
			tx[m].msg_hdr.msg_controllen = cmsg_len;
			m++;
			uint64_t now = mono_ns();
			if (m == 1) {
				first_tx = now;
			}
			if (m >= WORKER_TX_MAX || now - first_tx >= WORKER_TX_DELAY_NS) {
				send_all(w, fd, tx, m);
				m = 0;
			}
		}
		send_all(w, fd, tx, m);
		if (n < WORKER_BATCH) {
			return;
		}
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	static _Thread_local struct slot slots[WORKER_BATCH];
	static _Thread_local struct mmsghdr rx[WORKER_BATCH], tx[WORKER_BATCH];
	struct pollfd pfd[2 * WORKER_MAX_SOCKETS];

	if (w->cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(w->cpu, &set);
		(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	for (int i = 0; i < w->num_fds; i++) {
		pfd[i].fd = w->fds[i];
		pfd[i].events = POLLIN;
	}
	for (int i = 0; i < w->num_xsks; i++) {
		pfd[w->num_fds + i].fd = xdp_sock_fd(w->xsks[i]);
		pfd[w->num_fds + i].events = POLLIN;
	}
	nfds_t nfds = (nfds_t)(w->num_fds + w->num_xsks);
	while (!atomic_load_explicit(w->stop, memory_order_relaxed)) {
		int r = poll(pfd, nfds, 200);
		if (r <= 0) {
			continue;
		}
		for (int i = 0; i < w->num_fds; i++) {
			if (pfd[i].revents & POLLIN) {
				serve_socket(w, pfd[i].fd, slots, rx, tx);
			}
		}
		for (int i = 0; i < w->num_xsks; i++) {
			if (pfd[w->num_fds + i].revents & POLLIN) {
				xdp_serve(w, w->xsks[i]);
			}
		}
	}
	return NULL;
}

int worker_start(struct worker *w)
{
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
		return 0;
	}
	w->started = 1;
	return 1;
}

void worker_join(struct worker *w)
{
	if (w->started) {
		pthread_join(w->thread, NULL);
		w->started = 0;
	}
	for (int i = 0; i < w->num_fds; i++) {
		close(w->fds[i]);
	}
	w->num_fds = 0;
}
