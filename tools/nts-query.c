/*
 * nts-query: an NTS client for operators (what `chronyd -Q` does, with the
 * details shown).
 *
 *   nts-query [options] HOST[:KEPORT]      NTS-KE, then NTS queries
 *   nts-query --plain HOST[:PORT]          one unauthenticated NTPv4 query
 *
 * Options: --ca FILE, --sni NAME, --insecure, --aead 30,15, --ntp HOST:PORT,
 * --count N, --timeout SECONDS, --placeholders N, --json,
 * --save FILE / --load FILE (keys and cookies, to query without a new
 * handshake).
 *
 * Exit codes: 0 ok, 2 usage, 3 NTS-KE failed, 4 NAK, 5 timeout,
 * 6 authentication failed (bad response), 7 other error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/fileio.h"
#include "common/hostport.h"
#include "common/numparse.h"
#include "common/version.h"
#include "tls/ntske_keys.h"
#include "proto/ntske.h"
#include "proto/nts.h"

enum {
	EXIT_OK = 0,
	EXIT_USAGE = 2,
	EXIT_KE = 3,
	EXIT_NAK = 4,
	EXIT_TIMEOUT = 5,
	EXIT_AUTH = 6,
	EXIT_OTHER = 7
};

static struct {
	const char *ca, *sni, *ntp, *save, *load;
	int insecure, json, plain;
	uint16_t aeads[4];
	size_t num_aeads;
	int count;
	double timeout;
	int placeholders;
} opt = {.aeads = {30, 15}, .num_aeads = 2, .count = 1, .timeout = 3.0};

struct session {
	uint16_t aead;
	size_t key_len;
	uint8_t c2s[AEAD_MAX_KEY_LEN], s2c[AEAD_MAX_KEY_LEN];
	char server[NTSKE_MAX_SERVER_LEN + 1];
	uint16_t port;
	int num_cookies;
	uint8_t cookies[NTS_MAX_COOKIES * 2][NTS_COOKIE_MAX];
	size_t cookie_lens[NTS_MAX_COOKIES * 2];
};

static const char *step = "start";

static void fail(int code, const char *fmt, ...) NTS_PRINTF(2, 3) __attribute__((noreturn));
static void fail(int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (opt.json) {
		printf("{\"ok\":false,\"step\":\"%s\",\"exit\":%d,\"error\":\"", step, code);
		for (const char *p = msg; *p; p++) {
			putchar(*p == '"' || *p == '\\' ? '\'' : *p);
		}
		printf("\"}\n");
	} else {
		fprintf(stderr, "nts-query: %s: %s\n", step, msg);
	}
	exit(code);
}

static void split_host_port(const char *in, char *host, size_t host_len, char *port,
                            size_t port_len, const char *def_port)
{
	if (!hostport_split(host, host_len, port, port_len, in, def_port)) {
		fail(EXIT_USAGE, "bad address %s", in);
	}
}

static int connect_to(const char *host, const char *port, int type, struct sockaddr_storage *out,
                      socklen_t *out_len)
{
	struct addrinfo hints = {.ai_socktype = type}, *res, *ai;
	int fd = -1;
	if (getaddrinfo(host, port, &hints, &res) != 0) {
		fail(type == SOCK_STREAM ? EXIT_KE : EXIT_OTHER, "cannot resolve %s", host);
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			continue;
		}
		if (type == SOCK_STREAM) {
			struct timeval tv = {
			    .tv_sec = (time_t)opt.timeout,
			    .tv_usec = (suseconds_t)((opt.timeout - (int)opt.timeout) * 1e6)};
			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			if (out != NULL) {
				memcpy(out, ai->ai_addr, ai->ai_addrlen);
				*out_len = ai->ai_addrlen;
			}
			break;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* explain_verify_failure fails with what an operator can act on when the
 * server's certificate did not verify (|v| from SSL_get_verify_result);
 * returns if the handshake failed for another reason. */
