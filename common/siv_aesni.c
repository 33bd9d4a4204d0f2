/*
 * siv_aesni.c: the AES-NI path of AES-SIV-CMAC (see siv.h).
 *
 * S2V: every associated-data component is its own CMAC chain, and so is
 * the plaintext up to the block that meets its last 16 bytes (the xorend
 * of RFC 5297 s2.4 needs D, which needs all the other chains). The chains
 * advance one block per step together, four AES pipelines at a time, so a
 * request's AD, nonce and plaintext cost about as much as the longest one.
 * CTR runs eight blocks at a time. Constant time: AES-NI has no tables,
 * dbl() uses a mask, and only public lengths steer the loops.
 */
#include "common/siv.h"

#include <string.h>

#include <sodium.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <cpuid.h>
#include <immintrin.h>

#define AESNI __attribute__((target("aes,sse4.1")))

static int have_aesni;

__attribute__((constructor)) static void detect(void)
{
	unsigned a, b, c, d;
	if (__get_cpuid(1, &a, &b, &c, &d)) {
		have_aesni = (c & bit_AES) != 0 && (c & bit_SSE4_1) != 0;
	}
}

int siv_aesni_supported(void)
{
	return have_aesni;
}

#define LD(p)     _mm_loadu_si128((const __m128i *)(const void *)(p))
#define ST(p, x)  _mm_storeu_si128((__m128i *)(void *)(p), (x))
#define RK(rk, i) LD((rk) + (size_t)(i)*SIV_BLOCK)

/* ---- key expansion (FIPS 197 s5.2 with AESKEYGENASSIST) ---- */

AESNI static __m128i spread(__m128i key)
{
	key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
	key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
	return _mm_xor_si128(key, _mm_slli_si128(key, 4));
}

#define EXP128(i, rcon)                                                                            \
	do {                                                                                       \
		__m128i g = _mm_shuffle_epi32(_mm_aeskeygenassist_si128(k0, rcon), 0xff);          \
		k0 = _mm_xor_si128(spread(k0), g);                                                 \
		ST(rk + (i)*SIV_BLOCK, k0);                                                        \
	} while (0)

AESNI static void expand128(uint8_t *rk, const uint8_t *key)
{
	__m128i k0 = LD(key);
	ST(rk, k0);
	EXP128(1, 0x01);
	EXP128(2, 0x02);
	EXP128(3, 0x04);
	EXP128(4, 0x08);
	EXP128(5, 0x10);
	EXP128(6, 0x20);
	EXP128(7, 0x40);
	EXP128(8, 0x80);
	EXP128(9, 0x1b);
	EXP128(10, 0x36);
	k0 = _mm_setzero_si128();
}

/* Even round keys take RotWord+SubWord+rcon of the previous odd one, odd
 * round keys SubWord only of the previous even one. */
#define EXP256(i, rcon)                                                                            \
	do {                                                                                       \
		__m128i g = _mm_shuffle_epi32(_mm_aeskeygenassist_si128(k1, rcon), 0xff);          \
		k0 = _mm_xor_si128(spread(k0), g);                                                 \
		ST(rk + (i)*SIV_BLOCK, k0);                                                        \
		if ((i) < 14) {                                                                    \
			g = _mm_shuffle_epi32(_mm_aeskeygenassist_si128(k0, 0), 0xaa);             \
			k1 = _mm_xor_si128(spread(k1), g);                                         \
			ST(rk + ((i) + 1) * SIV_BLOCK, k1);                                        \
		}                                                                                  \
	} while (0)

AESNI static void expand256(uint8_t *rk, const uint8_t *key)
{
	__m128i k0 = LD(key), k1 = LD(key + 16);
	ST(rk, k0);
	ST(rk + SIV_BLOCK, k1);
	EXP256(2, 0x01);
	EXP256(4, 0x02);
	EXP256(6, 0x04);
	EXP256(8, 0x08);
	EXP256(10, 0x10);
	EXP256(12, 0x20);
	EXP256(14, 0x40);
	k0 = k1 = _mm_setzero_si128();
}

