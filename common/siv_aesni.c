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

/* ---- key expansion (FIPS 197 s5.2) ----
 * SubWord(RotWord(w)) ^ rcon without AESKEYGENASSIST (slow on many Intel
 * cores): broadcast the rotated word into all four columns with PSHUFB,
 * where ShiftRows is a no-op, and let AESENCLAST do SubBytes and the rcon. */

AESNI static __m128i spread(__m128i key)
{
	key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
	key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
	return _mm_xor_si128(key, _mm_slli_si128(key, 4));
}

AESNI static void expand128(uint8_t *rk, const uint8_t *key)
{
	const __m128i rot =
	    _mm_set_epi8(12, 15, 14, 13, 12, 15, 14, 13, 12, 15, 14, 13, 12, 15, 14, 13);
	__m128i k0 = LD(key);
	int rcon = 1;
	ST(rk, k0);
	for (int i = 1; i <= 10; i++) {
		__m128i t = _mm_aesenclast_si128(_mm_shuffle_epi8(k0, rot), _mm_set1_epi32(rcon));
		k0 = _mm_xor_si128(spread(k0), t);
		ST(rk + i * SIV_BLOCK, k0);
		rcon = (rcon << 1) ^ (0x11b & -(rcon >> 7));
	}
	k0 = _mm_setzero_si128();
}

/* Even round keys take SubWord(RotWord()) ^ rcon of the previous odd one,
 * odd round keys SubWord() alone of the previous even one. */
