/*
 * test_aead.c: known answers (RFC 5297 A.1/A.2, RFC 8452 C.1), a
 * cross-checked AES-SIV-CMAC-512 vector, round trips, tampering, in-place
 * operation and argument checks for every AEAD; the SIV vectors on both
 * block-cipher paths and a differential test of the AES-NI path against
 * the portable one (siv.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "common/aead.h"
#include "common/siv.h"
#include "tests/unit/testutil.h"

static size_t unhex(uint8_t *out, const char *hex)
{
	size_t n = 0;
	while (hex[0] != '\0' && hex[1] != '\0') {
		unsigned v;
		sscanf(hex, "%2x", &v);
		out[n++] = (uint8_t)v;
		hex += 2;
	}
	return n;
}

/* RFC 5297 A.1 (deterministic: one AD component) and A.2 (two AD
 * components and a nonce), and a 512-bit vector computed with an independent
 * implementation (Python cryptography's AESSIV, 64-byte key, components
 * [ad, nonce]; RFC 5297 has none). */
struct siv_vector {
	const char *key, *ad[3], *pt, *want;
	size_t num_ad;
};

static const struct siv_vector vectors[] = {
    {"fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
     {"101112131415161718191a1b1c1d1e1f2021222324252627"},
     "112233445566778899aabbccddee",
     "85632d07c6e8f37f950acd320a2ecc9340c02b9690c4dc04daef7f6afe5c",
     1},
    {"7f7e7d7c7b7a79787776757473727170404142434445464748494a4b4c4d4e4f",
     {"00112233445566778899aabbccddeeffdeaddadadeaddadaffeeddccbbaa99887766554433221100",
      "102030405060708090a0", "09f911029d74e35bd84156c5635688c0"},
     "7468697320697320736f6d6520706c61696e7465787420746f20656e6372797074207573696e6720"
     "5349562d414553",
     "7bdb6e3b432667eb06f4d14bff2fbd0fcb900f2fddbe404326601965c889bf17dba77ceb094fa663b7a3"
     "f748ba8af829ea64ad544a272e9c485b62a3fd5c0d",
     3},
    {"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728"
     "292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f",
     {"6173736f6369617465642064617461", /* "associated data" */
      "6465666768696a6b6c6d6e6f70717273"},
     "4145532d5349562d434d41432d353132206b6e6f776e20616e737765722c2063726f73732d636865636b"
     "6564",
     "f796802406595c7f04f741d91528f85a12d44129c9bd4daac8737fa614e6037954ea997ad830e6716806"
     "3c050b7de445dc9badc3dc2326fb0052c819",
     2},
};

struct siv_loaded {
	uint8_t key[64], ad[3][64], pt[64], want[80];
	size_t key_len, pt_len, want_len;
	struct siv_component c[3];
};

static void load(struct siv_loaded *l, const struct siv_vector *v)
{
	l->key_len = unhex(l->key, v->key);
	l->pt_len = unhex(l->pt, v->pt);
	l->want_len = unhex(l->want, v->want);
	for (size_t i = 0; i < v->num_ad; i++) {
		l->c[i].data = l->ad[i];
		l->c[i].len = unhex(l->ad[i], v->ad[i]);
	}
}

/* A.1 through the AEAD interface (deterministic mode: no nonce). */
static void test_rfc5297_a1(void)
{
	struct siv_loaded l;
	uint8_t out[80], back[80];
	size_t out_len, back_len;
	aead_ctx ctx;

	load(&l, &vectors[0]);
	CHECK(aead_ctx_init(&ctx, AEAD_AES_SIV_CMAC_256, l.key, l.key_len));
	CHECK(aead_seal(&ctx, out, &out_len, sizeof(out), NULL, 0, l.pt, l.pt_len, l.ad[0],
	                l.c[0].len));
	CHECK_MEM(out, out_len, l.want, l.want_len);
	CHECK(aead_open(&ctx, back, &back_len, sizeof(back), NULL, 0, out, out_len, l.ad[0],
	                l.c[0].len));
	CHECK_MEM(back, back_len, l.pt, l.pt_len);
	aead_ctx_cleanup(&ctx);
}

