/*
 * fuzz_nts_request.c: the responder's NTS request path up to and through
 * the AEADs: parse, open the cookie under a fixed key (32 x 0x42), check
 * the authenticator with the cookie's C2S, count encrypted placeholders,
 * build the response and a NAK. With NTS_FUZZING the tag checks are
 * skipped so that inputs reach every step. Invariant (abort otherwise):
 * no answer is ever longer than the request.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/cookie.h"
#include "proto/nts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static aead_ctx ck;
	static int ready;
	struct nts_request req;
	struct cookie_keys keys;
	aead_ctx c2s, s2c;
	uint8_t dec[NTP_MAX_PACKET], plain[NTS_PLAIN_MAX], out[NTP_MAX_PACKET];
	size_t dec_len, out_len, num;
	const struct ntp_header h = {.version = 4, .mode = NTP_MODE_SERVER, .stratum = 1};

	if (!ready) {
		uint8_t key[COOKIE_KEY_LEN];
		memset(key, 0x42, sizeof(key));
		if (!aead_ctx_init(&ck, COOKIE_AEAD, key, sizeof(key))) {
			abort();
		}
		ready = 1;
	}
	if (size > NTP_MAX_PACKET || nts_parse_request(&req, data, size) != NTS_PARSE_OK) {
		return 0;
	}
	if (nts_build_nak(out, &out_len, &req, size, &h) && out_len > size) {
		abort();
	}
	if (!cookie_open(&keys, &ck, &req.cookie)) {
		return 0;
	}
	if (!aead_ctx_init(&c2s, keys.aead_id, keys.c2s, keys.key_len)) {
		abort(); /* cookie_open only returns supported AEADs */
	}
	if (!aead_ctx_init(&s2c, keys.aead_id, keys.s2c, keys.key_len)) {
		abort();
	}
	num = req.num_placeholders;
	if (aead_nonce_ok(keys.aead_id, CBS_len(&req.nonce)) &&
	    aead_open(&c2s, dec, &dec_len, sizeof(dec), CBS_data(&req.nonce), CBS_len(&req.nonce),
	              CBS_data(&req.ciphertext), CBS_len(&req.ciphertext), data, req.ad_len) &&
	    nts_count_encrypted_placeholders(&num, dec, dec_len, CBS_len(&req.cookie))) {
		struct wbuf w;
		wbuf_init(&w, plain, sizeof(plain));
		for (size_t i = 0; i < 1 + num; i++) {
			uint8_t *p;
			if (!nts_add_cookie_ef_header(&w, CBS_len(&req.cookie)) ||
			    !wbuf_space_to(&w, &p, CBS_len(&req.cookie)) ||
			    !ntp_ef_add_padding(&w, CBS_len(&req.cookie))) {
				abort();
			}
			memcpy(p, CBS_data(&req.cookie), CBS_len(&req.cookie));
		}
		static const uint8_t nonce[16];
		if (nts_build_response(out, &out_len, &req, size, &h, &s2c, nonce,
		                       aead_nonce_len(keys.aead_id), plain, w.len, sizeof(plain)) &&
		    out_len > size) {
			abort();
		}
	}
	aead_ctx_cleanup(&c2s);
	aead_ctx_cleanup(&s2c);
	cookie_keys_cleanup(&keys);
	return 0;
}
