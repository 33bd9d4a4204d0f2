/*
 * nts-bench: a load generator for NTS-KE, NTS and plain NTP servers (ours,
 * chronyd, NTPsec), for loopback and lab namespaces only.
 *
 *   nts-bench ke  [options] HOST:KEPORT     full NTS-KE handshakes per second
 *   nts-bench ntp [options] HOST:PORT       plain NTPv4 requests
 *   nts-bench nts [options] HOST:KEPORT     NTS-KE once (or --sessions N), then
 *                                           NTS requests
 *
 * ke: non-blocking sockets on one epoll loop, --concurrency C handshakes in
 * flight (TLS 1.3, ALPN ntske/1, no certificate check unless --ca). Every
 * response is validated (records, negotiated AEAD, exactly 8 cookies, key
 * export); failures are counted by kind; latency from connect() to the
 * complete response.
 *
 * ntp/nts: open loop at --rate R, stepped --rates a,b,c (one line each: the
 * loss curve) or --max (send as fast as one core can, report what comes
 * back). --ports N sockets (source ports), --src-addrs M source addresses
 * in 127.16/12 chosen per packet (IPv4 loopback only): N x M distinct
 * clients. sendmmsg/recvmmsg batches. RTT and server processing time
 * (T3 - T2 from the response) percentiles, loss, and what a client would
 * make of the server's timestamps: offset ((T2 - T1) + (T3 - T4)) / 2 and
 * delay (T4 - T1) - (T3 - T2) of every checked response (plain) or every
 * fully verified one (NTS). T1 is read just before the sendmmsg that
 * carries the request or, with --tx-timestamps, is the kernel's software
 * transmit timestamp of the request (SO_TIMESTAMPING, read from the error
 * queue); T4 is the kernel's receive timestamp (SO_TIMESTAMPNS). Where a
 * kernel timestamp is missing the user-space clock is used and the output
 * counts it. The generator and the server share one clock, so the true
 * offset is 0: what is measured is the server's timestamp error plus the
 * generator's own (without --tx-timestamps, a request later in a batch
 * leaves after T1).
 * nts: requests are pre-built from the sessions' cookies (--templates of
 * them, each with its own Unique Identifier) and replayed; stateless
 * responders answer replays, and the output says it replays. Every response
 * is matched to its request by UID; 1 in --verify-every responses is fully
 * verified (Authenticator opened with S2C, 1 + placeholders cookies).
 *
 * Bounds: --duration S per run or step, --count N requests/handshakes.
 * Targets must be loopback unless inside --allow-nonloopback CIDR.
 *
 * Exit codes: 0 ok; 1 ran but some responses failed validation (or KE
 * failures, NAKs); 2 usage; 3 target refused; 4 setup failed (sockets,
 * NTS-KE for nts mode); 5 no response at all.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "common/hostport.h"
#include "common/numparse.h"
#include "common/version.h"
#include "tls/ntske_keys.h"
#include "proto/nts.h"
#include "proto/ntske.h"
#include "tools/benchstat.h"

enum {
	EXIT_OK = 0,
	EXIT_FAILURES = 1,
	EXIT_USAGE = 2,
	EXIT_TARGET = 3,
	EXIT_SETUP = 4,
	EXIT_NO_RESPONSE = 5
};

enum mode { MODE_KE, MODE_NTP, MODE_NTS };

#define MAX_RATES   64
#define BATCH       64
#define MAX_PORTS   4096
#define MAX_SESSION 4096

static struct {
	enum mode mode;
	double duration;
	uint64_t count;
	int json;
	int concurrency;
	const char *ca, *sni, *ntp, *allow;
	uint16_t aeads[4];
	size_t num_aeads;
	double rates[MAX_RATES];
	size_t num_rates;
	int max;
	int ports, src_addrs, placeholders, sessions, templates, verify_every;
	int tx_timestamps;
	double timeout, drain;
} opt = {
    .duration = 2.0,
    .concurrency = 32,
    .aeads = {30, 15},
    .num_aeads = 2,
    .ports = 16,
    .src_addrs = 1,
    .sessions = 1,
    .templates = 8192,
    .verify_every = 1,
    .timeout = 5.0,
    .drain = 0.2,
};

static void die(int code, const char *fmt, ...) NTS_PRINTF(2, 3) __attribute__((noreturn));
static void die(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "nts-bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(code);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t real_ntp(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ntp_ts_from_timespec(&ts);
}

/* NTP timestamp difference a - b in ns (|a - b| < 2^31 s). */
static int64_t ntp_diff_ns(uint64_t a, uint64_t b)
{
	int64_t d = (int64_t)(a - b);
	/* 2^32 units per second; long double keeps every bit of d */
	return (int64_t)((long double)d * 1e9L / 4294967296.0L);
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

/* ---- targets ---- */

struct target {
	struct sockaddr_storage ss;
	socklen_t len;
	char text[300];
};

static void split_host_port(const char *in, char *host, size_t host_len, char *port,
                            size_t port_len, const char *def_port)
{
	if (!hostport_split(host, host_len, port, port_len, in, def_port)) {
		die(EXIT_USAGE, "bad address %s", in);
	}
}

/* in_cidr: is |sa| inside "ADDR/BITS"? */
static int in_cidr(const struct sockaddr *sa, const char *cidr)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(cidr, '/');
	if (slash == NULL || (size_t)(slash - cidr) >= sizeof(addr)) {
		die(EXIT_USAGE, "--allow-nonloopback wants ADDR/BITS, got %s", cidr);
	}
	snprintf(addr, sizeof(addr), "%.*s", (int)(slash - cidr), cidr);
	int bits;
	if (!num_parse_int(&bits, slash + 1, 0, 128)) {
		die(EXIT_USAGE, "--allow-nonloopback wants ADDR/BITS, got %s", cidr);
	}
	uint8_t net[16];
	const uint8_t *a;
	size_t alen;
	if (sa->sa_family == AF_INET && inet_pton(AF_INET, addr, net) == 1) {
		a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
		alen = 4;
	} else if (sa->sa_family == AF_INET6 && inet_pton(AF_INET6, addr, net) == 1) {
		a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		alen = 16;
	} else {
		return 0;
	}
	if (bits < 8 || (size_t)bits > alen * 8) { /* no "allow everything" */
		die(EXIT_USAGE, "--allow-nonloopback: prefix length must be 8..%zu", alen * 8);
	}
	for (int i = 0; i < bits; i++) {
		int m = 0x80 >> (i % 8);
		if ((a[i / 8] & m) != (net[i / 8] & m)) {
			return 0;
		}
	}
	return 1;
}

static int is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
	}
	return 0;
}

static void resolve(struct target *t, const char *in, const char *def_port)
{
	char host[256], port[16];
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
	split_host_port(in, host, sizeof(host), port, sizeof(port), def_port);
	if (getaddrinfo(host, port, &hints, &res) != 0) {
		die(EXIT_SETUP, "cannot resolve %s", in);
	}
	memcpy(&t->ss, res->ai_addr, res->ai_addrlen);
	t->len = res->ai_addrlen;
	freeaddrinfo(res);
	if (!is_loopback((struct sockaddr *)&t->ss) &&
	    (opt.allow == NULL || !in_cidr((struct sockaddr *)&t->ss, opt.allow))) {
		die(EXIT_TARGET,
		    "%s is not a loopback address (use --allow-nonloopback CIDR for a lab "
		    "namespace range)",
		    in);
	}
	char a[INET6_ADDRSTRLEN];
	uint16_t p;
	if (t->ss.ss_family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&t->ss;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		p = ntohs(s4->sin_port);
		snprintf(t->text, sizeof(t->text), "%s:%u", a, p);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&t->ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		p = ntohs(s6->sin6_port);
		snprintf(t->text, sizeof(t->text), "[%s]:%u", a, p);
	}
}

/* ---- NTS-KE ---- */

