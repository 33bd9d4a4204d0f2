/*
 * sync.c: the responder's synchronisation state (see sync.h).
 */
#include "ntp-responder/sync.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>

#include <openssl/rand.h>

#include "common/config.h"
#include "common/log.h"

#define POLL_MS        16000
#define MAX_UNANSWERED 3

static int64_t mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void publish(struct sync_source *s, const struct sync_state *st)
{
	struct sync_state *b = &s->bufs[s->next_buf];
	s->next_buf = (s->next_buf + 1) % 4;
	*b = *st;
	atomic_store_explicit(&s->ctx->sync, b, memory_order_release);
}

void sync_update(struct sync_source *s)
{
	struct sync_state st;
	struct timespec now;

	memset(&st, 0, sizeof(st));
	clock_gettime(CLOCK_REALTIME, &now);
	if (s->cfg.mode == SYNC_STATIC) {
		st.synchronised = 1;
		st.leap = NTP_LI_NONE;
		st.stratum = s->cfg.static_stratum;
		st.refid = s->cfg.static_refid;
		st.reference_ts = ntp_ts_from_timespec(&now);
		publish(s, &st);
		return;
	}
	struct timex tx;
	memset(&tx, 0, sizeof(tx));
	int state = ntp_adjtime(&tx);
	if (state == TIME_ERROR || (tx.status & STA_UNSYNC)) {
		snprintf(st.reason, sizeof(st.reason), "kernel clock not synchronised");
	} else if (!s->have_daemon || s->polls_unanswered >= MAX_UNANSWERED) {
		snprintf(st.reason, sizeof(st.reason), "local time daemon not answering");
	} else if (s->daemon.leap == NTP_LI_UNSYNC || s->daemon.stratum == 0 ||
	           s->daemon.stratum >= NTP_STRATUM_UNSYNC) {
		snprintf(st.reason, sizeof(st.reason), "local time daemon not synchronised");
	} else {
		st.synchronised = 1;
		st.leap = s->daemon.leap;
		if (tx.status & STA_INS) {
			st.leap = NTP_LI_INS;
		} else if (tx.status & STA_DEL) {
			st.leap = NTP_LI_DEL;
		}
		st.stratum = s->daemon.stratum;
		st.refid = s->daemon.refid;
		st.root_delay = s->daemon.root_delay;
		/* the daemon's dispersion, plus the kernel's own error bound */
		double disp =
		    ntp_short_to_double(s->daemon.root_dispersion) + (double)tx.esterror * 1e-6;
		st.root_dispersion = ntp_short_from_double(disp);
		st.reference_ts = s->daemon.reference_ts;
	}
	if (!st.synchronised && s->have_daemon) {
		st.refid = s->daemon.refid;
	}
	publish(s, &st);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static uint8_t rx[NTP_MAX_PACKET];
	(void)h;
	(void)suggested;
	*buf = uv_buf_init((char *)rx, sizeof(rx));
}

static void on_recv(uv_udp_t *u, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from,
                    unsigned flags)
{
	struct sync_source *s = u->data;
	struct ntp_header h;
	CBS c;
	(void)flags;
	if (n < NTP_HEADER_LEN || from == NULL) {
		return;
	}
	CBS_init(&c, (const uint8_t *)buf->base, (size_t)n);
	/* only the first answer to our last request counts (origin = our
	 * transmit); the socket is connected, so it came from the source */
	if (!ntp_header_parse(&h, &c) || h.mode != NTP_MODE_SERVER || s->last_tx == 0 ||
	    h.origin_ts != s->last_tx) {
		return;
	}
	s->last_tx = 0;
	s->daemon = h;
	s->have_daemon = 1;
	s->polls_unanswered = 0;
	s->last_reply = mono_s();
	metrics_inc(&s->replies);
	sync_update(s);
}

static void poll_daemon(uv_timer_t *t)
{
	struct sync_source *s = t->data;
	uint8_t pkt[NTP_HEADER_LEN];
	struct ntp_header h = {.version = 4, .mode = NTP_MODE_CLIENT};
	struct wbuf w;

	if (s->have_daemon || s->polls > 0) {
		s->polls_unanswered++;
	}
	/* a random transmit timestamp: the reply must echo it */
	RAND_bytes((uint8_t *)&s->last_tx, sizeof(s->last_tx));
	h.transmit_ts = s->last_tx;
	wbuf_init(&w, pkt, sizeof(pkt));
	if (!ntp_header_build(&w, &h)) {
		return;
	}
	uv_buf_t b = uv_buf_init((char *)pkt, sizeof(pkt));
	metrics_inc(&s->polls);
	/* uv_udp_try_send on the connected socket is one sendmsg(2): unlike
	 * uv_udp_send it never queues, and never runs libuv's lazy set-up
	 * (libuv 1.44 probes sendmmsg with a new socket on the first queued
	 * send, which the seccomp filter refuses) */
	if (uv_udp_try_send(&s->udp, &b, 1, NULL) != (int)sizeof(pkt)) {
		LOG_RL_WARN("cannot poll the local time daemon");
	}
}

/* sync_open binds the poll socket to the loopback address of the source's
 * family if the source is on loopback (the wildcard otherwise) and connects
 * it to the source: the kernel then only delivers datagrams from there.
 * Called before the sandbox, which refuses new sockets. */
static int sync_open(struct sync_source *s, uv_loop_t *loop)
{
	struct sockaddr_storage local = {0};
	const struct sockaddr *to = (const struct sockaddr *)&s->cfg.daemon;
	local.ss_family = to->sa_family;
	if (to->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)to;
		if ((ntohl(a->sin_addr.s_addr) >> 24) == 127) {
			((struct sockaddr_in *)&local)->sin_addr = a->sin_addr;
		}
	} else if (to->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)to;
		if (IN6_IS_ADDR_LOOPBACK(&a->sin6_addr)) {
			((struct sockaddr_in6 *)&local)->sin6_addr = a->sin6_addr;
		}
	} else {
		return 0;
	}
	if (uv_udp_init(loop, &s->udp) != 0) {
		return 0;
	}
	s->udp.data = s;
	s->open = 1;
	int err = uv_udp_bind(&s->udp, (const struct sockaddr *)&local, 0);
	if (err == 0) {
		err = uv_udp_connect(&s->udp, to);
	}
	if (err == 0) {
		err = uv_udp_recv_start(&s->udp, on_alloc, on_recv);
	}
	if (err != 0) {
		char a[64];
		log_err("syncsource ntp %s: %s",
		        cfg_sockaddr_str(a, sizeof(a), (const struct sockaddr *)to),
		        uv_strerror(err));
		return 0;
	}
	return 1;
}

int sync_start(struct sync_source *s, uv_loop_t *loop, struct resp_ctx *ctx,
               const struct sync_config *cfg)
{
	s->cfg = *cfg;
	s->ctx = ctx;
	sync_update(s);
	if (cfg->mode == SYNC_STATIC) {
		return 1;
	}
	if (!sync_open(s, loop)) {
		return 0;
	}
	uv_timer_init(loop, &s->timer);
	s->timer.data = s;
	s->timer_open = 1;
	uv_timer_start(&s->timer, poll_daemon, 0, POLL_MS);
	return 1;
}

void sync_stop(struct sync_source *s)
{
	if (s->cfg.mode == SYNC_STATIC) {
		return;
	}
	if (s->timer_open) {
		uv_timer_stop(&s->timer);
		uv_close((uv_handle_t *)&s->timer, NULL);
	}
	if (s->open) {
		uv_close((uv_handle_t *)&s->udp, NULL);
	}
}
