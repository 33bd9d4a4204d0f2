/*
 * conn.c: the NTS-KE connection state machine: accept (with the global
 * and per-source caps), TLS through memory BIOs, read the request, write,
 * close on the deadline.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/siphash.h>

#include "common/log.h"
#include "ke-server/conn.h"

struct wreq {
	uv_write_t req;
	struct ke_conn *c;
	int last;
	size_t len;
	uint8_t data[];
};

uint64_t ke_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void conn_freed(uv_handle_t *h)
{
	struct ke_conn *c = h->data;
	if (--c->handles_open > 0) {
		return;
	}
	SSL_free(c->ssl); /* frees the BIOs */
	ke_tls_unref(c->tls);
	free(c);
}

/* drain_finish: once a stopping worker has no connection left, close its
 * signer link so that the loop can end. In-flight keyless handshakes keep
 * the link until they finish or reach their deadline. */
void ke_drain_finish(struct ke_worker *w)
{
	if (atomic_load(&w->srv->stop) && w->conns.first == NULL && w->srv->cfg.signer[0] != '\0' &&
	    !w->signer.closing) {
		ke_signer_close(&w->signer);
	}
}

void ke_conn_close(struct ke_conn *c)
{
	struct ke_worker *w = c->w;
	struct ke_server *srv = w->srv;
	if (c->state == CONN_CLOSING) {
		return;
	}
	c->state = CONN_CLOSING;
	list_remove(&w->conns, &c->link);
	if (c->counted) {
		atomic_fetch_sub(&srv->open_connections, 1);
		atomic_fetch_sub(&srv->per_source[c->source_slot], 1);
		c->counted = 0;
	}
	if (c->sign == SIGN_PENDING) {
		ke_signer_cancel(&w->signer, c->sign_ticket);
		c->sign = SIGN_FAILED;
	}
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->timer, conn_freed);
	uv_close((uv_handle_t *)&c->tcp, conn_freed);
	ke_drain_finish(w);
}

static void on_written(uv_write_t *req, int status)
{
	struct wreq *wr = (struct wreq *)req;
	struct ke_conn *c = wr->c;
	if ((status < 0 || wr->last) && c->state != CONN_CLOSING) {
		ke_conn_close(c);
	}
	free(wr);
}

/* flush sends what TLS produced; |last| closes the connection once sent. */
void ke_conn_flush(struct ke_conn *c, int last)
{
	size_t pending = BIO_pending(c->wbio);
	if (pending == 0) {
		if (last) {
			ke_conn_close(c);
		}
		return;
	}
	struct wreq *wr = malloc(sizeof(*wr) + pending);
	if (wr == NULL) {
		ke_conn_close(c);
		return;
	}
	int n = BIO_read(c->wbio, wr->data, (int)pending);
	if (n <= 0) {
		free(wr);
		ke_conn_close(c);
		return;
	}
	wr->c = c;
	wr->last = last;
	wr->len = (size_t)n;
	uv_buf_t b = uv_buf_init((char *)wr->data, (unsigned)n);
	if (uv_write(&wr->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
		free(wr);
		ke_conn_close(c);
	}
}

/* handshake advances the TLS handshake: 1 once it is done with ntske/1
 * agreed (the connection is then reading the request), else 0 (waiting, or
 * the connection is closing). */
static int handshake(struct ke_conn *c)
{
	struct ke_stats *st = &c->w->stats;
	int r = SSL_do_handshake(c->ssl);
	if (r != 1) {
		int e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_PRIVATE_KEY_OPERATION) {
			/* keep ServerHello..Certificate until the signature
			 * is there: one write for the whole flight. Read
			 * nothing meanwhile: TLS consumes nothing until the
			 * signature is there, so whatever came would pile up
			 * (the kernel's socket buffer holds the client back) */
			(void)ke_conn_set_reading(c, 0);
			return 0;
		}
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			ke_conn_flush(c, 0);
			return 0;
		}
		if (c->signer_failed) {
			/* BoringSSL does not alert on a failed key
			 * operation: tell the client why we give up */
			ERR_clear_error();
			(void)SSL_send_fatal_alert(c->ssl, SSL_AD_INTERNAL_ERROR);
			metrics_inc(&st->signer_failure);
			LOG_RL_WARN("handshake failed: no signature from the signer");
		} else {
			metrics_inc(&st->tls_error);
		}
		ERR_clear_error();
		ke_conn_flush(c, 1); /* send the alert, then close */
		return 0;
	}
	const uint8_t *proto;
	unsigned proto_len;
	SSL_get0_alpn_selected(c->ssl, &proto, &proto_len);
	if (proto_len == 0) {
		/* no ALPN: no NTS-KE response */
		metrics_inc(&st->alpn_missing);
		ke_conn_flush(c, 1);
		return 0;
	}
	c->state = CONN_READING;
	ke_conn_flush(c, 0);
	return 1;
}