enum ke_fail {
	KF_CONNECT,     /* refused, no ports, ... */
	KF_TLS,         /* handshake failed */
	KF_ALPN,        /* ntske/1 not selected */
	KF_IO,          /* connection closed or broken before a complete response */
	KF_TIMEOUT,     /* no complete response within --timeout */
	KF_ERROR,       /* server sent an NTS-KE Error record */
	KF_NEGOTIATION, /* no NTPv4 or an AEAD we did not offer */
	KF_MALFORMED,   /* records wrong */
	KF_COOKIES,     /* not exactly 8 cookies */
	KF_EXPORT,      /* TLS exporter failed */
	KF_NUM
};
static const char *const ke_fail_names[KF_NUM] = {"connect", "tls",      "alpn",        "io",
                                                  "timeout", "ke_error", "negotiation", "malformed",
                                                  "cookies", "export"};

struct session {
	uint16_t aead;
	size_t key_len;
	uint8_t c2s[AEAD_MAX_KEY_LEN], s2c[AEAD_MAX_KEY_LEN];
	size_t num_cookies;
	uint8_t cookies[NTSKE_MAX_COOKIES][NTS_COOKIE_MAX];
	size_t cookie_lens[NTSKE_MAX_COOKIES];
	char server[NTSKE_MAX_SERVER_LEN + 1];
	uint16_t port;
};

struct ke_stats {
	uint64_t ok, started;
	uint64_t fail[KF_NUM];
	struct bs_hist lat;
	double elapsed, cpu;
};

enum kstate { KS_FREE, KS_HANDSHAKE, KS_WRITE, KS_READ };

struct kconn {
	enum kstate state;
	int fd;
	SSL *ssl;
	uint64_t t0;
	size_t resp_len;
	uint8_t resp[8192];
};

struct ke_run {
	SSL_CTX *ctx;
	const struct target *t;
	int epfd;
	struct kconn *conns;
	int num_conns;
	int active;
	uint8_t req[64];
	size_t req_len;
	struct ke_stats *st;
	struct session *sessions; /* where to keep successful sessions, or NULL */
	size_t num_sessions, max_sessions;
};

static void kconn_close(struct ke_run *r, struct kconn *c)
{
	if (c->ssl != NULL) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0) {
		/* RST instead of FIN: no TIME_WAIT, so ports do not run out */
		struct linger l = {.l_onoff = 1, .l_linger = 0};
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		close(c->fd);
		c->fd = -1;
	}
	c->state = KS_FREE;
	r->active--;
}

static void kconn_fail(struct ke_run *r, struct kconn *c, enum ke_fail f)
{
	r->st->fail[f]++;
	kconn_close(r, c);
}

static void kconn_done(struct ke_run *r, struct kconn *c)
{
	struct ntske_response_view v;
	CBS cbs;
	CBS_init(&cbs, c->resp, c->resp_len);
	ntske_parse_response(&v, &cbs, opt.aeads, opt.num_aeads);
	switch (v.result) {
	case NTSKE_RESP_OK:
		break;
	case NTSKE_RESP_ERROR:
		kconn_fail(r, c, KF_ERROR);
		return;
	case NTSKE_RESP_NO_NTPV4:
	case NTSKE_RESP_NO_AEAD:
		kconn_fail(r, c, KF_NEGOTIATION);
		return;
	case NTSKE_RESP_NO_COOKIES:
		kconn_fail(r, c, KF_COOKIES);
		return;
	default:
		kconn_fail(r, c, KF_MALFORMED);
		return;
	}
	if (v.num_cookies != NTSKE_MAX_COOKIES) {
		kconn_fail(r, c, KF_COOKIES);
		return;
	}
	struct session s;
	memset(&s, 0, sizeof(s));
	s.aead = v.aead;
	s.key_len = aead_key_len(v.aead);
	if (!nke_export_keys(s.c2s, s.s2c, s.key_len, c->ssl, v.aead)) {
		kconn_fail(r, c, KF_EXPORT);
		return;
	}
	bs_hist_add(&r->st->lat, mono_ns() - c->t0);
	r->st->ok++;
	if (r->sessions != NULL && r->num_sessions < r->max_sessions) {
		for (size_t i = 0; i < v.num_cookies; i++) {
			if (CBS_len(&v.cookies[i]) < NTS_COOKIE_MIN ||
			    CBS_len(&v.cookies[i]) > NTS_COOKIE_MAX) {
				continue;
			}
			memcpy(s.cookies[s.num_cookies], CBS_data(&v.cookies[i]),
			       CBS_len(&v.cookies[i]));
			s.cookie_lens[s.num_cookies++] = CBS_len(&v.cookies[i]);
		}
		if (v.has_server && CBS_len(&v.server) <= NTSKE_MAX_SERVER_LEN) {
			memcpy(s.server, CBS_data(&v.server), CBS_len(&v.server));
		}
		s.port = v.port;
		r->sessions[r->num_sessions++] = s;
	}
	OPENSSL_cleanse(&s, sizeof(s));
	kconn_close(r, c);
}

static enum ke_fail ssl_fail_kind(SSL *ssl, int ret)
{
	int e = SSL_get_error(ssl, ret);
	if (e == SSL_ERROR_SYSCALL && (errno == ECONNREFUSED || errno == EADDRNOTAVAIL)) {
		return KF_CONNECT;
	}
	if (e == SSL_ERROR_SSL) {
		return KF_TLS;
	}
	return KF_IO;
}

/* kconn_drive runs the state machine until it needs the network. */
static void kconn_drive(struct ke_run *r, struct kconn *c)
{
	for (;;) {
		int n = 0;
		switch (c->state) {
		case KS_FREE:
			return;
		case KS_HANDSHAKE:
			n = SSL_do_handshake(c->ssl);
			if (n == 1) {
				const uint8_t *alpn;
				unsigned alpn_len;
				SSL_get0_alpn_selected(c->ssl, &alpn, &alpn_len);
				if (alpn_len != 7 || memcmp(alpn, NTSKE_ALPN, 7) != 0) {
					kconn_fail(r, c, KF_ALPN);
					return;
				}
				c->state = KS_WRITE;
				continue;
			}
			break;
		case KS_WRITE:
			n = SSL_write(c->ssl, r->req, (int)r->req_len);
			if (n == (int)r->req_len) {
				c->state = KS_READ;
				continue;
			}
			break;
		case KS_READ:
			n = SSL_read(c->ssl, c->resp + c->resp_len,
			             (int)(sizeof(c->resp) - c->resp_len));
			if (n > 0) {
				size_t msg_len;
				c->resp_len += (size_t)n;
				if (ntske_stream_status(c->resp, c->resp_len, &msg_len) ==
				    NTSKE_STREAM_COMPLETE) {
					c->resp_len = msg_len;
					kconn_done(r, c);
					return;
				}
				if (c->resp_len == sizeof(c->resp)) {
					kconn_fail(r, c, KF_MALFORMED);
					return;
				}
				continue;
			}
			break;
		}
		int e = SSL_get_error(c->ssl, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			return; /* edge-triggered epoll wakes us */
		}
		kconn_fail(r, c, c->state == KS_HANDSHAKE ? ssl_fail_kind(c->ssl, n) : KF_IO);
		ERR_clear_error();
		return;
	}
}

static int kconn_start(struct ke_run *r, struct kconn *c)
{
	c->fd = socket(r->t->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		die(EXIT_SETUP, "socket: %s", strerror(errno));
	}
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->t0 = mono_ns();
	c->resp_len = 0;
	c->state = KS_HANDSHAKE;
	r->active++;
	r->st->started++;
	if (connect(c->fd, (const struct sockaddr *)&r->t->ss, r->t->len) != 0 &&
	    errno != EINPROGRESS) {
		kconn_fail(r, c, KF_CONNECT);
		return 0;
	}
	c->ssl = SSL_new(r->ctx);
	if (c->ssl == NULL) {
		die(EXIT_SETUP, "SSL_new failed");
	}
	SSL_set_fd(c->ssl, c->fd);
	SSL_set_connect_state(c->ssl);
	if (opt.sni != NULL) {
		SSL_set_tlsext_host_name(c->ssl, opt.sni);
	}
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c};
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
		die(EXIT_SETUP, "epoll_ctl: %s", strerror(errno));
	}
	kconn_drive(r, c);
	return 1;
}

