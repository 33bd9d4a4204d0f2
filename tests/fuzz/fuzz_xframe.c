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
	uint64_t ts = 0;
	enum xframe_meta m = xframe_meta_take(&ts, f, size);
	if ((m == XFRAME_META_HWTS && ts == 0) || (m != XFRAME_META_MISSING && size < 16)) {
		abort();
	}
	for (size_t i = size >= 16 ? size - 16 : size; i < size; i++) {
		if (f[i] != 0) {
			abort(); /* not wiped */
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
