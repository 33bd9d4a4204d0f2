/*
 * fuzz_siv.c: the AES-NI path of AES-SIV-CMAC against the portable one.
 *
 * Input: one flag byte (bit 0: 64-byte key, bits 1-3: number of AD
 * components), the key (32 or 64 bytes, zero-padded if short), one length
 * byte per component, the components, then the plaintext. Invariants: both
 * paths seal to the same bytes; each opens the other's output back to the
 * plaintext; on the raw input taken as V || C both agree on the result.
 * Without AES-NI on this CPU only the portable round trip is checked.
 */
#include <stdlib.h>
#include <string.h>

#include "common/siv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PT 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t sealed[2][MAX_PT + SIV_BLOCK], opened[2][MAX_PT + SIV_BLOCK];
	struct siv_component ad[SIV_MAX_COMPONENTS];
	uint8_t key[64] = {0};
	struct siv_key k[2];
	size_t key_len, num_ad, num_impl = siv_impl_available(SIV_IMPL_AESNI) ? 2 : 1;
	int ok[2];

	if (size < 1) {
		return 0;
	}
	key_len = (data[0] & 1) ? 64 : 32;
	num_ad = (data[0] >> 1) & 7;
	data++, size--;
	memcpy(key, data, size < key_len ? size : key_len);
	data += size < key_len ? size : key_len;
	size -= size < key_len ? size : key_len;
	if (size < num_ad) {
		return 0;
	}
	const uint8_t *lens = data;
	data += num_ad, size -= num_ad;
	for (size_t i = 0; i < num_ad; i++) {
		size_t n = lens[i] < size ? lens[i] : size;
		ad[i].data = data;
		ad[i].len = n;
		data += n, size -= n;
	}
	if (size > MAX_PT) {
		return 0;
	}
	if (!siv_key_init_impl(&k[0], key, key_len, SIV_IMPL_PORTABLE) ||
	    (num_impl == 2 && !siv_key_init_impl(&k[1], key, key_len, SIV_IMPL_AESNI))) {
		abort();
	}
	for (size_t i = 0; i < num_impl; i++) {
		if (!siv_seal(&k[i], sealed[i], ad, num_ad, data, size)) {
			abort();
		}
	}
	if (num_impl == 2 && memcmp(sealed[0], sealed[1], size + SIV_BLOCK) != 0) {
		abort();
	}
	for (size_t i = 0; i < num_impl; i++) {
		/* the other path's output, in place */
		if (!siv_open(&k[i], sealed[num_impl - 1 - i], ad, num_ad, sealed[num_impl - 1 - i],
		              size + SIV_BLOCK) ||
		    (size > 0 && memcmp(sealed[num_impl - 1 - i], data, size) != 0)) {
			abort();
		}
	}
	if (size >= SIV_BLOCK) {
		for (size_t i = 0; i < num_impl; i++) {
			ok[i] = siv_open(&k[i], opened[i], ad, num_ad, data, size);
		}
		if (num_impl == 2 &&
		    (ok[0] != ok[1] || memcmp(opened[0], opened[1], size - SIV_BLOCK) != 0)) {
			abort();
		}
	}
	siv_key_cleanup(&k[0]);
	siv_key_cleanup(&k[1]);
	return 0;
}
