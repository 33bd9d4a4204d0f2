/*
 * xdp.c: the AF_XDP fast path (see xdp.h, docs/xdp.md).
 */
#include "ntp-responder/xdp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "ntp-responder/phc.h"
#include "ntp-responder/worker.h"
#include "ntp-responder/xframe.h"

/* nts_responder_xdp_rx_timestamp_batch_total's reasons (enum xframe_ts_why) */
static const char *const ts_why_names[XFRAME_WHY_MAX] = {
    "no_metadata", "no_timestamp", "no_clock", "no_fit", "stale", "insane", "program",
};

int xdp_config_line(struct xdp_config *x, const struct cfg_line *l)
{
	if (strlen(l->argv[0]) >= sizeof(x->iface)) {
		return cfg_error(l, "xdp: interface name too long");
	}
	memset(x, 0, sizeof(*x));
	memcpy(x->iface, l->argv[0], strlen(l->argv[0]));
	for (int i = 1; i < l->argc; i++) {
		uint64_t q;
		if (!cfg_arg_u64(&q, l, i, 0, NTS_XDP_MAX_QUEUES - 1)) {
			return 0;
		}
		for (int j = 0; j < x->num_queues; j++) {
			if (x->queues[j] == q) {
				return cfg_error(l, "xdp: queue %u listed twice", (unsigned)q);
			}
		}
		x->queues[x->num_queues++] = (uint32_t)q;
	}
	return 1;
}

#if NTS_HAVE_XDP

#include <dirent.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/xsk.h>

/* the program, compiled by clang -target bpf (meson custom targets):
 * with the receive timestamp kfunc, and without it (the fallback) */
extern const unsigned char nts_xdp_hw_obj[];
extern const size_t nts_xdp_hw_obj_len;
extern const unsigned char nts_xdp_obj[];
extern const size_t nts_xdp_obj_len;

/* Linux 6.3's flag for a program bound to one device's XDP metadata
 * kfuncs; Debian 12's uapi headers predate it */
#ifndef BPF_F_XDP_DEV_BOUND_ONLY
#define BPF_F_XDP_DEV_BOUND_ONLY (1U << 6)
#endif
/* how often a worker samples the PHC against CLOCK_REALTIME */
#define XDP_PHC_INTERVAL_NS 1000000000u

/* Frames per socket: all start on the fill ring, which holds them all, so
 * returning a frame to it never fails. 2 KiB frames fit a 1500-byte MTU. */
#define XDP_FRAMES     4096
#define XDP_FRAME_SIZE 2048
#define XDP_RING       2048
#define XDP_BATCH      64
/* as the socket path (worker.c): a response waits at most this long for
 * the rest of the batch before the transmit ring is kicked. Its T3 was
 * read before the wait, so the wait is in the client's offset: NTS at half
 * load, offset p1 -12.4 us at 20 us and -4.5 us at 5 us (sockets -5.6 and
 * -6.6 us in the same runs; bench/xdp.sh part 3, docs/xdp.md). */
#ifndef XDP_TX_DELAY_NS
#define XDP_TX_DELAY_NS 5000
#endif
/* how long a start waits for a queue still bound to a closed socket */
#define XDP_BUSY_WAIT_MS 5000

struct xdp_sock_stats {
	metrics_counter rx;
	metrics_counter tx;
	metrics_counter invalid;
	metrics_counter tx_full;
	metrics_counter ts_hw;
	metrics_counter ts_prog;
	metrics_counter ts_batch[XFRAME_WHY_MAX];
};

/* A worker's own map from the NIC's clock to CLOCK_REALTIME: only that
 * worker's thread reads or updates it (once a second, in xdp_serve), so
 * the packet path needs no lock. */
struct xdp_clock {
	_Alignas(64) struct phc_fit fit;
	uint64_t next_sample; /* CLOCK_MONOTONIC ns */
	int ext;              /* PTP_SYS_OFFSET_EXTENDED works (phc_read) */
	int fd;               /* the PHC, or -1 */
};

struct xdp_sock {
	_Alignas(64) struct xsk_ring_cons rx;
	struct xsk_ring_prod tx;
	struct xsk_ring_prod fill;
	struct xsk_ring_cons comp;
	struct xsk_socket *xsk;
	struct xsk_umem *umem;
	uint8_t *area;
	int fd;
	uint32_t queue;
	int zerocopy;
	struct xdp_clock *clock; /* the owning worker's */
	_Alignas(64) struct xdp_sock_stats stats;
};

