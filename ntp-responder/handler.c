/*
 * handler.c: one request in, one response (or silence) out.
 */
#include <string.h>

#include <sodium.h>

#include "common/randpool.h"
#include "ntp-responder/ratelimit.h"
#include "ntp-responder/responder.h"
#include "proto/cookie.h"
#include "proto/nts.h"

static const uint64_t hist_bounds[METRICS_HIST_BUCKETS] = {
    1000,  2000,  3000,   5000,   7500,   10000,   15000,    20000,
    30000, 50000, 100000, 200000, 500000, 1000000, 10000000, 100000000,
};

const uint64_t *resp_hist_bounds(void);
const uint64_t *resp_hist_bounds(void)
{
	return hist_bounds;
}

int8_t resp_clock_precision(void)
{
	struct timespec res;
	int8_t p = -20;
	if (clock_getres(CLOCK_REALTIME, &res) == 0) {
		double r = (double)res.tv_sec + (double)res.tv_nsec * 1e-9;
		p = 0;
		while (p > -30 && (double)(1u << (unsigned)(-p + 1)) * r < 1.0) {
			p--;
		}
	}
	return p;
}

static void fill_header(struct ntp_header *h, const struct ntp_header *req,
                        const struct sync_state *s, int8_t precision, uint64_t t2)
{
	memset(h, 0, sizeof(*h));
	h->version = req->version;
	h->mode = NTP_MODE_SERVER;
	h->poll = req->poll;
	h->precision = precision;
	h->origin_ts = req->transmit_ts;
	h->receive_ts = t2;
	if (s != NULL && s->synchronised) {
		h->leap = s->leap;
		h->stratum = s->stratum;
		h->refid = s->refid;
		h->root_delay = s->root_delay;
		h->root_dispersion = s->root_dispersion;
		h->reference_ts = s->reference_ts;
	} else {
		h->leap = NTP_LI_UNSYNC;
		h->stratum = NTP_STRATUM_UNSYNC;
		h->refid = s != NULL ? s->refid : 0;
	}
}

/* leap_at drops an announced leap once |t3| has passed the end of the UTC
 * day it was for: the published state is recomputed only once a second, and
 * a leap must never be announced after midnight. */
static void leap_at(struct ntp_header *h, const struct sync_state *s, const struct timespec *t3)
{
	if ((h->leap == NTP_LI_INS || h->leap == NTP_LI_DEL) &&
	    (int64_t)t3->tv_sec >= s->leap_until) {
		h->leap = NTP_LI_NONE;
	}
}

static uint64_t now_ntp(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ntp_ts_from_timespec(&ts);
}

/* observe records T3 - T2 (what the client sees as the server's time) in
 * the processing histogram, from the T3 already read for the response. */
static void observe(struct resp_stats *st, const struct timespec *rx, const struct timespec *t3)
{
	int64_t ns = (int64_t)(t3->tv_sec - rx->tv_sec) * 1000000000 + (t3->tv_nsec - rx->tv_nsec);
	metrics_hist_observe(&st->processing, hist_bounds, ns > 0 ? (uint64_t)ns : 0);
}

static size_t plain_response(const struct resp_ctx *ctx, struct resp_stats *st,
                             const struct ntp_header *req, const struct timespec *rx, uint8_t *out)
{
	struct ntp_header h;
	struct wbuf w;
	const struct sync_state *s = atomic_load_explicit(&ctx->sync, memory_order_acquire);

	fill_header(&h, req, s, ctx->precision, ntp_ts_from_timespec(rx));
	wbuf_init(&w, out, NTP_HEADER_LEN);
	struct timespec t3;
	clock_gettime(CLOCK_REALTIME, &t3);
	h.transmit_ts = ntp_ts_from_timespec(&t3); /* T3, last */
	leap_at(&h, s, &t3);
	if (!ntp_header_build(&w, &h)) {
		return 0;
	}
	metrics_inc(&st->resp_plain);
	observe(st, rx, &t3);
	return w.len;
}

static size_t nak(const struct resp_ctx *ctx, struct resp_stats *st, const struct nts_request *req,
                  size_t len, const struct timespec *rx, uint8_t *out, metrics_counter *reason)
{
	struct ntp_header h;
	size_t out_len;
	fill_header(&h, &req->header, atomic_load_explicit(&ctx->sync, memory_order_acquire),
	            ctx->precision, ntp_ts_from_timespec(rx));
	h.transmit_ts = now_ntp();
	metrics_inc(reason);
	return nts_build_nak(out, &out_len, req, len, &h) ? out_len : 0;
}

/* What a step of an NTS request decided: go on, stay silent (the step
 * counted why), or answer a NAK (job.nak says why). */
enum step { STEP_OK, STEP_DROP, STEP_NAK };

/* One NTS request on its way through the steps. resp_handle wipes the keys
 * in it whatever the outcome. */
