/*
 * randpool.h: cheap public random bytes (nonces) for per-packet paths.
 *
 * Each thread keeps a 4 KiB buffer filled by BoringSSL's RAND_bytes and
 * hands it out in slices, so a response costs a memcpy instead of two
 * RAND_bytes calls (about 0.7 us each with Debian's BoringSSL). Only for
 * values that go on the wire anyway (AEAD and cookie nonces): every byte is
 * handed out once and wiped from the buffer as it is taken, so later
 * memory disclosure does not reveal nonces that were never used either.
 */
#ifndef NTS_RANDPOOL_H
#define NTS_RANDPOOL_H

#include <stddef.h>
#include <stdint.h>

#define RAND_POOL_SIZE 4096

/* rand_pool_bytes fills |out| with |len| random bytes from the calling
 * thread's pool. When fewer than |len| bytes are left the whole pool is
 * refilled from RAND_bytes (the unused rest is overwritten, never handed
 * out). |len| may be anything; requests larger than a quarter of the pool
 * (RAND_POOL_SIZE / 4, 1 KiB) go to RAND_bytes directly. */
void rand_pool_bytes(uint8_t *out, size_t len);

#endif