static void explain_verify_failure(long v, const char *name)
{
	switch (v) {
	case X509_V_OK:
		return;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
		if (opt.ca != NULL) {
			fail(EXIT_KE, "certificate signed by an unknown CA (not in %s)", opt.ca);
		}
		fail(EXIT_KE, "certificate signed by an unknown CA (pass --ca FILE?)");
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		fail(EXIT_KE, "certificate does not match the name %s%s", name,
		     opt.sni == NULL ? " (pass --sni NAME?)" : "");
	case X509_V_ERR_CERT_HAS_EXPIRED:
		fail(EXIT_KE, "certificate has expired (or this host's clock is ahead)");
	case X509_V_ERR_CERT_NOT_YET_VALID:
		fail(EXIT_KE, "certificate is not yet valid (or this host's clock is behind)");
	default:
		fail(EXIT_KE, "certificate verification failed: %s",
		     X509_verify_cert_error_string(v));
	}
}

/* tls_connect opens the TLS 1.3 connection to the NTS-KE server (ALPN
 * ntske/1, verified against --ca unless --insecure); exits on failure. */
static SSL *tls_connect(SSL_CTX **out_ctx, int *out_fd, const char *host, const char *port)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_method());
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
	static const uint8_t alpn[] = {7, 'n', 't', 's', 'k', 'e', '/', '1'};
	SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn));
	if (!opt.insecure) {
		const char *ca = opt.ca != NULL ? opt.ca : "/etc/ssl/certs/ca-certificates.crt";
		if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
			fail(EXIT_KE, "cannot load CA file %s", ca);
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	}
	int fd = connect_to(host, port, SOCK_STREAM, NULL, NULL);
	if (fd < 0) {
		fail(EXIT_KE, "cannot connect to %s port %s: %s", host, port, strerror(errno));
	}
	SSL *ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	const char *name = opt.sni != NULL ? opt.sni : host;
	struct in6_addr tmp;
	int is_ip = inet_pton(AF_INET, name, &tmp) == 1 || inet_pton(AF_INET6, name, &tmp) == 1;
	if (!is_ip) {
		SSL_set_tlsext_host_name(ssl, name);
	}
	if (!opt.insecure) {
		X509_VERIFY_PARAM *p = SSL_get0_param(ssl);
		if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(p, name) != 1
		          : X509_VERIFY_PARAM_set1_host(p, name, strlen(name)) != 1) {
			fail(EXIT_KE, "bad name %s", name);
		}
	}
	if (SSL_connect(ssl) != 1) {
		unsigned long e = ERR_peek_last_error();
		char buf[256];
		if (!opt.insecure) {
			explain_verify_failure(SSL_get_verify_result(ssl), name);
		}
		ERR_error_string_n(e, buf, sizeof(buf));
		fail(EXIT_KE, "TLS handshake failed: %s", e != 0 ? buf : "connection closed");
	}
	*out_ctx = ctx;
	*out_fd = fd;
	return ssl;
}

/* exchange sends the request and reads the response (up to its End of
 * Message, or what came before the server closed) into |resp|. */
static size_t exchange(SSL *ssl, uint8_t *resp, size_t resp_cap)
{
	uint8_t req[64];
	size_t req_len, resp_len = 0;
	CBB cbb;
	CBB_init_fixed(&cbb, req, sizeof(req));
	if (!ntske_build_request(&cbb, opt.aeads, opt.num_aeads, 1) ||
	    !CBB_finish(&cbb, NULL, &req_len)) {
		fail(EXIT_OTHER, "cannot build request");
	}
	if (SSL_write(ssl, req, (int)req_len) != (int)req_len) {
		fail(EXIT_KE, "cannot send request");
	}
	for (;;) {
		int n = SSL_read(ssl, resp + resp_len, (int)(resp_cap - resp_len));
		if (n <= 0) {
			break;
		}
		resp_len += (size_t)n;
		size_t msg_len;
		if (ntske_stream_status(resp, resp_len, &msg_len) == NTSKE_STREAM_COMPLETE) {
			return msg_len;
		}
	}
	return resp_len;
}

/* take_response parses the response into |s|: the AEAD, the exported keys,
 * the cookies and the NTP server (|host| port 123 by default). */
