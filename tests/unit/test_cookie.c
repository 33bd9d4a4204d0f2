/* test_cookie.c: cookie seal/open round trips, lengths, tampering, keys. */
#include <openssl/rand.h>

#include "proto/cookie.h"
#include "tests/unit/testutil.h"

static void make_keys(struct cookie_keys *k, uint16_t id)
{
	memset(k, 0, sizeof(*k));
	k->aead_id = id;
	k->key_len = aead_key_len(id);
	RAND_bytes(k->c2s, k->key_len);
	RAND_bytes(k->s2c, k->key_len);
}

static size_t seal(uint8_t *buf, size_t cap, const aead_ctx *ck, uint32_t kid,
                   const struct cookie_keys *k)
{
	uint8_t nonce[COOKIE_NONCE_LEN];
	struct wbuf w;
	size_t len = 0;
	RAND_bytes(nonce, sizeof(nonce));
	wbuf_init(&w, buf, cap);
	if (!cookie_seal(&w, ck, kid, nonce, k) || !((len = w.len), !w.failed)) {
		len = 0;
	}
	return len;
}

int main(void)
{
	static const uint16_t ids[] = {AEAD_AES_SIV_CMAC_256, AEAD_AES_128_GCM_SIV,
	                               AEAD_AES_SIV_CMAC_512};
	uint8_t key[COOKIE_KEY_LEN], key2[COOKIE_KEY_LEN];
	aead_ctx ck, ck2, wrong_aead;

	RAND_bytes(key, sizeof(key));
	RAND_bytes(key2, sizeof(key2));
	CHECK(aead_ctx_init(&ck, COOKIE_AEAD, key, sizeof(key)));
	CHECK(aead_ctx_init(&ck2, COOKIE_AEAD, key2, sizeof(key2)));
	CHECK(aead_ctx_init(&wrong_aead, AEAD_AES_128_GCM_SIV, key, 16));

	CHECK_EQ(cookie_len(AEAD_AES_SIV_CMAC_256), 100);
	CHECK_EQ(cookie_len(AEAD_AES_128_GCM_SIV), 68);
	CHECK_EQ(cookie_len(AEAD_AES_SIV_CMAC_512), 164);
	CHECK_EQ(cookie_len(16), 0);
	CHECK_EQ(cookie_len(AEAD_AES_SIV_CMAC_512), COOKIE_MAX_LEN);

	for (size_t a = 0; a < sizeof(ids) / sizeof(ids[0]); a++) {
		struct cookie_keys k, got;
		uint8_t buf[COOKIE_MAX_LEN + 8], copy[COOKIE_MAX_LEN + 8];
		uint32_t kid = 0x01020304u + (uint32_t)a, rkid;
		size_t len;
		CBS cbs;

		make_keys(&k, ids[a]);
		len = seal(buf, sizeof(buf), &ck, kid, &k);
		CHECK_EQ(len, cookie_len(ids[a]));
		CBS_init(&cbs, buf, len);
		CHECK(cookie_key_id(&rkid, &cbs));
		CHECK_EQ(rkid, kid);
		CHECK_EQ(buf[0], 0x01); /* big-endian on the wire */
		CHECK(cookie_open(&got, &ck, &cbs));
		CHECK_EQ(got.aead_id, ids[a]);
		CHECK_EQ(got.key_len, k.key_len);
		CHECK_MEM(got.c2s, got.key_len, k.c2s, k.key_len);
		CHECK_MEM(got.s2c, got.key_len, k.s2c, k.key_len);

		/* two seals of the same keys differ (random nonce) */
		size_t len2 = seal(copy, sizeof(copy), &ck, kid, &k);
		CHECK(len2 == len && memcmp(copy, buf, len) != 0);

		/* wrong key, wrong cookie AEAD */
		CHECK(!cookie_open(&got, &ck2, &cbs));
		CHECK_EQ(got.aead_id, 0);
		CHECK(!cookie_open(&got, &wrong_aead, &cbs));

		/* every truncation and extension is refused */
		for (size_t l = 0; l < len + 8; l++) {
			if (l == len) {
				continue;
			}
			memcpy(copy, buf, len);
			CBS_init(&cbs, copy, l);
			CHECK(!cookie_open(&got, &ck, &cbs));
		}
		/* every bit flip is refused, including in the key id */
		for (size_t bit = 0; bit < len * 8; bit++) {
			memcpy(copy, buf, len);
			copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			CBS_init(&cbs, copy, len);
			CHECK(!cookie_open(&got, &ck, &cbs));
		}
		/* a writer that is too small fails cleanly */
		CHECK_EQ(seal(buf, len - 1, &ck, kid, &k), 0);
		cookie_keys_cleanup(&k);
	}

	/* inconsistent session keys are not sealed */
	struct cookie_keys bad;
	make_keys(&bad, AEAD_AES_SIV_CMAC_256);
	bad.key_len = 16;
	uint8_t buf[COOKIE_MAX_LEN];
	CHECK_EQ(seal(buf, sizeof(buf), &ck, 1, &bad), 0);
	bad.aead_id = 16;
	bad.key_len = 48;
	CHECK_EQ(seal(buf, sizeof(buf), &ck, 1, &bad), 0);
	/* a non-cookie AEAD context is not used for sealing */
	make_keys(&bad, AEAD_AES_SIV_CMAC_256);
	CHECK_EQ(seal(buf, sizeof(buf), &wrong_aead, 1, &bad), 0);

	/* key id on short input */
	uint32_t kid;
	CBS cbs;
	CBS_init(&cbs, buf, 3);
	CHECK(!cookie_key_id(&kid, &cbs));

	/* Known answer: a cookie sealed by an independent AES-SIV (Python
	 * cryptography, tests/fuzz/make-corpus.py) under key 0x42 x 32, key id
	 * 0x01000005, nonce 0x07 x 14, AEAD 30, C2S 00..0f, S2C 64..73. */
	{
		static const char kat_hex[] =
		    "0100000507070707070707070707070707079a3bdf9c80971a2cd340dd86a2fae1f901cb916382"
		    "4d2b5e3b14649cc391c4f1eddecd84528fb645eabbd9bdb29ebcf3fb90";
		uint8_t kat[68], k42[COOKIE_KEY_LEN];
		struct cookie_keys got;
		aead_ctx ck42;
		for (size_t i = 0; i < sizeof(kat); i++) {
			unsigned v;
			sscanf(kat_hex + 2 * i, "%2x", &v);
			kat[i] = (uint8_t)v;
		}
		memset(k42, 0x42, sizeof(k42));
		CHECK(aead_ctx_init(&ck42, COOKIE_AEAD, k42, sizeof(k42)));
		CBS_init(&cbs, kat, sizeof(kat));
		CHECK(cookie_key_id(&kid, &cbs));
		CHECK_EQ(kid, 0x01000005);
		CHECK(cookie_open(&got, &ck42, &cbs));
		CHECK_EQ(got.aead_id, AEAD_AES_128_GCM_SIV);
		CHECK_EQ(got.key_len, 16);
		CHECK_EQ(got.c2s[15], 15);
		CHECK_EQ(got.s2c[0], 100);
		aead_ctx_cleanup(&ck42);
	}

	aead_ctx_cleanup(&ck);
	aead_ctx_cleanup(&ck2);
	aead_ctx_cleanup(&wrong_aead);
	return test_summary("cookie");
}
