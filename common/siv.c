/*
 * siv.c: AES-SIV-CMAC, RFC 5297: key set-up, dispatch, and the portable
 * path (BoringSSL's AES_encrypt per block, our own CMAC; siv_aesni.c has
 * the AES-NI path).
 */
#include "common/siv.h"

#include <string.h>

#include <openssl/crypto.h>
#include <sodium.h>

/* dbl: multiplication by x in GF(2^128), RFC 5297 s2.3. */
static void dbl(uint8_t out[SIV_BLOCK], const uint8_t in[SIV_BLOCK])
{
	uint8_t carry = in[0] >> 7;
	for (int i = 0; i < SIV_BLOCK - 1; i++) {
		out[i] = (uint8_t)((in[i] << 1) | (in[i + 1] >> 7));
	}
	/* constant time: 0x87 when the top bit was set */
	out[SIV_BLOCK - 1] = (uint8_t)((in[SIV_BLOCK - 1] << 1) ^ (0x87 & (0 - carry)));
}

static void xor_block(uint8_t *dst, const uint8_t *src)
{
	for (int i = 0; i < SIV_BLOCK; i++) {
		dst[i] ^= src[i];
	}
}

void siv_key_cleanup(struct siv_key *k)
{
	sodium_memzero(k, sizeof(*k));
}

/* cmac computes CMAC(K1, M) where M is |m| with, if |xorend| is given, its
 * last 16 bytes XORed with |xorend| (the "xorend" of RFC 5297 s2.1, done on
 * the fly so that no copy of the message is needed; requires len >= 16). */
static void cmac(const struct siv_key *k, uint8_t out[SIV_BLOCK], const uint8_t *m, size_t len,
                 const uint8_t *xorend)
{
	uint8_t x[SIV_BLOCK] = {0};
	uint8_t blk[SIV_BLOCK];
	size_t nblocks = len == 0 ? 1 : (len + SIV_BLOCK - 1) / SIV_BLOCK;
	size_t xstart = xorend != NULL ? len - SIV_BLOCK : len;

	for (size_t b = 0; b < nblocks; b++) {
		size_t off = b * SIV_BLOCK;
		size_t n = len - off < SIV_BLOCK ? len - off : SIV_BLOCK;
		if (n > 0) {
			memcpy(blk, m + off, n);
		}
		if (off + n > xstart) {
			for (size_t i = off < xstart ? xstart - off : 0; i < n; i++) {
				blk[i] ^= xorend[off + i - xstart];
			}
		}
		if (b == nblocks - 1) {
			if (n == SIV_BLOCK) {
				xor_block(blk, k->sub1);
			} else {
				blk[n] = 0x80;
				memset(blk + n + 1, 0, SIV_BLOCK - n - 1);
				xor_block(blk, k->sub2);
			}
		}
		xor_block(x, blk);
		AES_encrypt(x, x, &k->u.p.mac);
	}
	memcpy(out, x, SIV_BLOCK);
	sodium_memzero(x, sizeof(x));
	sodium_memzero(blk, sizeof(blk));
}

int siv_impl_available(enum siv_impl impl)
{
	return impl == SIV_IMPL_PORTABLE || (impl == SIV_IMPL_AESNI && siv_aesni_supported());
}

int siv_key_init(struct siv_key *k, const uint8_t *key, size_t key_len)
{
	return siv_key_init_impl(k, key, key_len,
	                         siv_aesni_supported() ? SIV_IMPL_AESNI : SIV_IMPL_PORTABLE);
}

static int portable_key(struct siv_key *k, const uint8_t *key, size_t key_len)
{
	static const uint8_t zero[SIV_BLOCK] = {0};
	uint8_t l[SIV_BLOCK] = {0};
	unsigned half_bits = (unsigned)(key_len / 2) * 8;

	if (AES_set_encrypt_key(key, half_bits, &k->u.p.mac) != 0 ||
	    AES_set_encrypt_key(key + key_len / 2, half_bits, &k->u.p.ctr) != 0) {
		return 0;
	}
	AES_encrypt(l, l, &k->u.p.mac);
	dbl(k->sub1, l);
	dbl(k->sub2, k->sub1);
	sodium_memzero(l, sizeof(l));
	cmac(k, k->d0, zero, SIV_BLOCK, NULL);
	return 1;
}