AESNI static void expand256(uint8_t *rk, const uint8_t *key)
{
	const __m128i rot =
	    _mm_set_epi8(12, 15, 14, 13, 12, 15, 14, 13, 12, 15, 14, 13, 12, 15, 14, 13);
	__m128i k0 = LD(key), k1 = LD(key + 16);
	int rcon = 1;
	ST(rk, k0);
	ST(rk + SIV_BLOCK, k1);
	for (int i = 2; i <= 14; i += 2) {
		__m128i t = _mm_aesenclast_si128(_mm_shuffle_epi8(k1, rot), _mm_set1_epi32(rcon));
		k0 = _mm_xor_si128(spread(k0), t);
		ST(rk + i * SIV_BLOCK, k0);
		rcon <<= 1;
		if (i < 14) {
			t = _mm_aesenclast_si128(_mm_shuffle_epi32(k0, 0xff), _mm_setzero_si128());
			k1 = _mm_xor_si128(spread(k1), t);
			ST(rk + (i + 1) * SIV_BLOCK, k1);
		}
	}
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

/* dbl: multiplication by x in GF(2^128) (RFC 5297 s2.3) on a block in
 * wire (big-endian) byte order; branch-free. */
AESNI static __m128i dbl(__m128i b)
{
	const __m128i rev = _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
	__m128i x = _mm_shuffle_epi8(b, rev); /* now a little-endian 128-bit integer */
	__m128i top = _mm_srai_epi32(_mm_shuffle_epi32(x, 0xff), 31); /* all ones if msb */
	__m128i carry = _mm_slli_si128(_mm_srli_epi64(x, 63), 8);     /* low qword -> high */
	x = _mm_or_si128(_mm_slli_epi64(x, 1), carry);
	x = _mm_xor_si128(x, _mm_and_si128(top, _mm_set_epi32(0, 0, 0, 0x87)));
	return _mm_shuffle_epi8(x, rev);
}

/* load_pad reads |n| < 16 bytes and appends the 10* padding. */
static __m128i load_pad(const uint8_t *m, size_t n)
{
	uint8_t b[SIV_BLOCK] = {0};
	if (n > 0) {
		memcpy(b, m, n);
	}
	b[n] = 0x80;
	return LD(b);
}

AESNI void siv_aesni_key(struct siv_key *k, const uint8_t *key, size_t key_len)
{
	size_t half = key_len / 2;

	k->rounds = half == 16 ? 10 : 14;
	if (half == 16) {
		expand128(k->u.x.mac[0], key);
		expand128(k->u.x.ctr[0], key + half);
	} else {
		expand256(k->u.x.mac[0], key);
		expand256(k->u.x.ctr[0], key + half);
	}
	__m128i sub1 = dbl(enc1(k->u.x.mac[0], k->rounds, _mm_setzero_si128()));
	ST(k->sub1, sub1);
	ST(k->sub2, dbl(sub1));
	/* d0 = CMAC(K1, 0^128): one full block, so zero ^ K1' */
	ST(k->d0, enc1(k->u.x.mac[0], k->rounds, sub1));
	sub1 = _mm_setzero_si128();
}

/* One CMAC chain: |num_full| blocks read from |m|, then the prepared final
 * block |last| if num_blocks says there is one more. */
struct lane {
	const uint8_t *m;
	size_t num_full;
	size_t num_blocks;
	__m128i last;
	__m128i x;
};

/* lane_init sets up the CMAC of the |len|-byte message at |m| (len may be
 * 0): all blocks but the last from memory, the last padded and masked. */
AESNI static void lane_init(struct lane *l, const struct siv_key *k, const uint8_t *m, size_t len)
{
	size_t nb = len == 0 ? 1 : (len + SIV_BLOCK - 1) / SIV_BLOCK;
	size_t rem = len - (nb - 1) * SIV_BLOCK; /* 0..16, 0 only for len 0 */

	l->m = m;
	l->num_full = nb - 1;
	l->num_blocks = nb;
	if (rem == SIV_BLOCK) {
		l->last = _mm_xor_si128(LD(m + (nb - 1) * SIV_BLOCK), LD(k->sub1));
	} else {
		l->last = _mm_xor_si128(load_pad(m + (nb - 1) * SIV_BLOCK, rem), LD(k->sub2));
	}
	l->x = _mm_setzero_si128();
}

/* run_lanes advances all chains to their ends: one block of every chain
 * per step, four AES pipelines side by side. */
AESNI static void run_lanes(const struct siv_key *k, struct lane *l, size_t num_lanes)
{
	size_t steps = 0;
	for (size_t i = 0; i < num_lanes; i++) {
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
				__m128i in = s < a->num_full ? LD(a->m + s * SIV_BLOCK) : a->last;
				x[j] = _mm_xor_si128(a->x, in);
			}
			if (n == 1) { /* one chain left: no idle pipelines to pay for */
				x[0] = enc1(k->u.x.mac[0], k->rounds, x[0]);
			} else {
				enc4(k->u.x.mac[0], k->rounds, x);
			}
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
	size_t num_lanes = num_ad, pre = 0;
	__m128i d, x;

	for (size_t i = 0; i < num_ad; i++) {
		lane_init(&l[i], k, ad[i].data, ad[i].len);
	}
	if (p_len >= SIV_BLOCK) {
		/* the blocks before the one holding byte p_len - 16 */
		pre = (p_len - SIV_BLOCK) / SIV_BLOCK;
		l[num_lanes].m = p;
		l[num_lanes].num_full = pre;
		l[num_lanes].num_blocks = pre;
		l[num_lanes].x = _mm_setzero_si128();
		num_lanes++;
	}
	run_lanes(k, l, num_lanes);

	d = LD(k->d0);
	for (size_t i = 0; i < num_ad; i++) {
		d = _mm_xor_si128(dbl(d), l[i].x);
	}
	if (p_len >= SIV_BLOCK) {
		/* the last 16..31 bytes, with D xored onto their last 16 */
		size_t tail_len = p_len - pre * SIV_BLOCK, over = tail_len - SIV_BLOCK;
		const uint8_t *t = p + pre * SIV_BLOCK;
		x = l[num_ad].x;
		if (over == 0) {
			x = _mm_xor_si128(x, _mm_xor_si128(_mm_xor_si128(LD(t), d), LD(k->sub1)));
		} else {
			uint8_t buf[2 * SIV_BLOCK] = {0};
			memcpy(buf, t, tail_len);
			ST(buf + over, _mm_xor_si128(LD(buf + over), d));
			buf[tail_len] = 0x80;
			x = enc1(k->u.x.mac[0], k->rounds, _mm_xor_si128(x, LD(buf)));
			x = _mm_xor_si128(x, _mm_xor_si128(LD(buf + SIV_BLOCK), LD(k->sub2)));
			sodium_memzero(buf, sizeof(buf));
		}
	} else {
		x = _mm_xor_si128(_mm_xor_si128(load_pad(p, p_len), dbl(d)), LD(k->sub1));
	}
	ST(v, enc1(k->u.x.mac[0], k->rounds, x));
	sodium_memzero(l, num_lanes * sizeof(l[0]));
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