struct xdp_state {
	struct bpf_object *obj;
	int link_fd;
	int ifindex;
	char iface[IF_NAMESIZE];
	const volatile uint64_t *prog_stats; /* the mmapped stats map */
	size_t prog_stats_len;
	struct xdp_sock *socks[NTS_XDP_MAX_QUEUES];
	int num_socks;
	int kfunc;                /* the device-bound program with the timestamp kfunc is loaded */
	int phc_fd;               /* the interface's PTP clock, or -1 */
	struct xdp_clock *clocks; /* one per worker */
};

int xdp_sock_fd(const struct xdp_sock *s)
{
	return s->fd;
}

/* ---- the packet path ---- */

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* recycle gives frame |addr| back to the fill ring (which holds every
 * frame, so there is always room). */
static void recycle(struct xdp_sock *s, uint64_t addr)
{
	uint32_t idx;
	if (xsk_ring_prod__reserve(&s->fill, 1, &idx) == 1) {
		*xsk_ring_prod__fill_addr(&s->fill, idx) = xsk_umem__extract_addr(addr);
		xsk_ring_prod__submit(&s->fill, 1);
	}
}

static void reclaim(struct xdp_sock *s)
{
	uint32_t idx;
	uint32_t n = xsk_ring_cons__peek(&s->comp, XDP_RING, &idx);
	for (uint32_t i = 0; i < n; i++) {
		recycle(s, *xsk_ring_cons__comp_addr(&s->comp, idx + i));
	}
	xsk_ring_cons__release(&s->comp, n);
}

static void kick(struct xdp_sock *s, uint32_t *pending)
{
	if (*pending == 0) {
		return;
	}
	xsk_ring_prod__submit(&s->tx, *pending);
	*pending = 0;
	/* copy mode always needs the syscall; zero-copy when the driver asks */
	if (!s->zerocopy || xsk_ring_prod__needs_wakeup(&s->tx)) {
		/* a busy device leaves descriptors on the ring until the next
		 * kick, which on a quiet server is the next request: retry */
		for (int i = 0; i < 8; i++) {
			if (sendto(s->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0 ||
			    (errno != EAGAIN && errno != EBUSY && errno != ENOBUFS)) {
				break;
			}
		}
	}
}

static int64_t ts_to_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

/* clock_tick samples the PHC if a second has passed since the last
 * sample (one ioctl set per worker and second, never per packet); |now|
 * is CLOCK_MONOTONIC ns, read by the caller for the batch. */
static void clock_tick(struct xdp_clock *c, uint64_t now)
{
	if (c->fd < 0) {
		return;
	}
	if (now < c->next_sample) {
		return;
	}
	c->next_sample = now + XDP_PHC_INTERVAL_NS;
	struct phc_sample ps;
	if (phc_read(&ps, c->fd, &c->ext)) {
		(void)phc_fit_add(&c->fit, &ps);
	}
}

/* rx_time sets |t2| to the receive time of the frame at |p| (UMEM offset
 * |addr|) that xframe_rx_time picks from its metadata and the batch's
 * clocks |c|; counts the source. */
static void rx_time(struct xdp_sock *s, uint8_t *p, uint64_t addr, const struct xframe_clocks *c,
                    struct timespec *t2)
{
	size_t head = (size_t)(addr % XDP_FRAME_SIZE); /* the headroom before the data */
	struct xframe_meta m = {0};
	int have = xframe_meta_take(&m, p - head, head);
	enum xframe_ts_why why = XFRAME_WHY_NO_METADATA;
	int64_t ns;
	switch (
	    xframe_rx_time(&ns, &why, &m, have, s->clock->fd >= 0 ? &s->clock->fit.map : NULL, c)) {
	case XFRAME_TS_HW:
		metrics_inc(&s->stats.ts_hw);
		break;
	case XFRAME_TS_PROG:
		metrics_inc(&s->stats.ts_prog);
		break;
	default:
		metrics_inc(&s->stats.ts_batch[why]);
		break;
	}
	t2->tv_sec = ns / 1000000000;
	t2->tv_nsec = ns % 1000000000;
}

void xdp_serve(struct worker *w, struct xdp_sock *s)
{
	static _Thread_local uint8_t out[NTP_MAX_PACKET];
	for (;;) {
		uint32_t idx_rx, idx_tx = 0, pending = 0;
		uint64_t first_tx = 0;
		reclaim(s);
		uint32_t n = xsk_ring_cons__peek(&s->rx, XDP_BATCH, &idx_rx);
		if (n == 0) {
			return;
		}
		/* the receive timestamp: the packet's hardware timestamp where
		 * there is one, else the time the XDP program ran (converted
		 * from CLOCK_MONOTONIC by the clocks read here, once per
		 * batch), else when the batch is taken from the ring
		 * (docs/xdp.md states the errors) */
		struct xframe_clocks clocks;
		struct timespec batch;
		clocks.mono_before = mono_ns();
		clock_gettime(CLOCK_REALTIME, &batch);
		clocks.mono_after = mono_ns();
		clocks.real_ns = ts_to_ns(&batch);
		clock_tick(s->clock, clocks.mono_after);
		metrics_add(&s->stats.rx, n);
		for (uint32_t i = 0; i < n; i++) {
			const struct xdp_desc *d = xsk_ring_cons__rx_desc(&s->rx, idx_rx + i);
			uint64_t addr = xsk_umem__add_offset_to_addr(d->addr);
			uint8_t *p = xsk_umem__get_data(s->area, addr);
			struct timespec t2;
			rx_time(s, p, addr, &clocks, &t2);
			struct xframe f;
			if (!xframe_parse(&f, p, d->len)) {
				metrics_inc(&s->stats.invalid);
				recycle(s, d->addr);
				continue;
			}
			uint8_t *payload = p + f.l4 + 8;
			struct sockaddr_storage peer;
			xframe_peer(&peer, p, &f);
			size_t out_len =
			    resp_handle_from(w->ctx, &w->stats, (const struct sockaddr *)&peer,
			                     payload, f.payload_len, &t2, out);
			if (out_len == 0) {
				recycle(s, d->addr);
				continue;
			}
			memcpy(payload, out, out_len);
			size_t frame_len = xframe_reply(p, &f, out_len);
			if (xsk_ring_prod__reserve(&s->tx, 1, &idx_tx) != 1) {
				kick(s, &pending); /* the kernel empties the ring */
				if (xsk_ring_prod__reserve(&s->tx, 1, &idx_tx) != 1) {
					metrics_inc(&s->stats.tx_full);
					recycle(s, d->addr);
					continue;
				}
			}
			struct xdp_desc *t = xsk_ring_prod__tx_desc(&s->tx, idx_tx);
			t->addr = addr;
			t->len = (uint32_t)frame_len;
			pending++;
			metrics_inc(&s->stats.tx);
			uint64_t now = mono_ns();
			if (pending == 1) {
				first_tx = now;
			} else if (now - first_tx >= XDP_TX_DELAY_NS) {
				kick(s, &pending);
			}
		}
		xsk_ring_cons__release(&s->rx, n);
		kick(s, &pending);
		if (n < XDP_BATCH) {
			return;
		}
	}
}

/* ---- set-up ---- */

static void seterr(char *err, size_t err_len, const char *fmt, ...) NTS_PRINTF(3, 4);
static void seterr(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
}

/* libbpf's messages, at debug level; its format strings are its own */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[512];
	if (level == LIBBPF_DEBUG && log_get_level() < LOG_LVL_DEBUG) {
		return 0;
	}
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_debug("libbpf: %s", buf);
	return 0;
}
#pragma GCC diagnostic pop

