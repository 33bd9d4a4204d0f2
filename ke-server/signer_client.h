/*
 * signer_client.h: one worker's connection to nts-signer (docs/signer.md).
 *
 * Each KE worker thread keeps its own SOCK_SEQPACKET connection on its
 * libuv loop, with many requests in flight. Requests are matched to
 * replies by id through a fixed slot table (no allocation per request).
 * When the signer is unreachable, submissions fail at once and the worker
 * reconnects with exponential backoff (50 ms doubling to 1 s), so
 * handshakes fail fast while it is down and work again when it is back.
 */
#ifndef NTS_KE_SIGNER_CLIENT_H
#define NTS_KE_SIGNER_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/compiler.h"
#include "common/metrics.h"
#include "proto/keyless.h"

#define KE_SIGN_SLOT_BITS 12
#define KE_SIGN_SLOTS     (1u << KE_SIGN_SLOT_BITS)
#define KE_SIGN_QUEUE     32 /* requests sent together at the end of a loop turn */

/* Called with the outcome of a request: |ok| with the signature, or not
 * (refused, malformed reply, connection lost). Never called for a request
 * that was cancelled. */
typedef void (*ke_signer_done_fn)(void *owner, int ok, const uint8_t *sig, size_t sig_len);

struct ke_signer {
	uv_loop_t *loop;
	const char *path;
	ke_signer_done_fn done;
	int fd;
	uv_poll_t poll;
	uv_timer_t retry;
	/* requests made during one turn of the loop go out in one sendmmsg from
	 * this check handle, so that the signer wakes once for all of them */
	uv_check_t flush;
	uint8_t queue[KE_SIGN_QUEUE][KL_MAX_REQUEST];
	size_t queue_len[KE_SIGN_QUEUE];
	uint32_t queue_id[KE_SIGN_QUEUE];
	int num_queued;
	int handles; /* poll/timer handles initialised and not yet closed */
	int closing;
	uint64_t backoff_ms;
	uint32_t seq;
	struct {
		void *owner;
		uint32_t id;
	} slots[KE_SIGN_SLOTS];
	uint16_t free_slots[KE_SIGN_SLOTS];
	size_t num_free;
	metrics_counter connects, disconnects; /* read by the metrics thread */
};

/* ke_signer_init starts connecting to |path| on |loop| (the first attempt
 * is immediate). */
void ke_signer_init(struct ke_signer *s, uv_loop_t *loop, const char *path, ke_signer_done_fn done);

/* ke_signer_submit queues a request; the queue is sent at the end of the
 * current loop turn (or at once when it is full). Returns 1 with
 * |*out_ticket| set, or 0 if it cannot be sent (not connected, no slot). A
 * queued request that the socket then refuses is failed through the done
 * callback, like one whose reply never comes. */
int ke_signer_submit(struct ke_signer *s, void *owner, const uint8_t key_id[KL_KEY_ID_LEN],
                     uint16_t algorithm, const uint8_t *in, size_t in_len,
                     uint32_t *out_ticket) NTS_WUR;

/* ke_signer_cancel forgets a request; its reply, if any, is ignored. */
void ke_signer_cancel(struct ke_signer *s, uint32_t ticket);

/* ke_signer_probe asks the signer at |path| once, synchronously (at most
 * |timeout_ms|), to sign a made-up TLS 1.3 CertificateVerify input with the
 * key |key_id| and |algorithm|: the signer finds keys by the SHA-256 of
 * their SubjectPublicKeyInfo, so KL_OK means it holds the certificate's
 * key. Returns 1 with the signer's answer in |*out_status|, or 0 with why
 * there is none in |err| (cannot connect, refused, no answer). */
int ke_signer_probe(const char *path, uint64_t timeout_ms, const uint8_t key_id[KL_KEY_ID_LEN],
                    uint16_t algorithm, uint8_t *out_status, char *err, size_t err_len) NTS_WUR;

/* ke_signer_connect_error formats why connect(2) to |path| failed with
 * |e|, with a hint at nts-signer's group for a permission problem. */
const char *ke_signer_connect_error(char *buf, size_t len, const char *path, int e);

/* ke_signer_close fails nothing (owners are closing too) and closes the
 * handles; the loop must run to finish. */
void ke_signer_close(struct ke_signer *s);

#endif
