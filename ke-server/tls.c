/*
 * tls.c: the TLS contexts (one per certificate, picked by SNI), loaded
 * and swapped as a reference-counted set.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ke-server/conn.h"

static int alpn_select(SSL *ssl, const uint8_t **out, uint8_t *out_len, const uint8_t *in,
                       unsigned in_len, void *arg)
{
	CBS list, name;
	(void)ssl;
	(void)arg;
	CBS_init(&list, in, in_len);
	while (CBS_get_u8_length_prefixed(&list, &name)) {
		if (CBS_len(&name) == sizeof(NTSKE_ALPN) - 1 &&
		    memcmp(CBS_data(&name), NTSKE_ALPN, sizeof(NTSKE_ALPN) - 1) == 0) {
			*out = CBS_data(&name);
			*out_len = (uint8_t)CBS_len(&name);
			return SSL_TLSEXT_ERR_OK;
		}
	}
	/* a client that offers ALPN but not ntske/1 gets a fatal alert */
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static int servername_cb(SSL *ssl, int *alert, void *arg)
{
	struct ke_tls *t = arg;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	(void)alert;
	if (name == NULL || t->num < 2) {
		return SSL_TLSEXT_ERR_OK;
	}
	for (int i = 0; i < t->num; i++) {
		X509 *cert = SSL_CTX_get0_certificate(t->ctx[i]);
		if (cert != NULL && X509_check_host(cert, name, strlen(name), 0, NULL) == 1) {
			if (t->ctx[i] != SSL_get_SSL_CTX(ssl)) {
				SSL_set_SSL_CTX(ssl, t->ctx[i]);
			}
			break;
		}
	}
	return SSL_TLSEXT_ERR_OK;
}

static int64_t asn1_time_unix(const ASN1_TIME *t)
{
	int days, secs;
	if (ASN1_TIME_diff(&days, &secs, NULL, t) != 1) {
		return 0;
	}
	return (int64_t)time(NULL) + (int64_t)days * 86400 + secs;
}

static void tls_free(struct ke_tls *t)
{
	if (t == NULL) {
		return;
	}
	for (int i = 0; i < t->num; i++) {
		SSL_CTX_free(t->ctx[i]);
	}
	free(t);
}

void ke_tls_ref(struct ke_tls *t)
{
	atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
}

void ke_tls_unref(struct ke_tls *t)
{
	if (t != NULL && atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1) {
		tls_free(t);
	}
}

struct ke_tls *ke_tls_acquire(struct ke_server *srv)
{
	pthread_mutex_lock(&srv->tls_lock);
	struct ke_tls *t = srv->tls;
	if (t != NULL) {
		ke_tls_ref(t);
	}
	pthread_mutex_unlock(&srv->tls_lock);
	return t;
}

void ke_tls_swap(struct ke_server *srv, struct ke_tls *t)
{
	pthread_mutex_lock(&srv->tls_lock);
	struct ke_tls *old = srv->tls;
	srv->tls = t;
	pthread_mutex_unlock(&srv->tls_lock);
	ke_tls_unref(old);
}

/* file_error: why |path| cannot be read, from the OS (NULL if it can) */
static const char *file_error(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		return strerror(errno);
	}
	fclose(f);
	return NULL;
}

/* load_error formats "PATH: WHAT: REASON" into |buf|: the OS error if the
 * file cannot be opened (with the uid for a permission problem), else
 * BoringSSL's reason. */
static const char *load_error(char *buf, size_t len, const char *path, const char *what)
{
	int e = 0;
	const char *why = file_error(path);
	if (why != NULL) {
		e = errno;
	} else {
		uint32_t err = ERR_peek_last_error();
		why = err != 0 ? ERR_reason_error_string(err) : NULL;
		if (why == NULL) {
			why = "not in PEM format";
		}
	}
	if (e == EACCES) {
		snprintf(buf, len, "%s: %s: %s (running as uid %u)", path, what, why,
		         (unsigned)geteuid());
	} else {
		snprintf(buf, len, "%s: %s: %s", path, what, why);
	}
	return buf;
}

/* load_key gives certificate |i|'s context its private key: from the key
 * file, or through nts-signer when the key file name is empty. */
static int load_key(SSL_CTX *ctx, const struct ke_config *cfg, int i, char *errbuf,
                    size_t errbuf_len, const char **out_err)
{
	if (cfg->key[i][0] == '\0') {
		if (!ke_keyless_setup(ctx, out_err)) {
			snprintf(errbuf, errbuf_len, "%s: %s", cfg->cert[i], *out_err);
			*out_err = errbuf;
			return 0;
		}
	} else {
		/* the weaker mode: the private key in this process */
		if (SSL_CTX_use_PrivateKey_file(ctx, cfg->key[i], SSL_FILETYPE_PEM) != 1) {
			uint32_t e = ERR_peek_last_error();
			if (ERR_GET_LIB(e) == ERR_LIB_X509 &&
			    ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH) {
				snprintf(errbuf, errbuf_len,
				         "%s: cannot load private key: it does not match "
				         "the certificate %s",
				         cfg->key[i], cfg->cert[i]);
				*out_err = errbuf;
			} else {
				*out_err = load_error(errbuf, errbuf_len, cfg->key[i],
				                      "cannot load private key");
			}
			return 0;
		}
		if (SSL_CTX_check_private_key(ctx) != 1) {
			snprintf(errbuf, errbuf_len,
			         "%s: private key does not match the certificate %s", cfg->key[i],
			         cfg->cert[i]);
			*out_err = errbuf;
			return 0;
		}
	}
	return 1;
}

struct ke_tls *ke_tls_load(const struct ke_config *cfg, char *errbuf, size_t errbuf_len,
                           const char **out_err)
{
	struct ke_tls *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		*out_err = "out of memory";
		return NULL;
	}
	atomic_init(&t->refs, 1);
	t->not_after = INT64_MAX;
	for (int i = 0; i < cfg->num_certs; i++) {
		SSL_CTX *ctx = SSL_CTX_new(TLS_method());
		if (ctx == NULL) {
			*out_err = "SSL_CTX_new failed";
			goto err;
		}
		t->ctx[t->num++] = ctx;
		SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
		SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
		SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
		SSL_CTX_set_tlsext_servername_callback(ctx, servername_cb);
		SSL_CTX_set_tlsext_servername_arg(ctx, t);
		if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert[i]) != 1) {
			*out_err = load_error(errbuf, errbuf_len, cfg->cert[i],
			                      "cannot load certificate chain");
			goto err;
		}
		if (!load_key(ctx, cfg, i, errbuf, errbuf_len, out_err)) {
			goto err;
		}
		X509 *cert = SSL_CTX_get0_certificate(ctx);
		int64_t na = cert != NULL ? asn1_time_unix(X509_get0_notAfter(cert)) : 0;
		if (na <= (int64_t)time(NULL)) {
			char when[64] = "unknown";
			struct tm tm;
			time_t tt = (time_t)na;
			if (na > 0 && gmtime_r(&tt, &tm) != NULL) {
				strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
			}
			snprintf(errbuf, errbuf_len, "%s: certificate has expired (notAfter %s)",
			         cfg->cert[i], when);
			*out_err = errbuf;
			goto err;
		}
		if (na < t->not_after) {
			t->not_after = na;
		}
	}
	ERR_clear_error();
	return t;
err:
	ERR_clear_error();
	tls_free(t);
	return NULL;
}
