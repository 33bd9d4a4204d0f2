/*
 * keys.h: cookie-key derivation (the scheme is explained in docs/keys.md).
 *
 *   deployment   a 16-byte random id, used as HKDF salt everywhere, so two
 *                deployments never derive the same keys from the same master
 *   generation   g (0..255, wrapping): one 32-byte random master key each,
 *                active from its activation epoch a_g
 *   epoch        e = floor(unix_time / epoch_len)
 *
 *   K(g, a_g)    = HKDF-SHA256(salt = deployment, ikm = master_g,
 *                              info = "nts-cookie-chain-v1" | g | a_g)
 *   K(g, e + 1)  = HKDF-SHA256(salt = deployment, ikm = K(g, e),
 *                              info = "nts-cookie-ratchet-v1" | g | e + 1)
 *   A(g, e)      = HKDF-Expand(K(g, e), "nts-cookie-aead-v1", 32)
 *
 * K is the one-way ratchet state; A is the AES-SIV-CMAC-256 key that seals
 * and opens cookies of epoch e (so a leaked cookie key is not ratchet state).
 * g and e are encoded big-endian (u8, u64) in the info strings.
 *
 *   key id       (g << 24) | (e mod 2^24), big-endian in the cookie
 */
#ifndef NTS_KEYS_H
#define NTS_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

#define KEYS_LEN             32
#define KEYS_DEPLOYMENT_LEN  16
#define KEYS_EPOCH_BITS      24
#define KEYS_EPOCH_MASK      ((1u << KEYS_EPOCH_BITS) - 1)
#define KEYS_FINGERPRINT_LEN 8

/* keys_epoch returns the epoch of |unix_time|. */
int64_t keys_epoch(int64_t unix_time, uint32_t epoch_len);

/* keys_key_id packs generation and epoch. */
uint32_t keys_key_id(uint8_t gen, int64_t epoch);

/* keys_id_epoch recovers the full epoch of |key_id| as the epoch nearest
 * to |near| with the same low 24 bits. */
int64_t keys_id_epoch(uint32_t key_id, int64_t near);

/* keys_chain_start derives K(g, a_g) from a master. */
int keys_chain_start(uint8_t out[KEYS_LEN], const uint8_t deployment[KEYS_DEPLOYMENT_LEN],
                     const uint8_t master[KEYS_LEN], uint8_t gen, int64_t activation) NTS_WUR;

/* keys_ratchet derives K(g, e + 1) from K(g, e) (|next_epoch| = e + 1).
 * |out| may equal |in|. */
int keys_ratchet(uint8_t out[KEYS_LEN], const uint8_t deployment[KEYS_DEPLOYMENT_LEN],
                 const uint8_t in[KEYS_LEN], uint8_t gen, int64_t next_epoch) NTS_WUR;

/* keys_aead_key derives A(g, e) from K(g, e). */
int keys_aead_key(uint8_t out[KEYS_LEN], const uint8_t k[KEYS_LEN]) NTS_WUR;

/* keys_fingerprint is a short public name for a generation's chain: the
 * first 8 bytes of SHA-256("nts-fingerprint-v1" | A(g, a_g)) -- the same on
 * the key host, every KE server and every responder, revealing nothing. */
void keys_fingerprint(uint8_t out[KEYS_FINGERPRINT_LEN], const uint8_t aead_key[KEYS_LEN]);

#endif
