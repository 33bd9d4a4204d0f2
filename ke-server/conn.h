/*
 * conn.h: inside the KE server: one connection's state and the steps the
 * modules hand it between (conn.c drives it, respond.c answers, keyless.c
 * signs for it, worker.c accepts it).
 */
#ifndef NTS_KE_CONN_H
#define NTS_KE_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>
#include <uv.h>

#include "ke-server/ke.h"

/* Bound on received bytes TLS has not consumed yet. TLS consumes input as
 * it comes (a partial record at most stays behind), so only a client that
 * sends far ahead of the protocol gets near it. */
#define KE_MAX_UNREAD (64 * 1024)

enum conn_state { CONN_HANDSHAKE, CONN_READING, CONN_WRITING, CONN_CLOSING };
enum sign_state { SIGN_NONE, SIGN_PENDING, SIGN_DONE, SIGN_FAILED };

struct ke_conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	struct ke_worker *w;
	struct list_link link; /* in w->conns, accept order */
	SSL *ssl;
	BIO *rbio, *wbio;
	struct ke_tls *tls; /* the set this connection started with (a reference) */
	enum conn_state state;
	int handles_open;
	int reading; /* uv_read_start is in effect */
	int counted; /* holds a global and a per-source slot */
	uint32_t source_slot;
	int ipv6;
	uint64_t start_ns;
	enum sign_state sign;
	int signer_failed; /* the handshake failed for want of a signature */
	uint32_t sign_ticket;
	/* the signer's answer, borrowed from the reply buffer while on_signed
	 * drives the handshake (keyless_complete copies it out) */
	const uint8_t *sig;
	size_t sig_len;
	size_t req_len;
	size_t scan_off; /* c->req up to here is whole records, none End of Message */
	uint8_t req[];   /* max_request bytes */
};

/* ke_mono_ns: CLOCK_MONOTONIC in nanoseconds */
uint64_t ke_mono_ns(void);

/* ke_on_connection: the listeners' accept callback (data: the worker) */
void ke_on_connection(uv_stream_t *ls, int status);

/* ke_conn_close unlinks |c|, gives back its slots and closes its handles
 * (freed in their close callbacks); a second call does nothing. */
void ke_conn_close(struct ke_conn *c);

/* ke_conn_flush sends what TLS produced; |last| closes the connection once
 * sent. */
void ke_conn_flush(struct ke_conn *c, int last);

/* ke_conn_drive advances the handshake, reads the request and answers it
 * once End of Message is in. */
void ke_conn_drive(struct ke_conn *c);

/* ke_conn_set_reading starts or stops reading the socket; 0 if it cannot
 * start. */
int ke_conn_set_reading(struct ke_conn *c, int on);

/* ke_conn_ms_left: what is left of the connection's deadline (at least 1) */
uint64_t ke_conn_ms_left(const struct ke_conn *c);

/* ke_conn_restart_deadline arms the connection's deadline timer again for
 * what is left of it. */
void ke_conn_restart_deadline(struct ke_conn *c);

/* ke_drain_finish: once a stopping worker has no connection left, close its
 * signer link so that the loop can end. */
void ke_drain_finish(struct ke_worker *w);

/* ke_respond answers the complete request of |msg_len| bytes in c->req and
 * closes the connection after it (respond.c). */
void ke_respond(struct ke_conn *c, size_t msg_len);

/* ke_keyless_setup makes |ctx| sign through nts-signer (keyless.c). */
int ke_keyless_setup(SSL_CTX *ctx, const char **out_err);

/* ke_keyless_on_signed: the signer's answer for a connection (the
 * ke_signer_done_fn of the worker's signer link). */
void ke_keyless_on_signed(void *owner, int ok, const uint8_t *sig, size_t sig_len);

#endif
