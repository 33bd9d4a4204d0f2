/*
 * server.c: TLS contexts and the NTS-KE connection state machine.
 */
#include <errno.h>
#include <pthread.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/digest.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/nid.h>
#include <openssl/sha.h>
#include <openssl/rand.h>
#include <openssl/siphash.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "common/log.h"
#include "common/ntske_keys.h"
#include "common/sock.h"
#include "ke-server/ke.h"
#include "proto/cookie.h"

static const uint64_t latency_bounds[METRICS_HIST_BUCKETS] = {
    100000,   200000,   500000,   1000000,   2000000,   3000000,   5000000,    7500000,
    10000000, 20000000, 50000000, 100000000, 200000000, 500000000, 1000000000, 2000000000,
};

const uint64_t *ke_latency_bounds(void)
{
	return latency_bounds;
}

/* ---- TLS ---- */

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

/* ---- keyless: the private key lives in nts-signer ---- */

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
static int keyless_setup(SSL_CTX *ctx, const char **out_err)
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
		if (cfg->key[i][0] == '\0') {
			if (!keyless_setup(ctx, out_err)) {
				snprintf(errbuf, errbuf_len, "%s: %s", cfg->cert[i], *out_err);
				*out_err = errbuf;
				goto err;
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
				goto err;
			}
			if (SSL_CTX_check_private_key(ctx) != 1) {
				snprintf(errbuf, errbuf_len,
				         "%s: private key does not match the certificate %s",
				         cfg->key[i], cfg->cert[i]);
				*out_err = errbuf;
				goto err;
			}
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

/* ---- connections ---- */

/* Bound on received bytes TLS has not consumed yet. TLS consumes input as
 * it comes (a partial record at most stays behind), so only a client that
 * sends far ahead of the protocol gets near it. */
#define KE_MAX_UNREAD (64 * 1024)

enum conn_state { CONN_HANDSHAKE, CONN_READING, CONN_WRITING, CONN_CLOSING };
enum sign_state { SIGN_NONE, SIGN_PENDING, SIGN_DONE, SIGN_FAILED };

struct ke_conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	struct ke_worker *w;
	struct list_link link; /* in w->conns, accept order */
	SSL *ssl;
	BIO *rbio, *wbio;
	struct ke_tls *tls; /* the set this connection started with (a reference) */
	enum conn_state state;
	int handles_open;
	int reading; /* uv_read_start is in effect */
	int counted; /* holds a global and a per-source slot */
	uint32_t source_slot;
	int ipv6;
	uint64_t start_ns;
	enum sign_state sign;
	int signer_failed; /* the handshake failed for want of a signature */
	uint32_t sign_ticket;
	/* the signer's answer, borrowed from the reply buffer while on_signed
	 * drives the handshake (keyless_complete copies it out) */
	const uint8_t *sig;
	size_t sig_len;
	size_t req_len;
	size_t scan_off; /* c->req up to here is whole records, none End of Message */
	uint8_t req[];   /* max_request bytes */
};

static int set_reading(struct ke_conn *c, int on);

struct wreq {
	uv_write_t req;
	struct ke_conn *c;
	int last;
	size_t len;
	uint8_t data[];
};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void conn_freed(uv_handle_t *h)
{
	struct ke_conn *c = h->data;
	if (--c->handles_open > 0) {
		return;
	}
	SSL_free(c->ssl); /* frees the BIOs */
	ke_tls_unref(c->tls);
	free(c);
}

/* drain_finish: once a stopping worker has no connection left, close its
 * signer link so that the loop can end. In-flight keyless handshakes keep
 * the link until they finish or reach their deadline. */
static void drain_finish(struct ke_worker *w)
{
	if (atomic_load(&w->srv->stop) && w->conns.first == NULL && w->srv->cfg.signer[0] != '\0' &&
	    !w->signer.closing) {
		ke_signer_close(&w->signer);
	}
}