/* count_rx_queues: the interface's receive queues (sysfs), or -1. */
static int count_rx_queues(const char *iface)
{
	char path[128];
	snprintf(path, sizeof(path), "/sys/class/net/%s/queues", iface);
	DIR *dir = opendir(path);
	if (dir == NULL) {
		return -1;
	}
	int n = 0;
	for (struct dirent *e; (e = readdir(dir)) != NULL;) {
		if (strncmp(e->d_name, "rx-", 3) == 0) {
			n++;
		}
	}
	closedir(dir);
	return n;
}

/* perm_hint: what to do about a refusal for want of privileges (EPERM,
 * EACCES) or of locked memory (ENOBUFS: the UMEM is charged to the user's
 * RLIMIT_MEMLOCK). The capabilities are those the kernel checks (bpf(),
 * the verifier, the link, AF_XDP sockets); docs/xdp.md. */
static const char *perm_hint(int e)
{
	if (e == EPERM || e == EACCES) {
		return " (needs root, or CAP_BPF, CAP_NET_ADMIN and CAP_NET_RAW at "
		       "start: with systemd, install the drop-in nts-responder.service.d/xdp.conf, "
		       "docs/xdp.md)";
	}
	if (e == ENOBUFS) {
		return " (the UMEM, 8 MiB per queue, counts against the locked-memory limit: raise "
		       "LimitMEMLOCK= as the drop-in nts-responder.service.d/xdp.conf does, "
		       "docs/xdp.md)";
	}
	return "";
}

static int sock_is_wildcard(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == htonl(INADDR_ANY);
	}
	return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)sa)->sin6_addr);
}

