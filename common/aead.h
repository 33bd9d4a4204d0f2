/*
 * aead.h: one small interface over the AEADs NTS uses.
 *
 *   15  AEAD_AES_SIV_CMAC_256  (RFC 5297; siv.c: AES-NI, or BoringSSL AES elsewhere)
 *   17  AEAD_AES_SIV_CMAC_512  (same code, 64-byte key)
 *   30  AEAD_AES_128_GCM_SIV   (RFC 8452; BoringSSL EVP_aead_aes_128_gcm_siv)
 *
 * Output layout is each AEAD's own: SIV puts the 16-byte synthetic IV first
 * (V || C, RFC 5297 / RFC 8915 s5.6), GCM-SIV puts the tag last (C || T).
 * Either way the sealed length is plaintext length + AEAD_TAG_LEN.
 *
 * An aead_ctx holds expanded keys; aead_ctx_init does all key setup so that
 * seal and open never allocate. aead_ctx_cleanup wipes it. A zeroed
 * aead_ctx is a valid "empty" state for cleanup.
 */
#ifndef NTS_AEAD_H
#define NTS_AEAD_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/aead.h>
#include <openssl/aes.h>

#include "common/compiler.h"
#include "common/siv.h"

#define AEAD_AES_SIV_CMAC_256 15
#define AEAD_AES_SIV_CMAC_384 16 /* not supported */
#define AEAD_AES_SIV_CMAC_512 17
#define AEAD_AES_128_GCM_SIV  30
#define AEAD_AES_256_GCM_SIV  31 /* not supported */

#define AEAD_TAG_LEN       16
#define AEAD_MAX_KEY_LEN   64
#define AEAD_MAX_NONCE_LEN 16

typedef struct aead_ctx {
	uint16_t id; /* 0 when empty */
	union {
		struct siv_key siv; /* AES-SIV-CMAC-256/512, expanded (siv.h) */
		EVP_AEAD_CTX gcm;
	} u;
} aead_ctx;

/* aead_supported returns 1 if |id| is an AEAD this build implements. */
int aead_supported(uint16_t id);

/* aead_parse_list reads a comma-separated list of AEAD ids ("30,15", as
 * the client tools take it) into |out| (room for |max|), in order. Returns
 * 0 for an empty list or element, anything but a decimal number, an id
 * this build does not implement (aead_supported), or more than |max| ids:
 * a client must never offer what it cannot derive keys for. */
int aead_parse_list(uint16_t *out, size_t max, size_t *out_num, const char *s) NTS_WUR;

/* aead_key_len returns the key length of |id| in bytes (32, 64, 16), or 0
 * if unsupported. */
size_t aead_key_len(uint16_t id);

/* aead_nonce_len returns the nonce length we generate for |id|: 16 for the
 * SIV modes, 12 for GCM-SIV; 0 if unsupported. */
size_t aead_nonce_len(uint16_t id);

/* aead_nonce_ok returns 1 if a peer's |nonce_len| is acceptable for |id|:
 * SIV 16..AEAD_MAX_NONCE_LEN (RFC 8915 s5.6), GCM-SIV exactly 12. */
int aead_nonce_ok(uint16_t id, size_t nonce_len);

/* aead_ctx_init sets up |ctx| for |id| with |key| (exactly aead_key_len(id)
 * bytes). Returns 1 on success, 0 on bad id or length. */
int aead_ctx_init(aead_ctx *ctx, uint16_t id, const uint8_t *key, size_t key_len) NTS_WUR;

/* aead_ctx_cleanup wipes |ctx|; safe on a zeroed or already cleaned ctx. */
void aead_ctx_cleanup(aead_ctx *ctx);

/* aead_seal encrypts |in_len| bytes of |in| with |nonce| and associated
 * data |ad| into |out| (at most |max_out_len| bytes), sets |*out_len| to
 * in_len + AEAD_TAG_LEN. |out| may equal |in| (in place); other overlap is
 * not allowed. A nonce_len of 0 is allowed for SIV (deterministic mode).
 * Returns 1 on success, 0 on error. Never allocates. */
int aead_seal(const aead_ctx *ctx, uint8_t *out, size_t *out_len, size_t max_out_len,
              const uint8_t *nonce, size_t nonce_len, const uint8_t *in, size_t in_len,
              const uint8_t *ad, size_t ad_len) NTS_WUR;

/* aead_open checks and decrypts; returns 1 and sets |*out_len| to
 * in_len - AEAD_TAG_LEN on success, 0 if the input is too short or the tag
 * does not verify (tags compared in constant time). On failure nothing of
 * the plaintext is left in |out|. Same aliasing rules as aead_seal.
 * Built with NTS_FUZZING, the tag comparison is skipped. */
int aead_open(const aead_ctx *ctx, uint8_t *out, size_t *out_len, size_t max_out_len,
              const uint8_t *nonce, size_t nonce_len, const uint8_t *in, size_t in_len,
              const uint8_t *ad, size_t ad_len) NTS_WUR;

#endif