static SSL_CTX *ke_ctx(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_method());
	if (ctx == NULL) {
		die(EXIT_SETUP, "SSL_CTX_new failed");
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF); /* full handshakes only */
	static const uint8_t alpn[] = {7, 'n', 't', 's', 'k', 'e', '/', '1'};
	SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn));
	if (opt.ca != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, opt.ca, NULL) != 1) {
			die(EXIT_SETUP, "cannot load CA file %s", opt.ca);
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	}
	return ctx;
}

/* ke_bench runs handshakes at |concurrency| until |duration| or |count|;
 * successful sessions are kept in |sessions| (up to |max_sessions|). */
static void ke_bench(struct ke_stats *st, const struct target *t, int concurrency, double duration,
                     uint64_t count, struct session *sessions, size_t max_sessions,
                     size_t *out_num_sessions)
{
	struct ke_run r;
	memset(&r, 0, sizeof(r));
	memset(st, 0, sizeof(*st));
	bs_hist_init(&st->lat);
	r.ctx = ke_ctx();
	r.t = t;
	r.st = st;
	r.sessions = sessions;
	r.max_sessions = max_sessions;
	r.epfd = epoll_create1(EPOLL_CLOEXEC);
	r.num_conns = concurrency;
	r.conns = calloc((size_t)concurrency, sizeof(*r.conns));
	if (r.epfd < 0 || r.conns == NULL) {
		die(EXIT_SETUP, "out of resources");
	}
	CBB cbb;
	CBB_init_fixed(&cbb, r.req, sizeof(r.req));
	if (!ntske_build_request(&cbb, opt.aeads, opt.num_aeads, 1) ||
	    !CBB_finish(&cbb, NULL, &r.req_len)) {
		die(EXIT_SETUP, "cannot build the NTS-KE request");
	}
	for (int i = 0; i < concurrency; i++) {
		r.conns[i].fd = -1;
	}
	double cpu0 = cpu_seconds();
	uint64_t t0 = mono_ns(), end = t0 + (uint64_t)(duration * 1e9), last_scan = t0;
	uint64_t tmo = (uint64_t)(opt.timeout * 1e9), t_last = t0;
	int stopping = 0;
	struct epoll_event evs[256];
	for (;;) {
		uint64_t now = mono_ns();
		if (!stopping && (now >= end || (count > 0 && st->started >= count))) {
			stopping = 1;
			end = now;
		}
		if (!stopping) {
			for (int i = 0; i < r.num_conns && (count == 0 || st->started < count);
			     i++) {
				if (r.conns[i].state == KS_FREE) {
					kconn_start(&r, &r.conns[i]);
				}
			}
		}
		if (stopping && r.active == 0) {
			break;
		}
		int n = epoll_wait(r.epfd, evs, 256, 10);
		for (int i = 0; i < n; i++) {
			struct kconn *c = evs[i].data.ptr;
			uint64_t before = st->ok;
			kconn_drive(&r, c);
			if (st->ok != before) {
				t_last = mono_ns();
			}
		}
		now = mono_ns();
		if (now - last_scan > 50000000u) {
			last_scan = now;
			for (int i = 0; i < r.num_conns; i++) {
				if (r.conns[i].state != KS_FREE && now - r.conns[i].t0 > tmo) {
					kconn_fail(&r, &r.conns[i], KF_TIMEOUT);
				}
			}
		}
	}
	/* handshakes completed after the stop time still count, over the time
	 * it took them */
	st->elapsed = (double)((t_last > end ? t_last : end) - t0) / 1e9;
	st->cpu = cpu_seconds() - cpu0;
	if (out_num_sessions != NULL) {
		*out_num_sessions = r.num_sessions;
	}
	close(r.epfd);
	free(r.conns);
	SSL_CTX_free(r.ctx);
}

static uint64_t ke_failures(const struct ke_stats *st)
{
	uint64_t f = 0;
	for (int i = 0; i < KF_NUM; i++) {
		f += st->fail[i];
	}
	return f;
}

static int ke_main(const char *target)
{
	struct target t;
	struct ke_stats *st = malloc(sizeof(*st));
	if (st == NULL) {
		die(EXIT_SETUP, "out of memory");
	}
	resolve(&t, target, "4460");
	ke_bench(st, &t, opt.concurrency, opt.duration, opt.count, NULL, 0, NULL);
	double rate = st->elapsed > 0 ? (double)st->ok / st->elapsed : 0;
	uint64_t fails = ke_failures(st);
	double us[4] = {(double)bs_hist_percentile(&st->lat, 50) / 1e3,
	                (double)bs_hist_percentile(&st->lat, 90) / 1e3,
	                (double)bs_hist_percentile(&st->lat, 99) / 1e3, (double)st->lat.max / 1e3};
	if (opt.json) {
		printf("{\"mode\":\"ke\",\"target\":\"%s\",\"concurrency\":%d,\"elapsed_s\":%.3f,"
		       "\"handshakes\":%llu,\"handshakes_per_s\":%.1f,\"failures\":%llu,"
		       "\"failure_kinds\":{",
		       t.text, opt.concurrency, st->elapsed, (unsigned long long)st->ok, rate,
		       (unsigned long long)fails);
		for (int i = 0; i < KF_NUM; i++) {
			printf("%s\"%s\":%llu", i ? "," : "", ke_fail_names[i],
			       (unsigned long long)st->fail[i]);
		}
		printf("},\"latency_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"max\":%.1f},"
		       "\"generator_cpu_pct\":%.0f,\"verified\":\"every response\"}\n",
		       us[0], us[1], us[2], us[3],
		       st->elapsed > 0 ? 100 * st->cpu / st->elapsed : 0);
	} else {
		printf("nts-bench ke %s: concurrency %d, %.2f s, every response validated "
		       "(records, AEAD, 8 cookies, key export)\n",
		       t.text, opt.concurrency, st->elapsed);
		printf("  handshakes %llu  (%.0f/s)  failures %llu", (unsigned long long)st->ok,
		       rate, (unsigned long long)fails);
		for (int i = 0; i < KF_NUM; i++) {
			if (st->fail[i] != 0) {
				printf("  %s=%llu", ke_fail_names[i],
				       (unsigned long long)st->fail[i]);
			}
		}
		printf("\n  latency us: p50 %.0f  p90 %.0f  p99 %.0f  max %.0f\n", us[0], us[1],
		       us[2], us[3]);
		printf("  generator CPU %.0f%% of one core\n",
		       st->elapsed > 0 ? 100 * st->cpu / st->elapsed : 0);
	}
	int rc = st->ok == 0 ? EXIT_NO_RESPONSE : fails > 0 ? EXIT_FAILURES : EXIT_OK;
	free(st);
	return rc;
}

/* ---- NTP / NTS ---- */

struct udp_stats {
	double rate; /* 0: max */
	uint64_t sent, received, valid, bad, nak, verified, verify_failed;
	struct bs_hist rtt, proc;
	struct bs_shist offset, delay; /* ns */
	uint64_t t4_user;              /* samples whose T4 is not the kernel's */
	uint64_t t1_user;              /* with --tx-timestamps: T1 not the kernel's */
	double elapsed, cpu;
};

struct udp {
	const struct target *t;
	int nts;
	int num_fds;
	int fds[MAX_PORTS];
	uint64_t per_sock[MAX_PORTS]; /* packets sent per socket: picks the source address */
	int epfd;
	/* NTS: pre-built requests */
	size_t num_templates;
	uint8_t *tbuf; /* num_templates x NTP_MAX_PACKET */
	size_t *tlen;
	uint32_t *tsess;
	uint64_t *tsent;
	uint64_t *t1;  /* NTP time of the last send of each template */
	uint64_t *t1k; /* its kernel transmit timestamp (--tx-timestamps), 0 until known */
	/* --tx-timestamps: per socket, a ring of the last TXRING datagrams
	 * sent, indexed by the kernel's OPT_ID counter (packets sent on it) */
	uint64_t *tx_id;   /* the counter value an entry is for */
	uint32_t *tx_key;  /* NTS: the template sent */
	uint64_t *tx_time; /* plain: the kernel transmit time (NTP), 0 until known */
	uint64_t next_template;
	size_t num_sessions;
	aead_ctx *s2c;
	size_t uid_ef_len;
	uint64_t rx_count;
	/* batches */
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	uint8_t plain_req[BATCH][NTP_HEADER_LEN];
	uint8_t rx[BATCH][NTP_MAX_PACKET];
	uint64_t cmsg[BATCH][(CMSG_SPACE(sizeof(struct in_pktinfo)) + 7) / 8]; /* aligned */
	/* receive control messages: SO_TIMESTAMPNS, or from the error queue
	 * SCM_TIMESTAMPING and IP(V6)_RECVERR */
	uint64_t rx_cmsg[BATCH][(CMSG_SPACE(3 * sizeof(struct timespec)) +
	                         CMSG_SPACE(sizeof(struct sock_extended_err) +
	                                    sizeof(struct sockaddr_in6)) +
	                         7) /
	                        8];
	uint8_t scratch[NTP_MAX_PACKET];
};

