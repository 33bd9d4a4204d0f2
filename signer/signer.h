/*
 * signer.h: the keys of nts-signer and the one operation it offers: a TLS
 * 1.3 server CertificateVerify signature (docs/signer.md).
 */
#ifndef NTS_SIGNER_H
#define NTS_SIGNER_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "common/compiler.h"
#include "proto/keyless.h"

#define SG_MAX_KEYS 8

struct sg_key {
	uint8_t id[KL_KEY_ID_LEN]; /* SHA-256 of the DER SubjectPublicKeyInfo */
	EVP_PKEY *pkey;
};

struct sg_keyset {
	struct sg_key keys[SG_MAX_KEYS];
	int num;
};

/* sg_key_id computes the key selector of |pkey| (private or public): the
 * SHA-256 of its DER SubjectPublicKeyInfo (i2d_PUBKEY). */
int sg_key_id(uint8_t out[KL_KEY_ID_LEN], EVP_PKEY *pkey) NTS_WUR;

/* sg_keyset_add loads one PEM private key file into |ks|. The file is
 * read into guarded memory that is wiped afterwards. On failure sets
 * |*out_err| and returns 0. */
int sg_keyset_add(struct sg_keyset *ks, const char *path, const char **out_err) NTS_WUR;

/* sg_keyset_cleanup frees every key (BoringSSL wipes on free). */
void sg_keyset_cleanup(struct sg_keyset *ks);

/* sg_sign answers |req|: checks the algorithm against the key, the input
 * against the TLS 1.3 server CertificateVerify form, and signs into |sig|
 * (KL_MAX_SIG bytes). Returns a kl_status. */
enum kl_status sg_sign(const struct sg_keyset *ks, const struct kl_request *req, uint8_t *sig,
                       size_t *out_sig_len);

#endif
