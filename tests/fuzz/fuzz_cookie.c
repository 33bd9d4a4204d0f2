/*
 * fuzz_cookie.c: cookie_open on arbitrary bytes under a fixed key. Built
 * with NTS_FUZZING the SIV tag check is skipped, so inputs reach the
 * plaintext checks (AEAD id, lengths). Invariant: a cookie that opens
 * re-seals to the same length.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/cookie.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static aead_ctx ck;
	static int ready;
	struct cookie_keys keys;
	uint32_t kid;
	CBS cbs;

	if (!ready) {
		uint8_t key[COOKIE_KEY_LEN];
		memset(key, 0x42, sizeof(key));
		if (!aead_ctx_init(&ck, COOKIE_AEAD, key, sizeof(key))) {
			abort();
		}
		ready = 1;
	}
	CBS_init(&cbs, data, size);
	if (!cookie_key_id(&kid, &cbs)) {
		return 0;
	}
	if (cookie_open(&keys, &ck, &cbs)) {
		uint8_t buf[COOKIE_MAX_LEN], nonce[COOKIE_NONCE_LEN] = {0};
		size_t len;
		struct wbuf w;
		wbuf_init(&w, buf, sizeof(buf));
		if (!cookie_seal(&w, &ck, kid, nonce, &keys) || !((len = w.len), !w.failed) ||
		    len != size) {
			abort();
		}
		cookie_keys_cleanup(&keys);
	}
	return 0;
}
