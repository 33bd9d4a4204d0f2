/*
 * ratelimit.c: the responder's abuse controls (see ratelimit.h).
 */
#include "ntp-responder/ratelimit.h"

#include <string.h>

#include <sodium.h>

#include "ntp-responder/responder.h"

/* leak: 1 with probability |pct| per cent (a per-thread xorshift; the
 * share matters, not unpredictability) */
static int leak(unsigned pct)
{
	static _Thread_local uint64_t x;
	if (pct >= 100) {
		return 1;
	}
	if (x == 0) {
		randombytes_buf(&x, sizeof(x));
		x |= 1;
	}
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return (x >> 32) % 100 < pct;
}

/* kod writes a 48-byte Kiss-o'-Death with |code| answering |req|. */
static size_t kod(const struct resp_ctx *ctx, const uint8_t *req, size_t len,
                  const struct timespec *rx, uint32_t code, uint8_t *out)
{
	struct ntp_header q, h;
	struct wbuf w;
	CBS in;
	CBS_init(&in, req, len);
	if (!ntp_header_parse(&q, &in)) {
		return 0;
	}
	memset(&h, 0, sizeof(h));
	h.leap = NTP_LI_UNSYNC;
	h.version = q.version;
	h.mode = NTP_MODE_SERVER;
	h.stratum = 0;
	h.poll = q.poll;
	h.precision = ctx->precision;
	h.refid = code;
	h.origin_ts = q.transmit_ts; /* so that the client takes it as the answer */
	h.receive_ts = ntp_ts_from_timespec(rx);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	h.transmit_ts = ntp_ts_from_timespec(&now);
	wbuf_init(&w, out, NTP_HEADER_LEN);
	return ntp_header_build(&w, &h) ? w.len : 0;
}

int resp_police(const struct resp_ctx *ctx, struct resp_stats *st, const struct sockaddr *peer,
                const uint8_t *req, size_t len, const struct timespec *rx, uint8_t *out,
                size_t *out_len)
{
	struct resp_abuse *ab = ctx->abuse;
	int evicted = 0;
	*out_len = 0;
	if (ab == NULL || peer == NULL) {
		return 1;
	}
	enum rl_verdict v = rl_policy_check(&ab->policy, peer, rl_now(), &evicted);
	if (evicted) {
		metrics_inc(&st->rl_evictions);
	}
	/* only a bare header can be a plain request worth a KoD: anything with
	 * extension fields is (or claims to be) NTS, or is dropped anyway */
	int plain =
	    len == NTP_HEADER_LEN && atomic_load_explicit(&ctx->serve_plain, memory_order_relaxed);
	switch (v) {
	case RL_PASS:
		return 1;
	case RL_DENIED:
		metrics_inc(&st->acl_denied);
		if (plain && atomic_load_explicit(&ab->deny_kod, memory_order_relaxed)) {
			*out_len = kod(ctx, req, len, rx, NTP_KISS_DENY, out);
		}
		break;
	case RL_LIMITED:
	default:
		metrics_inc(&st->rl_limited);
		if (plain && leak(atomic_load_explicit(&ab->leak_pct, memory_order_relaxed))) {
			*out_len = kod(ctx, req, len, rx, NTP_KISS_RATE, out);
		}
		break;
	}
	if (*out_len > 0) {
		metrics_inc(v == RL_DENIED ? &st->kod_deny : &st->kod_rate);
	}
	return 0;
}