static int fill_addrs(struct bpf_object *obj, const struct sockaddr_storage *listen, int num_listen,
                      char *err, size_t err_len)
{
	int fd4 = bpf_object__find_map_fd_by_name(obj, "addrs4");
	int fd6 = bpf_object__find_map_fd_by_name(obj, "addrs6");
	uint8_t one = 1;
	for (int i = 0; i < num_listen; i++) {
		int r;
		if (listen[i].ss_family == AF_INET) {
			const struct sockaddr_in *a = (const struct sockaddr_in *)&listen[i];
			struct nts_xdp_key4 k = {.addr = a->sin_addr.s_addr, .port = a->sin_port};
			r = bpf_map_update_elem(fd4, &k, &one, BPF_ANY);
		} else {
			const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&listen[i];
			struct nts_xdp_key6 k = {.port = a->sin6_port};
			memcpy(k.addr, &a->sin6_addr, 16);
			r = bpf_map_update_elem(fd6, &k, &one, BPF_ANY);
		}
		if (r != 0) {
			seterr(err, err_len, "xdp: cannot fill the address map: %s",
			       strerror(errno));
			return 0;
		}
		if (sock_is_wildcard((const struct sockaddr *)&listen[i])) {
			log_warn(
			    "xdp: a wildcard listen address: every UDP packet to its port that "
			    "arrives on the interface is answered, also packets this host would "
			    "forward; list the addresses (docs/xdp.md)");
		}
	}
	return 1;
}

/* remove_stale detaches an nts_xdp program a crashed run attached
 * without a link (netlink); anything else attached is an error. */
static int remove_stale(struct xdp_state *x, char *err, size_t err_len)
{
	uint32_t id = 0;
	if (bpf_xdp_query_id(x->ifindex, 0, &id) != 0 || id == 0) {
		return 1;
	}
	struct bpf_prog_info info;
	uint32_t info_len = sizeof(info);
	memset(&info, 0, sizeof(info));
	int fd = bpf_prog_get_fd_by_id(id);
	if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &info_len) == 0 &&
	    strcmp(info.name, "nts_xdp") == 0 &&
	    bpf_xdp_detach(x->ifindex, XDP_FLAGS_DRV_MODE, NULL) == 0) {
		log_warn("xdp: removed a stale nts_xdp program (id %u) from %s", id, x->iface);
		close(fd);
		return 1;
	}
	if (fd >= 0) {
		close(fd);
	}
	seterr(err, err_len,
	       "xdp: %s already has an XDP program (id %u%s%s): another nts-responder, or "
	       "another tool's; see 'bpftool net show dev %s', remove it with "
	       "'ip link set dev %s xdp off' if it is stale",
	       x->iface, id, info.name[0] != '\0' ? ", " : "", info.name, x->iface, x->iface);
	return 0;
}

/* create_xsk: s's AF_XDP socket on its queue, zero-copy if the driver
 * can, else copy mode; 0 or a negative errno. */
static int create_xsk(const struct xdp_state *x, struct xdp_sock *s)
{
	struct xsk_socket_config scfg = {
	    .rx_size = XDP_RING,
	    .tx_size = XDP_RING,
	    .libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
	    .xdp_flags = XDP_FLAGS_DRV_MODE,
	    .bind_flags = XDP_ZEROCOPY | XDP_USE_NEED_WAKEUP,
	};
	int r = xsk_socket__create(&s->xsk, x->iface, s->queue, s->umem, &s->rx, &s->tx, &scfg);
	s->zerocopy = r == 0;
	if (r != 0) {
		scfg.bind_flags = XDP_COPY | XDP_USE_NEED_WAKEUP;
		r = xsk_socket__create(&s->xsk, x->iface, s->queue, s->umem, &s->rx, &s->tx, &scfg);
	}
	return r;
}