static void conn_close(struct ke_conn *c)
{
	struct ke_worker *w = c->w;
	struct ke_server *srv = w->srv;
	if (c->state == CONN_CLOSING) {
		return;
	}
	c->state = CONN_CLOSING;
	list_remove(&w->conns, &c->link);
	if (c->counted) {
		atomic_fetch_sub(&srv->open_connections, 1);
		atomic_fetch_sub(&srv->per_source[c->source_slot], 1);
		c->counted = 0;
	}
	if (c->sign == SIGN_PENDING) {
		ke_signer_cancel(&w->signer, c->sign_ticket);
		c->sign = SIGN_FAILED;
	}
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->timer, conn_freed);
	uv_close((uv_handle_t *)&c->tcp, conn_freed);
	drain_finish(w);
}

static void on_written(uv_write_t *req, int status)
{
	struct wreq *wr = (struct wreq *)req;
	struct ke_conn *c = wr->c;
	if ((status < 0 || wr->last) && c->state != CONN_CLOSING) {
		conn_close(c);
	}
	free(wr);
}

/* flush sends what TLS produced; |last| closes the connection once sent. */
static void flush(struct ke_conn *c, int last)
{
	size_t pending = BIO_pending(c->wbio);
	if (pending == 0) {
		if (last) {
			conn_close(c);
		}
		return;
	}
	struct wreq *wr = malloc(sizeof(*wr) + pending);
	if (wr == NULL) {
		conn_close(c);
		return;
	}
	int n = BIO_read(c->wbio, wr->data, (int)pending);
	if (n <= 0) {
		free(wr);
		conn_close(c);
		return;
	}
	wr->c = c;
	wr->last = last;
	wr->len = (size_t)n;
	uv_buf_t b = uv_buf_init((char *)wr->data, (unsigned)n);
	if (uv_write(&wr->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
		free(wr);
		conn_close(c);
	}
}

static const char *ntp_server_for(const struct ke_config *cfg, int ipv6)
{
	if (ipv6 && cfg->ntpserver6[0] != '\0') {
		return cfg->ntpserver6;
	}
	if (!ipv6 && cfg->ntpserver4[0] != '\0') {
		return cfg->ntpserver4;
	}
	return cfg->ntpserver[0] != '\0' ? cfg->ntpserver : NULL;
}

/* choose_aead picks the AEAD for |req|: 0 if it offers no NTPv4 or no AEAD
 * in common (the reason counted). */
static uint16_t choose_aead(const struct ke_config *cfg, struct ke_stats *st,
                            const struct ntske_request *req)
{
	if (!req->ntpv4_offered) {
		metrics_inc(&st->no_ntpv4);
		return 0;
	}
	uint16_t aead = ntske_choose_aead(req, cfg->aeads, (size_t)cfg->num_aeads);
	if (aead == 0) {
		metrics_inc(&st->no_common_aead);
	}
	return aead;
}

enum mint { MINT_OK, MINT_NO_KEYS, MINT_ERR };

/* mint_cookies exports the session's keys for |aead| and seals them into
 * NTSKE_MAX_COOKIES cookies under the current key, in |cookies|, listed in
 * |resp|. MINT_NO_KEYS: no current cookie key (fail closed). */
static enum mint mint_cookies(struct ke_conn *c, uint16_t aead, struct ntske_response *resp,
                              uint8_t cookies[NTSKE_MAX_COOKIES][COOKIE_MAX_LEN])
{
	const struct keyring *kr = keyring_holder_get(&c->w->srv->keys);
	uint32_t kid;
	const aead_ctx *ck;
	struct cookie_keys keys;
	enum mint ret = MINT_ERR;

	if (kr == NULL || !keyring_current(kr, (int64_t)time(NULL), &kid, &ck)) {
		return MINT_NO_KEYS;
	}
	memset(&keys, 0, sizeof(keys));
	keys.aead_id = aead;
	keys.key_len = aead_key_len(aead);
	if (!nke_export_keys(keys.c2s, keys.s2c, keys.key_len, c->ssl, aead)) {
		goto out;
	}
	uint8_t nonces[NTSKE_MAX_COOKIES][COOKIE_NONCE_LEN];
	RAND_bytes(&nonces[0][0], sizeof(nonces));
	for (int i = 0; i < NTSKE_MAX_COOKIES; i++) {
		struct wbuf wb;
		wbuf_init(&wb, cookies[i], sizeof(cookies[i]));
		if (!cookie_seal(&wb, ck, kid, nonces[i], &keys)) {
			goto out;
		}
		resp->cookies[i] = cookies[i];
		resp->cookie_lens[i] = wb.len;
	}
	resp->num_cookies = NTSKE_MAX_COOKIES;
	ret = MINT_OK;
out:
	sodium_memzero(&keys, sizeof(keys));
	return ret;
}

/* build_answer appends the answer to |req| to |out|: an Error record for a
 * bad request or when no cookie key is usable, else a response (without an
 * AEAD when there is none in common). Returns 0 on an internal error. */
static int build_answer(struct ke_conn *c, CBB *out, const struct ntske_request *req)
{
	struct ke_stats *st = &c->w->stats;
	const struct ke_config *cfg = &c->w->srv->cfg;
	struct ntske_response resp = {0};
	uint8_t cookies[NTSKE_MAX_COOKIES][COOKIE_MAX_LEN];

	if (req->outcome == NTSKE_FAIL_UNRECOGNIZED_CRITICAL) {
		metrics_inc(&st->unrecognized);
		return ntske_build_error(out, NTSKE_ERR_UNRECOGNIZED_CRITICAL);
	}
	if (req->outcome != NTSKE_OK) {
		metrics_inc(&st->bad_request);
		return ntske_build_error(out, NTSKE_ERR_BAD_REQUEST);
	}
	uint16_t aead = choose_aead(cfg, st, req);
	resp.ntpv4 = req->ntpv4_offered;
	resp.aead = aead;
	if (aead != 0) {
		switch (mint_cookies(c, aead, &resp, cookies)) {
		case MINT_OK:
			break;
		case MINT_NO_KEYS:
			/* fail closed: no cookies from stale or missing keys */
			metrics_inc(&st->no_keys);
			LOG_RL_ERR("no usable cookie keys: answering Error 2");
			return ntske_build_error(out, NTSKE_ERR_INTERNAL);
		case MINT_ERR:
		default:
			return 0;
		}
		resp.echo_compliant = aead == AEAD_AES_128_GCM_SIV && req->compliant_gcm_siv;
		resp.server = ntp_server_for(cfg, c->ipv6);
		resp.port = (uint16_t)cfg->ntpport;
		for (int i = 0; i < cfg->num_aeads; i++) {
			if (cfg->aeads[i] == aead) {
				metrics_inc(&st->aead[i]);
			}
		}
		metrics_add(&st->cookies, NTSKE_MAX_COOKIES);
		metrics_inc(&st->ok);
	}
	return ntske_build_response(out, &resp);
}

/* write_answer sends the finished message in |out| and closes the TLS
 * session: RFC 8915 s4, the server closes the connection after its
 * response. */
static void write_answer(struct ke_conn *c, CBB *out)
{
	struct ke_stats *st = &c->w->stats;
	uint8_t *data = NULL;
	size_t len = 0;

	if (!CBB_finish(out, &data, &len)) {
		CBB_cleanup(out);
		metrics_inc(&st->internal_error);
		conn_close(c);
		return;
	}
	int written = SSL_write(c->ssl, data, (int)len);
	OPENSSL_free(data);
	if (written != (int)len) {
		conn_close(c);
		return;
	}
	metrics_hist_observe(&st->latency, latency_bounds, mono_ns() - c->start_ns);
	SSL_shutdown(c->ssl);
	c->state = CONN_WRITING;
	flush(c, 1);
}

/* respond answers the complete request in c->req. */
static void respond(struct ke_conn *c, size_t msg_len)
{
	struct ntske_request req;
	CBS msg;
	CBB out;

	CBS_init(&msg, c->req, msg_len);
	if (!CBB_init(&out, 1024)) {
		conn_close(c);
		return;
	}
	ntske_parse_request(&req, &msg);
	if (!build_answer(c, &out, &req)) {
		CBB_cleanup(&out);
		metrics_inc(&c->w->stats.internal_error);
		conn_close(c);
		return;
	}
	write_answer(c, &out);
}

static void drive(struct ke_conn *c)
{
	struct ke_stats *st = &c->w->stats;
	const struct ke_config *cfg = &c->w->srv->cfg;

	if (c->state == CONN_HANDSHAKE) {
		int r = SSL_do_handshake(c->ssl);
		if (r != 1) {
			int e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_PRIVATE_KEY_OPERATION) {
				/* keep ServerHello..Certificate until the signature
				 * is there: one write for the whole flight. Read
				 * nothing meanwhile: TLS consumes nothing until the
				 * signature is there, so whatever came would pile up
				 * (the kernel's socket buffer holds the client back) */
				(void)set_reading(c, 0);
				return;
			}
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
				flush(c, 0);
				return;
			}
			if (c->signer_failed) {
				/* BoringSSL does not alert on a failed key
				 * operation: tell the client why we give up */
				ERR_clear_error();
				(void)SSL_send_fatal_alert(c->ssl, SSL_AD_INTERNAL_ERROR);
				metrics_inc(&st->signer_failure);
				LOG_RL_WARN("handshake failed: no signature from the signer");
			} else {
				metrics_inc(&st->tls_error);
			}
			ERR_clear_error();
			flush(c, 1); /* send the alert, then close */
			return;
		}
		const uint8_t *proto;
		unsigned proto_len;
		SSL_get0_alpn_selected(c->ssl, &proto, &proto_len);
		if (proto_len == 0) {
			/* no ALPN: no NTS-KE response */
			metrics_inc(&st->alpn_missing);
			flush(c, 1);
			return;
		}
		c->state = CONN_READING;
		flush(c, 0);
	}
	if (c->state != CONN_READING) {
		return;
	}
	for (;;) {
		if (c->req_len == cfg->max_request) {
			metrics_inc(&st->too_large);
			conn_close(c);
			return;
		}
		int n = SSL_read(c->ssl, c->req + c->req_len, (int)(cfg->max_request - c->req_len));
		if (n <= 0) {
			int e = SSL_get_error(c->ssl, n);
			if (e == SSL_ERROR_WANT_READ) {
				break;
			}
			if (e != SSL_ERROR_ZERO_RETURN) {
				metrics_inc(&st->tls_error);
			} else {
				metrics_inc(&st->bad_request); /* closed before End of Message */
			}
			ERR_clear_error();
			conn_close(c);
			return;
		}
		c->req_len += (size_t)n;
		/* scan only the records that arrived since the last read: a
		 * request trickled in tiny TLS records costs linear time */
		CBS in;
		struct ntske_record rec;
		CBS_init(&in, c->req + c->scan_off, c->req_len - c->scan_off);
		while (ntske_record_next(&in, &rec)) {
			c->scan_off = c->req_len - CBS_len(&in);
			if (rec.type == NTSKE_REC_END) {
				c->state = CONN_WRITING;
				respond(c, c->scan_off);
				return;
			}
		}
	}
	flush(c, 0);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static _Thread_local char rbuf[16384];
	(void)h;
	(void)suggested;
	*buf = uv_buf_init(rbuf, sizeof(rbuf));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