/* read_request reads what TLS has of the request and answers it once End of
 * Message is in. */
static void read_request(struct ke_conn *c)
{
	struct ke_stats *st = &c->w->stats;
	const struct ke_config *cfg = &c->w->srv->cfg;
	for (;;) {
		if (c->req_len == cfg->max_request) {
			metrics_inc(&st->too_large);
			ke_conn_close(c);
			return;
		}
		int n = SSL_read(c->ssl, c->req + c->req_len, (int)(cfg->max_request - c->req_len));
		if (n <= 0) {
			int e = SSL_get_error(c->ssl, n);
			if (e == SSL_ERROR_WANT_READ) {
				break;
			}
			if (e != SSL_ERROR_ZERO_RETURN) {
				metrics_inc(&st->tls_error);
			} else {
				metrics_inc(&st->bad_request); /* closed before End of Message */
			}
			ERR_clear_error();
			ke_conn_close(c);
			return;
		}
		c->req_len += (size_t)n;
		/* scan only the records that arrived since the last read: a
		 * request trickled in tiny TLS records costs linear time */
		CBS in;
		struct ntske_record rec;
		CBS_init(&in, c->req + c->scan_off, c->req_len - c->scan_off);
		while (ntske_record_next(&in, &rec)) {
			c->scan_off = c->req_len - CBS_len(&in);
			if (rec.type == NTSKE_REC_END) {
				c->state = CONN_WRITING;
				ke_respond(c, c->scan_off);
				return;
			}
		}
	}
	ke_conn_flush(c, 0);
}

void ke_conn_drive(struct ke_conn *c)
{
	if (c->state == CONN_HANDSHAKE && !handshake(c)) {
		return;
	}
	if (c->state == CONN_READING) {
		read_request(c);
	}
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static _Thread_local char rbuf[16384];
	(void)h;
	(void)suggested;
	*buf = uv_buf_init(rbuf, sizeof(rbuf));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

/* set_reading starts or stops reading the socket; 0 if it cannot start */
int ke_conn_set_reading(struct ke_conn *c, int on)
{
	if (on == c->reading) {
		return 1;
	}
	if (on) {
		if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
			return 0;
		}
	} else {
		uv_read_stop((uv_stream_t *)&c->tcp);
	}
	c->reading = on;
	return 1;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct ke_conn *c = s->data;
	if (n < 0) {
		if (c->state == CONN_HANDSHAKE || c->state == CONN_READING) {
			metrics_inc(&c->w->stats.bad_request);
		}
		ke_conn_close(c);
		return;
	}
	if (n == 0 || c->state == CONN_CLOSING || c->state == CONN_WRITING) {
		return;
	}
	if (BIO_pending(c->rbio) + (size_t)n > KE_MAX_UNREAD) {
		/* TLS is not consuming what the client sends */
		metrics_inc(&c->w->stats.too_large);
		ke_conn_close(c);
		return;
	}
	if (BIO_write(c->rbio, buf->base, (int)n) != (int)n) {
		ke_conn_close(c);
		return;
	}
	ke_conn_drive(c);
}

static void on_deadline(uv_timer_t *t)
{
	struct ke_conn *c = t->data;
	metrics_inc(&c->w->stats.timeout);
	ke_conn_close(c);
}

/* conn_ms_left: what is left of the connection's deadline (at least 1) */
uint64_t ke_conn_ms_left(const struct ke_conn *c)
{
	uint64_t deadline = c->w->srv->cfg.deadline_ms;
	uint64_t spent = (ke_mono_ns() - c->start_ns) / 1000000u;
	return spent < deadline ? deadline - spent : 1;
}

void ke_conn_restart_deadline(struct ke_conn *c)
{
	uv_timer_start(&c->timer, on_deadline, ke_conn_ms_left(c), 0);
}

