/*
 * metrics.c: Prometheus text rendering helpers and the HTTP endpoint.
 */
#include "common/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/list.h"
#include "common/log.h"

/* Connection bounds. A full table never refuses a newcomer: the oldest
 * connection still waiting for its request is closed instead (see
 * make_room), so a flood only ever costs the flooder's own connections.
 * The table is large (256 connections, about 1.1 MB when full) because a
 * newcomer survives a flood for as long as the flood takes to open
 * MAX_CONNS connections after it, and a scraper needs that long for its
 * request to arrive: with 64, a /health probe under ASan on a loaded
 * machine was evicted before its request came. The per-peer bound applies
 * to remote peers only: every local user is the same loopback peer, so a
 * bound there would only let one of them evict another sooner. */
#define MAX_CONNS           256
#define MAX_PER_PEER        16
#define REQUEST_DEADLINE_MS 2000 /* to receive the whole request */
#define WRITE_DEADLINE_MS   5000 /* to take the response */

void metrics_buf_printf(struct metrics_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed) {
		return;
	}
	for (;;) {
		size_t room = b->cap - b->len;
		va_start(ap, fmt);
		n = vsnprintf(b->data != NULL ? b->data + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap == 0 ? 4096 : b->cap * 2;
		while (cap - b->len <= (size_t)n) {
			cap *= 2;
		}
		char *p = realloc(b->data, cap);
		if (p == NULL) {
			b->failed = 1;
			return;
		}
		b->data = p;
		b->cap = cap;
	}
}

void metrics_family(struct metrics_buf *b, const char *name, const char *type, const char *help)
{
	metrics_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metrics_sample(struct metrics_buf *b, const char *name, const char *labels, uint64_t v)
{
	if (labels != NULL && labels[0] != '\0') {
		metrics_buf_printf(b, "%s{%s} %llu\n", name, labels, (unsigned long long)v);
	} else {
		metrics_buf_printf(b, "%s %llu\n", name, (unsigned long long)v);
	}
}

void metrics_sample_double(struct metrics_buf *b, const char *name, const char *labels, double v)
{
	if (labels != NULL && labels[0] != '\0') {
		metrics_buf_printf(b, "%s{%s} %.9g\n", name, labels, v);
	} else {
		metrics_buf_printf(b, "%s %.9g\n", name, v);
	}
}

void metrics_label_value(char *out, size_t out_len, const char *in)
{
	size_t n = 0;
	if (out_len == 0) {
		return;
	}
	for (; *in != '\0'; in++) {
		const char *rep = *in == '\\'   ? "\\\\"
		                  : *in == '"'  ? "\\\""
		                  : *in == '\n' ? "\\n"
		                                : NULL;
		size_t rlen = rep != NULL ? 2 : 1;
		if (n + rlen >= out_len) {
			break;
		}
		if (rep != NULL) {
			memcpy(out + n, rep, 2);
		} else {
			out[n] = *in;
		}
		n += rlen;
	}
	out[n] = '\0';
}

void metrics_hist_observe(struct metrics_hist *h, const uint64_t *bounds_ns, uint64_t ns)
{
	size_t i = 0;
	while (i < METRICS_HIST_BUCKETS && ns > bounds_ns[i]) {
		i++;
	}
	metrics_inc(&h->bucket[i]);
	metrics_inc(&h->count);
	metrics_add(&h->sum_ns, ns);
}

void metrics_hist_render(struct metrics_buf *b, const char *name, const char *labels,
                         const uint64_t *bounds_ns, const struct metrics_hist *const *hs,
                         size_t num)
{
	uint64_t cum = 0, count = 0, sum = 0;
	const char *sep = labels != NULL && labels[0] != '\0' ? "," : "";
	const char *lab = labels != NULL ? labels : "";

	for (size_t i = 0; i <= METRICS_HIST_BUCKETS; i++) {
		for (size_t t = 0; t < num; t++) {
			cum += metrics_get(&hs[t]->bucket[i]);
		}
		if (i < METRICS_HIST_BUCKETS) {
			metrics_buf_printf(b, "%s_bucket{%s%sle=\"%.9g\"} %llu\n", name, lab, sep,
			                   (double)bounds_ns[i] / 1e9, (unsigned long long)cum);
		} else {
			metrics_buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, lab, sep,
			                   (unsigned long long)cum);
		}
	}
	for (size_t t = 0; t < num; t++) {
		count += metrics_get(&hs[t]->count);
		sum += metrics_get(&hs[t]->sum_ns);
	}
	if (lab[0] != '\0') {
		metrics_buf_printf(b, "%s_sum{%s} %.9g\n%s_count{%s} %llu\n", name, lab,
		                   (double)sum / 1e9, name, lab, (unsigned long long)count);
	} else {
		metrics_buf_printf(b, "%s_sum %.9g\n%s_count %llu\n", name, (double)sum / 1e9, name,
		                   (unsigned long long)count);
	}
}