static struct xdp_sock *open_sock(struct xdp_state *x, uint32_t queue, int xsks_fd, char *err,
                                  size_t err_len)
{
	struct xdp_sock *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		seterr(err, err_len, "xdp: out of memory");
		return NULL;
	}
	s->queue = queue;
	s->fd = -1;
	size_t size = (size_t)XDP_FRAMES * XDP_FRAME_SIZE;
	s->area = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s->area == MAP_FAILED) {
		s->area = NULL;
		seterr(err, err_len, "xdp: cannot map UMEM: %s", strerror(errno));
		goto err;
	}
	const struct xsk_umem_config ucfg = {
	    .fill_size = XDP_FRAMES,
	    .comp_size = XDP_FRAMES,
	    .frame_size = XDP_FRAME_SIZE,
	    .frame_headroom = 0,
	};
	int r = xsk_umem__create(&s->umem, s->area, size, &s->fill, &s->comp, &ucfg);
	if (r != 0) {
		seterr(err, err_len, "xdp: cannot register UMEM on %s queue %u: %s%s", x->iface,
		       queue, strerror(-r), perm_hint(-r));
		goto err;
	}
	/* EBUSY: the queue is still bound to another socket. After a restart
	 * that is usually the previous process's: the kernel unbinds a closed
	 * socket's queue from a work item that takes the rtnl lock, which other
	 * interfaces and namespaces coming and going can hold for a while. */
	int waited_ms = 0;
	while ((r = create_xsk(x, s)) == -EBUSY && waited_ms < XDP_BUSY_WAIT_MS) {
		if (waited_ms == 0) {
			log_info("xdp: %s queue %u is still bound to another AF_XDP socket (a "
			         "previous run's, being released?); waiting up to %d s",
			         x->iface, queue, XDP_BUSY_WAIT_MS / 1000);
		}
		const struct timespec step = {.tv_sec = 0, .tv_nsec = 50 * 1000000L};
		nanosleep(&step, NULL);
		waited_ms += 50;
	}
	if (r != 0) {
		seterr(err, err_len, "xdp: cannot open an AF_XDP socket on %s queue %u: %s%s%s",
		       x->iface, queue, strerror(-r), perm_hint(-r),
		       r == -EBUSY ? " (another AF_XDP socket holds the queue)" : "");
		goto err;
	}
	if (waited_ms > 0) {
		log_info("xdp: %s queue %u free after %d ms", x->iface, queue, waited_ms);
	}
	s->fd = xsk_socket__fd(s->xsk);
	uint32_t idx;
	if (xsk_ring_prod__reserve(&s->fill, XDP_FRAMES, &idx) != XDP_FRAMES) {
		seterr(err, err_len, "xdp: fill ring too small"); /* our bug */
		goto err;
	}
	for (uint32_t i = 0; i < XDP_FRAMES; i++) {
		*xsk_ring_prod__fill_addr(&s->fill, idx + i) = (uint64_t)i * XDP_FRAME_SIZE;
	}
	xsk_ring_prod__submit(&s->fill, XDP_FRAMES);
	if (bpf_map_update_elem(xsks_fd, &queue, &s->fd, BPF_ANY) != 0) {
		seterr(err, err_len, "xdp: cannot add the socket of queue %u to the map: %s", queue,
		       strerror(errno));
		goto err;
	}
	return s;
err:
	if (s->xsk != NULL) {
		xsk_socket__delete(s->xsk);
	}
	if (s->umem != NULL) {
		(void)xsk_umem__delete(s->umem);
	}
	if (s->area != NULL) {
		munmap(s->area, size);
	}
	free(s);
	return NULL;
}

static void close_sock(struct xdp_sock *s)
{
	xsk_socket__delete(s->xsk);
	(void)xsk_umem__delete(s->umem);
	munmap(s->area, (size_t)XDP_FRAMES * XDP_FRAME_SIZE);
	free(s);
}

/* attach: the program on x->ifindex in driver mode, through a link. */
static int attach(struct xdp_state *x, char *err, size_t err_len)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(x->obj, "nts_xdp");
	struct bpf_link_create_opts lo;
	memset(&lo, 0, sizeof(lo)); /* what LIBBPF_OPTS does, without its GNU extension */
	lo.sz = sizeof(lo);
	lo.flags = XDP_FLAGS_DRV_MODE;
	x->link_fd = bpf_link_create(bpf_program__fd(prog), x->ifindex, BPF_XDP, &lo);
	if (x->link_fd >= 0) {
		return 1;
	}
	int e = errno;
	if (e == EOPNOTSUPP || e == EINVAL) {
		seterr(err, err_len,
		       "xdp: the driver of %s has no native XDP support (%s); use an interface "
		       "whose driver has it (docs/xdp.md), or remove the xdp directive",
		       x->iface, strerror(e));
	} else if (e == EBUSY || e == EEXIST) {
		seterr(err, err_len,
		       "xdp: %s already has an XDP program; see 'bpftool net show dev %s'",
		       x->iface, x->iface);
	} else {
		seterr(err, err_len, "xdp: cannot attach to %s: %s%s", x->iface, strerror(e),
		       perm_hint(e));
	}
	return 0;
}

/* load_hw loads the program with the receive timestamp kfunc, bound to
 * x->ifindex as the kernel requires for it (Linux 6.3+); 1, or 0 with
 * errno and nothing loaded. */
static int load_hw(struct xdp_state *x)
{
	x->obj = bpf_object__open_mem(nts_xdp_hw_obj, nts_xdp_hw_obj_len, NULL);
	if (x->obj == NULL) {
		return 0;
	}
	struct bpf_program *prog = bpf_object__find_program_by_name(x->obj, "nts_xdp");
	bpf_program__set_ifindex(prog, (uint32_t)x->ifindex);
	if (bpf_program__set_flags(prog, bpf_program__flags(prog) | BPF_F_XDP_DEV_BOUND_ONLY) ==
	        0 &&
	    bpf_object__load(x->obj) == 0) {
		return 1;
	}
	int e = errno;
	bpf_object__close(x->obj);
	x->obj = NULL;
	errno = e;
	return 0;
}

