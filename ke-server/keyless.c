/*
 * keyless.c: keyless TLS: the private key lives in nts-signer; the
 * handshake waits for its signature on the worker's loop.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/nid.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "common/log.h"
#include "ke-server/conn.h"

static int keyid_index = -1;
static pthread_once_t keyid_once = PTHREAD_ONCE_INIT;

static void keyid_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int index, long argl,
                       void *argp)
{
	(void)parent;
	(void)ad;
	(void)index;
	(void)argl;
	(void)argp;
	free(ptr);
}

static void keyid_index_init(void)
{
	keyid_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, keyid_free);
}

static enum ssl_private_key_result_t keyless_sign(SSL *ssl, uint8_t *out, size_t *out_len,
                                                  size_t max_out, uint16_t algorithm,
                                                  const uint8_t *in, size_t in_len);
static enum ssl_private_key_result_t keyless_complete(SSL *ssl, uint8_t *out, size_t *out_len,
                                                      size_t max_out);
static const SSL_PRIVATE_KEY_METHOD keyless_method = {
    .sign = keyless_sign,
    .decrypt = NULL, /* TLS 1.3 only: no RSA key exchange */
    .complete = keyless_complete,
};

/* keyless_setup makes |ctx| sign through the signer: the signature
 * schemes follow the certificate's public key, and the key selector (the
 * SHA-256 of its DER SubjectPublicKeyInfo) rides on the context. */
int ke_keyless_setup(SSL_CTX *ctx, const char **out_err)
{
	X509 *cert = SSL_CTX_get0_certificate(ctx);
	EVP_PKEY *pub = cert != NULL ? X509_get_pubkey(cert) : NULL;
	uint16_t prefs[3];
	size_t num_prefs = 0;
	uint8_t *der = NULL;
	uint8_t *id = NULL;
	int ret = 0;

	if (pub == NULL) {
		*out_err = "certificate without a usable public key";
		goto err;
	}
	switch (EVP_PKEY_id(pub)) {
	case EVP_PKEY_EC: {
		const EC_KEY *ec = EVP_PKEY_get0_EC_KEY(pub);
		int nid = ec != NULL ? EC_GROUP_get_curve_name(EC_KEY_get0_group(ec)) : 0;
		if (nid == NID_X9_62_prime256v1) {
			prefs[num_prefs++] = SSL_SIGN_ECDSA_SECP256R1_SHA256;
		} else if (nid == NID_secp384r1) {
			prefs[num_prefs++] = SSL_SIGN_ECDSA_SECP384R1_SHA384;
		} else if (nid == NID_secp521r1) {
			prefs[num_prefs++] = SSL_SIGN_ECDSA_SECP521R1_SHA512;
		}
		break;
	}
	case EVP_PKEY_RSA:
		prefs[num_prefs++] = SSL_SIGN_RSA_PSS_RSAE_SHA256;
		prefs[num_prefs++] = SSL_SIGN_RSA_PSS_RSAE_SHA384;
		prefs[num_prefs++] = SSL_SIGN_RSA_PSS_RSAE_SHA512;
		break;
	case EVP_PKEY_ED25519:
		prefs[num_prefs++] = SSL_SIGN_ED25519;
		break;
	}
	if (num_prefs == 0) {
		*out_err = "unsupported public key (EC P-256/384/521, RSA, Ed25519 are)";
		goto err;
	}
	pthread_once(&keyid_once, keyid_index_init);
	/* the key id, then the preferred algorithm (for ke_tls_signer_check) */
	id = malloc(KL_KEY_ID_LEN + 2);
	int len = i2d_PUBKEY(pub, &der);
	if (keyid_index < 0 || id == NULL || len <= 0) {
		*out_err = "out of memory";
		goto err;
	}
	SHA256(der, (size_t)len, id);
	id[KL_KEY_ID_LEN] = (uint8_t)(prefs[0] >> 8);
	id[KL_KEY_ID_LEN + 1] = (uint8_t)prefs[0];
	if (!SSL_CTX_set_ex_data(ctx, keyid_index, id)) {
		*out_err = "out of memory";
		goto err;
	}
	id = NULL; /* owned by the context now */
	if (!SSL_CTX_set_signing_algorithm_prefs(ctx, prefs, num_prefs)) {
		*out_err = "cannot set signature algorithms";
		goto err;
	}
	SSL_CTX_set_private_key_method(ctx, &keyless_method);
	ret = 1;
err:
	free(id);
	OPENSSL_free(der);
	EVP_PKEY_free(pub);
	return ret;
}