/* The 512-bit vector through the AEAD interface (AD, then nonce). */
static void test_siv512_kat(void)
{
	struct siv_loaded l;
	uint8_t out[80];
	size_t out_len;
	aead_ctx ctx;

	load(&l, &vectors[2]);
	CHECK(aead_ctx_init(&ctx, AEAD_AES_SIV_CMAC_512, l.key, l.key_len));
	CHECK(aead_seal(&ctx, out, &out_len, sizeof(out), l.ad[1], l.c[1].len, l.pt, l.pt_len,
	                l.ad[0], l.c[0].len));
	CHECK_MEM(out, out_len, l.want, l.want_len);
	aead_ctx_cleanup(&ctx);
}

static const enum siv_impl impls[] = {SIV_IMPL_PORTABLE, SIV_IMPL_AESNI};

/* Every vector on each block-cipher path explicitly (the tests above go
 * through whichever path this CPU picks): seal, open, open in place, a
 * dropped component and a flipped bit. */
static void test_vectors_each_path(void)
{
	uint8_t out[80], back[80];
	struct siv_key k;

	for (size_t i = 0; i < 2; i++) {
		if (!siv_impl_available(impls[i])) {
			fprintf(stderr, "note: SIV path %d not available on this CPU\n", impls[i]);
			CHECK(!siv_key_init_impl(&k, back, 32, impls[i]));
			continue;
		}
		for (size_t j = 0; j < sizeof(vectors) / sizeof(vectors[0]); j++) {
			const struct siv_vector *v = &vectors[j];
			struct siv_loaded l;
			load(&l, v);
			CHECK(siv_key_init_impl(&k, l.key, l.key_len, impls[i]));
			CHECK_EQ(k.impl, impls[i]);
			CHECK(siv_seal(&k, out, l.c, v->num_ad, l.pt, l.pt_len));
			CHECK_MEM(out, l.pt_len + 16, l.want, l.want_len);
			CHECK(siv_open(&k, back, l.c, v->num_ad, out, l.pt_len + 16));
			CHECK_MEM(back, l.pt_len, l.pt, l.pt_len);
			memcpy(back, out, l.pt_len + 16);
			CHECK(siv_open(&k, back, l.c, v->num_ad, back, l.pt_len + 16));
			CHECK_MEM(back, l.pt_len, l.pt, l.pt_len);
			CHECK(!siv_open(&k, back, l.c + 1, v->num_ad - 1, out, l.pt_len + 16));
			out[20] ^= 1;
			CHECK(!siv_open(&k, back, l.c, v->num_ad, out, l.pt_len + 16));
			siv_key_cleanup(&k);
		}
	}
}

static size_t rnd(size_t n)
{
	uint32_t r;
	RAND_bytes((uint8_t *)&r, sizeof(r));
	return n == 0 ? 0 : r % n;
}