/* set_reading starts or stops reading the socket; 0 if it cannot start */
static int set_reading(struct ke_conn *c, int on)
{
	if (on == c->reading) {
		return 1;
	}
	if (on) {
		if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
			return 0;
		}
	} else {
		uv_read_stop((uv_stream_t *)&c->tcp);
	}
	c->reading = on;
	return 1;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct ke_conn *c = s->data;
	if (n < 0) {
		if (c->state == CONN_HANDSHAKE || c->state == CONN_READING) {
			metrics_inc(&c->w->stats.bad_request);
		}
		conn_close(c);
		return;
	}
	if (n == 0 || c->state == CONN_CLOSING || c->state == CONN_WRITING) {
		return;
	}
	if (BIO_pending(c->rbio) + (size_t)n > KE_MAX_UNREAD) {
		/* TLS is not consuming what the client sends */
		metrics_inc(&c->w->stats.too_large);
		conn_close(c);
		return;
	}
	if (BIO_write(c->rbio, buf->base, (int)n) != (int)n) {
		conn_close(c);
		return;
	}
	drive(c);
}

static void on_deadline(uv_timer_t *t)
{
	struct ke_conn *c = t->data;
	metrics_inc(&c->w->stats.timeout);
	conn_close(c);
}

/* ---- keyless signing on the worker's loop ---- */