struct nts_job {
	struct nts_request r;
	struct cookie_keys keys;  /* from the request's cookie */
	const struct keyring *kr; /* the key ring for the whole request */
	size_t num_cookies;       /* to send: 1 + the placeholders */
	metrics_counter *nak;     /* the reason, for STEP_NAK */
};

/* classify counts the packet and sorts it. Too short or long, not from a
 * client, not v3/v4, a bad extension field or a malformed NTS request: 0
 * (dropped). A plain request is answered here: 0 with the response length
 * in |*out_len| (0 if plain NTP is off). An NTSv4 request: 1, parsed in |r|. */
static inline int classify(const struct resp_ctx *ctx, struct resp_stats *st, struct nts_request *r,
                           size_t *out_len, const struct sockaddr *peer, const uint8_t *req,
                           size_t len, const struct timespec *rx, uint8_t *out)
{
	*out_len = 0;
	metrics_inc(&st->rx_packets);
	if (len < NTP_HEADER_LEN) {
		metrics_inc(&st->drop_short);
		return 0;
	}
	if (len > NTP_MAX_PACKET) {
		metrics_inc(&st->drop_too_large);
		return 0;
	}
	/* version and mode first: cheap, and most hostile traffic stops here */
	uint8_t vn = (req[0] >> 3) & 7, mode = req[0] & 7;
	if (mode != NTP_MODE_CLIENT) {
		metrics_inc(&st->drop_mode);
		return 0;
	}
	if (vn < 3 || vn > 4) {
		metrics_inc(&st->drop_version);
		return 0;
	}
	/* access list and rate limit: before any parsing or crypto */
	if (!resp_police(ctx, st, peer, req, len, rx, out, out_len)) {
		return 0;
	}
	switch (nts_parse_request(r, req, len)) {
	case NTS_PARSE_PLAIN:
		metrics_inc(&st->req_plain);
		if (!atomic_load_explicit(&ctx->serve_plain, memory_order_relaxed)) {
			metrics_inc(&st->drop_plain_disabled);
			return 0;
		}
		*out_len = plain_response(ctx, st, &r->header, rx, out);
		return 0;
	case NTS_PARSE_OK:
		break;
	case NTS_PARSE_BAD_EF:
		/* not a valid NTP request (RFC 7822): no answer, not a request */
		metrics_inc(&st->drop_bad_ef);
		return 0;
	case NTS_PARSE_TOO_MANY_PLACEHOLDERS:
		metrics_inc(&st->req_nts);
		metrics_inc(&st->drop_placeholders);
		return 0;
	case NTS_PARSE_MALFORMED:
	default:
		metrics_inc(&st->req_nts);
		metrics_inc(&st->drop_malformed);
		return 0;
	}
	metrics_inc(&st->req_nts);
	if (r->header.version != 4) {
		metrics_inc(&st->drop_version); /* NTS is NTPv4 only */
		return 0;
	}
	return 1;
}

/* open_cookie looks up the cookie's key and opens the cookie into j->keys. */
static inline enum step open_cookie(const struct resp_ctx *ctx, struct resp_stats *st,
                                    struct nts_job *j, int64_t now_s)
{
	uint32_t kid;
	int reason;
	j->kr = keyring_holder_get(ctx->keys);
	if (j->kr == NULL) {
		j->nak = &st->nak_no_keys;
		return STEP_NAK;
	}
	if (!cookie_key_id(&kid, &j->r.cookie)) {
		j->nak = &st->nak_bad_cookie;
		return STEP_NAK;
	}
	const aead_ctx *ck = keyring_lookup(j->kr, kid, now_s, &reason);
	if (ck == NULL) {
		j->nak = reason == KEYRING_EXPIRED  ? &st->nak_expired_key
		         : reason == KEYRING_FUTURE ? &st->nak_future_key
		                                    : &st->nak_unknown_key;
		return STEP_NAK;
	}
	if (!cookie_open(&j->keys, ck, &j->r.cookie)) {
		j->nak = &st->nak_bad_cookie;
		return STEP_NAK;
	}
	return STEP_OK;
}

/* open_session opens the cookie, checks the request's authenticator under
 * the C2S key and counts the placeholders, encrypted ones included. */
static inline enum step open_session(const struct resp_ctx *ctx, struct resp_stats *st,
                                     struct nts_job *j, const uint8_t *req, int64_t now_s)
{
	aead_ctx c2s;
	uint8_t dec[NTP_MAX_PACKET];
	size_t dec_len;
	enum step ret = open_cookie(ctx, st, j, now_s);
	if (ret != STEP_OK) {
		return ret;
	}
	if (!aead_nonce_ok(j->keys.aead_id, CBS_len(&j->r.nonce))) {
		metrics_inc(&st->drop_malformed);
		return STEP_DROP;
	}
	memset(&c2s, 0, sizeof(c2s));
	if (!aead_ctx_init(&c2s, j->keys.aead_id, j->keys.c2s, j->keys.key_len) ||
	    !aead_open(&c2s, dec, &dec_len, sizeof(dec), CBS_data(&j->r.nonce),
	               CBS_len(&j->r.nonce), CBS_data(&j->r.ciphertext), CBS_len(&j->r.ciphertext),
	               req, j->r.ad_len)) {
		j->nak = &st->nak_bad_auth;
		ret = STEP_NAK;
		goto out;
	}
	j->num_cookies = j->r.num_placeholders;
	if (!nts_count_encrypted_placeholders(&j->num_cookies, dec, dec_len,
	                                      CBS_len(&j->r.cookie))) {
		metrics_inc(&st->drop_placeholders);
		ret = STEP_DROP;
		goto out;
	}
	j->num_cookies++; /* one for the cookie spent */
out:
	aead_ctx_cleanup(&c2s);
	sodium_memzero(dec, sizeof(dec));
	return ret;
}