/* ---- HTTP request parser ---------------------------------------------- */

static int is_path(const uint8_t *p, size_t len, const char *want)
{
	size_t n = strlen(want);
	return len == n && memcmp(p, want, n) == 0;
}

enum metrics_req metrics_parse_request(const uint8_t *req, size_t len)
{
	size_t end = 0;
	int complete = 0;

	/* The header ends at the first empty line (CRLF CRLF, or bare LF LF). */
	for (size_t i = 0; i < len && !complete; i++) {
		if (req[i] != '\n') {
			continue;
		}
		if (i >= 1 && req[i - 1] == '\n') {
			complete = 1;
		} else if (i >= 3 && memcmp(req + i - 3, "\r\n\r", 3) == 0) {
			complete = 1;
		}
		end = i + 1;
	}
	if (!complete) {
		return len >= METRICS_MAX_REQUEST ? METRICS_REQ_TOO_LARGE : METRICS_REQ_INCOMPLETE;
	}
	if (end < 4 || memcmp(req, "GET ", 4) != 0) {
		return METRICS_REQ_BAD;
	}
	const uint8_t *path = req + 4;
	size_t plen = 0;
	while (4 + plen < end && path[plen] != ' ' && path[plen] != '\r' && path[plen] != '\n' &&
	       path[plen] != '?') {
		plen++;
	}
	if (is_path(path, plen, "/metrics") || is_path(path, plen, "/")) {
		return METRICS_REQ_METRICS;
	}
	if (is_path(path, plen, "/health")) {
		return METRICS_REQ_HEALTH;
	}
	return METRICS_REQ_NOT_FOUND;
}

/* ---- HTTP endpoint ----------------------------------------------------- */

struct conn;

struct metrics_server {
	uv_tcp_t listener;
	metrics_render_fn render;
	metrics_health_fn health;
	void *arg;
	struct list conns; /* open connections, oldest first, closing ones included */
	int num_live;      /* not closing */
	int stopping;
	int listener_closed;
};

/* A peer: IPv4 address, IPv6 /64, or "loopback" for 127/8 and ::1. Every
 * local user is the same peer, so the per-peer limit alone cannot keep one
 * local user from starving another; what does is that reaching a limit
 * closes the peer's oldest waiting connection, never the newcomer. */
struct peer {
	uint8_t family; /* 0 unknown, 4, 6, or 1 for loopback */
	uint8_t addr[8];
};

struct conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_write_t wr;
	struct metrics_server *srv;
	struct list_link link; /* in srv->conns */
	struct peer peer;
	struct metrics_buf resp;
	size_t req_len;
	int handles_open;
	int closing;
	int responded;
	uint8_t req[METRICS_MAX_REQUEST];
};

static struct conn *first_conn(const struct metrics_server *s)
{
	return LIST_ENTRY(s->conns.first, struct conn, link);
}

static struct conn *next_conn(const struct conn *c)
{
	return LIST_ENTRY(c->link.next, struct conn, link);
}

static void server_maybe_free(struct metrics_server *s)
{
	if (s->stopping && s->listener_closed && s->conns.num == 0) {
		free(s);
	}
}

static void conn_handle_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	if (--c->handles_open > 0) {
		return;
	}
	struct metrics_server *s = c->srv;
	list_remove(&s->conns, &c->link);
	free(c->resp.data);
	free(c);
	server_maybe_free(s);
}

static void conn_close(struct conn *c)
{
	if (c->closing) {
		return;
	}
	c->closing = 1;
	c->srv->num_live--;
	uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
	uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
}

static void on_timeout(uv_timer_t *t)
{
	conn_close(t->data);
}

static void on_written(uv_write_t *w, int status)
{
	(void)status;
	conn_close(w->data);
}