AESNI static __m128i enc1(const uint8_t *rk, int rounds, __m128i x)
{
	x = _mm_xor_si128(x, RK(rk, 0));
	for (int r = 1; r < rounds; r++) {
		x = _mm_aesenc_si128(x, RK(rk, r));
	}
	return _mm_aesenclast_si128(x, RK(rk, rounds));
}

/* enc4 encrypts four independent blocks, interleaved round by round. */
AESNI static void enc4(const uint8_t *rk, int rounds, __m128i x[4])
{
	__m128i k = RK(rk, 0);
	__m128i a = _mm_xor_si128(x[0], k), b = _mm_xor_si128(x[1], k);
	__m128i c = _mm_xor_si128(x[2], k), d = _mm_xor_si128(x[3], k);
	for (int r = 1; r < rounds; r++) {
		k = RK(rk, r);
		a = _mm_aesenc_si128(a, k);
		b = _mm_aesenc_si128(b, k);
		c = _mm_aesenc_si128(c, k);
		d = _mm_aesenc_si128(d, k);
	}
	k = RK(rk, rounds);
	x[0] = _mm_aesenclast_si128(a, k);
	x[1] = _mm_aesenclast_si128(b, k);
	x[2] = _mm_aesenclast_si128(c, k);
	x[3] = _mm_aesenclast_si128(d, k);
}

/* dbl: multiplication by x in GF(2^128) (RFC 5297 s2.3), branch-free. */
static void dbl(uint8_t b[SIV_BLOCK])
{
	uint64_t hi = 0, lo = 0;
	for (int i = 0; i < 8; i++) {
		hi = hi << 8 | b[i];
		lo = lo << 8 | b[8 + i];
	}
	uint64_t carry = hi >> 63;
	hi = hi << 1 | lo >> 63;
	lo = (lo << 1) ^ (0x87 & (0 - carry));
	for (int i = 7; i >= 0; i--) {
		b[i] = (uint8_t)hi;
		b[8 + i] = (uint8_t)lo;
		hi >>= 8;
		lo >>= 8;
	}
}

AESNI void siv_aesni_key(struct siv_key *k, const uint8_t *key, size_t key_len)
{
	uint8_t l[SIV_BLOCK];
	size_t half = key_len / 2;

	k->rounds = half == 16 ? 10 : 14;
	if (half == 16) {
		expand128(k->u.x.mac[0], key);
		expand128(k->u.x.ctr[0], key + half);
	} else {
		expand256(k->u.x.mac[0], key);
		expand256(k->u.x.ctr[0], key + half);
	}
	ST(l, enc1(k->u.x.mac[0], k->rounds, _mm_setzero_si128()));
	memcpy(k->sub1, l, SIV_BLOCK);
	dbl(k->sub1);
	memcpy(k->sub2, k->sub1, SIV_BLOCK);
	dbl(k->sub2);
	/* d0 = CMAC(K1, 0^128): one full block, so zero ^ K1' */
	ST(k->d0, enc1(k->u.x.mac[0], k->rounds, LD(k->sub1)));
	sodium_memzero(l, sizeof(l));
}

/* One CMAC chain: |num_full| blocks read from |m|, then, if |has_last|,
 * the prepared final block |last|. */
struct lane {
	const uint8_t *m;
	size_t num_full;
	size_t num_blocks;
	uint8_t last[SIV_BLOCK];
	__m128i x;
};

/* final_block prepares the last CMAC block of a |len|-byte message at |m|
 * (len may be 0) into |lane| and counts its blocks. */
static void lane_init(struct lane *l, const struct siv_key *k, const uint8_t *m, size_t len)
{
	size_t nb = len == 0 ? 1 : (len + SIV_BLOCK - 1) / SIV_BLOCK;
	size_t rem = len - (nb - 1) * SIV_BLOCK; /* 0..16, 0 only for len 0 */
	const uint8_t *sub = rem == SIV_BLOCK ? k->sub1 : k->sub2;

	l->m = m;
	l->num_full = nb - 1;
	l->num_blocks = nb;
	memset(l->last, 0, SIV_BLOCK);
	if (rem > 0) {
		memcpy(l->last, m + (nb - 1) * SIV_BLOCK, rem);
	}
	if (rem < SIV_BLOCK) {
		l->last[rem] = 0x80;
	}
	for (int i = 0; i < SIV_BLOCK; i++) {
		l->last[i] ^= sub[i];
	}
}