enum ke_signer_check ke_tls_signer_check(const struct ke_tls *t, const struct ke_config *cfg,
                                         char *errbuf, size_t errbuf_len)
{
	pthread_once(&keyid_once, keyid_index_init);
	for (int i = 0; i < t->num; i++) {
		const uint8_t *id = SSL_CTX_get_ex_data(t->ctx[i], keyid_index);
		const char *path = i < cfg->num_certs ? cfg->cert[i] : "?";
		uint8_t status;
		char why[512];
		if (id == NULL) {
			continue; /* the key is in this process */
		}
		uint16_t alg = (uint16_t)(id[KL_KEY_ID_LEN] << 8 | id[KL_KEY_ID_LEN + 1]);
		uint64_t timeout = cfg->signer_deadline_ms < 1000 ? 1000 : cfg->signer_deadline_ms;
		if (!ke_signer_probe(cfg->signer, timeout, id, alg, &status, why, sizeof(why))) {
			snprintf(errbuf, errbuf_len,
			         "%s: cannot ask nts-signer whether it holds the private key: "
			         "signer %s",
			         path, why);
			return KE_SIGNER_UNVERIFIED;
		}
		if (status == KL_UNKNOWN_KEY) {
			char hex[2 * KL_KEY_ID_LEN + 1];
			for (int j = 0; j < KL_KEY_ID_LEN; j++) {
				snprintf(hex + 2 * j, 3, "%02x", id[j]);
			}
			snprintf(
			    errbuf, errbuf_len,
			    "%s: nts-signer at %s does not hold the private key of this "
			    "certificate (public key SHA-256 %s): a renewal with a new key? Add "
			    "the new key to nts-signer.conf ('key FILE') and reload the signer "
			    "(SIGHUP)",
			    path, cfg->signer, hex);
			return KE_SIGNER_KEY_MISSING;
		}
		if (status != KL_OK) {
			snprintf(errbuf, errbuf_len,
			         "%s: nts-signer at %s refused a test signature: %s", path,
			         cfg->signer, kl_status_name(status));
			return KE_SIGNER_KEY_MISSING;
		}
	}
	return KE_SIGNER_OK;
}

static void on_sign_deadline(uv_timer_t *t);

static enum ssl_private_key_result_t keyless_sign(SSL *ssl, uint8_t *out, size_t *out_len,
                                                  size_t max_out, uint16_t algorithm,
                                                  const uint8_t *in, size_t in_len)
{
	struct ke_conn *c = SSL_get_app_data(ssl);
	const uint8_t *key_id = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), keyid_index);
	(void)out;
	(void)out_len;
	(void)max_out;
	if (c == NULL || key_id == NULL ||
	    !ke_signer_submit(&c->w->signer, c, key_id, algorithm, in, in_len, &c->sign_ticket)) {
		if (c != NULL) {
			c->signer_failed = 1;
		}
		return ssl_private_key_failure;
	}
	c->sign = SIGN_PENDING;
	uint64_t deadline = c->w->srv->cfg.signer_deadline_ms, left = ke_conn_ms_left(c);
	uv_timer_start(&c->timer, on_sign_deadline, deadline < left ? deadline : left, 0);
	return ssl_private_key_retry;
}

static enum ssl_private_key_result_t keyless_complete(SSL *ssl, uint8_t *out, size_t *out_len,
                                                      size_t max_out)
{
	struct ke_conn *c = SSL_get_app_data(ssl);
	switch (c->sign) {
	case SIGN_PENDING:
		return ssl_private_key_retry;
	case SIGN_DONE:
		if (c->sig_len > max_out) {
			break;
		}
		memcpy(out, c->sig, c->sig_len);
		*out_len = c->sig_len;
		c->sig = NULL;
		c->sign = SIGN_NONE;
		return ssl_private_key_success;
	case SIGN_NONE:
	case SIGN_FAILED:
		break;
	}
	c->signer_failed = 1;
	return ssl_private_key_failure;
}

/* ke_signer_done_fn: the signer answered, or the request failed */
void ke_keyless_on_signed(void *owner, int ok, const uint8_t *sig, size_t sig_len)
{
	struct ke_conn *c = owner;
	if (c->sign != SIGN_PENDING || c->state == CONN_CLOSING) {
		return;
	}
	c->sign = ok ? SIGN_DONE : SIGN_FAILED;
	c->sig = sig;
	c->sig_len = sig_len;
	ke_conn_restart_deadline(c);
	if (!ke_conn_set_reading(c, 1)) {
		ke_conn_close(c);
		return;
	}
	ke_conn_drive(c); /* BoringSSL calls keyless_complete, which copies the signature */
	if (c->sign == SIGN_DONE) {
		c->sign = SIGN_FAILED; /* not taken: the buffer is gone after this */
	}
	c->sig = NULL;
}

static void on_sign_deadline(uv_timer_t *t)
{
	struct ke_conn *c = t->data;
	if (c->sign != SIGN_PENDING) {
		return;
	}
	ke_signer_cancel(&c->w->signer, c->sign_ticket);
	c->sign = SIGN_FAILED;
	LOG_RL_WARN("signer did not answer within %u ms",
	            (unsigned)c->w->srv->cfg.signer_deadline_ms);
	ke_conn_restart_deadline(c);
	if (!ke_conn_set_reading(c, 1)) {
		ke_conn_close(c);
		return;
	}
	ke_conn_drive(c);
}
