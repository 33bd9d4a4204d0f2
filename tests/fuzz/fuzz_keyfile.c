/*
 * fuzz_keyfile.c: keyfile_decode (common/keyfile.c) on arbitrary bytes.
 *
 * A key file is signed, so random bytes never get past the signature. The
 * first input byte picks what the rest is:
 *   0: a whole file, as is (magic, sealed flag, signature checks);
 *   1: a body, signed here with the fixed fuzzing key (reaches the body
 *      parser);
 *   2: a body, signed and sealed here to the fixed host key (the sealed
 *      path).
 * Invariant: a file that decodes encodes again, unsealed, to the same body.
 * The corpus in tests/fuzz/corpus/keyfile is made by make-corpus.py.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/keyfile.h"
#include "common/smem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAGIC_LEN 8
static const uint8_t magic[MAGIC_LEN] = {'N', 'T', 'S', 'K', 'E', 'Y', 'F', '1'};

static struct keyfile_trust trust;
static uint8_t sign_sk[crypto_sign_SECRETKEYBYTES];

static void setup(void)
{
	uint8_t seed[crypto_sign_SEEDBYTES];

	if (smem_init() != 1) {
		abort();
	}
	memset(seed, 0x42, sizeof(seed));
	crypto_sign_seed_keypair(trust.sign_pk, sign_sk, seed);
	memset(trust.deployment, 0x44, sizeof(trust.deployment));
	memset(seed, 0x43, sizeof(seed));
	trust.box_sk = smem_new(crypto_box_SECRETKEYBYTES);
	if (trust.box_sk == NULL) {
		abort();
	}
	crypto_box_seed_keypair(trust.box_pk, trust.box_sk, seed);
	trust.has_box = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	static struct keyfile kf;
	uint8_t *file = NULL, *again = NULL;
	size_t file_len, again_len;
	const char *err = NULL;

	if (!ready) {
		setup();
		ready = 1;
	}
	if (size < 1 || size - 1 > KEYFILE_MAX_SIZE) {
		return 0;
	}
	uint8_t mode = data[0];
	const uint8_t *body = data + 1;
	size_t body_len = size - 1;
	if (mode == 0) {
		file_len = body_len;
		file = malloc(file_len > 0 ? file_len : 1);
		if (file == NULL) {
			abort();
		}
		memcpy(file, body, body_len);
	} else {
		size_t inner_len = body_len + crypto_sign_BYTES;
		uint8_t *inner = malloc(inner_len);
		int sealed = mode != 1;
		file_len = MAGIC_LEN + 1 + inner_len + (sealed ? crypto_box_SEALBYTES : 0);
		file = malloc(file_len);
		if (inner == NULL || file == NULL) {
			abort();
		}
		memcpy(inner, body, body_len);
		crypto_sign_detached(inner + body_len, NULL, body, body_len, sign_sk);
		memcpy(file, magic, MAGIC_LEN);
		file[MAGIC_LEN] = (uint8_t)sealed;
		if (sealed) {
			if (crypto_box_seal(file + MAGIC_LEN + 1, inner, inner_len, trust.box_pk) !=
			    0) {
				abort();
			}
		} else {
			memcpy(file + MAGIC_LEN + 1, inner, inner_len);
		}
		free(inner);
	}
	int ok = keyfile_decode(&kf, file, file_len, &trust, &err);
	if (getenv("FUZZ_VERBOSE") != NULL) {
		fprintf(stderr, "mode %u: %s\n", mode, ok ? "decoded" : err);
	}
	if (ok) {
		again_len = KEYFILE_MAX_SIZE;
		again = malloc(again_len);
		if (again == NULL ||
		    !keyfile_encode(again, again_len, &again_len, &kf, sign_sk, NULL)) {
			abort();
		}
		/* The unsealed re-encoding carries the same signed body. */
		if (mode == 1 && (again_len != file_len || memcmp(again, file, file_len) != 0)) {
			abort();
		}
		if (mode == 0 && file[MAGIC_LEN] == 0 &&
		    (again_len != file_len || memcmp(again, file, file_len) != 0)) {
			abort();
		}
	} else if (err == NULL) {
		abort(); /* a failure always says why */
	}
	sodium_memzero(&kf, sizeof(kf));
	free(again);
	free(file);
	return 0;
}