/* run_lanes advances all chains to their ends, four at a time per step. */
AESNI static void run_lanes(const struct siv_key *k, struct lane *l, size_t num_lanes)
{
	size_t steps = 0;
	for (size_t i = 0; i < num_lanes; i++) {
		l[i].x = _mm_setzero_si128();
		if (l[i].num_blocks > steps) {
			steps = l[i].num_blocks;
		}
	}
	for (size_t s = 0; s < steps; s++) {
		struct lane *act[SIV_MAX_COMPONENTS + 1];
		size_t num_act = 0;
		for (size_t i = 0; i < num_lanes; i++) {
			if (s < l[i].num_blocks) {
				act[num_act++] = &l[i];
			}
		}
		for (size_t g = 0; g < num_act; g += 4) {
			__m128i x[4] = {_mm_setzero_si128(), _mm_setzero_si128(),
			                _mm_setzero_si128(), _mm_setzero_si128()};
			size_t n = num_act - g < 4 ? num_act - g : 4;
			for (size_t j = 0; j < n; j++) {
				struct lane *a = act[g + j];
				__m128i in =
				    s < a->num_full ? LD(a->m + s * SIV_BLOCK) : LD(a->last);
				x[j] = _mm_xor_si128(a->x, in);
			}
			enc4(k->u.x.mac[0], k->rounds, x);
			for (size_t j = 0; j < n; j++) {
				act[g + j]->x = x[j];
			}
		}
	}
}

AESNI void siv_aesni_s2v(const struct siv_key *k, uint8_t v[SIV_BLOCK],
                         const struct siv_component *ad, size_t num_ad, const uint8_t *p,
                         size_t p_len)
{
	struct lane l[SIV_MAX_COMPONENTS + 1];
	uint8_t d[SIV_BLOCK], t[SIV_BLOCK], tail[2 * SIV_BLOCK];
	size_t num_lanes = num_ad, pre = 0;
	__m128i x;

	for (size_t i = 0; i < num_ad; i++) {
		lane_init(&l[i], k, ad[i].data, ad[i].len);
	}
	if (p_len >= SIV_BLOCK) {
		/* the blocks before the one holding byte p_len - 16 */
		pre = (p_len - SIV_BLOCK) / SIV_BLOCK;
		l[num_lanes].m = p;
		l[num_lanes].num_full = pre;
		l[num_lanes].num_blocks = pre;
		num_lanes++;
	}
	run_lanes(k, l, num_lanes);

	memcpy(d, k->d0, SIV_BLOCK);
	for (size_t i = 0; i < num_ad; i++) {
		dbl(d);
		ST(t, l[i].x);
		for (int j = 0; j < SIV_BLOCK; j++) {
			d[j] ^= t[j];
		}
	}
	if (p_len >= SIV_BLOCK) {
		size_t tail_len = p_len - pre * SIV_BLOCK; /* 16..31 */
		memset(tail, 0, sizeof(tail));
		memcpy(tail, p + pre * SIV_BLOCK, tail_len);
		for (int j = 0; j < SIV_BLOCK; j++) {
			tail[tail_len - SIV_BLOCK + (size_t)j] ^= d[j];
		}
		x = l[num_ad].x;
		if (tail_len == SIV_BLOCK) {
			x = _mm_xor_si128(x, _mm_xor_si128(LD(tail), LD(k->sub1)));
		} else {
			x = enc1(k->u.x.mac[0], k->rounds, _mm_xor_si128(x, LD(tail)));
			tail[tail_len] = 0x80;
			x = _mm_xor_si128(x, _mm_xor_si128(LD(tail + SIV_BLOCK), LD(k->sub2)));
		}
	} else {
		dbl(d);
		memset(t, 0, sizeof(t));
		if (p_len > 0) {
			memcpy(t, p, p_len);
		}
		t[p_len] = 0x80;
		x = _mm_xor_si128(_mm_xor_si128(LD(t), LD(d)), LD(k->sub1));
	}
	ST(v, enc1(k->u.x.mac[0], k->rounds, x));
	sodium_memzero(d, sizeof(d));
	sodium_memzero(t, sizeof(t));
	sodium_memzero(tail, sizeof(tail));
	sodium_memzero(l, sizeof(l));
}