static void take_response(struct session *s, SSL *ssl, const uint8_t *resp, size_t resp_len,
                          const char *host)
{
	struct ntske_response_view v;
	CBS cbs;
	CBS_init(&cbs, resp, resp_len);
	ntske_parse_response(&v, &cbs, opt.aeads, opt.num_aeads);
	switch (v.result) {
	case NTSKE_RESP_OK:
		break;
	case NTSKE_RESP_ERROR:
		fail(EXIT_KE, "server sent Error %u", v.error_code);
	case NTSKE_RESP_NO_AEAD:
		fail(EXIT_KE, "no common AEAD");
	case NTSKE_RESP_NO_NTPV4:
		fail(EXIT_KE, "server does not offer NTPv4");
	case NTSKE_RESP_NO_COOKIES:
		fail(EXIT_KE, "no cookies");
	default:
		fail(EXIT_KE, "malformed response (%zu bytes)", resp_len);
	}
	s->aead = v.aead;
	s->key_len = aead_key_len(v.aead);
	/* the RFC context always; the server echoes chrony's record 1024 when it
	 * chose AEAD 30, and we send that record, so both sides agree */
	if (!nke_export_keys(s->c2s, s->s2c, s->key_len, ssl, v.aead)) {
		fail(EXIT_KE, "TLS exporter failed");
	}
	for (size_t i = 0; i < v.num_cookies; i++) {
		if (CBS_len(&v.cookies[i]) > NTS_COOKIE_MAX) {
			continue;
		}
		memcpy(s->cookies[s->num_cookies], CBS_data(&v.cookies[i]), CBS_len(&v.cookies[i]));
		s->cookie_lens[s->num_cookies++] = CBS_len(&v.cookies[i]);
	}
	if (v.has_server) {
		snprintf(s->server, sizeof(s->server), "%.*s", (int)CBS_len(&v.server),
		         (const char *)CBS_data(&v.server));
	} else {
		snprintf(s->server, sizeof(s->server), "%s", host);
	}
	s->port = v.port != 0 ? v.port : 123;
}

static void key_exchange(struct session *s, const char *target)
{
	char host[256], port[16];
	static uint8_t resp[65536];
	SSL_CTX *ctx;
	int fd;

	step = "nts-ke";
	split_host_port(target, host, sizeof(host), port, sizeof(port), "4460");
	SSL *ssl = tls_connect(&ctx, &fd, host, port);
	size_t resp_len = exchange(ssl, resp, sizeof(resp));
	take_response(s, ssl, resp, resp_len, host);
	SSL_shutdown(ssl);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
}

static double now_real(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
	return (double)ts->tv_sec + (double)ts->tv_nsec * 1e-9;
}

struct sample {
	double offset, delay;
	struct ntp_header h;
};

static int wait_readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, (int)(opt.timeout * 1000)) == 1;
}

static void compute(struct sample *out, uint64_t t1, uint64_t t4, const struct ntp_header *h)
{
	out->offset = (ntp_ts_diff(h->receive_ts, t1) + ntp_ts_diff(h->transmit_ts, t4)) / 2;
	out->delay = ntp_ts_diff(t4, t1) - ntp_ts_diff(h->transmit_ts, h->receive_ts);
	out->h = *h;
}