static void on_sign_deadline(uv_timer_t *t);

/* conn_ms_left: what is left of the connection's deadline (at least 1) */
static uint64_t conn_ms_left(const struct ke_conn *c)
{
	uint64_t deadline = c->w->srv->cfg.deadline_ms;
	uint64_t spent = (mono_ns() - c->start_ns) / 1000000u;
	return spent < deadline ? deadline - spent : 1;
}

static void restart_conn_deadline(struct ke_conn *c)
{
	uv_timer_start(&c->timer, on_deadline, conn_ms_left(c), 0);
}

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
	uint64_t deadline = c->w->srv->cfg.signer_deadline_ms, left = conn_ms_left(c);
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
static void on_signed(void *owner, int ok, const uint8_t *sig, size_t sig_len)
{
	struct ke_conn *c = owner;
	if (c->sign != SIGN_PENDING || c->state == CONN_CLOSING) {
		return;
	}
	c->sign = ok ? SIGN_DONE : SIGN_FAILED;
	c->sig = sig;
	c->sig_len = sig_len;
	restart_conn_deadline(c);
	if (!set_reading(c, 1)) {
		conn_close(c);
		return;
	}
	drive(c); /* BoringSSL calls keyless_complete, which copies the signature */
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
	restart_conn_deadline(c);
	if (!set_reading(c, 1)) {
		conn_close(c);
		return;
	}
	drive(c);
}