static void respond(struct conn *c, int code, const char *reason, const char *ctype,
                    const char *body, size_t body_len)
{
	struct metrics_buf out = {0};

	c->responded = 1;
	uv_read_stop((uv_stream_t *)&c->tcp);
	uv_timer_start(&c->timer, on_timeout, WRITE_DEADLINE_MS, 0);
	metrics_buf_printf(&out,
	                   "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	                   "Connection: close\r\n\r\n%.*s",
	                   code, reason, ctype, body_len, (int)body_len, body);
	free(c->resp.data);
	c->resp = out; /* lives until the connection is freed */
	if (out.failed) {
		conn_close(c);
		return;
	}
	uv_buf_t buf = uv_buf_init(c->resp.data, (unsigned)c->resp.len);
	c->wr.data = c;
	if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &buf, 1, on_written) != 0) {
		conn_close(c);
	}
}

/* conn_input looks at the request received so far and answers it once it
 * is complete (or hopeless). */
static void conn_input(struct conn *c)
{
	struct metrics_server *s = c->srv;
	static const char notfound[] = "not found\n";
	static const char badreq[] = "bad request\n";
	static const char big[] = "request too large\n";
	const char *ctype = "text/plain";
	int ok = 1;

	switch (metrics_parse_request(c->req, c->req_len)) {
	case METRICS_REQ_INCOMPLETE:
		return;
	case METRICS_REQ_TOO_LARGE:
		respond(c, 431, "Request Header Fields Too Large", "text/plain", big,
		        sizeof(big) - 1);
		return;
	case METRICS_REQ_BAD:
		respond(c, 400, "Bad Request", "text/plain", badreq, sizeof(badreq) - 1);
		return;
	case METRICS_REQ_METRICS:
		s->render(s->arg, &c->resp);
		ctype = "text/plain; version=0.0.4";
		break;
	case METRICS_REQ_HEALTH:
		if (s->health == NULL) {
			respond(c, 404, "Not Found", "text/plain", notfound, sizeof(notfound) - 1);
			return;
		}
		ok = s->health(s->arg, &c->resp);
		break;
	case METRICS_REQ_NOT_FOUND:
	default:
		respond(c, 404, "Not Found", "text/plain", notfound, sizeof(notfound) - 1);
		return;
	}
	if (c->resp.failed) {
		respond(c, 500, "Internal Server Error", "text/plain", "", 0);
		return;
	}
	respond(c, ok ? 200 : 503, ok ? "OK" : "Service Unavailable", ctype,
	        c->resp.data != NULL ? c->resp.data : "", c->resp.len);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn *c = h->data;
	(void)suggested;
	*buf = uv_buf_init((char *)c->req + c->req_len, (unsigned)(sizeof(c->req) - c->req_len));
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = st->data;
	(void)buf;
	if (nread < 0) {
		conn_close(c);
		return;
	}
	c->req_len += (size_t)nread;
	conn_input(c);
}

static void peer_of(struct conn *c)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	struct peer *p = &c->peer;

	memset(p, 0, sizeof(*p));
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0) {
		return;
	}
	if (ss.ss_family == AF_INET6) {
		const uint8_t *a = ((struct sockaddr_in6 *)&ss)->sin6_addr.s6_addr;
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		if (memcmp(a, mapped, 12) == 0) {
			p->family = a[12] == 127 ? 1 : 4;
			memcpy(p->addr, a + 12, p->family == 4 ? 4 : 0);
		} else if (IN6_IS_ADDR_LOOPBACK((const struct in6_addr *)a)) {
			p->family = 1;
		} else {
			p->family = 6;
			memcpy(p->addr, a, 8); /* one /64 */
		}
	} else if (ss.ss_family == AF_INET) {
		const uint8_t *a = (const uint8_t *)&((struct sockaddr_in *)&ss)->sin_addr;
		p->family = a[0] == 127 ? 1 : 4;
		memcpy(p->addr, a, p->family == 4 ? 4 : 0);
	}
}