static int nts_query(struct session *s, int fd, struct sample *out)
{
	uint8_t req[NTP_MAX_PACKET], resp[NTP_MAX_PACKET + 1], scratch[NTP_MAX_PACKET];
	uint8_t uid[32], nonce[AEAD_MAX_NONCE_LEN];
	size_t req_len;
	aead_ctx c2s, s2c;
	struct timespec ts;

	step = "nts";
	if (s->num_cookies == 0) {
		fail(EXIT_OTHER, "no cookies left");
	}
	if (!aead_ctx_init(&c2s, s->aead, s->c2s, s->key_len) ||
	    !aead_ctx_init(&s2c, s->aead, s->s2c, s->key_len)) {
		fail(EXIT_OTHER, "bad session keys");
	}
	RAND_bytes(uid, sizeof(uid));
	RAND_bytes(nonce, sizeof(nonce));
	s->num_cookies--;
	struct ntp_header h = {.version = 4, .mode = NTP_MODE_CLIENT, .poll = 4};
	now_real(&ts);
	h.transmit_ts = ntp_ts_from_timespec(&ts);
	uint64_t t1 = h.transmit_ts;
	int ph = opt.placeholders;
	if (!nts_build_request(req, sizeof(req), &req_len, &h, uid, sizeof(uid),
	                       s->cookies[s->num_cookies], s->cookie_lens[s->num_cookies],
	                       (size_t)ph, &c2s, nonce, aead_nonce_len(s->aead))) {
		fail(EXIT_OTHER, "cannot build request");
	}
	if (send(fd, req, req_len, 0) != (ssize_t)req_len) {
		fail(EXIT_OTHER, "send: %s", strerror(errno));
	}
	for (;;) {
		if (!wait_readable(fd)) {
			fail(EXIT_TIMEOUT, "no response within %.1f s", opt.timeout);
		}
		ssize_t n = recv(fd, resp, sizeof(resp), 0);
		now_real(&ts);
		if (n < 0) {
			fail(EXIT_OTHER, "recv: %s", strerror(errno));
		}
		if ((size_t)n > req_len) {
			fail(EXIT_AUTH, "response longer than the request (%zd > %zu)", n, req_len);
		}
		struct nts_response r;
		switch (nts_parse_response(&r, resp, (size_t)n, uid, sizeof(uid), &s2c, scratch,
		                           sizeof(scratch))) {
		case NTS_RESP_OK:
			if (r.header.origin_ts != t1) {
				fail(EXIT_AUTH, "origin timestamp does not match");
			}
			for (size_t i = 0;
			     i < r.num_cookies && s->num_cookies < NTS_MAX_COOKIES * 2; i++) {
				if (CBS_len(&r.cookies[i]) <= NTS_COOKIE_MAX) {
					memcpy(s->cookies[s->num_cookies], CBS_data(&r.cookies[i]),
					       CBS_len(&r.cookies[i]));
					s->cookie_lens[s->num_cookies++] = CBS_len(&r.cookies[i]);
				}
			}
			compute(out, t1, ntp_ts_from_timespec(&ts), &r.header);
			aead_ctx_cleanup(&c2s);
			aead_ctx_cleanup(&s2c);
			return (int)r.num_cookies;
		case NTS_RESP_NAK:
			fail(EXIT_NAK, "server sent an NTS NAK (cookie refused)");
		case NTS_RESP_BAD_UID:
			continue; /* not ours: keep waiting */
		case NTS_RESP_BAD_AUTH:
			fail(EXIT_AUTH, "response authentication failed");
		default:
			fail(EXIT_AUTH, "malformed response");
		}
	}
}

static void plain_query(const char *target)
{
	char host[256], port[16];
	uint8_t req[NTP_HEADER_LEN], resp[NTP_MAX_PACKET];
	struct timespec ts;
	struct wbuf w;
	struct sample smp;

	step = "ntp";
	split_host_port(target, host, sizeof(host), port, sizeof(port), "123");
	int fd = connect_to(host, port, SOCK_DGRAM, NULL, NULL);
	if (fd < 0) {
		fail(EXIT_OTHER, "cannot reach %s", target);
	}
	struct ntp_header h = {.version = 4, .mode = NTP_MODE_CLIENT};
	now_real(&ts);
	h.transmit_ts = ntp_ts_from_timespec(&ts);
	wbuf_init(&w, req, sizeof(req));
	if (!ntp_header_build(&w, &h) || send(fd, req, w.len, 0) != (ssize_t)w.len) {
		fail(EXIT_OTHER, "send failed");
	}
	for (;;) {
		if (!wait_readable(fd)) {
			fail(EXIT_TIMEOUT, "no response within %.1f s", opt.timeout);
		}
		ssize_t n = recv(fd, resp, sizeof(resp), 0);
		now_real(&ts);
		struct ntp_header r;
		CBS c;
		CBS_init(&c, resp, n > 0 ? (size_t)n : 0);
		if (n < NTP_HEADER_LEN || !ntp_header_parse(&r, &c) || r.mode != NTP_MODE_SERVER ||
		    r.origin_ts != h.transmit_ts) {
			continue;
		}
		compute(&smp, h.transmit_ts, ntp_ts_from_timespec(&ts), &r);
		break;
	}
	char refid[16];
	snprintf(refid, sizeof(refid), "%08x", smp.h.refid);
	if (opt.json) {
		printf("{\"ok\":true,\"authenticated\":false,\"server\":\"%s\",\"offset\":%.9f,"
		       "\"delay\":%.9f,\"stratum\":%u,\"leap\":%u,\"refid\":\"%s\"}\n",
		       target, smp.offset, smp.delay, smp.h.stratum, smp.h.leap, refid);
	} else {
		printf(
		    "%s: unauthenticated NTP  offset %+.6f s  delay %.6f s  stratum %u  leap %u  "
		    "refid %s\n",
		    target, smp.offset, smp.delay, smp.h.stratum, smp.h.leap, refid);
	}
	close(fd);
}