int siv_key_init_impl(struct siv_key *k, const uint8_t *key, size_t key_len, enum siv_impl impl)
{
	memset(k, 0, sizeof(*k));
	if ((key_len != 32 && key_len != 64) || !siv_impl_available(impl)) {
		return 0;
	}
	if (impl == SIV_IMPL_AESNI) {
		siv_aesni_key(k, key, key_len);
	} else if (!portable_key(k, key, key_len)) {
		siv_key_cleanup(k);
		return 0;
	}
	k->rounds = key_len == 32 ? 10 : 14;
	k->impl = (uint8_t)impl;
	return 1;
}

/* s2v computes the synthetic IV over the components and the plaintext. */
static void s2v(const struct siv_key *k, uint8_t v[SIV_BLOCK], const struct siv_component *ad,
                size_t num_ad, const uint8_t *p, size_t p_len)
{
	uint8_t d[SIV_BLOCK], t[SIV_BLOCK];

	memcpy(d, k->d0, SIV_BLOCK);
	for (size_t i = 0; i < num_ad; i++) {
		dbl(d, d);
		cmac(k, t, ad[i].data, ad[i].len, NULL);
		xor_block(d, t);
	}
	if (p_len >= SIV_BLOCK) {
		cmac(k, v, p, p_len, d);
	} else {
		dbl(d, d);
		if (p_len > 0) {
			memcpy(t, p, p_len);
		}
		t[p_len] = 0x80;
		memset(t + p_len + 1, 0, SIV_BLOCK - p_len - 1);
		xor_block(t, d);
		cmac(k, v, t, SIV_BLOCK, NULL);
	}
	sodium_memzero(d, sizeof(d));
	sodium_memzero(t, sizeof(t));
}

/* ctr encrypts |len| bytes in place with Q = V with bits 63 and 31 cleared. */
static void ctr(const struct siv_key *k, const uint8_t v[SIV_BLOCK], uint8_t *buf, size_t len)
{
	uint8_t q[SIV_BLOCK], ks[SIV_BLOCK];
	unsigned num = 0;

	memcpy(q, v, SIV_BLOCK);
	q[8] &= 0x7f;
	q[12] &= 0x7f;
	AES_ctr128_encrypt(buf, buf, len, &k->u.p.ctr, q, ks, &num);
	sodium_memzero(q, sizeof(q));
	sodium_memzero(ks, sizeof(ks));
}

int siv_seal(const struct siv_key *k, uint8_t *out, const struct siv_component *ad, size_t num_ad,
             const uint8_t *in, size_t in_len)
{
	uint8_t v[SIV_BLOCK];

	if (num_ad > SIV_MAX_COMPONENTS || k->impl == 0) {
		return 0;
	}
	if (k->impl == SIV_IMPL_AESNI) {
		siv_aesni_s2v(k, v, ad, num_ad, in, in_len);
	} else {
		s2v(k, v, ad, num_ad, in, in_len);
	}
	if (in_len > 0) {
		memmove(out + SIV_BLOCK, in, in_len);
	}
	if (k->impl == SIV_IMPL_AESNI) {
		siv_aesni_ctr(k, v, out + SIV_BLOCK, in_len);
	} else {
		ctr(k, v, out + SIV_BLOCK, in_len);
	}
	memcpy(out, v, SIV_BLOCK);
	return 1;
}

int siv_open(const struct siv_key *k, uint8_t *out, const struct siv_component *ad, size_t num_ad,
             const uint8_t *in, size_t in_len)
{
	uint8_t v[SIV_BLOCK], check[SIV_BLOCK];
	size_t p_len;
	int ok;

	if (num_ad > SIV_MAX_COMPONENTS || in_len < SIV_BLOCK || k->impl == 0) {
		return 0;
	}
	p_len = in_len - SIV_BLOCK;
	memcpy(v, in, SIV_BLOCK);
	if (p_len > 0) {
		memmove(out, in + SIV_BLOCK, p_len);
	}
	if (k->impl == SIV_IMPL_AESNI) {
		siv_aesni_ctr(k, v, out, p_len);
		siv_aesni_s2v(k, check, ad, num_ad, out, p_len);
	} else {
		ctr(k, v, out, p_len);
		s2v(k, check, ad, num_ad, out, p_len);
	}
	ok = CRYPTO_memcmp(v, check, SIV_BLOCK) == 0;
#ifdef NTS_FUZZING
	ok = 1;
#endif
	if (!ok) {
		sodium_memzero(out, p_len);
	}
	sodium_memzero(check, sizeof(check));
	return ok;
}