static uint32_t source_slot(const struct ke_server *srv, const struct sockaddr_storage *ss)
{
	uint8_t key[16];
	uint64_t k[2];
	size_t len = 0;
	memcpy(k, srv->source_salt, sizeof(k));
	if (ss->ss_family == AF_INET) {
		memcpy(key, &((const struct sockaddr_in *)ss)->sin_addr, 4);
		len = 4;
	} else {
		/* IPv6 clients are counted per /64 */
		memcpy(key, &((const struct sockaddr_in6 *)ss)->sin6_addr, 8);
		len = 8;
	}
	return (uint32_t)(SIPHASH_24(k, key, len) % KE_SOURCE_SLOTS);
}

static void on_connection(uv_stream_t *ls, int status)
{
	struct ke_worker *w = ls->data;
	struct ke_server *srv = w->srv;
	const struct ke_config *cfg = &srv->cfg;
	struct ke_conn *c;

	if (status < 0) {
		return;
	}
	c = calloc(1, sizeof(*c) + cfg->max_request);
	if (c == NULL) {
		return;
	}
	c->w = w;
	c->start_ns = mono_ns();
	uv_tcp_init(&w->loop, &c->tcp);
	uv_timer_init(&w->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	c->handles_open = 2;
	c->state = CONN_HANDSHAKE;
	/* link first so that conn_close can always unlink */
	list_append(&w->conns, &c->link);
	if (uv_accept(ls, (uv_stream_t *)&c->tcp) != 0) {
		conn_close(c);
		return;
	}
	metrics_inc(&w->stats.accepted);
	struct sockaddr_storage peer;
	int plen = sizeof(peer);
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&peer, &plen) != 0) {
		conn_close(c);
		return;
	}
	c->ipv6 = peer.ss_family == AF_INET6;
	c->source_slot = source_slot(srv, &peer);
	if (atomic_fetch_add(&srv->per_source[c->source_slot], 1) >= cfg->max_per_source) {
		atomic_fetch_sub(&srv->per_source[c->source_slot], 1);
		metrics_inc(&w->stats.source_limited);
		conn_close(c);
		return;
	}
	if (atomic_fetch_add(&srv->open_connections, 1) >= cfg->max_connections) {
		/* shed the oldest connection of this worker to make room: idle
		 * and slow clients go first, new clients keep being served */
		struct ke_conn *oldest = LIST_ENTRY(w->conns.first, struct ke_conn, link);
		if (oldest != NULL && oldest != c) {
			metrics_inc(&w->stats.overload_shed);
			conn_close(oldest);
		} else {
			atomic_fetch_sub(&srv->open_connections, 1);
			atomic_fetch_sub(&srv->per_source[c->source_slot], 1);
			metrics_inc(&w->stats.overload_shed);
			conn_close(c);
			return;
		}
	}
	c->counted = 1;
	c->tls = ke_tls_acquire(srv);
	c->ssl = c->tls != NULL ? SSL_new(c->tls->ctx[0]) : NULL;
	c->rbio = BIO_new(BIO_s_mem());
	c->wbio = BIO_new(BIO_s_mem());
	if (c->ssl == NULL || c->rbio == NULL || c->wbio == NULL) {
		BIO_free(c->rbio);
		BIO_free(c->wbio);
		metrics_inc(&w->stats.internal_error);
		conn_close(c);
		return;
	}
	SSL_set_bio(c->ssl, c->rbio, c->wbio);
	SSL_set_app_data(c->ssl, c);
	SSL_set_accept_state(c->ssl);
	uv_tcp_nodelay(&c->tcp, 1);
	uv_timer_start(&c->timer, on_deadline, cfg->deadline_ms, 0);
	if (!set_reading(c, 1)) {
		conn_close(c);
	}
}