static void save_session(const struct session *s, const char *path)
{
	uint8_t buf[8192];
	struct wbuf w;
	wbuf_init(&w, buf, sizeof(buf));
	int ok = wbuf_bytes(&w, (const uint8_t *)"NTSQSES1", 8) && wbuf_u16(&w, s->aead) &&
	         wbuf_bytes(&w, s->c2s, s->key_len) && wbuf_bytes(&w, s->s2c, s->key_len) &&
	         wbuf_u8(&w, (uint8_t)strlen(s->server)) &&
	         wbuf_bytes(&w, (const uint8_t *)s->server, strlen(s->server)) &&
	         wbuf_u16(&w, s->port) && wbuf_u8(&w, (uint8_t)s->num_cookies);
	for (int i = 0; ok && i < s->num_cookies; i++) {
		ok = wbuf_u16(&w, (uint16_t)s->cookie_lens[i]) &&
		     wbuf_bytes(&w, s->cookies[i], s->cookie_lens[i]);
	}
	if (!ok || !fileio_write_atomic(path, buf, w.len, 0600)) {
		fail(EXIT_OTHER, "cannot save session to %s", path);
	}
}

static void load_session(struct session *s, const char *path)
{
	uint8_t buf[8192];
	size_t len;
	CBS c, m, k1, k2, srv;
	uint8_t n;
	step = "load";
	if (!fileio_slurp(buf, sizeof(buf), &len, path)) {
		fail(EXIT_OTHER, "cannot read %s", path);
	}
	CBS_init(&c, buf, len);
	if (!CBS_get_bytes(&c, &m, 8) || memcmp(CBS_data(&m), "NTSQSES1", 8) != 0 ||
	    !CBS_get_u16(&c, &s->aead) || (s->key_len = aead_key_len(s->aead)) == 0 ||
	    !CBS_get_bytes(&c, &k1, s->key_len) || !CBS_get_bytes(&c, &k2, s->key_len) ||
	    !CBS_get_u8_length_prefixed(&c, &srv) || !CBS_get_u16(&c, &s->port) ||
	    !CBS_get_u8(&c, &n) || n > NTS_MAX_COOKIES * 2) {
		fail(EXIT_OTHER, "%s is not a saved session", path);
	}
	memcpy(s->c2s, CBS_data(&k1), s->key_len);
	memcpy(s->s2c, CBS_data(&k2), s->key_len);
	snprintf(s->server, sizeof(s->server), "%.*s", (int)CBS_len(&srv),
	         (const char *)CBS_data(&srv));
	for (int i = 0; i < n; i++) {
		CBS ck;
		if (!CBS_get_u16_length_prefixed(&c, &ck) || CBS_len(&ck) > NTS_COOKIE_MAX) {
			fail(EXIT_OTHER, "%s: bad cookie", path);
		}
		memcpy(s->cookies[i], CBS_data(&ck), CBS_len(&ck));
		s->cookie_lens[i] = CBS_len(&ck);
	}
	s->num_cookies = n;
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: nts-query [--ca FILE] [--sni NAME] [--insecure] [--aead 30,15] [--ntp "
	        "HOST:PORT]\n"
	        "                 [--count N] [--timeout S] [--placeholders N] [--json]\n"
	        "                 [--save FILE] HOST[:KEPORT]\n"
	        "       nts-query --load FILE [--ntp HOST:PORT] [--count N] [--json]\n"
	        "       nts-query --plain HOST[:PORT] [--json]\n"
	        "       nts-query --version\n");
	exit(EXIT_USAGE);
}

/* parse_options sets opt from the command line; a bad option is a usage
 * error (exit 2). */