#define UID_LEN 32
#define TXRING  2048 /* a power of two that divides 2^16 (plain origins carry 16 bits of id) */

static struct in_addr src_addr(uint64_t i)
{
	/* 127.16.0.1 upwards, skipping .0 and .255 */
	uint32_t a = (127u << 24) | ((16u + (uint32_t)(i / (254 * 256))) << 16) |
	             ((uint32_t)((i / 254) % 256) << 8) | (uint32_t)(i % 254 + 1);
	struct in_addr in = {.s_addr = htonl(a)};
	return in;
}

static void udp_open(struct udp *u)
{
	int fam = u->t->ss.ss_family;
	u->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (u->epfd < 0) {
		die(EXIT_SETUP, "epoll: %s", strerror(errno));
	}
	for (int i = 0; i < u->num_fds; i++) {
		int fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			die(EXIT_SETUP, "socket: %s (raise the fd limit for --ports %d)",
			    strerror(errno), u->num_fds);
		}
		int one = 1;
		if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) != 0) {
			die(EXIT_SETUP, "SO_TIMESTAMPNS: %s", strerror(errno));
		}
		int tsf = SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE |
		          SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY;
		if (opt.tx_timestamps &&
		    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &tsf, sizeof(tsf)) != 0) {
			die(EXIT_SETUP, "SO_TIMESTAMPING: %s", strerror(errno));
		}
		int sz = 4 << 20;
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) != 0) {
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		}
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) != 0) {
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		}
		struct sockaddr_storage local;
		memset(&local, 0, sizeof(local));
		socklen_t llen;
		if (fam == AF_INET) {
			struct sockaddr_in *l4 = (struct sockaddr_in *)&local;
			l4->sin_family = AF_INET;
			/* several source addresses: replies come to any of them, so
			 * bind the wildcard; otherwise the loopback address used */
			if (opt.src_addrs == 1 && is_loopback((const struct sockaddr *)&u->t->ss)) {
				l4->sin_addr = ((const struct sockaddr_in *)&u->t->ss)->sin_addr;
			} else {
				l4->sin_addr.s_addr = htonl(INADDR_ANY);
			}
			llen = sizeof(*l4);
		} else {
			struct sockaddr_in6 *l6 = (struct sockaddr_in6 *)&local;
			l6->sin6_family = AF_INET6;
			l6->sin6_addr = in6addr_any;
			llen = sizeof(*l6);
		}
		if (bind(fd, (struct sockaddr *)&local, llen) != 0) {
			die(EXIT_SETUP, "bind: %s", strerror(errno));
		}
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
		if (epoll_ctl(u->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			die(EXIT_SETUP, "epoll_ctl: %s", strerror(errno));
		}
		u->fds[i] = fd;
	}
	if (opt.tx_timestamps) {
		size_t n = (size_t)u->num_fds * TXRING;
		u->tx_id = malloc(n * sizeof(*u->tx_id));
		u->tx_key = calloc(n, sizeof(*u->tx_key));
		u->tx_time = calloc(n, sizeof(*u->tx_time));
		if (u->tx_id == NULL || u->tx_key == NULL || u->tx_time == NULL) {
			die(EXIT_SETUP, "out of memory for --tx-timestamps");
		}
		memset(u->tx_id, 0xff, n * sizeof(*u->tx_id));
	}
}

/* build_templates pre-builds |n| NTS requests over the sessions' cookies;
 * the UID starts with the template index (little endian), then random. */
static void build_templates(struct udp *u, const struct session *ss, size_t num_sessions, size_t n)
{
	u->num_templates = n;
	u->tbuf = malloc(n * NTP_MAX_PACKET);
	u->tlen = calloc(n, sizeof(*u->tlen));
	u->tsess = calloc(n, sizeof(*u->tsess));
	u->tsent = calloc(n, sizeof(*u->tsent));
	u->t1 = calloc(n, sizeof(*u->t1));
	u->t1k = calloc(n, sizeof(*u->t1k));
	u->s2c = calloc(num_sessions, sizeof(*u->s2c));
	aead_ctx *c2s = calloc(num_sessions, sizeof(*c2s));
	if (u->tbuf == NULL || u->tlen == NULL || u->tsess == NULL || u->tsent == NULL ||
	    u->t1 == NULL || u->t1k == NULL || u->s2c == NULL || c2s == NULL) {
		die(EXIT_SETUP, "out of memory for %zu templates", n);
	}
	u->num_sessions = num_sessions;
	for (size_t s = 0; s < num_sessions; s++) {
		if (!aead_ctx_init(&c2s[s], ss[s].aead, ss[s].c2s, ss[s].key_len) ||
		    !aead_ctx_init(&u->s2c[s], ss[s].aead, ss[s].s2c, ss[s].key_len)) {
			die(EXIT_SETUP, "bad session keys");
		}
	}
	uint64_t base = real_ntp();
	for (size_t i = 0; i < n; i++) {
		size_t s = i % num_sessions;
		const struct session *se = &ss[s];
		size_t ck = (i / num_sessions) % se->num_cookies;
		uint8_t uid[UID_LEN], nonce[AEAD_MAX_NONCE_LEN];
		uint64_t idx = i;
		for (int b = 0; b < 8; b++) {
			uid[b] = (uint8_t)(idx >> (8 * b));
		}
		RAND_bytes(uid + 8, UID_LEN - 8);
		RAND_bytes(nonce, sizeof(nonce));
		struct ntp_header h = {.version = 4, .mode = NTP_MODE_CLIENT, .poll = 6};
		h.transmit_ts = base + i; /* distinct; echoed as the origin */
		if (!nts_build_request(u->tbuf + i * NTP_MAX_PACKET, NTP_MAX_PACKET, &u->tlen[i],
		                       &h, uid, UID_LEN, se->cookies[ck], se->cookie_lens[ck],
		                       (size_t)opt.placeholders, &c2s[s], nonce,
		                       aead_nonce_len(se->aead))) {
			die(EXIT_SETUP, "cannot build an NTS request");
		}
		u->tsess[i] = (uint32_t)s;
	}
	u->uid_ef_len = ntp_ef_size(UID_LEN);
	for (size_t s = 0; s < num_sessions; s++) {
		aead_ctx_cleanup(&c2s[s]);
	}
	free(c2s);
}

/* send_batch sends up to |n| requests on the next socket; returns how many
 * the kernel took. */