#define CTR8(op) op(0) op(1) op(2) op(3) op(4) op(5) op(6) op(7)

AESNI void siv_aesni_ctr(const struct siv_key *k, const uint8_t v[SIV_BLOCK], uint8_t *buf,
                         size_t len)
{
	const uint8_t *rk = k->u.x.ctr[0];
	int rounds = k->rounds;
	uint8_t q[SIV_BLOCK], ks[SIV_BLOCK];
	size_t nb = len / SIV_BLOCK, i = 0;

	/* Bits 63 and 31 of Q are clear (RFC 5297 s2.5), so for any message
	 * under 2^31 blocks the counter never carries out of its low word. */
	memcpy(q, v, SIV_BLOCK);
	q[8] &= 0x7f;
	q[12] &= 0x7f;
	__m128i base = LD(q);
	uint32_t c = (uint32_t)q[12] << 24 | (uint32_t)q[13] << 16 | (uint32_t)q[14] << 8 | q[15];

#define CB(j) _mm_insert_epi32(base, (int)__builtin_bswap32(c + (uint32_t)(j)), 3)
	for (; i + 8 <= nb; i += 8, c += 8) {
		__m128i k0 = RK(rk, 0);
#define INIT(j) __m128i b##j = _mm_xor_si128(CB(j), k0);
		CTR8(INIT)
		for (int r = 1; r < rounds; r++) {
			__m128i kr = RK(rk, r);
#define ROUND(j) b##j = _mm_aesenc_si128(b##j, kr);
			CTR8(ROUND)
		}
		__m128i kl = RK(rk, rounds);
#define LAST(j)                                                                                    \
	b##j = _mm_aesenclast_si128(b##j, kl);                                                     \
	ST(buf + (i + (j)) * SIV_BLOCK, _mm_xor_si128(b##j, LD(buf + (i + (j)) * SIV_BLOCK)));
		CTR8(LAST)
	}
	for (; i < nb; i++, c++) {
		__m128i b = enc1(rk, rounds, CB(0));
		ST(buf + i * SIV_BLOCK, _mm_xor_si128(b, LD(buf + i * SIV_BLOCK)));
	}
	if (len % SIV_BLOCK != 0) {
		ST(ks, enc1(rk, rounds, CB(0)));
		for (size_t j = 0; j < len % SIV_BLOCK; j++) {
			buf[nb * SIV_BLOCK + j] ^= ks[j];
		}
	}
#undef CB
#undef INIT
#undef ROUND
#undef LAST
	sodium_memzero(q, sizeof(q));
	sodium_memzero(ks, sizeof(ks));
}

#else /* not x86-64: the portable path only */

int siv_aesni_supported(void)
{
	return 0;
}

void siv_aesni_key(struct siv_key *k, const uint8_t *key, size_t key_len)
{
	(void)k, (void)key, (void)key_len;
}

void siv_aesni_s2v(const struct siv_key *k, uint8_t v[SIV_BLOCK], const struct siv_component *ad,
                   size_t num_ad, const uint8_t *p, size_t p_len)
{
	(void)k, (void)v, (void)ad, (void)num_ad, (void)p, (void)p_len;
}

void siv_aesni_ctr(const struct siv_key *k, const uint8_t v[SIV_BLOCK], uint8_t *buf, size_t len)
{
	(void)k, (void)v, (void)buf, (void)len;
}

#endif
