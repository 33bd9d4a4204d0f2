/*
 * aead.c: dispatch over the NTS AEADs (see aead.h).
 */
#include "common/aead.h"

#include <string.h>

#include <openssl/crypto.h>
#include <sodium.h>

int aead_supported(uint16_t id)
{
	return aead_key_len(id) != 0;
}

int aead_parse_list(uint16_t *out, size_t max, size_t *out_num, const char *s)
{
	size_t num = 0;
	*out_num = 0;
	for (;;) {
		unsigned long v = 0;
		size_t digits = 0;
		while (*s >= '0' && *s <= '9' && v <= 65535) {
			v = v * 10 + (unsigned long)(*s++ - '0');
			digits++;
		}
		if (digits == 0 || v > 65535 || num == max || !aead_supported((uint16_t)v)) {
			return 0;
		}
		out[num++] = (uint16_t)v;
		if (*s == '\0') {
			break;
		}
		if (*s++ != ',') {
			return 0;
		}
	}
	*out_num = num;
	return 1;
}

size_t aead_key_len(uint16_t id)
{
	switch (id) {
	case AEAD_AES_SIV_CMAC_256:
		return 32;
	case AEAD_AES_SIV_CMAC_512:
		return 64;
	case AEAD_AES_128_GCM_SIV:
		return 16;
	default:
		return 0;
	}
}

size_t aead_nonce_len(uint16_t id)
{
	switch (id) {
	case AEAD_AES_SIV_CMAC_256:
	case AEAD_AES_SIV_CMAC_512:
		return 16;
	case AEAD_AES_128_GCM_SIV:
		return 12;
	default:
		return 0;
	}
}

int aead_nonce_ok(uint16_t id, size_t nonce_len)
{
	switch (id) {
	case AEAD_AES_SIV_CMAC_256:
	case AEAD_AES_SIV_CMAC_512:
		/* RFC 8915 s5.6: at least 16 octets for the SIV modes; we cap
		 * the length so that S2V work is bounded. */
		return nonce_len >= 16 && nonce_len <= AEAD_MAX_NONCE_LEN;
	case AEAD_AES_128_GCM_SIV:
		return nonce_len == 12;
	default:
		return 0;
	}
}

int aead_ctx_init(aead_ctx *ctx, uint16_t id, const uint8_t *key, size_t key_len)
{
	memset(ctx, 0, sizeof(*ctx));
	if (key_len != aead_key_len(id)) {
		return 0;
	}
	switch (id) {
	case AEAD_AES_SIV_CMAC_256:
	case AEAD_AES_SIV_CMAC_512:
		if (!siv_key_init(&ctx->u.siv, key, key_len)) {
			return 0;
		}
		break;
	case AEAD_AES_128_GCM_SIV:
		if (!EVP_AEAD_CTX_init(&ctx->u.gcm, EVP_aead_aes_128_gcm_siv(), key, key_len,
		                       AEAD_TAG_LEN, NULL)) {
			sodium_memzero(ctx, sizeof(*ctx));
			return 0;
		}
		break;
	default:
		return 0;
	}
	ctx->id = id;
	return 1;
}

void aead_ctx_cleanup(aead_ctx *ctx)
{
	if (ctx->id == AEAD_AES_128_GCM_SIV) {
		EVP_AEAD_CTX_cleanup(&ctx->u.gcm);
	}
	sodium_memzero(ctx, sizeof(*ctx));
}

int aead_seal(const aead_ctx *ctx, uint8_t *out, size_t *out_len, size_t max_out_len,
              const uint8_t *nonce, size_t nonce_len, const uint8_t *in, size_t in_len,
              const uint8_t *ad, size_t ad_len)
{
	if (in_len > max_out_len || max_out_len - in_len < AEAD_TAG_LEN) {
		return 0;
	}
	switch (ctx->id) {
	case AEAD_AES_SIV_CMAC_256:
	case AEAD_AES_SIV_CMAC_512: {
		struct siv_component c[2] = {{ad, ad_len}, {nonce, nonce_len}};
		if (!siv_seal(&ctx->u.siv, out, c, nonce_len > 0 ? 2 : 1, in, in_len)) {
			return 0;
		}
		*out_len = in_len + AEAD_TAG_LEN;
		return 1;
	}
	case AEAD_AES_128_GCM_SIV:
		if (nonce_len != 12) {
			return 0;
		}
		return EVP_AEAD_CTX_seal(&ctx->u.gcm, out, out_len, max_out_len, nonce, nonce_len,
		                         in, in_len, ad, ad_len);
	default:
		return 0;
	}
}

int aead_open(const aead_ctx *ctx, uint8_t *out, size_t *out_len, size_t max_out_len,
              const uint8_t *nonce, size_t nonce_len, const uint8_t *in, size_t in_len,
              const uint8_t *ad, size_t ad_len)
{
	if (in_len < AEAD_TAG_LEN || in_len - AEAD_TAG_LEN > max_out_len) {
		return 0;
	}
	switch (ctx->id) {
	case AEAD_AES_SIV_CMAC_256:
	case AEAD_AES_SIV_CMAC_512: {
		struct siv_component c[2] = {{ad, ad_len}, {nonce, nonce_len}};
		if (!siv_open(&ctx->u.siv, out, c, nonce_len > 0 ? 2 : 1, in, in_len)) {
			return 0;
		}
		*out_len = in_len - AEAD_TAG_LEN;
		return 1;
	}
	case AEAD_AES_128_GCM_SIV: {
		if (nonce_len != 12) {
			return 0;
		}
#ifdef NTS_FUZZING
		/* No tag check: decrypt with the CTR keystream only is not
		 * exposed by BoringSSL, so pass the ciphertext through. */
		memmove(out, in, in_len - AEAD_TAG_LEN);
		*out_len = in_len - AEAD_TAG_LEN;
		return 1;
#else
		if (!EVP_AEAD_CTX_open(&ctx->u.gcm, out, out_len, max_out_len, nonce, nonce_len, in,
		                       in_len, ad, ad_len)) {
			return 0;
		}
		return 1;
#endif
	}
	default:
		return 0;
	}
}