static int send_batch(struct udp *u, int n, uint64_t batch_no)
{
	int si = (int)(batch_no % (uint64_t)u->num_fds);
	int fd = u->fds[si];
	for (int i = 0; i < n; i++) {
		struct mmsghdr *m = &u->msgs[i];
		memset(&m->msg_hdr, 0, sizeof(m->msg_hdr));
		m->msg_hdr.msg_name = (void *)&u->t->ss;
		m->msg_hdr.msg_namelen = u->t->len;
		m->msg_hdr.msg_iov = &u->iov[i];
		m->msg_hdr.msg_iovlen = 1;
		if (u->nts) {
			size_t ti = (size_t)((u->next_template + (uint64_t)i) % u->num_templates);
			u->iov[i].iov_base = u->tbuf + ti * NTP_MAX_PACKET;
			u->iov[i].iov_len = u->tlen[ti];
		} else {
			uint8_t *p = u->plain_req[i];
			memset(p, 0, NTP_HEADER_LEN);
			p[0] = (0 << 6) | (4 << 3) | NTP_MODE_CLIENT;
			p[2] = 6;
			u->iov[i].iov_base = p;
			u->iov[i].iov_len = NTP_HEADER_LEN;
		}
		if (opt.src_addrs > 1) {
			m->msg_hdr.msg_control = u->cmsg[i];
			m->msg_hdr.msg_controllen = CMSG_SPACE(sizeof(struct in_pktinfo));
			struct cmsghdr *c = CMSG_FIRSTHDR(&m->msg_hdr);
			c->cmsg_level = IPPROTO_IP;
			c->cmsg_type = IP_PKTINFO;
			c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
			struct in_pktinfo pi;
			memset(&pi, 0, sizeof(pi));
			pi.ipi_spec_dst =
			    src_addr((u->per_sock[si] + (uint64_t)i) % (uint64_t)opt.src_addrs);
			memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		}
	}
	/* T1 as late as possible: the clocks are read just before the send */
	uint64_t now = mono_ns(), t1 = real_ntp();
	for (int i = 0; i < n; i++) {
		uint64_t id = u->per_sock[si] + (uint64_t)i; /* the kernel's OPT_ID */
		size_t slot = (size_t)si * TXRING + (size_t)(id % TXRING);
		if (u->tx_id != NULL) {
			u->tx_id[slot] = id;
			u->tx_time[slot] = 0;
		}
		if (u->nts) {
			size_t ti = (size_t)((u->next_template + (uint64_t)i) % u->num_templates);
			u->tsent[ti] = now;
			u->t1[ti] = t1;
			u->t1k[ti] = 0;
			if (u->tx_key != NULL) {
				u->tx_key[slot] = (uint32_t)ti;
			}
		} else {
			/* distinct origins; with --tx-timestamps the low 16 bits
			 * are the id, to find the transmit timestamp: the origin
			 * is then up to 15 us before T1, never after */
			uint64_t ts =
			    u->tx_id != NULL ? t1 - ((t1 - id) & 0xffff) : t1 + (uint64_t)i;
			for (int b = 0; b < 8; b++) {
				u->plain_req[i][40 + b] = (uint8_t)(ts >> (56 - 8 * b));
			}
		}
	}
	int r = sendmmsg(fd, u->msgs, (unsigned)n, MSG_DONTWAIT);
	if (r < 0) {
		if (errno == EAGAIN || errno == ENOBUFS || errno == ECONNREFUSED) {
			return 0;
		}
		die(EXIT_SETUP, "sendmmsg: %s", strerror(errno));
	}
	if (u->tx_id != NULL) {
		for (int i = r; i < n; i++) { /* not sent: the kernel counted none of them */
			uint64_t id = u->per_sock[si] + (uint64_t)i;
			u->tx_id[(size_t)si * TXRING + (size_t)(id % TXRING)] = UINT64_MAX;
		}
	}
	u->per_sock[si] += (uint64_t)r;
	if (u->nts) {
		u->next_template += (uint64_t)r;
	}
	return r;
}

/* add_sample records the offset and delay a client would compute from
 * |h| (T2, T3), its own send time |t1| and receive time |t4|. */
static void add_sample(struct udp_stats *st, const struct ntp_header *h, uint64_t t1, uint64_t t4)
{
	int64_t d21 = ntp_diff_ns(h->receive_ts, t1), d34 = ntp_diff_ns(h->transmit_ts, t4);
	int64_t d41 = ntp_diff_ns(t4, t1), d32 = ntp_diff_ns(h->transmit_ts, h->receive_ts);
	bs_shist_add(&st->offset, (d21 + d34) / 2);
	bs_shist_add(&st->delay, d41 - d32);
}

/* kernel_t1 returns the kernel's transmit time |t1k| if it is plausible
 * for a request sent around |t1| (user space, up to |slack| NTP units
 * off) and answered with receive time |t2|; else |t1|, counted. */
static uint64_t kernel_t1(struct udp_stats *st, uint64_t t1, uint64_t slack, uint64_t t1k,
                          uint64_t t2)
{
	if (t1k != 0 && (int64_t)(t1k - (t1 - slack)) >= 0 && (int64_t)(t2 - t1k) >= 0) {
		return t1k;
	}
	st->t1_user++;
	return t1;
}

static void handle_plain(struct udp *u, struct udp_stats *st, int si, const uint8_t *p, size_t len,
                         uint64_t now_ntp, uint64_t t4)
{
	struct ntp_header h;
	CBS c;
	CBS_init(&c, p, len);
	if (len < NTP_HEADER_LEN || !ntp_header_parse(&h, &c)) {
		st->bad++;
		return;
	}
	if (h.mode != NTP_MODE_SERVER || h.version != 4) {
		st->bad++;
		return;
	}
	if (h.stratum == 0) {
		st->nak++; /* kiss-o'-death (RATE, DENY, ...) */
		return;
	}
	int64_t rtt = ntp_diff_ns(now_ntp, h.origin_ts);
	int64_t proc = ntp_diff_ns(h.transmit_ts, h.receive_ts);
	if (rtt < 0 || rtt > 60 * (int64_t)1000000000 || proc < 0 || proc > rtt + 1000000) {
		st->bad++; /* not a response to a request we sent in this run */
		return;
	}
	uint64_t t1 = h.origin_ts; /* the origin we sent */
	if (u->tx_id != NULL) {
		size_t slot = (size_t)si * TXRING + (size_t)(h.origin_ts & (TXRING - 1));
		uint64_t t1k =
		    (u->tx_id[slot] & 0xffff) == (h.origin_ts & 0xffff) ? u->tx_time[slot] : 0;
		t1 = kernel_t1(st, t1, 0x10000, t1k, h.receive_ts);
		rtt = ntp_diff_ns(now_ntp, t1); /* the origin is not T1 here */
		if (rtt < 0) {
			rtt = 0;
		}
	}
	st->valid++;
	st->verified++;
	bs_hist_add(&st->rtt, (uint64_t)rtt);
	bs_hist_add(&st->proc, (uint64_t)proc);
	add_sample(st, &h, t1, t4);
}

static void handle_nts(struct udp *u, struct udp_stats *st, const uint8_t *p, size_t len,
                       uint64_t now_mono, uint64_t t4)
{
	struct ntp_header h;
	CBS c;
	CBS_init(&c, p, len);
	if (len < NTP_HEADER_LEN + u->uid_ef_len || !ntp_header_parse(&h, &c)) {
		st->bad++;
		return;
	}
	const uint8_t *uid_ef = p + NTP_HEADER_LEN;
	uint64_t idx = 0;
	for (int b = 0; b < 8; b++) {
		idx |= (uint64_t)uid_ef[4 + b] << (8 * b);
	}
	if (idx >= u->num_templates) {
		st->bad++;
		return;
	}
	const uint8_t *req = u->tbuf + idx * NTP_MAX_PACKET;
	if (memcmp(uid_ef, req + NTP_HEADER_LEN, u->uid_ef_len) != 0 || len > u->tlen[idx] ||
	    h.mode != NTP_MODE_SERVER) {
		st->bad++;
		return;
	}
	if (h.stratum == 0) {
		st->nak++;
		return;
	}
	int verify = u->rx_count++ % (uint64_t)opt.verify_every == 0;
	if (verify) {
		struct nts_response r;
		enum nts_client_result res =
		    nts_parse_response(&r, p, len, uid_ef + 4, UID_LEN, &u->s2c[u->tsess[idx]],
		                       u->scratch, sizeof(u->scratch));
		uint64_t origin = 0;
		for (int b = 0; b < 8; b++) {
			origin = (origin << 8) | req[40 + b];
		}
		st->verified++;
		if (res != NTS_RESP_OK || r.num_cookies != 1 + (size_t)opt.placeholders ||
		    r.header.origin_ts != origin) {
			st->verify_failed++;
			st->bad++;
			return;
		}
	}
	int64_t proc = ntp_diff_ns(h.transmit_ts, h.receive_ts);
	if (proc < 0) {
		st->bad++;
		return;
	}
	if (verify) { /* authenticated timestamps only */
		uint64_t t1 = u->t1[idx];
		if (u->tx_id != NULL) {
			t1 = kernel_t1(st, t1, 0, u->t1k[idx], h.receive_ts);
		}
		add_sample(st, &h, t1, t4);
	}
	st->valid++;
	bs_hist_add(&st->rtt, now_mono - u->tsent[idx]);
	bs_hist_add(&st->proc, (uint64_t)proc);
}

