/*
 * metrics.c: Prometheus text rendering helpers and the HTTP endpoint.
 */
#include "common/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

#define MAX_REQUEST      4096
#define MAX_CONNS        32
#define CONN_DEADLINE_MS 2000

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

/* ---- HTTP endpoint ----------------------------------------------------- */

struct conn;

struct metrics_server {
	uv_tcp_t listener;
	metrics_render_fn render;
	metrics_health_fn health;
	void *arg;
	struct conn *conns; /* open connections, for stop */
	int num_conns;
	int stopping;
	int listener_closed;
};

struct conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_write_t wr;
	struct metrics_server *srv;
	struct conn *next, *prev;
	struct metrics_buf resp;
	size_t req_len;
	int handles_open;
	int closing;
	int responded;
	char req[MAX_REQUEST];
};

static void server_maybe_free(struct metrics_server *s)
{
	if (s->stopping && s->listener_closed && s->num_conns == 0) {
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
	if (c->prev != NULL) {
		c->prev->next = c->next;
	} else {
		s->conns = c->next;
	}
	if (c->next != NULL) {
		c->next->prev = c->prev;
	}
	s->num_conns--;
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

static void handle_request(struct conn *c)
{
	struct metrics_server *s = c->srv;
	static const char notfound[] = "not found\n";
	static const char badreq[] = "bad request\n";

	if (strncmp(c->req, "GET ", 4) != 0) {
		respond(c, 400, "Bad Request", "text/plain", badreq, sizeof(badreq) - 1);
		return;
	}
	const char *path = c->req + 4;
	size_t plen = strcspn(path, " \r\n?");
	if ((plen == 8 && memcmp(path, "/metrics", 8) == 0) || (plen == 1 && path[0] == '/')) {
		s->render(s->arg, &c->resp);
		if (c->resp.failed) {
			respond(c, 500, "Internal Server Error", "text/plain", "", 0);
			return;
		}
		respond(c, 200, "OK", "text/plain; version=0.0.4",
		        c->resp.data != NULL ? c->resp.data : "", c->resp.len);
		return;
	}
	if (plen == 7 && memcmp(path, "/health", 7) == 0 && s->health != NULL) {
		int ok = s->health(s->arg, &c->resp);
		if (c->resp.failed) {
			respond(c, 500, "Internal Server Error", "text/plain", "", 0);
			return;
		}
		respond(c, ok ? 200 : 503, ok ? "OK" : "Service Unavailable", "text/plain",
		        c->resp.data != NULL ? c->resp.data : "", c->resp.len);
		return;
	}
	respond(c, 404, "Not Found", "text/plain", notfound, sizeof(notfound) - 1);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn *c = h->data;
	(void)suggested;
	/* Leave one byte for the terminating NUL. */
	*buf = uv_buf_init(c->req + c->req_len, (unsigned)(sizeof(c->req) - 1 - c->req_len));
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
	c->req[c->req_len] = '\0';
	if (strstr(c->req, "\r\n\r\n") != NULL || strstr(c->req, "\n\n") != NULL) {
		handle_request(c);
		return;
	}
	if (c->req_len >= sizeof(c->req) - 1) {
		static const char big[] = "request too large\n";
		respond(c, 431, "Request Header Fields Too Large", "text/plain", big,
		        sizeof(big) - 1);
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
	c->next = s->conns;
	if (s->conns != NULL) {
		s->conns->prev = c;
	}
	s->conns = c;
	s->num_conns++;
	if (uv_accept(ls, (uv_stream_t *)&c->tcp) != 0 || s->num_conns > MAX_CONNS) {
		conn_close(c);
		return;
	}
	uv_timer_start(&c->timer, on_timeout, CONN_DEADLINE_MS, 0);
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
		conn_close(c);
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
	    (r = uv_listen((uv_stream_t *)&s->listener, 64, on_connection)) != 0) {
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
	for (struct conn *c = s->conns; c != NULL; c = c->next) {
		conn_close(c);
	}
	uv_close((uv_handle_t *)&s->listener, listener_closed);
}

int metrics_server_sockname(const struct metrics_server *s, struct sockaddr_storage *out)
{
	int len = sizeof(*out);
	return uv_tcp_getsockname(&s->listener, (struct sockaddr *)out, &len) == 0;
}