/* load_prog loads the program: the device-bound one with hardware receive
 * timestamps if the kernel takes it, else the same without them. Never
 * fails for want of timestamps. */
static int load_prog(struct xdp_state *x, int hwts, char *err, size_t err_len)
{
	if (hwts && load_hw(x)) {
		x->kfunc = 1;
		return 1;
	}
	if (hwts) {
		log_info("xdp: the kernel refused the device-bound program with receive timestamps "
		         "(%s; needs Linux 6.3+): loading it without them",
		         strerror(errno));
	}
	x->obj = bpf_object__open_mem(nts_xdp_obj, nts_xdp_obj_len, NULL);
	if (x->obj == NULL) {
		seterr(err, err_len, "xdp: cannot open the XDP program: %s", strerror(errno));
		return 0;
	}
	if (bpf_object__load(x->obj) != 0) {
		int e = errno;
		seterr(err, err_len, "xdp: the kernel refused the XDP program: %s%s", strerror(e),
		       perm_hint(e));
		return 0;
	}
	return 1;
}

/* start_clocks opens the interface's PHC (if the program can deliver
 * hardware timestamps), gives each worker its own conversion state, and
 * says once which receive timestamps are in use. */
static int start_clocks(struct xdp_state *x, int hwts, int num_workers, char *err, size_t err_len)
{
	size_t size = ((size_t)num_workers * sizeof(struct xdp_clock) + 63) & ~(size_t)63;
	x->clocks = aligned_alloc(64, size);
	if (x->clocks == NULL) {
		seterr(err, err_len, "xdp: out of memory");
		return 0;
	}
	memset(x->clocks, 0, size);
	char why[128];
	snprintf(why, sizeof(why), "%s", hwts ? "no timestamp kfunc" : "xdphwtimestamps no");
	if (x->kfunc) {
		x->phc_fd = phc_open(x->iface, why, sizeof(why));
	}
	for (int i = 0; i < num_workers; i++) {
		x->clocks[i].fd = x->phc_fd;
		x->clocks[i].ext = 1;
	}
	if (x->phc_fd >= 0) {
		log_info("xdp: receive timestamps: the driver's hardware timestamps "
		         "(bpf_xdp_metadata_rx_timestamp) converted from %s, the XDP program's "
		         "time for packets without one",
		         why);
	} else {
		log_info("xdp: receive timestamps: the XDP program's time (no hardware timestamps: "
		         "%s%s%s)",
		         why, x->kfunc ? " on " : "", x->kfunc ? x->iface : "");
	}
	return 1;
}

