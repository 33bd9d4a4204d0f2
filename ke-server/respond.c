/*
 * respond.c: the NTS-KE answer to a complete request, along the protocol steps:
 * choose the AEAD, export the keys and mint cookies, build, write.
 */
#include <string.h>
#include <time.h>

#include <openssl/rand.h>
#include <sodium.h>

#include "common/log.h"
#include "tls/ntske_keys.h"
#include "ke-server/conn.h"
#include "proto/cookie.h"

static const uint64_t latency_bounds[METRICS_HIST_BUCKETS] = {
    100000,   200000,   500000,   1000000,   2000000,   3000000,   5000000,    7500000,
    10000000, 20000000, 50000000, 100000000, 200000000, 500000000, 1000000000, 2000000000,
};

const uint64_t *ke_latency_bounds(void)
{
	return latency_bounds;
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
		ke_conn_close(c);
		return;
	}
	int written = SSL_write(c->ssl, data, (int)len);
	OPENSSL_free(data);
	if (written != (int)len) {
		ke_conn_close(c);
		return;
	}
	metrics_hist_observe(&st->latency, latency_bounds, ke_mono_ns() - c->start_ns);
	SSL_shutdown(c->ssl);
	c->state = CONN_WRITING;
	ke_conn_flush(c, 1);
}

/* respond answers the complete request in c->req. */
void ke_respond(struct ke_conn *c, size_t msg_len)
{
	struct ntske_request req;
	CBS msg;
	CBB out;

	CBS_init(&msg, c->req, msg_len);
	if (!CBB_init(&out, 1024)) {
		ke_conn_close(c);
		return;
	}
	ntske_parse_request(&req, &msg);
	if (!build_answer(c, &out, &req)) {
		CBB_cleanup(&out);
		metrics_inc(&c->w->stats.internal_error);
		ke_conn_close(c);
		return;
	}
	write_answer(c, &out);
}