static int same_peer(const struct peer *a, const struct peer *b)
{
	return a->family == b->family && memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

/* read_now takes whatever request bytes are already queued on |c|'s
 * socket, so that a client that has sent its request is answered (and no
 * longer evictable) without waiting for its turn in the loop. */
static void read_now(struct conn *c)
{
	uv_os_fd_t fd;
	ssize_t n;

	if (uv_fileno((uv_handle_t *)&c->tcp, &fd) != 0) {
		return;
	}
	do {
		n = recv(fd, c->req + c->req_len, sizeof(c->req) - c->req_len, MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n > 0) {
		c->req_len += (size_t)n;
		conn_input(c);
	} else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
		conn_close(c); /* closed by the client, or broken */
	}
}

/* evict_oldest closes the oldest live connection other than |keep| (of
 * |peer| if not NULL) that has not sent its request yet, after a last look
 * at its socket: a client whose request has arrived by now is answered
 * instead, however many connections came after it. Only if every candidate
 * is busy answering does the oldest of those go. */
static void evict_oldest(struct metrics_server *s, const struct conn *keep, const struct peer *peer)
{
	struct conn *busy = NULL;

	for (struct conn *c = first_conn(s); c != NULL; c = next_conn(c)) {
		if (c == keep || c->closing || (peer != NULL && !same_peer(&c->peer, peer))) {
			continue;
		}
		if (c->responded) {
			if (busy == NULL) {
				busy = c;
			}
			continue;
		}
		read_now(c);
		if (c->closing) {
			return; /* the client had gone: room made */
		}
		if (!c->responded) {
			conn_close(c);
			return;
		}
	}
	if (busy != NULL) {
		conn_close(busy);
	}
}

/* make_room enforces the per-peer and total limits for the newcomer |c|. */
static void make_room(struct metrics_server *s, struct conn *c)
{
	int n = 0;
	for (struct conn *o = first_conn(s); o != NULL; o = next_conn(o)) {
		if (!o->closing && same_peer(&o->peer, &c->peer)) {
			n++;
		}
	}
	if (c->peer.family != 1 && n > MAX_PER_PEER) {
		evict_oldest(s, c, &c->peer);
	}
	if (s->num_live > MAX_CONNS) {
		evict_oldest(s, c, NULL);
	}
}

static void on_connection(uv_stream_t *ls, int status)
{
	struct metrics_server *s = ls->data;
	struct conn *c;

	if (status < 0 || s->stopping) {
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		return;
	}
	c->srv = s;
	uv_tcp_init(ls->loop, &c->tcp);
	uv_timer_init(ls->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	c->handles_open = 2;
	list_append(&s->conns, &c->link);
	s->num_live++;
	if (uv_accept(ls, (uv_stream_t *)&c->tcp) != 0) {
		conn_close(c);
		return;
	}
	peer_of(c);
	uv_timer_start(&c->timer, on_timeout, REQUEST_DEADLINE_MS, 0);
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
		conn_close(c);
		return;
	}
	read_now(c);
	if (!c->closing) {
		make_room(s, c);
	}
}

struct metrics_server *metrics_server_start(uv_loop_t *loop, const struct sockaddr *addr,
                                            metrics_render_fn render, metrics_health_fn health,
                                            void *arg)
{
	struct metrics_server *s = calloc(1, sizeof(*s));
	int r;

	if (s == NULL) {
		return NULL;
	}
	s->render = render;
	s->health = health;
	s->arg = arg;
	uv_tcp_init(loop, &s->listener);
	s->listener.data = s;
	if ((r = uv_tcp_bind(&s->listener, addr, 0)) != 0 ||
	    (r = uv_listen((uv_stream_t *)&s->listener, 128, on_connection)) != 0) {
		log_err("metrics endpoint: cannot listen: %s", uv_strerror(r));
		metrics_server_stop(s);
		return NULL;
	}
	return s;
}

static void listener_closed(uv_handle_t *h)
{
	struct metrics_server *s = h->data;
	s->listener_closed = 1;
	server_maybe_free(s);
}

void metrics_server_stop(struct metrics_server *s)
{
	if (s == NULL || s->stopping) {
		return;
	}
	s->stopping = 1;
	for (struct conn *c = first_conn(s); c != NULL; c = next_conn(c)) {
		conn_close(c);
	}
	uv_close((uv_handle_t *)&s->listener, listener_closed);
}

int metrics_server_sockname(const struct metrics_server *s, struct sockaddr_storage *out)
{
	int len = sizeof(*out);
	return uv_tcp_getsockname(&s->listener, (struct sockaddr *)out, &len) == 0;
}
