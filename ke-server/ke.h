/*
 * ke.h: the NTS-KE server's shared state.
 *
 * Worker threads each run a libuv loop with their own SO_REUSEPORT
 * listening sockets. A connection drives BoringSSL through memory BIOs, so
 * TLS can pause for an asynchronous private-key operation later without
 * owning the socket. Every connection is bounded: request size, one
 * deadline timer for the whole connection, a global and a per-source cap,
 * and the oldest connection is shed when the global cap is reached.
 *
 * Files: tls.c (the TLS context sets), keyless.c (signing through
 * nts-signer), conn.c (the connection state machine), respond.c (the
 * NTS-KE answer), worker.c (threads and listeners); conn.h is their
 * internal interface, signer_client.c the link to nts-signer.
 */
#ifndef NTS_KE_H
#define NTS_KE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include <openssl/ssl.h>

#include "common/daemon.h"
#include "common/keyring.h"
#include "common/list.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/ratelimit.h"
#include "ke-server/signer_client.h"
#include "proto/ntske.h"

#define KE_MAX_LISTEN   8
#define KE_MAX_CERTS    8
#define KE_MAX_WORKERS  64
#define KE_MAX_AEADS    4
#define KE_SOURCE_SLOTS 65536

struct ke_config {
	struct daemon_config base; /* first: loglevel, syslog, user, seccomp, metrics */
	struct sockaddr_storage listen[KE_MAX_LISTEN];
	socklen_t listen_len[KE_MAX_LISTEN];
	int num_listen;
	char cert[KE_MAX_CERTS][1024];
	char key[KE_MAX_CERTS][1024]; /* empty: keyless (signed by nts-signer) */
	int num_certs;
	char signer[108];            /* nts-signer socket; empty: in-process keys */
	uint64_t signer_deadline_ms; /* per signature request */
	char keyfile[1024], deployment[1024], boxkey[1024];
	char ntpserver[NTSKE_MAX_SERVER_LEN + 1];  /* all families */
	char ntpserver4[NTSKE_MAX_SERVER_LEN + 1]; /* clients on IPv4 */
	char ntpserver6[NTSKE_MAX_SERVER_LEN + 1]; /* clients on IPv6 */
	uint64_t ntpport;                          /* 0: no Port record */
	uint16_t aeads[KE_MAX_AEADS];
	int num_aeads;
	uint64_t deadline_ms;
	uint64_t max_connections;
	uint64_t max_per_source;
	uint64_t max_request;
	uint64_t workers;
	struct rl_config rl;  /* handshakes per source prefix over time */
	struct acl_rules acl; /* allow/deny, before TLS */
};

struct ke_stats {
	metrics_counter accepted;
	metrics_counter ok;
	metrics_counter tls_error;
	metrics_counter alpn_missing;
	metrics_counter bad_request;  /* answered with Error 1 */
	metrics_counter unrecognized; /* answered with Error 0 */
	metrics_counter no_common_aead;
	metrics_counter no_ntpv4;
	metrics_counter too_large;
	metrics_counter timeout;
	metrics_counter overload_shed;
	metrics_counter source_limited;
	metrics_counter rate_limited; /* over ratelimit: closed before TLS */
	metrics_counter denied;       /* the access list: closed before TLS */
	metrics_counter no_keys;      /* answered with Error 2 */
	metrics_counter internal_error;
	metrics_counter signer_failure;     /* signer down, slow or refusing */
	metrics_counter aead[KE_MAX_AEADS]; /* by index into config aeads */
	metrics_counter cookies;
	struct metrics_hist latency;
};

/* A set of TLS contexts (one per certificate, selected by SNI). Replaced
 * whole on reload. It is reference counted: the server holds one reference
 * to the set in use and every connection one to the set it started with
 * (the SNI callback reads the set), so a retired set lives exactly as long
 * as the last connection made from it. */
struct ke_tls {
	SSL_CTX *ctx[KE_MAX_CERTS];
	int num;
	int64_t not_after; /* earliest certificate expiry, unix seconds */
	_Atomic int refs;
};

struct ke_server {
	struct ke_config cfg;
	/* the set in use: swapped under tls_lock, and a worker takes its
	 * reference under it too, so a set is never freed between a worker
	 * reading the pointer and counting its reference */
	pthread_mutex_t tls_lock;
	struct ke_tls *tls;
	struct keyring_holder keys;
	_Atomic uint64_t open_connections;
	_Atomic uint16_t per_source[KE_SOURCE_SLOTS];
	uint8_t source_salt[16];
	struct rl_policy policy; /* rate limit and access list, swapped on reload */
	_Atomic int stop;
};

/* ke_tls_load loads every certificate; with an empty key file name the
 * context signs through the worker's signer connection (keyless). The new
 * set has one reference, the caller's. On failure |out_err| points at a
 * message in |errbuf| (paths, dates and OS errors included). */
struct ke_tls *ke_tls_load(const struct ke_config *cfg, char *errbuf, size_t errbuf_len,
                           const char **out_err);
/* ke_tls_signer_check asks nts-signer (cfg->signer), once per keyless
 * certificate of |t|, for a test signature with that certificate's key.
 * Blocks for at most max(1 s, signerdeadline) per certificate; |errbuf| says what is
 * wrong and what to do. */
enum ke_signer_check {
	KE_SIGNER_OK = 0,          /* the signer holds every key (or none is keyless) */
	KE_SIGNER_KEY_MISSING = 1, /* the signer answered: it lacks a key */
	KE_SIGNER_UNVERIFIED = 2,  /* no answer (not running, no access, too slow) */
};
enum ke_signer_check ke_tls_signer_check(const struct ke_tls *t, const struct ke_config *cfg,
                                         char *errbuf, size_t errbuf_len);
/* ke_tls_ref adds a reference; ke_tls_unref drops one and frees the set with
 * the last (NULL-safe, from any thread). */
void ke_tls_ref(struct ke_tls *t);
void ke_tls_unref(struct ke_tls *t);
/* ke_tls_acquire returns the set in use with a reference for the caller
 * (NULL if there is none); ke_tls_swap installs |t| (taking over the
 * caller's reference) and drops the server's reference to the old set. */
struct ke_tls *ke_tls_acquire(struct ke_server *srv);
void ke_tls_swap(struct ke_server *srv, struct ke_tls *t);

struct ke_worker {
	int id;
	struct ke_server *srv;
	uv_loop_t loop;
	uv_async_t wakeup;
	uv_tcp_t listeners[KE_MAX_LISTEN];
	int num_listeners;
	int fds[KE_MAX_LISTEN];
	struct ke_stats stats;
	struct list conns; /* of struct ke_conn, accept order, for shedding */
	uv_thread_t thread;
	int started;
	struct ke_signer signer; /* keyless mode only */
};

int ke_listen_socket(const struct sockaddr *addr, socklen_t len, unsigned defer_s);
int ke_worker_start(struct ke_worker *w);
const uint64_t *ke_latency_bounds(void);

#endif
