/*
 * keys.c: cookie-key derivation (see keys.h).
 */
#include "common/keys.h"

#include <string.h>

#include <openssl/digest.h>
#include <openssl/hkdf.h>
#include <openssl/sha.h>
#include <sodium.h>

static const char chain_label[] = "nts-cookie-chain-v1";
static const char ratchet_label[] = "nts-cookie-ratchet-v1";
static const char aead_label[] = "nts-cookie-aead-v1";
static const char fp_label[] = "nts-fingerprint-v1";

int64_t keys_epoch(int64_t unix_time, uint32_t epoch_len)
{
	/* floor division, also before 1970 */
	int64_t q = unix_time / (int64_t)epoch_len;
	if (unix_time % (int64_t)epoch_len < 0) {
		q--;
	}
	return q;
}

uint32_t keys_key_id(uint8_t gen, int64_t epoch)
{
	return ((uint32_t)gen << KEYS_EPOCH_BITS) | ((uint32_t)epoch & KEYS_EPOCH_MASK);
}

int64_t keys_id_epoch(uint32_t key_id, int64_t near)
{
	int64_t low = (int64_t)(key_id & KEYS_EPOCH_MASK);
	int64_t span = (int64_t)1 << KEYS_EPOCH_BITS;
	int64_t base = near - (near & (span - 1));
	int64_t e = base + low;
	if (e - near > span / 2) {
		e -= span;
	} else if (near - e > span / 2) {
		e += span;
	}
	return e;
}

static int derive(uint8_t out[KEYS_LEN], const uint8_t deployment[KEYS_DEPLOYMENT_LEN],
                  const uint8_t ikm[KEYS_LEN], const char *label, size_t label_len, uint8_t gen,
                  int64_t epoch)
{
	uint8_t info[32], tmp[KEYS_LEN];
	size_t n = 0;
	int ok;

	memcpy(info, label, label_len);
	n = label_len;
	info[n++] = gen;
	for (int i = 7; i >= 0; i--) {
		info[n++] = (uint8_t)((uint64_t)epoch >> (8 * i));
	}
	ok = HKDF(tmp, sizeof(tmp), EVP_sha256(), ikm, KEYS_LEN, deployment, KEYS_DEPLOYMENT_LEN,
	          info, n);
	if (ok) {
		memcpy(out, tmp, KEYS_LEN);
	}
	sodium_memzero(tmp, sizeof(tmp));
	return ok;
}

int keys_chain_start(uint8_t out[KEYS_LEN], const uint8_t deployment[KEYS_DEPLOYMENT_LEN],
                     const uint8_t master[KEYS_LEN], uint8_t gen, int64_t activation)
{
	return derive(out, deployment, master, chain_label, sizeof(chain_label) - 1, gen,
	              activation);
}

int keys_ratchet(uint8_t out[KEYS_LEN], const uint8_t deployment[KEYS_DEPLOYMENT_LEN],
                 const uint8_t in[KEYS_LEN], uint8_t gen, int64_t next_epoch)
{
	return derive(out, deployment, in, ratchet_label, sizeof(ratchet_label) - 1, gen,
	              next_epoch);
}

int keys_aead_key(uint8_t out[KEYS_LEN], const uint8_t k[KEYS_LEN])
{
	return HKDF_expand(out, KEYS_LEN, EVP_sha256(), k, KEYS_LEN, (const uint8_t *)aead_label,
	                   sizeof(aead_label) - 1);
}

void keys_fingerprint(uint8_t out[KEYS_FINGERPRINT_LEN], const uint8_t aead_key[KEYS_LEN])
{
	uint8_t md[SHA256_DIGEST_LENGTH];
	SHA256_CTX c;
	SHA256_Init(&c);
	SHA256_Update(&c, fp_label, sizeof(fp_label) - 1);
	SHA256_Update(&c, aead_key, KEYS_LEN);
	SHA256_Final(md, &c);
	memcpy(out, md, KEYS_FINGERPRINT_LEN);
}