/* one_diff seals with both paths, compares, cross-opens and tampers. */
static void one_diff(size_t key_len, size_t num_ad, const size_t *ad_len, size_t pt_len)
{
	static uint8_t key[64], ad[SIV_MAX_COMPONENTS][600], pt[2100];
	static uint8_t out[2][2100 + 16], back[2100 + 16];
	struct siv_component c[SIV_MAX_COMPONENTS];
	struct siv_key k[2];

	RAND_bytes(key, sizeof(key));
	RAND_bytes(pt, pt_len + 1);
	for (size_t i = 0; i < num_ad; i++) {
		RAND_bytes(ad[i], ad_len[i] + 1);
		c[i].data = ad[i];
		c[i].len = ad_len[i];
	}
	CHECK(siv_key_init_impl(&k[0], key, key_len, SIV_IMPL_PORTABLE));
	CHECK(siv_key_init_impl(&k[1], key, key_len, SIV_IMPL_AESNI));
	for (int i = 0; i < 2; i++) {
		CHECK(siv_seal(&k[i], out[i], c, num_ad, pt, pt_len));
	}
	if (memcmp(out[0], out[1], pt_len + 16) != 0) {
		fprintf(stderr, "paths differ: key %zu, %zu components, pt %zu\n", key_len, num_ad,
		        pt_len);
		CHECK(0);
	}
	for (int i = 0; i < 2; i++) {
		CHECK(siv_open(&k[i], back, c, num_ad, out[1 - i], pt_len + 16));
		CHECK(pt_len == 0 || memcmp(back, pt, pt_len) == 0);
		/* a flipped bit anywhere fails on both paths */
		size_t bit = rnd((pt_len + 16) * 8);
		out[1 - i][bit / 8] ^= (uint8_t)(1u << (bit % 8));
		CHECK(!siv_open(&k[i], back, c, num_ad, out[1 - i], pt_len + 16));
		out[1 - i][bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	siv_key_cleanup(&k[0]);
	siv_key_cleanup(&k[1]);
}

/* The AES-NI path against the portable one: every plaintext length 0..100
 * and random ones up to 2000, 0..8 components of random lengths (every
 * length 0..100 in the first component too), both key sizes. */
static void test_paths_differential(void)
{
	size_t ad_len[SIV_MAX_COMPONENTS];

	if (!siv_impl_available(SIV_IMPL_AESNI)) {
		fprintf(stderr, "note: no AES-NI, differential test skipped\n");
		return;
	}
	for (size_t key_len = 32; key_len <= 64; key_len += 32) {
		for (size_t len = 0; len <= 100; len++) {
			for (size_t num_ad = 0; num_ad <= 3; num_ad++) {
				for (size_t i = 0; i < num_ad; i++) {
					ad_len[i] = i == 0 ? len : rnd(101);
				}
				one_diff(key_len, num_ad, ad_len, len);
				one_diff(key_len, num_ad, ad_len, rnd(101));
			}
		}
		for (int n = 0; n < 400; n++) {
			size_t num_ad = rnd(SIV_MAX_COMPONENTS + 1);
			for (size_t i = 0; i < num_ad; i++) {
				ad_len[i] = rnd(4) == 0 ? rnd(600) : rnd(40);
			}
			one_diff(key_len, num_ad, ad_len, rnd(2001));
		}
		/* the NTS shapes: request (188-byte AD, nonce, empty), response
		 * (84-byte AD, nonce, one cookie field), cookie (kid, nonce) */
		ad_len[0] = 188, ad_len[1] = 16;
		one_diff(key_len, 2, ad_len, 0);
		ad_len[0] = 84;
		one_diff(key_len, 2, ad_len, 104);
		ad_len[0] = 4, ad_len[1] = 14;
		one_diff(key_len, 2, ad_len, 66);
	}
}

static void test_rfc8452(void)
{
	/* RFC 8452 Appendix C.1 (AEAD_AES_128_GCM_SIV) */
	static const struct {
		const char *key, *nonce, *aad, *pt, *result;
	} v[] = {
	    {"01000000000000000000000000000000", "030000000000000000000000", "", "",
	     "dc20e2d83f25705bb49e439eca56de25"},
	    {"01000000000000000000000000000000", "030000000000000000000000", "", "0100000000000000",
	     "b5d839330ac7b786578782fff6013b815b287c22493a364c"},
	    {"01000000000000000000000000000000", "030000000000000000000000", "01",
	     "0200000000000000", "1e6daba35669f4273b0a1a2560969cdf790d99759abd1508"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t key[16], nonce[12], aad[16], pt[32], want[64], out[64], back[64];
		size_t key_len = unhex(key, v[i].key), nonce_len = unhex(nonce, v[i].nonce);
		size_t aad_len = unhex(aad, v[i].aad), pt_len = unhex(pt, v[i].pt);
		size_t want_len = unhex(want, v[i].result), out_len, back_len;
		aead_ctx ctx;
		CHECK(aead_ctx_init(&ctx, AEAD_AES_128_GCM_SIV, key, key_len));
		CHECK(aead_seal(&ctx, out, &out_len, sizeof(out), nonce, nonce_len, pt, pt_len, aad,
		                aad_len));
		CHECK_MEM(out, out_len, want, want_len);
		CHECK(aead_open(&ctx, back, &back_len, sizeof(back), nonce, nonce_len, out, out_len,
		                aad, aad_len));
		CHECK_MEM(back, back_len, pt, pt_len);
		aead_ctx_cleanup(&ctx);
	}
}

static const uint16_t ids[] = {AEAD_AES_SIV_CMAC_256, AEAD_AES_SIV_CMAC_512, AEAD_AES_128_GCM_SIV};

static void test_roundtrip_and_tamper(void)
{
	for (size_t a = 0; a < sizeof(ids) / sizeof(ids[0]); a++) {
		uint16_t id = ids[a];
		uint8_t key[AEAD_MAX_KEY_LEN], nonce[AEAD_MAX_NONCE_LEN], ad[64];
		uint8_t pt[320], ct[340], back[340], inplace[340];
		size_t nlen = aead_nonce_len(id);
		aead_ctx ctx;

		RAND_bytes(key, sizeof(key));
		CHECK(aead_ctx_init(&ctx, id, key, aead_key_len(id)));
		for (size_t len = 0; len <= 300; len += (len < 40 ? 1 : 13)) {
			size_t ct_len, back_len;
			RAND_bytes(nonce, sizeof(nonce));
			RAND_bytes(ad, sizeof(ad));
			RAND_bytes(pt, len);
			CHECK(
			    aead_seal(&ctx, ct, &ct_len, sizeof(ct), nonce, nlen, pt, len, ad, 48));
			CHECK_EQ(ct_len, len + AEAD_TAG_LEN);
			CHECK(aead_open(&ctx, back, &back_len, sizeof(back), nonce, nlen, ct,
			                ct_len, ad, 48));
			CHECK_MEM(back, back_len, pt, len);

			/* in place, both directions */
			memcpy(inplace, pt, len);
			size_t ip_len;
			CHECK(aead_seal(&ctx, inplace, &ip_len, sizeof(inplace), nonce, nlen,
			                inplace, len, ad, 48));
			CHECK_MEM(inplace, ip_len, ct, ct_len);
			CHECK(aead_open(&ctx, inplace, &ip_len, sizeof(inplace), nonce, nlen,
			                inplace, ct_len, ad, 48));
			CHECK_MEM(inplace, ip_len, pt, len);

			if (len > 64 && len != 300) {
				continue; /* full bit-flip sweeps on the shorter sizes */
			}
			for (size_t bit = 0; bit < ct_len * 8; bit++) {
				ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
				CHECK(!aead_open(&ctx, back, &back_len, sizeof(back), nonce, nlen,
				                 ct, ct_len, ad, 48));
				ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			}
			for (size_t bit = 0; bit < 48 * 8; bit += 7) {
				ad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
				CHECK(!aead_open(&ctx, back, &back_len, sizeof(back), nonce, nlen,
				                 ct, ct_len, ad, 48));
				ad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			}
			for (size_t bit = 0; bit < nlen * 8; bit++) {
				nonce[bit / 8] ^= (uint8_t)(1u << (bit % 8));
				CHECK(!aead_open(&ctx, back, &back_len, sizeof(back), nonce, nlen,
				                 ct, ct_len, ad, 48));
				nonce[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			}
			/* AD length is authenticated too */
			CHECK(!aead_open(&ctx, back, &back_len, sizeof(back), nonce, nlen, ct,
			                 ct_len, ad, 47));
			/* truncated ciphertext */
			if (ct_len > AEAD_TAG_LEN) {
				CHECK(!aead_open(&ctx, back, &back_len, sizeof(back), nonce, nlen,
				                 ct, ct_len - 1, ad, 48));
			}
		}
		/* output buffers that are too small are refused */
		size_t out_len;
		CHECK(!aead_seal(&ctx, ct, &out_len, 10 + AEAD_TAG_LEN - 1, nonce, nlen, pt, 10, ad,
		                 4));
		CHECK(aead_seal(&ctx, ct, &out_len, 10 + AEAD_TAG_LEN, nonce, nlen, pt, 10, ad, 4));
		CHECK(
		    !aead_open(&ctx, back, &out_len, 9, nonce, nlen, ct, 10 + AEAD_TAG_LEN, ad, 4));
		CHECK(!aead_open(&ctx, back, &out_len, sizeof(back), nonce, nlen, ct,
		                 AEAD_TAG_LEN - 1, ad, 4));
		aead_ctx_cleanup(&ctx);
		CHECK_EQ(ctx.id, 0);
	}
}

static void test_arguments(void)
{
	uint8_t key[AEAD_MAX_KEY_LEN] = {0};
	aead_ctx ctx;

	CHECK(!aead_ctx_init(&ctx, AEAD_AES_SIV_CMAC_256, key, 16));
	CHECK(!aead_ctx_init(&ctx, AEAD_AES_SIV_CMAC_256, key, 64));
	CHECK(!aead_ctx_init(&ctx, AEAD_AES_128_GCM_SIV, key, 32));
	CHECK(!aead_ctx_init(&ctx, AEAD_AES_SIV_CMAC_384, key, 48));
	CHECK(!aead_ctx_init(&ctx, AEAD_AES_256_GCM_SIV, key, 32));
	CHECK(!aead_ctx_init(&ctx, 0, key, 32));
	CHECK(!aead_supported(16) && !aead_supported(31) && !aead_supported(0));
	CHECK(aead_supported(15) && aead_supported(17) && aead_supported(30));
	CHECK(aead_nonce_ok(15, 16) && !aead_nonce_ok(15, 15) && !aead_nonce_ok(15, 17) &&
	      !aead_nonce_ok(15, 0));
	CHECK(aead_nonce_ok(30, 12) && !aead_nonce_ok(30, 16) && !aead_nonce_ok(30, 11));

	/* GCM-SIV needs a 12-byte nonce */
	uint8_t out[64];
	size_t out_len;
	CHECK(aead_ctx_init(&ctx, AEAD_AES_128_GCM_SIV, key, 16));
	CHECK(!aead_seal(&ctx, out, &out_len, sizeof(out), key, 16, key, 4, NULL, 0));
	aead_ctx_cleanup(&ctx);
	/* a cleaned-up context refuses to work */
	CHECK(!aead_seal(&ctx, out, &out_len, sizeof(out), key, 12, key, 4, NULL, 0));
}

/* the client tools' --aead lists */
static void test_parse_list(void)
{
	uint16_t list[4];
	size_t n = 99;
	CHECK(aead_parse_list(list, 4, &n, "30,15"));
	CHECK_EQ(n, 2);
	CHECK_EQ(list[0], 30);
	CHECK_EQ(list[1], 15);
	CHECK(aead_parse_list(list, 4, &n, "17"));
	CHECK_EQ(n, 1);
	CHECK(aead_parse_list(list, 4, &n, "15,15,30,17")); /* exactly max */
	CHECK_EQ(n, 4);
	static const char *const bad[] = {
	    "",  "16",  "30,16", "30,", ",30",   "30,,15",     "30x",
	    "x", "-15", " 15",   "15 ", "65551", "4294967311", "15,15,30,17,30",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = 99;
		if (aead_parse_list(list, 4, &n, bad[i])) {
			fprintf(stderr, "accepted \"%s\"\n", bad[i]);
			CHECK(0);
		}
		CHECK_EQ(n, 0);
	}
}

int main(void)
{
	test_rfc5297_a1();
	test_siv512_kat();
	test_vectors_each_path();
	test_paths_differential();
	test_rfc8452();
	test_roundtrip_and_tamper();
	test_arguments();
	test_parse_list();
	return test_summary("aead");
}
