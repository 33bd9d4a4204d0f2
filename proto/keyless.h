/*
 * keyless.h: the wire format between nts-ke-server and nts-signer
 * (docs/signer.md). One message per SOCK_SEQPACKET datagram, all integers
 * big-endian, exact lengths:
 *
 *   request = u8 version (1) | u8 type (1: sign) | u32 id | u64 sent_ns
 *             | 32 key (SHA-256 of the certificate's DER SubjectPublicKeyInfo)
 *             | u16 algorithm (TLS SignatureScheme) | u16 len | len input
 *   reply   = u8 version (1) | u8 type (2: signature) | u32 id | u8 status
 *             | u16 len | len signature (len 0 unless status is OK)
 *
 * |input| is the TLS 1.3 server CertificateVerify content (64 spaces, the
 * context string, a zero byte and the transcript hash), unhashed: the
 * signer checks that it is exactly that before signing, so a compromised
 * KE server cannot use the key to sign anything else.
 */
#ifndef NTS_KEYLESS_H
#define NTS_KEYLESS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/bytestring.h>

#include "common/compiler.h"
#include "common/wbuf.h"

#define KL_VERSION      1
#define KL_TYPE_SIGN    1
#define KL_TYPE_REPLY   2
#define KL_KEY_ID_LEN   32
#define KL_MAX_INPUT    256  /* 64 + 34 + a 64-byte hash fits */
#define KL_MAX_SIG      1024 /* RSA-8192 */
#define KL_REQUEST_HEAD (1 + 1 + 4 + 8 + KL_KEY_ID_LEN + 2 + 2)
#define KL_MAX_REQUEST  (KL_REQUEST_HEAD + KL_MAX_INPUT)
#define KL_REPLY_HEAD   (1 + 1 + 4 + 1 + 2)
#define KL_MAX_REPLY    (KL_REPLY_HEAD + KL_MAX_SIG)

enum kl_status {
	KL_OK = 0,
	KL_UNKNOWN_KEY = 1,   /* no key with that SubjectPublicKeyInfo */
	KL_BAD_ALGORITHM = 2, /* the algorithm does not fit the key */
	KL_BAD_INPUT = 3,     /* not a TLS 1.3 server CertificateVerify content */
	KL_EXPIRED = 4,       /* older than the signer's deadline when read */
	KL_SIGN_FAILED = 5,
	KL_NUM_STATUS = 6,
};

struct kl_request {
	uint32_t id;
	uint64_t sent_ns; /* CLOCK_MONOTONIC of the sender */
	uint8_t key_id[KL_KEY_ID_LEN];
	uint16_t algorithm;
	const uint8_t *input; /* points into the parsed message */
	size_t input_len;
};

struct kl_reply {
	uint32_t id;
	uint8_t status;
	const uint8_t *sig; /* points into the parsed message */
	size_t sig_len;
};

/* kl_parse_request parses one whole request from |in|: version, type, every
 * length exact, input 1..KL_MAX_INPUT bytes, nothing trailing. */
int kl_parse_request(struct kl_request *out, CBS *in) NTS_WUR;
int kl_parse_reply(struct kl_reply *out, CBS *in) NTS_WUR;

/* Builders into a fixed buffer (KL_MAX_REQUEST / KL_MAX_REPLY bytes). */
int kl_build_request(struct wbuf *w, const struct kl_request *r) NTS_WUR;
int kl_build_reply(struct wbuf *w, const struct kl_reply *r) NTS_WUR;

/* kl_tls13_server_input returns 1 if |in| is exactly a TLS 1.3 server
 * CertificateVerify content with a |hash_len|-byte transcript hash. */
int kl_tls13_server_input(const uint8_t *in, size_t in_len, size_t hash_len) NTS_WUR;

/* kl_status_name is a metric label for |status|. */
const char *kl_status_name(unsigned status);

#endif
