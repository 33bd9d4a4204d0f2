/*
 * cookie.h: the NTS cookie format (opaque to clients, RFC 8915 s6).
 *
 *   offset  size  field
 *   0       4     key id, big-endian: names the cookie key's generation and
 *                 epoch (see common/keys.h) so a responder finds the key in O(1)
 *   4       14    nonce, random
 *   18      16    SIV tag V                      \  AES-SIV-CMAC-256 (AEAD 15)
 *   34      n     encrypted plaintext:            |  under the epoch's cookie key,
 *                   u16 AEAD id (big-endian)      |  associated data = the 4
 *                   C2S key (aead_key_len bytes)  |  key-id bytes, nonce as the
 *                   S2C key (aead_key_len bytes) /   last AD component
 *
 * Sizes: AEAD 15 (32-byte keys) 4 + 14 + 16 + 66 = 100 bytes; AEAD 30
 * (16-byte keys) 4 + 14 + 16 + 34 = 68 bytes; AEAD 17 164 bytes. Every size
 * is a multiple of 4 on purpose: a Cookie extension field then needs no
 * padding, so the field body a responder receives is exactly the cookie.
 *
 * SIV is misuse-resistant and the nonce is only one S2V component, so a
 * random 14-byte nonce is safe even at very high minting rates (a repeat
 * would reveal only that two cookies hold the same keys), and the cookie
 * stays one AES-only computation.
 * These are pure functions: the caller supplies the nonce.
 */
#ifndef NTS_COOKIE_H
#define NTS_COOKIE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/bytestring.h>

#include "common/aead.h"
#include "common/compiler.h"
#include "common/wbuf.h"

#define COOKIE_KEY_ID_LEN 4
#define COOKIE_NONCE_LEN  14
#define COOKIE_OVERHEAD   (COOKIE_KEY_ID_LEN + COOKIE_NONCE_LEN + AEAD_TAG_LEN + 2)
#define COOKIE_MAX_LEN    (COOKIE_OVERHEAD + 2 * AEAD_MAX_KEY_LEN)
/* The cookie key is a 32-byte AES-SIV-CMAC-256 key. */
#define COOKIE_AEAD    AEAD_AES_SIV_CMAC_256
#define COOKIE_KEY_LEN 32

/* cookie_keys: the session keys a cookie carries. */
struct cookie_keys {
	uint16_t aead_id;
	size_t key_len;
	uint8_t c2s[AEAD_MAX_KEY_LEN];
	uint8_t s2c[AEAD_MAX_KEY_LEN];
};

/* cookie_keys_cleanup wipes |k|. */
void cookie_keys_cleanup(struct cookie_keys *k);

/* cookie_len returns the cookie length for session AEAD |aead_id|, or 0 if
 * the AEAD is not supported. */
size_t cookie_len(uint16_t aead_id);

/* cookie_seal appends the cookie for |keys| to |out|, sealed with the
 * cookie key |ck| (an AEAD 15 context) under |key_id| and |nonce|.
 * Returns 1 on success, 0 if |keys| is inconsistent or |out| is full. */
int cookie_seal(struct wbuf *out, const aead_ctx *ck, uint32_t key_id,
                const uint8_t nonce[COOKIE_NONCE_LEN], const struct cookie_keys *keys) NTS_WUR;

/* cookie_key_id reads the key id without any crypto; 0 if |cookie| is
 * shorter than the smallest valid cookie. */
int cookie_key_id(uint32_t *out_key_id, const CBS *cookie) NTS_WUR;

/* cookie_open authenticates and decrypts |cookie| with |ck| into |out|.
 * It checks that the length is exactly cookie_len() of the AEAD id found
 * inside and that the id is supported. On failure |out| is wiped. */
int cookie_open(struct cookie_keys *out, const aead_ctx *ck, const CBS *cookie) NTS_WUR;

#endif