struct xdp_state *xdp_start(const struct xdp_config *cfg, const struct sockaddr_storage *listen,
                            int num_listen, struct worker *workers, int num_workers, char *err,
                            size_t err_len)
{
	struct xdp_state *x = calloc(1, sizeof(*x));
	if (x == NULL) {
		seterr(err, err_len, "xdp: out of memory");
		return NULL;
	}
	x->link_fd = -1;
	x->phc_fd = -1;
	memcpy(x->iface, cfg->iface, sizeof(x->iface));
	libbpf_set_print(libbpf_log);
	x->ifindex = (int)if_nametoindex(cfg->iface);
	if (x->ifindex == 0) {
		seterr(err, err_len,
		       "xdp: no interface '%s' (see 'ip link'; the program goes on the interface "
		       "the packets arrive on, not on lo)",
		       cfg->iface);
		goto err;
	}
	int nq = count_rx_queues(cfg->iface);
	if (nq <= 0) {
		nq = 1;
	}
	uint32_t queues[NTS_XDP_MAX_QUEUES];
	int num_queues = cfg->num_queues;
	if (num_queues == 0) {
		num_queues = nq < NTS_XDP_MAX_QUEUES ? nq : NTS_XDP_MAX_QUEUES;
		for (int i = 0; i < num_queues; i++) {
			queues[i] = (uint32_t)i;
		}
	} else {
		for (int i = 0; i < num_queues; i++) {
			queues[i] = cfg->queues[i];
			if ((int)queues[i] >= nq) {
				seterr(
				    err, err_len,
				    "xdp: %s has %d receive queue%s (0-%d), not queue %u; list the "
				    "queues that exist ('ethtool -l %s') or none for all",
				    cfg->iface, nq, nq == 1 ? "" : "s", nq - 1, queues[i],
				    cfg->iface);
				goto err;
			}
		}
	}
	if (num_queues > num_workers * WORKER_MAX_SOCKETS) {
		seterr(err, err_len, "xdp: too many queues for %d workers", num_workers);
		goto err;
	}
	if (!load_prog(x, cfg->hwts, err, err_len)) {
		goto err;
	}
	int stats_fd = bpf_object__find_map_fd_by_name(x->obj, "stats");
	x->prog_stats_len = (size_t)sysconf(_SC_PAGESIZE);
	void *m = mmap(NULL, x->prog_stats_len, PROT_READ, MAP_SHARED, stats_fd, 0);
	if (m == MAP_FAILED) {
		seterr(err, err_len, "xdp: cannot map the program's counters: %s", strerror(errno));
		goto err;
	}
	x->prog_stats = m;
	if (!fill_addrs(x->obj, listen, num_listen, err, err_len) ||
	    !remove_stale(x, err, err_len) || !attach(x, err, err_len)) {
		goto err;
	}
	int xsks_fd = bpf_object__find_map_fd_by_name(x->obj, "xsks");
	for (int i = 0; i < num_queues; i++) {
		struct xdp_sock *s = open_sock(x, queues[i], xsks_fd, err, err_len);
		if (s == NULL) {
			goto err;
		}
		x->socks[x->num_socks++] = s;
	}
	if (!start_clocks(x, cfg->hwts, num_workers, err, err_len)) {
		goto err;
	}
	/* only now: a worker must not see a socket of a half-started set */
	for (int i = 0; i < x->num_socks; i++) {
		struct worker *w = &workers[i % num_workers];
		x->socks[i]->clock = &x->clocks[i % num_workers];
		w->xsks[w->num_xsks++] = x->socks[i];
		log_info("xdp: %s queue %u: worker %d, %s mode", x->iface, x->socks[i]->queue,
		         i % num_workers, x->socks[i]->zerocopy ? "zero-copy" : "copy");
	}
	return x;
err:
	xdp_stop(x);
	return NULL;
}

void xdp_stop(struct xdp_state *x)
{
	if (x == NULL) {
		return;
	}
	if (x->link_fd >= 0) {
		close(x->link_fd); /* detaches the program */
	}
	for (int i = 0; i < x->num_socks; i++) {
		close_sock(x->socks[i]);
	}
	if (x->prog_stats != NULL) {
		munmap((void *)x->prog_stats, x->prog_stats_len);
	}
	if (x->phc_fd >= 0) {
		close(x->phc_fd);
	}
	free(x->clocks);
	bpf_object__close(x->obj);
	free(x);
}

static uint64_t sock_sum(const struct xdp_state *x, size_t off)
{
	uint64_t s = 0;
	for (int i = 0; x != NULL && i < x->num_socks; i++) {
		s +=
		    metrics_get((const metrics_counter *)((const char *)&x->socks[i]->stats + off));
	}
	return s;
}
#define XSUM(f) sock_sum(x, offsetof(struct xdp_sock_stats, f))

static uint64_t ts_batch_sum(const struct xdp_state *x, int why)
{
	return sock_sum(x, offsetof(struct xdp_sock_stats, ts_batch) +
	                       (size_t)why * sizeof(metrics_counter));
}

static int hwts_setup(const struct xdp_state *x, int phc)
{
	return x != NULL && (phc ? x->phc_fd >= 0 : x->kfunc);
}

static uint64_t prog_stat(const struct xdp_state *x, int i)
{
	return x != NULL ? x->prog_stats[i] : 0;
}

static int count_mode(const struct xdp_state *x, int zerocopy)
{
	int n = 0;
	for (int i = 0; x != NULL && i < x->num_socks; i++) {
		n += x->socks[i]->zerocopy == zerocopy;
	}
	return n;
}

#else /* !NTS_HAVE_XDP */

struct xdp_state {
	int unused;
};

struct xdp_state *xdp_start(const struct xdp_config *cfg, const struct sockaddr_storage *listen,
                            int num_listen, struct worker *workers, int num_workers, char *err,
                            size_t err_len)
{
	(void)cfg;
	(void)listen;
	(void)num_listen;
	(void)workers;
	(void)num_workers;
	snprintf(err, err_len,
	         "xdp: this nts-responder was built without AF_XDP support (build with "
	         "libxdp-dev, libbpf-dev and clang: meson -Dxdp=enabled)");
	return NULL;
}

void xdp_stop(struct xdp_state *x)
{
	(void)x;
}

int xdp_sock_fd(const struct xdp_sock *s)
{
	(void)s;
	abort(); /* no sockets without AF_XDP */
}

void xdp_serve(struct worker *w, struct xdp_sock *s)
{
	(void)w;
	(void)s;
	abort();
}

