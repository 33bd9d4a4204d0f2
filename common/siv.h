/*
 * siv.h: AES-SIV-CMAC (RFC 5297), two interchangeable block-cipher paths.
 *
 * A key is K1 || K2 (RFC 5297 s2.2): K1 drives S2V (CMAC), K2 the CTR
 * encryption; 32-byte keys give AES-SIV-CMAC-256 (two AES-128 keys),
 * 64-byte keys AES-SIV-CMAC-512 (two AES-256 keys).
 *
 * Two paths compute the same function:
 *   SIV_IMPL_PORTABLE  BoringSSL's AES_encrypt per block (any CPU)
 *   SIV_IMPL_AESNI     x86-64 AES-NI (siv_aesni.c): the CMAC chains of the
 *                      S2V components run side by side, CTR eight blocks
 *                      at a time, no per-block calls
 * The path is chosen per key at siv_key_init, from a CPU check done once at
 * start-up; siv_key_init_impl picks one explicitly (tests, benchmarks).
 * All key expansion (round keys, CMAC subkeys, S2V's CMAC(K1, 0^128)) is
 * done at key set-up, never per message.
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
#define SIV_MAX_COMPONENTS 8  /* associated-data components, RFC 5297 allows up to 126 */
#define SIV_MAX_ROUNDS     14 /* AES-256 */

enum siv_impl {
	SIV_IMPL_PORTABLE = 1,
	SIV_IMPL_AESNI = 2,
};

struct siv_key {
	union {
		struct {
			AES_KEY mac; /* K1 */
			AES_KEY ctr; /* K2 */
		} p;                 /* SIV_IMPL_PORTABLE */
		struct {
			/* round keys in AES-NI byte order; unaligned loads, so
			 * the key may live anywhere (sodium_malloc is unaligned) */
			uint8_t mac[SIV_MAX_ROUNDS + 1][SIV_BLOCK];
			uint8_t ctr[SIV_MAX_ROUNDS + 1][SIV_BLOCK];
		} x; /* SIV_IMPL_AESNI */
	} u;
	uint8_t sub1[SIV_BLOCK]; /* CMAC subkey dbl(L) */
	uint8_t sub2[SIV_BLOCK]; /* CMAC subkey dbl(dbl(L)) */
	uint8_t d0[SIV_BLOCK];   /* CMAC(K1, 0^128), S2V's first step */
	uint8_t rounds;          /* 10 or 14 */
	uint8_t impl;            /* enum siv_impl; 0 when empty */
};

struct siv_component {
	const uint8_t *data;
	size_t len;
};

/* siv_impl_available returns 1 if |impl| can run on this CPU. */
int siv_impl_available(enum siv_impl impl);

/* siv_key_init expands a 32- or 64-byte |key| for the fastest path this CPU
 * has; returns 0 for other lengths. */
int siv_key_init(struct siv_key *k, const uint8_t *key, size_t key_len) NTS_WUR;

/* siv_key_init_impl is siv_key_init on the path |impl|; returns 0 if that
 * path is not available here. */
int siv_key_init_impl(struct siv_key *k, const uint8_t *key, size_t key_len,
                      enum siv_impl impl) NTS_WUR;

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

/* Internal to siv.c / siv_aesni.c: the AES-NI path (x86-64 only). */
int siv_aesni_supported(void);
void siv_aesni_key(struct siv_key *k, const uint8_t *key, size_t key_len);
void siv_aesni_s2v(const struct siv_key *k, uint8_t v[SIV_BLOCK], const struct siv_component *ad,
                   size_t num_ad, const uint8_t *p, size_t p_len);
void siv_aesni_ctr(const struct siv_key *k, const uint8_t v[SIV_BLOCK], uint8_t *buf, size_t len);

#endif
