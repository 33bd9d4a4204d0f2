/*
 * fuzz_ntske.c: the NTS-KE parsers. Invariants (abort on violation):
 * a request that parses OK yields a response that the client-side
 * validator accepts with the chosen AEAD and every cookie intact.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/ntske.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t prefs[] = {30, 15, 17};
	static const uint8_t cookie[102] = {1, 2, 3};
	struct ntske_request req;
	struct ntske_response_view view;
	size_t msg_len;
	CBS cbs;

	(void)ntske_stream_status(data, size, &msg_len);
	CBS_init(&cbs, data, size);
	(void)ntske_parse_response(&view, &cbs, prefs, 3);
	CBS_init(&cbs, data, size);
	if (!ntske_parse_request(&req, &cbs) || !req.ntpv4_offered) {
		return 0;
	}
	uint16_t aead = ntske_choose_aead(&req, prefs, 3);
	if (aead == 0) {
		return 0;
	}
	struct ntske_response resp = {.ntpv4 = 1,
	                              .aead = aead,
	                              .num_cookies = 8,
	                              .echo_compliant = req.compliant_gcm_siv && aead == 30,
	                              .server = "127.0.0.1",
	                              .port = 123};
	for (int i = 0; i < 8; i++) {
		resp.cookies[i] = cookie;
		resp.cookie_lens[i] = sizeof(cookie);
	}
	uint8_t buf[2048];
	size_t len;
	CBB cbb;
	CBB_init_fixed(&cbb, buf, sizeof(buf));
	if (!ntske_build_response(&cbb, &resp) || !CBB_finish(&cbb, NULL, &len)) {
		abort();
	}
	CBS_init(&cbs, buf, len);
	if (!ntske_parse_response(&view, &cbs, req.aeads, req.num_aeads) || view.aead != aead ||
	    view.num_cookies != 8 || CBS_len(&view.cookies[3]) != sizeof(cookie) ||
	    view.port != 123) {
		abort();
	}
	return 0;
}