#define XSUM(f)            0
#define prog_stat(x, i)    ((void)(x), 0)
#define count_mode(x, z)   ((void)(x), 0)
#define ts_batch_sum(x, i) ((void)(x), (void)(i), (uint64_t)0)
#define hwts_setup(x, p)   ((void)(x), 0)

#endif

void xdp_render(const struct xdp_state *x, int configured, struct metrics_buf *b)
{
	metrics_family(b, "nts_responder_xdp_active", "gauge",
	               "1 if the AF_XDP fast path is attached (the xdp directive).");
	metrics_sample(b, "nts_responder_xdp_active", NULL, x != NULL);
	metrics_family(b, "nts_responder_xdp_fallback", "gauge",
	               "1 if xdp is configured but failed and the responder serves from sockets "
	               "(xdpfallback yes).");
	metrics_sample(b, "nts_responder_xdp_fallback", NULL, configured && x == NULL);
	metrics_family(b, "nts_responder_xdp_sockets", "gauge", "AF_XDP sockets by mode.");
	metrics_sample(b, "nts_responder_xdp_sockets", "mode=\"zerocopy\"",
	               (uint64_t)count_mode(x, 1));
	metrics_sample(b, "nts_responder_xdp_sockets", "mode=\"copy\"", (uint64_t)count_mode(x, 0));
	metrics_family(b, "nts_responder_xdp_rx_timestamp_setup", "gauge",
	               "1 for each part of hardware receive timestamps the AF_XDP path has: "
	               "kfunc (the device-bound program), phc (the NIC's clock, to convert).");
	metrics_sample(b, "nts_responder_xdp_rx_timestamp_setup", "part=\"kfunc\"",
	               (uint64_t)hwts_setup(x, 0));
	metrics_sample(b, "nts_responder_xdp_rx_timestamp_setup", "part=\"phc\"",
	               (uint64_t)hwts_setup(x, 1));
	uint64_t batch = 0;
	for (int i = 0; i < XFRAME_WHY_MAX; i++) {
		batch += ts_batch_sum(x, i);
	}
	metrics_family(b, "nts_responder_xdp_rx_timestamps_total", "counter",
	               "Receive timestamps (T2) of AF_XDP packets by source: hardware, program "
	               "(the XDP program's time), or batch (the time the batch was taken from "
	               "the ring).");
	metrics_sample(b, "nts_responder_xdp_rx_timestamps_total", "source=\"batch\"", batch);
	metrics_sample(b, "nts_responder_xdp_rx_timestamps_total", "source=\"hardware\"",
	               XSUM(ts_hw));
	metrics_sample(b, "nts_responder_xdp_rx_timestamps_total", "source=\"program\"",
	               XSUM(ts_prog));
	metrics_family(b, "nts_responder_xdp_rx_timestamp_batch_total", "counter",
	               "AF_XDP packets timestamped with the batch time, by why neither in hardware "
	               "nor by the XDP program.");
	for (int i = 0; i < XFRAME_WHY_MAX; i++) {
		char label[48];
		snprintf(label, sizeof(label), "reason=\"%s\"", ts_why_names[i]);
		metrics_sample(b, "nts_responder_xdp_rx_timestamp_batch_total", label,
		               ts_batch_sum(x, i));
	}
	metrics_family(b, "nts_responder_xdp_packets_total", "counter",
	               "Frames taken from (rx) and put on (tx) the AF_XDP rings.");
	metrics_sample(b, "nts_responder_xdp_packets_total", "dir=\"rx\"", XSUM(rx));
	metrics_sample(b, "nts_responder_xdp_packets_total", "dir=\"tx\"", XSUM(tx));
	metrics_family(b, "nts_responder_xdp_drops_total", "counter",
	               "AF_XDP frames dropped before or after resp_handle, by reason.");
	metrics_sample(b, "nts_responder_xdp_drops_total", "reason=\"invalid\"", XSUM(invalid));
	metrics_sample(b, "nts_responder_xdp_drops_total", "reason=\"tx_full\"", XSUM(tx_full));
	metrics_family(b, "nts_responder_xdp_program_packets_total", "counter",
	               "Verdicts of the XDP program on UDP: redirect (to the queue's socket) "
	               "or pass_odd (options, fragments, bad lengths: to the kernel).");
	metrics_sample(b, "nts_responder_xdp_program_packets_total", "verdict=\"redirect\"",
	               prog_stat(x, NTS_XDP_STAT_REDIRECT));
	metrics_sample(b, "nts_responder_xdp_program_packets_total", "verdict=\"pass_odd\"",
	               prog_stat(x, NTS_XDP_STAT_PASS_ODD));
}