static uint32_t source_slot(const struct ke_server *srv, const struct sockaddr_storage *ss)
{
	uint8_t key[16];
	uint64_t k[2];
	size_t len = 0;
	memcpy(k, srv->source_salt, sizeof(k));
	if (ss->ss_family == AF_INET) {
		memcpy(key, &((const struct sockaddr_in *)ss)->sin_addr, 4);
		len = 4;
	} else {
		/* IPv6 clients are counted per /64 */
		memcpy(key, &((const struct sockaddr_in6 *)ss)->sin6_addr, 8);
		len = 8;
	}
	return (uint32_t)(SIPHASH_24(k, key, len) % KE_SOURCE_SLOTS);
}

/* admit applies the access list, the handshake rate limit, the
 * per-source cap and the connection cap to the accepted |c| from |peer|,
 * before any TLS work. Returns 0 if |c| must be closed (counted). */
static int admit(struct ke_conn *c, const struct sockaddr_storage *peer)
{
	struct ke_worker *w = c->w;
	struct ke_server *srv = w->srv;
	const struct ke_config *cfg = &srv->cfg;
	int evicted = 0;

	switch (
	    rl_policy_check(&srv->policy, (const struct sockaddr *)peer, ke_mono_ns(), &evicted)) {
	case RL_DENIED:
		metrics_inc(&w->stats.denied);
		return 0;
	case RL_LIMITED:
		metrics_inc(&w->stats.rate_limited);
		return 0;
	case RL_PASS:
	default:
		break;
	}
	c->source_slot = source_slot(srv, peer);
	if (atomic_fetch_add(&srv->per_source[c->source_slot], 1) >= cfg->max_per_source) {
		atomic_fetch_sub(&srv->per_source[c->source_slot], 1);
		metrics_inc(&w->stats.source_limited);
		return 0;
	}
	if (atomic_fetch_add(&srv->open_connections, 1) >= cfg->max_connections) {
		/* shed the oldest connection of this worker to make room: idle
		 * and slow clients go first, new clients keep being served */
		struct ke_conn *oldest = LIST_ENTRY(w->conns.first, struct ke_conn, link);
		metrics_inc(&w->stats.overload_shed);
		if (oldest == NULL || oldest == c) {
			atomic_fetch_sub(&srv->open_connections, 1);
			atomic_fetch_sub(&srv->per_source[c->source_slot], 1);
			return 0;
		}
		ke_conn_close(oldest);
	}
	c->counted = 1;
	return 1;
}

/* start_tls gives the admitted |c| its TLS state (the certificate set in
 * use, with a reference) and starts the handshake deadline and reading. */
static int start_tls(struct ke_conn *c)
{
	struct ke_worker *w = c->w;
	struct ke_server *srv = w->srv;

	c->tls = ke_tls_acquire(srv);
	c->ssl = c->tls != NULL ? SSL_new(c->tls->ctx[0]) : NULL;
	c->rbio = BIO_new(BIO_s_mem());
	c->wbio = BIO_new(BIO_s_mem());
	if (c->ssl == NULL || c->rbio == NULL || c->wbio == NULL) {
		BIO_free(c->rbio);
		BIO_free(c->wbio);
		metrics_inc(&w->stats.internal_error);
		return 0;
	}
	SSL_set_bio(c->ssl, c->rbio, c->wbio);
	SSL_set_app_data(c->ssl, c);
	SSL_set_accept_state(c->ssl);
	uv_tcp_nodelay(&c->tcp, 1);
	uv_timer_start(&c->timer, on_deadline, srv->cfg.deadline_ms, 0);
	return ke_conn_set_reading(c, 1);
}

void ke_on_connection(uv_stream_t *ls, int status)
{
	struct ke_worker *w = ls->data;
	struct ke_conn *c;
	struct sockaddr_storage peer;
	int plen = sizeof(peer);

	if (status < 0) {
		return;
	}
	c = calloc(1, sizeof(*c) + w->srv->cfg.max_request);
	if (c == NULL) {
		return;
	}
	c->w = w;
	c->start_ns = ke_mono_ns();
	uv_tcp_init(&w->loop, &c->tcp);
	uv_timer_init(&w->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	c->handles_open = 2;
	c->state = CONN_HANDSHAKE;
	/* link first so that conn_close can always unlink */
	list_append(&w->conns, &c->link);
	if (uv_accept(ls, (uv_stream_t *)&c->tcp) != 0) {
		ke_conn_close(c);
		return;
	}
	metrics_inc(&w->stats.accepted);
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&peer, &plen) != 0) {
		ke_conn_close(c);
		return;
	}
	c->ipv6 = peer.ss_family == AF_INET6;
	if (!admit(c, &peer) || !start_tls(c)) {
		ke_conn_close(c);
	}
}