/* kernel_rx_time returns the SO_TIMESTAMPNS receive time of |m| as an NTP
 * timestamp, 0 if it has none. */
static uint64_t kernel_rx_time(struct msghdr *m)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			return ntp_ts_from_timespec(&ts);
		}
	}
	return 0;
}

/* recv_batch reads up to BATCH datagrams (|flags| MSG_ERRQUEUE: transmit
 * timestamps) from socket |si| into u->rx and u->msgs, with room for their
 * control messages; returns recvmmsg's result. */
static int recv_batch(struct udp *u, int si, int flags)
{
	for (int i = 0; i < BATCH; i++) {
		memset(&u->msgs[i].msg_hdr, 0, sizeof(u->msgs[i].msg_hdr));
		u->iov[i].iov_base = u->rx[i];
		u->iov[i].iov_len = sizeof(u->rx[i]);
		u->msgs[i].msg_hdr.msg_iov = &u->iov[i];
		u->msgs[i].msg_hdr.msg_iovlen = 1;
		u->msgs[i].msg_hdr.msg_control = u->rx_cmsg[i];
		u->msgs[i].msg_hdr.msg_controllen = sizeof(u->rx_cmsg[i]);
	}
	return recvmmsg(u->fds[si], u->msgs, BATCH, flags | MSG_DONTWAIT, NULL);
}

/* read_tx_timestamps takes the transmit timestamps of socket |si| from its
 * error queue (--tx-timestamps) and files them by the kernel's id. */
static void read_tx_timestamps(struct udp *u, int si)
{
	for (;;) {
		int r = recv_batch(u, si, MSG_ERRQUEUE);
		if (r <= 0) {
			return;
		}
		for (int i = 0; i < r; i++) {
			struct msghdr *m = &u->msgs[i].msg_hdr;
			uint64_t ts = 0, id = UINT64_MAX;
			for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c != NULL;
			     c = CMSG_NXTHDR(m, c)) {
				if (c->cmsg_level == SOL_SOCKET &&
				    c->cmsg_type == SCM_TIMESTAMPING) {
					struct timespec t[3];
					memcpy(t, CMSG_DATA(c), sizeof(t));
					ts = ntp_ts_from_timespec(&t[0]);
				} else if ((c->cmsg_level == IPPROTO_IP &&
				            c->cmsg_type == IP_RECVERR) ||
				           (c->cmsg_level == IPPROTO_IPV6 &&
				            c->cmsg_type == IPV6_RECVERR)) {
					struct sock_extended_err ee;
					memcpy(&ee, CMSG_DATA(c), sizeof(ee));
					if (ee.ee_origin == SO_EE_ORIGIN_TIMESTAMPING) {
						id = ee.ee_data;
					}
				}
			}
			if (ts == 0 || id == UINT64_MAX) {
				continue;
			}
			/* ee_data is 32 bits: match it against the low bits */
			size_t slot = (size_t)si * TXRING + (size_t)(id % TXRING);
			if ((uint32_t)u->tx_id[slot] != (uint32_t)id) {
				continue; /* overwritten: sent TXRING datagrams ago */
			}
			u->tx_time[slot] = ts;
			if (u->nts) {
				u->t1k[u->tx_key[slot]] = ts;
			}
		}
	}
}

/* recv_ready reads what the ready sockets hold, waiting up to |timeout_ns|
 * (0: just look) for the first one. */
static void recv_ready(struct udp *u, struct udp_stats *st, uint64_t timeout_ns)
{
	struct epoll_event evs[MAX_PORTS < 256 ? MAX_PORTS : 256];
	struct timespec ts = {.tv_sec = (time_t)(timeout_ns / 1000000000u),
	                      .tv_nsec = (long)(timeout_ns % 1000000000u)};
	int n = epoll_pwait2(u->epfd, evs, (int)(sizeof(evs) / sizeof(evs[0])), &ts, NULL);
	if (n < 0 && errno == ENOSYS) { /* kernels before 5.11 */
		n = epoll_wait(u->epfd, evs, (int)(sizeof(evs) / sizeof(evs[0])),
		               (int)((timeout_ns + 999999) / 1000000));
	}
	for (int e = 0; e < n; e++) {
		int si = (int)evs[e].data.u32;
		if (u->tx_id != NULL) {
			/* first: a response's transmit timestamp was queued before
			 * the response could arrive */
			read_tx_timestamps(u, si);
		}
		int r = recv_batch(u, si, 0);
		if (r <= 0) {
			continue;
		}
		uint64_t now = u->nts ? mono_ns() : real_ntp();
		uint64_t user_t4 = u->nts ? real_ntp() : now;
		for (int i = 0; i < r; i++) {
			st->received++;
			uint64_t t4 = kernel_rx_time(&u->msgs[i].msg_hdr);
			if (t4 == 0) {
				t4 = user_t4;
				st->t4_user++;
			}
			if (u->nts) {
				handle_nts(u, st, u->rx[i], u->msgs[i].msg_len, now, t4);
			} else {
				handle_plain(u, st, si, u->rx[i], u->msgs[i].msg_len, now, t4);
			}
		}
	}
}

/* udp_step sends at |rate| (0: as fast as possible) for opt.duration or
 * until |count| requests, then collects late responses for opt.drain. */
static void udp_step(struct udp *u, struct udp_stats *st, double rate, uint64_t count)
{
	memset(st, 0, sizeof(*st));
	bs_hist_init(&st->rtt);
	bs_hist_init(&st->proc);
	bs_shist_init(&st->offset);
	bs_shist_init(&st->delay);
	st->rate = rate;
	double cpu0 = cpu_seconds();
	uint64_t t0 = mono_ns(), end = t0 + (uint64_t)(opt.duration * 1e9), batch_no = 0, now;
	while ((now = mono_ns()) < end && (count == 0 || st->sent < count)) {
		uint64_t due = rate > 0 ? bs_pace_due(now - t0, rate) : st->sent + BATCH;
		if (count > 0 && due > count) {
			due = count;
		}
		uint64_t n = due > st->sent ? due - st->sent : 0;
		if (n > BATCH) {
			n = BATCH;
		}
		if (n > 0) {
			st->sent += (uint64_t)send_batch(u, (int)n, batch_no++);
		}
		uint64_t wait_ns = 0;
		if (n == 0 && rate > 0) {
			/* sleep in the kernel until the next packet is due (or a
			 * response comes); spin only for the last few microseconds */
			uint64_t next = t0 + bs_pace_next_ns(st->sent, rate);
			if (next > now + 20000u) {
				wait_ns = next - now - 10000u;
			}
		}
		recv_ready(u, st, wait_ns);
	}
	uint64_t send_end = mono_ns();
	uint64_t drain_end = send_end + (uint64_t)(opt.drain * 1e9);
	while (mono_ns() < drain_end && st->received < st->sent) {
		recv_ready(u, st, 5000000u);
	}
	st->elapsed = (double)(send_end - t0) / 1e9;
	st->cpu = cpu_seconds() - cpu0;
}

