/*
 * siv.h: AES-SIV-CMAC (RFC 5297) on BoringSSL's block cipher.
 *
 * BoringSSL has AES and CTR mode but no SIV, so S2V (our own CMAC with
 * precomputed subkeys) and the CTR step with the two cleared bits are
 * written here. A key is K1 || K2 (RFC 5297 s2.2): K1 drives S2V, K2 the
 * CTR encryption; 32-byte keys give AES-SIV-CMAC-256 (two AES-128 keys),
 * 64-byte keys AES-SIV-CMAC-512 (two AES-256 keys).
 *
 * The general form takes a vector of associated-data components; the last
 * string S2V sees is always the plaintext. A nonce, when used, is simply
 * the last associated-data component (RFC 5297 s3).
 */
#ifndef NTS_SIV_H
#define NTS_SIV_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/aes.h>

#include "common/compiler.h"

#define SIV_BLOCK          16
#define SIV_MAX_COMPONENTS 8 /* associated-data components, RFC 5297 allows up to 126 */

struct siv_key {
	AES_KEY mac;             /* K1 */
	AES_KEY ctr;             /* K2 */
	uint8_t sub1[SIV_BLOCK]; /* CMAC subkey dbl(L) */
	uint8_t sub2[SIV_BLOCK]; /* CMAC subkey dbl(dbl(L)) */
};

struct siv_component {
	const uint8_t *data;
	size_t len;
};

/* siv_key_init expands a 32- or 64-byte |key|; returns 0 for other lengths. */
int siv_key_init(struct siv_key *k, const uint8_t *key, size_t key_len) NTS_WUR;

/* siv_key_cleanup wipes |k|. */
void siv_key_cleanup(struct siv_key *k);

/* siv_seal writes V || C (in_len + 16 bytes) to |out|. |out| may equal |in|;
 * no other overlap. Returns 0 if there are too many components. */
int siv_seal(const struct siv_key *k, uint8_t *out, const struct siv_component *ad, size_t num_ad,
             const uint8_t *in, size_t in_len) NTS_WUR;

/* siv_open checks V || C (|in_len| >= 16) and writes in_len - 16 bytes of
 * plaintext to |out| (which may equal |in|). On failure |out| is zeroed.
 * With NTS_FUZZING the tag comparison is skipped. */
int siv_open(const struct siv_key *k, uint8_t *out, const struct siv_component *ad, size_t num_ad,
             const uint8_t *in, size_t in_len) NTS_WUR;

#endif
