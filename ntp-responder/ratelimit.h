/*
 * ratelimit.h: the responder's abuse controls on the packet path: the
 * access list and the per-prefix rate limit (common/ratelimit.h), and the
 * Kiss-o'-Death answers.
 *
 * Over the limit, a plain request gets a KoD RATE (LI 3, stratum 0, refid
 * "RATE", 48 bytes: never larger than the request) for |leak| per cent of
 * the excess and silence for the rest, so a client whose address is spoofed
 * by a flooder still hears why. An NTS request over the limit is dropped:
 * an unauthenticated KoD is not acted on by NTS clients (RFC 8915, 5.7), an
 * authenticated one would cost the crypto the limit is there to save, and a
 * NAK would make the client throw its cookies away. A denied plain request
 * gets a KoD DENY or silence (`denyaction`); a denied NTS request silence.
 */
#ifndef NTS_RESP_RATELIMIT_H
#define NTS_RESP_RATELIMIT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "common/ratelimit.h"

struct resp_stats;
struct resp_ctx;

struct resp_abuse {
	struct rl_policy policy;
	_Atomic unsigned leak_pct; /* KoD RATE for this share of the excess */
	_Atomic int deny_kod;      /* 1: KoD DENY to denied plain requests */
};

/* resp_police checks a request from |peer| (a client-mode NTPv3/v4 packet
 * of |len| bytes) before any other work. Returns 1 to go on; 0 to answer
 * with the |*out_len| bytes written to |out| (a KoD), or with silence if
 * |*out_len| is 0. */
int resp_police(const struct resp_ctx *ctx, struct resp_stats *st, const struct sockaddr *peer,
                const uint8_t *req, size_t len, const struct timespec *rx, uint8_t *out,
                size_t *out_len);

#endif