static void parse_options(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"ca", required_argument, NULL, 'a'},
	    {"sni", required_argument, NULL, 's'},
	    {"insecure", no_argument, NULL, 'i'},
	    {"aead", required_argument, NULL, 'A'},
	    {"ntp", required_argument, NULL, 'n'},
	    {"count", required_argument, NULL, 'c'},
	    {"timeout", required_argument, NULL, 't'},
	    {"placeholders", required_argument, NULL, 'p'},
	    {"json", no_argument, NULL, 'j'},
	    {"plain", no_argument, NULL, 'P'},
	    {"save", required_argument, NULL, 'S'},
	    {"load", required_argument, NULL, 'L'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	version_handle_arg(argc, argv, "nts-query");

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			opt.ca = optarg;
			break;
		case 's':
			opt.sni = optarg;
			break;
		case 'i':
			opt.insecure = 1;
			break;
		case 'A':
			if (!aead_parse_list(opt.aeads, NTS_ARRAY_SIZE(opt.aeads), &opt.num_aeads,
			                     optarg)) {
				fail(EXIT_USAGE,
				     "--aead %s: ids this build implements (15, 17, 30), at most 4",
				     optarg);
			}
			break;
		case 'n':
			opt.ntp = optarg;
			break;
		case 'c':
			if (!num_parse_int(&opt.count, optarg, 1, 100)) {
				usage();
			}
			break;
		case 't':
			if (!num_parse_double(&opt.timeout, optarg, 0, 86400) || opt.timeout <= 0) {
				usage();
			}
			break;
		case 'p':
			if (!num_parse_int(&opt.placeholders, optarg, 0, NTS_MAX_PLACEHOLDERS)) {
				usage();
			}
			break;
		case 'j':
			opt.json = 1;
			break;
		case 'P':
			opt.plain = 1;
			break;
		case 'S':
			opt.save = optarg;
			break;
		case 'L':
			opt.load = optarg;
			break;
		default:
			usage();
		}
	}
	if (opt.num_aeads == 0) {
		usage();
	}
}

/* print_sample prints one authenticated sample (a JSON line with --json) */
static void print_sample(const struct session *s, const struct sample *smp, int got,
                         const char *host, const char *port)
{
	char refid[16];
	snprintf(refid, sizeof(refid), "%08x", smp->h.refid);
	if (opt.json) {
		printf("{\"ok\":true,\"authenticated\":true,\"ke\":%s,\"server\":\"%s\","
		       "\"port\":%s,\"aead\":%u,\"offset\":%.9f,\"delay\":%.9f,"
		       "\"stratum\":%u,\"leap\":%u,\"refid\":\"%s\",\"new_cookies\":%d,"
		       "\"cookies_left\":%d}\n",
		       opt.load != NULL ? "false" : "true", host, port, s->aead, smp->offset,
		       smp->delay, smp->h.stratum, smp->h.leap, refid, got, s->num_cookies);
	} else {
		printf("%s:%s: NTS-authenticated (AEAD %u)  offset %+.6f s  delay %.6f s  "
		       "stratum %u  leap %u  refid %s  cookies %d (+%d)\n",
		       host, port, s->aead, smp->offset, smp->delay, smp->h.stratum, smp->h.leap,
		       refid, s->num_cookies, got);
	}
}

int main(int argc, char **argv)
{
	static struct session s;

	parse_options(argc, argv);
	if (opt.plain) {
		if (optind != argc - 1) {
			usage();
		}
		plain_query(argv[optind]);
		return EXIT_OK;
	}
	if (opt.load != NULL) {
		if (optind != argc) {
			usage();
		}
		load_session(&s, opt.load);
	} else {
		if (optind != argc - 1) {
			usage();
		}
		key_exchange(&s, argv[optind]);
	}
	char host[256], port[16];
	if (opt.ntp != NULL) {
		split_host_port(opt.ntp, host, sizeof(host), port, sizeof(port), "123");
	} else {
		snprintf(host, sizeof(host), "%s", s.server);
		snprintf(port, sizeof(port), "%u", s.port);
	}
	step = "nts";
	int fd = connect_to(host, port, SOCK_DGRAM, NULL, NULL);
	if (fd < 0) {
		fail(EXIT_OTHER, "cannot reach %s port %s", host, port);
	}
	for (int i = 0; i < opt.count; i++) {
		struct sample smp;
		int got = nts_query(&s, fd, &smp);
		print_sample(&s, &smp, got, host, port);
		if (i + 1 < opt.count) {
			usleep(200000);
		}
	}
	close(fd);
	if (opt.save != NULL) {
		save_session(&s, opt.save);
	}
	return EXIT_OK;
}
