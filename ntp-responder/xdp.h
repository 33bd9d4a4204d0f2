/*
 * xdp.h: the responder's AF_XDP fast path (docs/xdp.md).
 *
 * With "xdp IFACE [QUEUE...]" the responder attaches bpf/nts_xdp.bpf.c to
 * IFACE in native (driver) mode with a bpf_link, so the program goes away
 * when the process exits, crash included, and opens one AF_XDP socket per
 * receive queue, each with its own UMEM, zero-copy where the driver can and
 * copy mode otherwise. Queue q belongs to worker q % workers, which polls
 * it next to its UDP sockets (these stay open: other interfaces, and what
 * the program passes to the kernel, such as fragments, still reach us).
 * Responses are built in place in the request's frame by the same
 * resp_handle as in socket mode.
 *
 * Everything here runs before the sandbox: the packet path needs only
 * poll, sendto (the transmit kick) and clock_gettime, which the socket
 * path has too.
 */
#ifndef NTS_XDP_H
#define NTS_XDP_H

#include <net/if.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/config.h"
#include "common/metrics.h"
#include "ntp-responder/xdp_maps.h"

struct worker;
struct xdp_sock;
struct xdp_state;

/* The "xdp" directive: an interface and the receive queues to serve
 * (none listed: all of them). */
struct xdp_config {
	char iface[IF_NAMESIZE];
	uint32_t queues[CFG_MAX_ARGS];
	int num_queues;
	int hwts; /* the xdphwtimestamps directive (set apart from this line) */
};

/* xdp_config_line parses "xdp IFACE [QUEUE...]" into |x|; 1 or 0 after
 * cfg_error. */
int xdp_config_line(struct xdp_config *x, const struct cfg_line *l) NTS_WUR;

/* xdp_start loads and attaches the program to cfg->iface, lets it redirect
 * UDP to the |num_listen| addresses (and their ports) in |listen|, and
 * gives each worker of |workers| its queues' sockets. On failure it writes
 * what went wrong and what to do into |err| and returns NULL; nothing is
 * left attached. */
struct xdp_state *xdp_start(const struct xdp_config *cfg, const struct sockaddr_storage *listen,
                            int num_listen, struct worker *workers, int num_workers, char *err,
                            size_t err_len);

/* xdp_stop (after the workers are joined) closes the sockets and the link,
 * which detaches the program. NULL-safe. */
void xdp_stop(struct xdp_state *x);

/* xdp_sock_fd is the descriptor a worker polls for |s|. */
int xdp_sock_fd(const struct xdp_sock *s);

/* xdp_serve answers what is on |s|'s receive ring (the worker's thread). */
void xdp_serve(struct worker *w, struct xdp_sock *s);

/* xdp_render writes the nts_responder_xdp_* families (zeros and
 * active 0 when |x| is NULL); |configured|: whether "xdp" is in the
 * configuration. */
void xdp_render(const struct xdp_state *x, int configured, struct metrics_buf *b);

#endif
