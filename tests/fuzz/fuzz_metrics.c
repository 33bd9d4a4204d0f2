/*
 * fuzz_metrics.c: metrics_parse_request, the HTTP request parser of the
 * metrics endpoint, on arbitrary bytes. Invariants: a request that was
 * complete before its last byte keeps its meaning; "too large" only at
 * METRICS_MAX_REQUEST bytes or more.
 */
#include <stdlib.h>

#include "common/metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum metrics_req r = metrics_parse_request(data, size);

	if (r == METRICS_REQ_TOO_LARGE && size < METRICS_MAX_REQUEST) {
		abort();
	}
	if (size > 0) {
		enum metrics_req prefix = metrics_parse_request(data, size - 1);
		if (prefix != METRICS_REQ_INCOMPLETE && prefix != METRICS_REQ_TOO_LARGE &&
		    prefix != r) {
			abort();
		}
	}
	return 0;
}
