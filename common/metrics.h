/*
 * metrics.h: Prometheus text exposition and a tiny HTTP endpoint for it,
 * served from a daemon's libuv control loop.
 *
 * Hot paths never touch this module: workers bump plain per-thread
 * counters (metrics_inc / metrics_hist_observe use relaxed atomics so that
 * a scrape from the control thread reads whole values), and the daemon's
 * render callback sums them into a metrics_buf on scrape.
 *
 * Endpoints: GET /metrics (text format 0.0.4) and GET /health (200 "ok" or
 * 503 with the reason, for anycast health checks). Each connection is
 * bounded (request <= 4 KiB received within 2 s, response taken within 5 s),
 * and so is the table (64 connections, 16 per peer). A full table closes the
 * oldest connection still waiting for its request rather than refuse the
 * newcomer, so idle or slowloris connections cannot keep a health check
 * out.
 */
#ifndef NTS_METRICS_H
#define NTS_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "common/compiler.h"

/* A growable text buffer used while rendering a scrape. */
struct metrics_buf {
	char *data;
	size_t len;
	size_t cap;
	int failed; /* allocation failed: the scrape answers 500 */
};

void metrics_buf_printf(struct metrics_buf *b, const char *fmt, ...) NTS_PRINTF(2, 3);

/* metrics_family writes the HELP and TYPE lines of a metric family;
 * |type| is "counter", "gauge" or "histogram". */
void metrics_family(struct metrics_buf *b, const char *name, const char *type, const char *help);

/* metrics_sample writes one sample; |labels| is NULL or a label list
 * without braces, e.g. "reason=\"unknown_key\"". */
void metrics_sample(struct metrics_buf *b, const char *name, const char *labels, uint64_t v);
void metrics_sample_double(struct metrics_buf *b, const char *name, const char *labels, double v);

/* metrics_label_value escapes |in| for use inside a label's double quotes
 * (backslash, double quote and newline), truncating to fit |out_len|. */
void metrics_label_value(char *out, size_t out_len, const char *in);

/* Per-thread counters: written by one thread, read by the scraper. */
typedef _Atomic uint64_t metrics_counter;

static inline void metrics_inc(metrics_counter *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
	                      memory_order_relaxed);
}

static inline void metrics_add(metrics_counter *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
	                      memory_order_relaxed);
}

static inline uint64_t metrics_get(const metrics_counter *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* A fixed-bucket histogram of durations in nanoseconds, single writer. */
#define METRICS_HIST_BUCKETS 16
struct metrics_hist {
	metrics_counter bucket[METRICS_HIST_BUCKETS + 1]; /* last: +Inf */
	metrics_counter count;
	metrics_counter sum_ns;
};

/* metrics_hist_observe records |ns| against |bounds_ns| (ascending,
 * METRICS_HIST_BUCKETS entries). */
void metrics_hist_observe(struct metrics_hist *h, const uint64_t *bounds_ns, uint64_t ns);

/* metrics_hist_render writes the summed histograms |hs| (|num| of them,
 * e.g. one per worker) in seconds, cumulative as Prometheus wants. */
void metrics_hist_render(struct metrics_buf *b, const char *name, const char *labels,
                         const uint64_t *bounds_ns, const struct metrics_hist *const *hs,
                         size_t num);

/* The largest request (header) the endpoint reads. */
#define METRICS_MAX_REQUEST 4096

/* What a request asks for. */
enum metrics_req {
	METRICS_REQ_INCOMPLETE, /* no end of header yet: read more */
	METRICS_REQ_TOO_LARGE,  /* METRICS_MAX_REQUEST bytes and no end of header */
	METRICS_REQ_BAD,        /* not a GET */
	METRICS_REQ_METRICS,    /* GET /metrics or GET / */
	METRICS_REQ_HEALTH,     /* GET /health */
	METRICS_REQ_NOT_FOUND,  /* another path */
};

/* metrics_parse_request classifies the |len| bytes of a request received
 * so far. Pure: no I/O, no allocation; any bytes are safe. */
enum metrics_req metrics_parse_request(const uint8_t *req, size_t len) NTS_WUR;

/* Render callbacks: fill |b|. The health callback returns 1 if healthy and
 * writes a one-line reason into |b| either way. */
typedef void (*metrics_render_fn)(void *arg, struct metrics_buf *b);
typedef int (*metrics_health_fn)(void *arg, struct metrics_buf *b);

struct metrics_server;

/* metrics_server_start listens on |addr| with |loop|. Returns NULL and logs
 * on failure. */
struct metrics_server *metrics_server_start(uv_loop_t *loop, const struct sockaddr *addr,
                                            metrics_render_fn render, metrics_health_fn health,
                                            void *arg);

/* metrics_server_sockname gives the bound address (for port 0 in tests). */
int metrics_server_sockname(const struct metrics_server *s, struct sockaddr_storage *out) NTS_WUR;

/* metrics_server_stop closes the listener and every open connection; the
 * memory is released from the close callbacks. NULL-safe. */
void metrics_server_stop(struct metrics_server *s);

#endif