static void print_step(const struct udp_stats *st, int first, int last)
{
	double loss =
	    st->sent
	        ? 100.0 * (double)(st->sent - (st->received < st->sent ? st->received : st->sent)) /
	              (double)st->sent
	        : 0;
	double sent_rate = st->elapsed > 0 ? (double)st->sent / st->elapsed : 0;
	double resp_rate = st->elapsed > 0 ? (double)st->valid / st->elapsed : 0;
	double r[4], p[4];
	const double ps[3] = {50, 90, 99};
	for (int i = 0; i < 3; i++) {
		r[i] = (double)bs_hist_percentile(&st->rtt, ps[i]) / 1e3;
		p[i] = (double)bs_hist_percentile(&st->proc, ps[i]) / 1e3;
	}
	r[3] = (double)st->rtt.max / 1e3;
	p[3] = (double)st->proc.max / 1e3;
	double off[3], del[2];
	const double offp[3] = {1, 50, 99};
	for (int i = 0; i < 3; i++) {
		off[i] = (double)bs_shist_percentile(&st->offset, offp[i]) / 1e3;
	}
	del[0] = (double)bs_shist_percentile(&st->delay, 50) / 1e3;
	del[1] = (double)bs_shist_percentile(&st->delay, 99) / 1e3;
	uint64_t samples = bs_shist_count(&st->offset);
	const char *t4 = st->t4_user == 0             ? "kernel"
	                 : st->t4_user < st->received ? "mixed"
	                                              : "user";
	const char *t1 = !opt.tx_timestamps      ? "user"
	                 : st->t1_user == 0      ? "kernel"
	                 : st->t1_user < samples ? "mixed"
	                                         : "user";
	double cpu = st->elapsed > 0 ? 100 * st->cpu / st->elapsed : 0;
	if (opt.json) {
		printf("%s{\"target_rate\":", first ? "" : ",");
		if (st->rate > 0) {
			printf("%.0f", st->rate);
		} else {
			printf("\"max\"");
		}
		printf(",\"elapsed_s\":%.3f,\"sent\":%llu,\"sent_per_s\":%.0f,\"received\":%llu,"
		       "\"valid\":%llu,\"responses_per_s\":%.0f,\"loss_pct\":%.3f,\"bad\":%llu,"
		       "\"nak\":%llu,\"verified\":%llu,\"verify_failed\":%llu,"
		       "\"rtt_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"max\":%.1f},"
		       "\"proc_us\":{\"p50\":%.2f,\"p90\":%.2f,\"p99\":%.2f,\"max\":%.2f},"
		       "\"offset_us\":{\"p1\":%.2f,\"p50\":%.2f,\"p99\":%.2f},"
		       "\"delay_us\":{\"p50\":%.2f,\"p99\":%.2f},\"timestamp_samples\":%llu,"
		       "\"t1\":\"%s\",\"t4\":\"%s\",\"generator_cpu_pct\":%.0f}",
		       st->elapsed, (unsigned long long)st->sent, sent_rate,
		       (unsigned long long)st->received, (unsigned long long)st->valid, resp_rate,
		       loss, (unsigned long long)st->bad, (unsigned long long)st->nak,
		       (unsigned long long)st->verified, (unsigned long long)st->verify_failed,
		       r[0], r[1], r[2], r[3], p[0], p[1], p[2], p[3], off[0], off[1], off[2],
		       del[0], del[1], (unsigned long long)samples, t1, t4, cpu);
		if (last) {
			printf("]}\n");
		}
		return;
	}
	if (first) {
		printf("  %10s %10s %10s %8s %10s %23s %23s %23s %15s %6s %6s %5s\n", "target/s",
		       "sent/s", "answered/s", "loss%", "sent", "RTT us p50/p90/p99",
		       "T3-T2 us p50/p90/p99", "offset us p1/p50/p99", "delay us p50/p99", "bad",
		       "nak", "cpu%");
	}
	char tr[32];
	if (st->rate > 0) {
		snprintf(tr, sizeof(tr), "%.0f", st->rate);
	} else {
		snprintf(tr, sizeof(tr), "max");
	}
	char rs[64], pss[64], os[64], ds[64];
	snprintf(rs, sizeof(rs), "%.0f/%.0f/%.0f", r[0], r[1], r[2]);
	snprintf(pss, sizeof(pss), "%.1f/%.1f/%.1f", p[0], p[1], p[2]);
	snprintf(os, sizeof(os), "%.1f/%.1f/%.1f", off[0], off[1], off[2]);
	snprintf(ds, sizeof(ds), "%.1f/%.1f", del[0], del[1]);
	printf("  %10s %10.0f %10.0f %8.3f %10llu %23s %23s %23s %15s %6llu %6llu %5.0f%s\n", tr,
	       sent_rate, resp_rate, loss, (unsigned long long)st->sent, rs, pss, os, ds,
	       (unsigned long long)st->bad, (unsigned long long)st->nak, cpu,
	       st->t4_user || st->t1_user ? "  (T1 or T4 not all kernel timestamps)" : "");
}

/* nts_setup establishes opt.sessions NTS-KE sessions with |target|, finds
 * the NTP server they name (or --ntp) and builds the request templates. */
static size_t nts_setup(struct udp *u, struct target *ntp, struct session *sessions,
                        const char *target)
{
	struct target ke;
	size_t num_sessions = 0;
	resolve(&ke, target, "4460");
	struct ke_stats *st = malloc(sizeof(*st));
	if (st == NULL) {
		die(EXIT_SETUP, "out of memory");
	}
	int conc = opt.sessions < 16 ? opt.sessions : 16;
	ke_bench(st, &ke, conc, 60.0, (uint64_t)opt.sessions, sessions, MAX_SESSION, &num_sessions);
	if (num_sessions != (size_t)opt.sessions) {
		die(EXIT_SETUP, "NTS-KE with %s: %zu of %d sessions established", ke.text,
		    num_sessions, opt.sessions);
	}
	free(st);
	if (opt.ntp != NULL) {
		resolve(ntp, opt.ntp, "123");
	} else {
		char where[300];
		const char *srv = sessions[0].server[0] ? sessions[0].server : NULL;
		char host[256], port[16];
		split_host_port(target, host, sizeof(host), port, sizeof(port), "4460");
		if (srv != NULL && strchr(srv, ':') != NULL) {
			snprintf(where, sizeof(where), "[%s]:%u", srv,
			         sessions[0].port ? sessions[0].port : 123);
		} else {
			snprintf(where, sizeof(where), "%s:%u", srv != NULL ? srv : host,
			         sessions[0].port ? sessions[0].port : 123);
		}
		resolve(ntp, where, "123");
	}
	u->t = ntp;
	build_templates(u, sessions, num_sessions, (size_t)opt.templates);
	return num_sessions;
}

/* print_header describes the run (the opening of the JSON object with
 * --json) */
static void print_header(const struct udp *u, const struct target *ntp,
                         const struct session *sessions, size_t num_sessions)
{
	uint64_t clients = (uint64_t)opt.ports * (uint64_t)opt.src_addrs;
	if (opt.json) {
		printf("{\"mode\":\"%s\",\"target\":\"%s\",\"ports\":%d,\"src_addrs\":%d,"
		       "\"distinct_clients\":%llu,",
		       u->nts ? "nts" : "ntp", ntp->text, opt.ports, opt.src_addrs,
		       (unsigned long long)clients);
		if (u->nts) {
			printf("\"replayed\":true,\"templates\":%d,\"sessions\":%zu,\"aead\":%u,"
			       "\"placeholders\":%d,\"verify_every\":%d,",
			       opt.templates, num_sessions, sessions[0].aead, opt.placeholders,
			       opt.verify_every);
		} else {
			printf("\"replayed\":false,\"verify_every\":1,");
		}
		printf("\"steps\":[");
	} else {
		printf("nts-bench %s %s: %d source ports x %d source addresses = %llu clients, "
		       "%.2f s per step\n",
		       u->nts ? "nts" : "ntp", ntp->text, opt.ports, opt.src_addrs,
		       (unsigned long long)clients, opt.duration);
		if (u->nts) {
			printf("  NTS: %zu session(s) (AEAD %u), %d pre-built requests REPLAYED "
			       "(stateless responders answer replays), %d placeholder(s);\n"
			       "  every response matched by UID, 1 in %d fully verified "
			       "(S2C authenticator, %d cookies, origin)\n",
			       num_sessions, sessions[0].aead, opt.templates, opt.placeholders,
			       opt.verify_every, 1 + opt.placeholders);
		} else {
			printf("  plain NTPv4: every response checked (mode, origin echo, T3 >= "
			       "T2)\n");
		}
	}
}