/* mint_cookies writes j->num_cookies fresh cookie extension fields under the
 * current key to |w| (before T3 is read). */
static inline enum step mint_cookies(struct resp_stats *st, struct nts_job *j, struct wbuf *w,
                                     int64_t now_s)
{
	uint32_t cur_id;
	const aead_ctx *cur;
	if (!keyring_current(j->kr, now_s, &cur_id, &cur)) {
		j->nak = &st->nak_no_keys;
		return STEP_NAK;
	}
	size_t clen = cookie_len(j->keys.aead_id);
	uint8_t nonces[NTS_MAX_COOKIES][COOKIE_NONCE_LEN];
	rand_pool_bytes(&nonces[0][0], j->num_cookies * COOKIE_NONCE_LEN);
	for (size_t i = 0; i < j->num_cookies; i++) {
		if (!nts_add_cookie_ef_header(w, clen) ||
		    !cookie_seal(w, cur, cur_id, nonces[i], &j->keys) ||
		    !ntp_ef_add_padding(w, clen)) {
			metrics_inc(&st->drop_malformed);
			return STEP_DROP;
		}
	}
	return STEP_OK;
}

/* seal builds the response around |plain| (the cookies) under the S2C key,
 * reading T3 last. Returns its length, or 0. */
static inline size_t seal(const struct resp_ctx *ctx, struct resp_stats *st,
                          const struct nts_job *j, size_t len, const struct timespec *rx,
                          uint8_t *plain, size_t plain_len, size_t plain_cap, uint8_t *out)
{
	aead_ctx s2c;
	uint8_t nonce[AEAD_MAX_NONCE_LEN];
	size_t nonce_len = aead_nonce_len(j->keys.aead_id), out_len, ret = 0;
	rand_pool_bytes(nonce, nonce_len);
	memset(&s2c, 0, sizeof(s2c));
	if (!aead_ctx_init(&s2c, j->keys.aead_id, j->keys.s2c, j->keys.key_len)) {
		goto out;
	}
	struct ntp_header h;
	const struct sync_state *ss = atomic_load_explicit(&ctx->sync, memory_order_acquire);
	fill_header(&h, &j->r.header, ss, ctx->precision, ntp_ts_from_timespec(rx));
	struct timespec t3;
	clock_gettime(CLOCK_REALTIME, &t3);
	h.transmit_ts = ntp_ts_from_timespec(&t3); /* T3: everything else is ready */
	leap_at(&h, ss, &t3);
	if (!nts_build_response(out, &out_len, &j->r, len, &h, &s2c, nonce, nonce_len, plain,
	                        plain_len, plain_cap)) {
		metrics_inc(&st->drop_malformed);
		goto out;
	}
	metrics_inc(&st->resp_nts);
	observe(st, rx, &t3);
	ret = out_len;
out:
	aead_ctx_cleanup(&s2c);
	return ret;
}

size_t resp_handle(const struct resp_ctx *ctx, struct resp_stats *st, const uint8_t *req,
                   size_t len, const struct timespec *rx, uint8_t *out)
{
	return resp_handle_from(ctx, st, NULL, req, len, rx, out);
}

size_t resp_handle_from(const struct resp_ctx *ctx, struct resp_stats *st,
                        const struct sockaddr *peer, const uint8_t *req, size_t len,
                        const struct timespec *rx, uint8_t *out)
{
	struct nts_job j;
	uint8_t plain[NTS_PLAIN_MAX];
	struct wbuf w;
	size_t ret;

	if (!classify(ctx, st, &j.r, &ret, peer, req, len, rx, out)) {
		return ret;
	}
	j.kr = NULL;
	j.nak = NULL;
	ret = 0;
	int64_t now_s = (int64_t)rx->tv_sec;
	wbuf_init(&w, plain, sizeof(plain));
	enum step s = open_session(ctx, st, &j, req, now_s);
	if (s == STEP_OK) {
		s = mint_cookies(st, &j, &w, now_s);
	}
	if (s == STEP_OK) {
		ret = seal(ctx, st, &j, len, rx, plain, w.len, sizeof(plain), out);
	} else if (s == STEP_NAK) {
		ret = nak(ctx, st, &j.r, len, rx, out, j.nak);
	}
	cookie_keys_cleanup(&j.keys);
	return ret;
}
