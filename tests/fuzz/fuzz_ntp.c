/*
 * fuzz_ntp.c: the NTP header and the RFC 7822 extension-field walker.
 * Invariants: fields are never longer than what remains, header re-builds
 * to the same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/ntp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ntp_header h;
	struct ntp_ef ef;
	CBS in;

	CBS_init(&in, data, size);
	if (!ntp_header_parse(&h, &in)) {
		return 0;
	}
	uint8_t buf[NTP_HEADER_LEN];
	struct wbuf w;
	wbuf_init(&w, buf, sizeof(buf));
	if (!ntp_header_build(&w, &h) || w.len != NTP_HEADER_LEN ||
	    memcmp(buf, data, NTP_HEADER_LEN) != 0) {
		abort();
	}
	struct timespec ts;
	ntp_ts_to_timespec(&ts, h.transmit_ts);
	if (ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000) {
		abort();
	}
	while (CBS_len(&in) > 0) {
		size_t before = CBS_len(&in);
		if (!ntp_ef_next(&in, &ef)) {
			break;
		}
		if (ef.len < NTP_EF_MIN_LEN || ef.len % 4 != 0 || ef.len > before ||
		    CBS_len(&in) != before - ef.len) {
			abort();
		}
	}
	return 0;
}
