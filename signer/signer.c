/*
 * signer.c: key loading and TLS 1.3 CertificateVerify signatures (see
 * signer.h).
 */
#include "signer/signer.h"

#include <string.h>

#include <openssl/bio.h>
#include <openssl/bytestring.h>
#include <openssl/digest.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <sodium.h>

#include "common/fileio.h"
#include "common/smem.h"

#define SG_MAX_PEM 65536

/* The TLS 1.3 signature schemes we sign with (RFC 8446 s4.2.3). */
static const struct {
	uint16_t scheme;
	int key_type;
	int curve; /* NID for ECDSA, 0 otherwise */
	int pss;
	const EVP_MD *(*md)(void);
} schemes[] = {
    {0x0403, EVP_PKEY_EC, NID_X9_62_prime256v1, 0, EVP_sha256},
    {0x0503, EVP_PKEY_EC, NID_secp384r1, 0, EVP_sha384},
    {0x0603, EVP_PKEY_EC, NID_secp521r1, 0, EVP_sha512},
    {0x0804, EVP_PKEY_RSA, 0, 1, EVP_sha256},
    {0x0805, EVP_PKEY_RSA, 0, 1, EVP_sha384},
    {0x0806, EVP_PKEY_RSA, 0, 1, EVP_sha512},
    {0x0807, EVP_PKEY_ED25519, 0, 0, NULL},
};

int sg_key_id(uint8_t out[KL_KEY_ID_LEN], EVP_PKEY *pkey)
{
	uint8_t *der = NULL;
	int len = i2d_PUBKEY(pkey, &der);
	if (len <= 0) {
		return 0;
	}
	SHA256(der, (size_t)len, out);
	OPENSSL_free(der);
	return 1;
}

int sg_keyset_add(struct sg_keyset *ks, const char *path, const char **out_err)
{
	uint8_t *buf = smem_new(SG_MAX_PEM);
	size_t len = 0;
	BIO *bio = NULL;
	EVP_PKEY *pkey = NULL;
	int ret = 0;

	if (ks->num == SG_MAX_KEYS) {
		*out_err = "too many keys";
		goto err;
	}
	if (buf == NULL) {
		*out_err = "out of memory";
		goto err;
	}
	if (!fileio_slurp(buf, SG_MAX_PEM, &len, path) || len == SG_MAX_PEM) {
		*out_err = "cannot read the key file (or it is over 64 KiB)";
		goto err;
	}
	bio = BIO_new_mem_buf(buf, (int)len);
	pkey = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	if (pkey == NULL) {
		*out_err = "not a PEM private key";
		goto err;
	}
	int type = EVP_PKEY_id(pkey);
	if (type != EVP_PKEY_EC && type != EVP_PKEY_RSA && type != EVP_PKEY_ED25519) {
		*out_err = "unsupported key type (EC, RSA and Ed25519 are)";
		goto err;
	}
	struct sg_key *k = &ks->keys[ks->num];
	if (!sg_key_id(k->id, pkey)) {
		*out_err = "cannot encode the public key";
		goto err;
	}
	for (int i = 0; i < ks->num; i++) {
		if (memcmp(ks->keys[i].id, k->id, KL_KEY_ID_LEN) == 0) {
			*out_err = "the same key is loaded twice";
			goto err;
		}
	}
	k->pkey = pkey;
	pkey = NULL;
	ks->num++;
	ret = 1;
err:
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	smem_free(buf);
	ERR_clear_error();
	return ret;
}

void sg_keyset_cleanup(struct sg_keyset *ks)
{
	for (int i = 0; i < ks->num; i++) {
		EVP_PKEY_free(ks->keys[i].pkey);
	}
	memset(ks, 0, sizeof(*ks));
}

static int ec_curve(EVP_PKEY *pkey)
{
	const EC_KEY *ec = EVP_PKEY_get0_EC_KEY(pkey);
	return ec != NULL ? EC_GROUP_get_curve_name(EC_KEY_get0_group(ec)) : 0;
}

enum kl_status sg_sign(const struct sg_keyset *ks, const struct kl_request *req, uint8_t *sig,
                       size_t *out_sig_len)
{
	EVP_PKEY *pkey = NULL;
	EVP_MD_CTX mctx;
	EVP_PKEY_CTX *pctx;
	size_t si;
	enum kl_status st = KL_SIGN_FAILED;

	*out_sig_len = 0;
	for (int i = 0; i < ks->num; i++) {
		if (CRYPTO_memcmp(ks->keys[i].id, req->key_id, KL_KEY_ID_LEN) == 0) {
			pkey = ks->keys[i].pkey;
			break;
		}
	}
	if (pkey == NULL) {
		return KL_UNKNOWN_KEY;
	}
	for (si = 0; si < NTS_ARRAY_SIZE(schemes); si++) {
		if (schemes[si].scheme == req->algorithm) {
			break;
		}
	}
	if (si == NTS_ARRAY_SIZE(schemes) || schemes[si].key_type != EVP_PKEY_id(pkey) ||
	    (schemes[si].curve != 0 && schemes[si].curve != ec_curve(pkey))) {
		return KL_BAD_ALGORITHM;
	}
	/* the transcript hash is SHA-256 or SHA-384 (the TLS 1.3 suites) */
	if (!kl_tls13_server_input(req->input, req->input_len, 32) &&
	    !kl_tls13_server_input(req->input, req->input_len, 48)) {
		return KL_BAD_INPUT;
	}
	if (EVP_PKEY_size(pkey) > KL_MAX_SIG) {
		return KL_SIGN_FAILED;
	}
	EVP_MD_CTX_init(&mctx);
	const EVP_MD *md = schemes[si].md != NULL ? schemes[si].md() : NULL;
	if (!EVP_DigestSignInit(&mctx, &pctx, md, NULL, pkey)) {
		goto out;
	}
	if (schemes[si].pss && (!EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) ||
	                        !EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, -1))) {
		goto out;
	}
	size_t len = KL_MAX_SIG;
	if (!EVP_DigestSign(&mctx, sig, &len, req->input, req->input_len)) {
		goto out;
	}
	*out_sig_len = len;
	st = KL_OK;
out:
	EVP_MD_CTX_cleanup(&mctx);
	ERR_clear_error();
	return st;
}
