/*
 * randpool.c: per-thread slices of RAND_bytes output.
 */
#include "common/randpool.h"

#include <string.h>

#include <openssl/rand.h>

static _Thread_local struct {
	uint8_t buf[RAND_POOL_SIZE];
	size_t pos; /* bytes already handed out since the last refill */
	int filled; /* 0 until the thread's first request */
} pool;

void rand_pool_bytes(uint8_t *out, size_t len)
{
	if (len > RAND_POOL_SIZE / 4) {
		RAND_bytes(out, len);
		return;
	}
	if (!pool.filled || RAND_POOL_SIZE - pool.pos < len) {
		RAND_bytes(pool.buf, sizeof(pool.buf));
		pool.pos = 0;
		pool.filled = 1;
	}
	memcpy(out, pool.buf + pool.pos, len);
	memset(pool.buf + pool.pos, 0, len);
	pool.pos += len;
}