static int tcp_setup(int fd, int family, void *arg)
{
	int one = 1;
	int defer_s = *(const int *)arg;
	(void)family;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
		return 0;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_s, sizeof(defer_s));
	return 1;
}

int ke_listen_socket(const struct sockaddr *addr, socklen_t len, unsigned defer_s)
{
	int d = (int)defer_s;
	return sock_open_bound(addr, len, SOCK_STREAM, 1024, tcp_setup, &d);
}

static void on_wakeup(uv_async_t *a)
{
	struct ke_worker *w = a->data;
	if (!atomic_load(&w->srv->stop)) {
		return;
	}
	/* drain: stop accepting; connections in flight finish or hit their
	 * deadline, and the loop ends when the last one is closed */
	for (int i = 0; i < w->num_listeners; i++) {
		uv_close((uv_handle_t *)&w->listeners[i], NULL);
	}
	drain_finish(w);
	uv_close((uv_handle_t *)&w->wakeup, NULL);
}

static void worker_main(void *arg)
{
	struct ke_worker *w = arg;
	uv_run(&w->loop, UV_RUN_DEFAULT);
	uv_loop_close(&w->loop);
}

int ke_worker_start(struct ke_worker *w)
{
	if (uv_loop_init(&w->loop) != 0) {
		return 0;
	}
	uv_async_init(&w->loop, &w->wakeup, on_wakeup);
	w->wakeup.data = w;
	if (w->srv->cfg.signer[0] != '\0') {
		ke_signer_init(&w->signer, &w->loop, w->srv->cfg.signer, on_signed);
	}
	for (int i = 0; i < w->num_listeners; i++) {
		uv_tcp_init(&w->loop, &w->listeners[i]);
		w->listeners[i].data = w;
		if (uv_tcp_open(&w->listeners[i], w->fds[i]) != 0 ||
		    uv_listen((uv_stream_t *)&w->listeners[i], 1024, on_connection) != 0) {
			return 0;
		}
	}
	if (uv_thread_create(&w->thread, worker_main, w) != 0) {
		return 0;
	}
	w->started = 1;
	return 1;
}

void ke_worker_stop(struct ke_worker *w)
{
	if (!w->started) {
		return;
	}
	uv_async_send(&w->wakeup);
	uv_thread_join(&w->thread);
	w->started = 0;
}
