/*
 * cookie.c: seal and open NTS cookies (format in cookie.h).
 */
#include "proto/cookie.h"

#include <string.h>

#include <sodium.h>

#define PLAIN_MAX (2 + 2 * AEAD_MAX_KEY_LEN)

void cookie_keys_cleanup(struct cookie_keys *k)
{
	sodium_memzero(k, sizeof(*k));
}

size_t cookie_len(uint16_t aead_id)
{
	size_t kl = aead_key_len(aead_id);
	return kl == 0 ? 0 : COOKIE_OVERHEAD + 2 * kl;
}

int cookie_seal(struct wbuf *out, const aead_ctx *ck, uint32_t key_id,
                const uint8_t nonce[COOKIE_NONCE_LEN], const struct cookie_keys *keys)
{
	uint8_t plain[PLAIN_MAX];
	uint8_t kid[COOKIE_KEY_ID_LEN];
	uint8_t *dst;
	size_t plain_len, sealed_len;
	int ret = 0;

	if (keys->key_len == 0 || keys->key_len != aead_key_len(keys->aead_id) ||
	    ck->id != COOKIE_AEAD) {
		return 0;
	}
	plain[0] = (uint8_t)(keys->aead_id >> 8);
	plain[1] = (uint8_t)keys->aead_id;
	memcpy(plain + 2, keys->c2s, keys->key_len);
	memcpy(plain + 2 + keys->key_len, keys->s2c, keys->key_len);
	plain_len = 2 + 2 * keys->key_len;
	kid[0] = (uint8_t)(key_id >> 24);
	kid[1] = (uint8_t)(key_id >> 16);
	kid[2] = (uint8_t)(key_id >> 8);
	kid[3] = (uint8_t)key_id;

	if (!wbuf_bytes(out, kid, sizeof(kid)) || !wbuf_bytes(out, nonce, COOKIE_NONCE_LEN) ||
	    (dst = wbuf_space(out, plain_len + AEAD_TAG_LEN)) == NULL ||
	    !aead_seal(ck, dst, &sealed_len, plain_len + AEAD_TAG_LEN, nonce, COOKIE_NONCE_LEN,
	               plain, plain_len, kid, sizeof(kid))) {
		goto err;
	}
	ret = 1;
err:
	sodium_memzero(plain, sizeof(plain));
	return ret;
}

int cookie_key_id(uint32_t *out_key_id, const CBS *cookie)
{
	CBS c = *cookie;
	if (CBS_len(&c) < COOKIE_OVERHEAD) {
		return 0;
	}
	return CBS_get_u32(&c, out_key_id);
}

int cookie_open(struct cookie_keys *out, const aead_ctx *ck, const CBS *cookie)
{
	uint8_t plain[PLAIN_MAX + AEAD_TAG_LEN];
	CBS c = *cookie, kid, nonce;
	size_t plain_len, key_len;
	uint16_t aead_id;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	/* The length alone must name a possible session AEAD before any
	 * crypto runs: 68 (AEAD 30), 100 (AEAD 15) or 164 (AEAD 17). */
	if (CBS_len(&c) != cookie_len(AEAD_AES_128_GCM_SIV) &&
	    CBS_len(&c) != cookie_len(AEAD_AES_SIV_CMAC_256) &&
	    CBS_len(&c) != cookie_len(AEAD_AES_SIV_CMAC_512)) {
		return 0;
	}
	if (ck->id != COOKIE_AEAD || !CBS_get_bytes(&c, &kid, COOKIE_KEY_ID_LEN) ||
	    !CBS_get_bytes(&c, &nonce, COOKIE_NONCE_LEN) ||
	    !aead_open(ck, plain, &plain_len, sizeof(plain), CBS_data(&nonce), CBS_len(&nonce),
	               CBS_data(&c), CBS_len(&c), CBS_data(&kid), CBS_len(&kid))) {
		goto err;
	}
	aead_id = (uint16_t)((plain[0] << 8) | plain[1]);
	key_len = aead_key_len(aead_id);
	if (key_len == 0 || plain_len != 2 + 2 * key_len) {
		goto err;
	}
	out->aead_id = aead_id;
	out->key_len = key_len;
	memcpy(out->c2s, plain + 2, key_len);
	memcpy(out->s2c, plain + 2 + key_len, key_len);
	ret = 1;
err:
	sodium_memzero(plain, sizeof(plain));
	if (!ret) {
		cookie_keys_cleanup(out);
	}
	return ret;
}
