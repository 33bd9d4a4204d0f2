/*
 * fuzz_keyless.c: the nts-signer request and reply parsers on arbitrary
 * bytes. Invariants: whatever parses re-builds to the same bytes, and the
 * signer's input check never reads past its input.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/keyless.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t buf[KL_MAX_REPLY > KL_MAX_REQUEST ? KL_MAX_REPLY : KL_MAX_REQUEST];
	struct kl_request rq;
	struct kl_reply rp;
	struct wbuf w;
	CBS cbs;

	CBS_init(&cbs, data, size);
	if (kl_parse_request(&rq, &cbs)) {
		wbuf_init(&w, buf, sizeof(buf));
		if (!kl_build_request(&w, &rq) || w.len != size || memcmp(buf, data, size) != 0) {
			abort();
		}
		/* both hash lengths at once is impossible */
		if (kl_tls13_server_input(rq.input, rq.input_len, 32) &&
		    kl_tls13_server_input(rq.input, rq.input_len, 48)) {
			abort();
		}
	}
	CBS_init(&cbs, data, size);
	if (kl_parse_reply(&rp, &cbs)) {
		wbuf_init(&w, buf, sizeof(buf));
		if (!kl_build_reply(&w, &rp) || w.len != size || memcmp(buf, data, size) != 0) {
			abort();
		}
	}
	return 0;
}