static int udp_main(const char *target)
{
	static struct udp u; /* large: keep it off the stack */
	static struct session sessions[MAX_SESSION];
	struct target ntp;
	size_t num_sessions = 0;

	u.nts = opt.mode == MODE_NTS;
	if (u.nts) {
		num_sessions = nts_setup(&u, &ntp, sessions, target);
	} else {
		resolve(&ntp, target, "123");
		u.t = &ntp;
	}
	if (opt.src_addrs > 1 && ntp.ss.ss_family != AF_INET) {
		die(EXIT_USAGE, "--src-addrs needs an IPv4 loopback target");
	}
	if (opt.src_addrs > 1 && !is_loopback((const struct sockaddr *)&ntp.ss)) {
		die(EXIT_USAGE, "--src-addrs uses 127.16/12 and needs a loopback target");
	}
	u.num_fds = opt.ports;
	udp_open(&u);

	double rates[MAX_RATES];
	size_t num = 0;
	if (opt.max) {
		rates[num++] = 0;
	} else {
		for (size_t i = 0; i < opt.num_rates; i++) {
			rates[num++] = opt.rates[i];
		}
	}
	print_header(&u, &ntp, sessions, num_sessions);
	uint64_t total_valid = 0, total_bad = 0;
	for (size_t i = 0; i < num; i++) {
		struct udp_stats *st = malloc(sizeof(*st));
		if (st == NULL) {
			die(EXIT_SETUP, "out of memory");
		}
		udp_step(&u, st, rates[i], opt.count);
		print_step(st, i == 0, i + 1 == num);
		fflush(stdout);
		total_valid += st->valid;
		total_bad += st->bad + st->nak;
		free(st);
	}
	OPENSSL_cleanse(sessions, sizeof(sessions));
	if (total_valid == 0) {
		return EXIT_NO_RESPONSE;
	}
	return total_bad > 0 ? EXIT_FAILURES : EXIT_OK;
}

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: nts-bench ke  [--concurrency C] [--aead 30,15] [--ca FILE] [--sni NAME]\n"
	    "                     [--duration S] [--count N] [--json] HOST:KEPORT\n"
	    "       nts-bench ntp (--rate R | --rates R1,R2,.. | --max) [--ports N]\n"
	    "                     [--src-addrs M] [--tx-timestamps] [--duration S] [--count N]\n"
	    "                     [--json] HOST:PORT\n"
	    "       nts-bench nts (--rate R | --rates R1,R2,.. | --max) [--placeholders 0-7]\n"
	    "                     [--sessions N] [--templates N] [--verify-every K]\n"
	    "                     [--ntp HOST:PORT] [--ports N] [--src-addrs M]\n"
	    "                     [--tx-timestamps] ... HOST:KEPORT\n"
	    "common: --allow-nonloopback CIDR, --timeout S (KE), --drain S (late "
	    "responses)\n"
	    "       nts-bench --version\n");
	exit(EXIT_USAGE);
}

static int parse_int(const char *s, int lo, int hi)
{
	int v;
	if (!num_parse_int(&v, s, lo, hi)) {
		usage();
	}
	return v;
}

/* parse_seconds: a decimal number of seconds in (0, |hi|] or, with
 * |zero_ok|, [0, |hi|] */
static double parse_seconds(const char *s, double hi, int zero_ok)
{
	double v;
	if (!num_parse_double(&v, s, 0, hi) || (!zero_ok && v == 0)) {
		usage();
	}
	return v;
}

/* set_number sets the numeric option |c| from |arg| (a usage error if it is
 * not a number in range); 0 if |c| is not a numeric option. */
static int set_number(int c, const char *arg)
{
	switch (c) {
	case 'd':
		opt.duration = parse_seconds(arg, 3600, 0);
		break;
	case 'n':
		if (!num_parse_u64(&opt.count, arg, 1, UINT64_MAX)) {
			usage();
		}
		break;
	case 'C':
		opt.concurrency = parse_int(arg, 1, 10000);
		break;
	case 'p':
		opt.ports = parse_int(arg, 1, MAX_PORTS);
		break;
	case 'S':
		opt.src_addrs = parse_int(arg, 1, 254 * 256 * 16);
		break;
	case 'P':
		opt.placeholders = parse_int(arg, 0, NTS_MAX_PLACEHOLDERS);
		break;
	case 'E':
		opt.sessions = parse_int(arg, 1, MAX_SESSION);
		break;
	case 'T':
		opt.templates = parse_int(arg, 1, 1 << 20);
		break;
	case 'V':
		opt.verify_every = parse_int(arg, 1, 1 << 20);
		break;
	case 't':
		opt.timeout = parse_seconds(arg, 86400, 0);
		break;
	case 'D':
		opt.drain = parse_seconds(arg, 60, 1);
		break;
	default:
		return 0;
	}
	return 1;
}

/* set_option sets option |c| from |arg| */
static void set_option(int c, const char *arg)
{
	switch (c) {
	case 'j':
		opt.json = 1;
		break;
	case 'a':
		opt.ca = arg;
		break;
	case 's':
		opt.sni = arg;
		break;
	case 'A':
		if (!aead_parse_list(opt.aeads, NTS_ARRAY_SIZE(opt.aeads), &opt.num_aeads, arg)) {
			fprintf(stderr,
			        "nts-bench: --aead %s: ids this build implements "
			        "(15, 17, 30), at most 4\n",
			        arg);
			usage();
		}
		break;
	case 'r':
		if (!bs_parse_rates(opt.rates, 1, &opt.num_rates, arg)) {
			usage();
		}
		break;
	case 'R':
		if (!bs_parse_rates(opt.rates, MAX_RATES, &opt.num_rates, arg)) {
			usage();
		}
		break;
	case 'M':
		opt.max = 1;
		break;
	case 'X':
		opt.tx_timestamps = 1;
		break;
	case 'N':
		opt.ntp = arg;
		break;
	case 'L':
		opt.allow = arg;
		break;
	default:
		if (!set_number(c, arg)) {
			usage();
		}
	}
}

/* parse_options: the mode, then the options; usage errors exit 2 */
static void parse_options(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"duration", required_argument, NULL, 'd'},
	    {"count", required_argument, NULL, 'n'},
	    {"json", no_argument, NULL, 'j'},
	    {"concurrency", required_argument, NULL, 'C'},
	    {"ca", required_argument, NULL, 'a'},
	    {"sni", required_argument, NULL, 's'},
	    {"aead", required_argument, NULL, 'A'},
	    {"rate", required_argument, NULL, 'r'},
	    {"rates", required_argument, NULL, 'R'},
	    {"max", no_argument, NULL, 'M'},
	    {"tx-timestamps", no_argument, NULL, 'X'},
	    {"ports", required_argument, NULL, 'p'},
	    {"src-addrs", required_argument, NULL, 'S'},
	    {"placeholders", required_argument, NULL, 'P'},
	    {"sessions", required_argument, NULL, 'E'},
	    {"templates", required_argument, NULL, 'T'},
	    {"verify-every", required_argument, NULL, 'V'},
	    {"ntp", required_argument, NULL, 'N'},
	    {"allow-nonloopback", required_argument, NULL, 'L'},
	    {"timeout", required_argument, NULL, 't'},
	    {"drain", required_argument, NULL, 'D'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	version_handle_arg(argc, argv, "nts-bench");
	if (argc < 2) {
		usage();
	}
	if (strcmp(argv[1], "ke") == 0) {
		opt.mode = MODE_KE;
	} else if (strcmp(argv[1], "ntp") == 0) {
		opt.mode = MODE_NTP;
	} else if (strcmp(argv[1], "nts") == 0) {
		opt.mode = MODE_NTS;
	} else {
		usage();
	}
	optind = 2;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		set_option(c, optarg);
	}
	if (optind != argc - 1) {
		usage();
	}
	if (opt.mode != MODE_KE && !opt.max && opt.num_rates == 0) {
		fprintf(stderr, "nts-bench: give --rate, --rates or --max\n");
		usage();
	}
	if (opt.mode != MODE_KE && opt.max && opt.num_rates > 0) {
		usage();
	}
}

int main(int argc, char **argv)
{
	parse_options(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_TIMERSLACK, 1UL); /* pacing: wake up on time */
	if (opt.mode == MODE_KE) {
		return ke_main(argv[optind]);
	}
	return udp_main(argv[optind]);
}
