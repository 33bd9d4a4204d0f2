/*
 * fuzz_xframe.c: the AF_XDP path's frame parser and reply builder
 * (ntp-responder/xframe.c) on arbitrary frames: an accepted frame's payload
 * lies within it, and building a reply in place (as xdp.c does, with a
 * response no longer than the request) stays within the frame and gives a
 * frame the parser accepts again. The input read as the headroom in front
 * of a frame: metadata is taken only whole, and wiped.
 */
#include <stdlib.h>
#include <string.h>

#include "ntp-responder/xframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xframe x, y;
	uint8_t *f = malloc(size + 1);
	if (f == NULL) {
		return 0;
	}
	memcpy(f, data, size);
	struct xframe_meta m = {0};
	int have = xframe_meta_take(&m, f, size);
	if (have && size < 24) {
		abort();
	}
	for (size_t i = size >= 24 ? size - 24 : size; i < size; i++) {
		if (f[i] != 0) {
			abort(); /* not wiped */
		}
	}
	if (have) {
		/* the batch's clocks from the frame's first bytes: a chosen
		 * time is never after the batch time */
		struct xframe_clocks c = {.real_ns = 1764547200000000000};
		if (size >= 40) {
			memcpy(&c.mono_before, data, 8);
			memcpy(&c.mono_after, data + 8, 8);
		}
		int64_t t;
		enum xframe_ts_why why;
		enum xframe_ts_source src = xframe_rx_time(&t, &why, &m, have, NULL, &c);
		if (t > c.real_ns || (src == XFRAME_TS_BATCH && why >= XFRAME_WHY_MAX) ||
		    src == XFRAME_TS_HW) {
			abort();
		}
	}
	memcpy(f, data, size);
	if (xframe_parse(&x, f, size)) {
		if (x.l4 + 8 + x.payload_len > size) {
			abort();
		}
		size_t out_len = x.payload_len / 2;
		size_t len = xframe_reply(f, &x, out_len);
		if (len > size || !xframe_parse(&y, f, len) || y.payload_len != out_len) {
			abort();
		}
	}
	free(f);
	return 0;
}
