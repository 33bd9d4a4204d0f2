/*
 * responder.h: state shared by the responder's modules.
 *
 * The packet path (handler.c) is a function from request bytes, receive
 * timestamp, keyring snapshot and sync-state snapshot to response bytes; it
 * allocates nothing (except that BoringSSL's AES-128-GCM-SIV context setup
 * allocates for AEAD 30 sessions) and logs nothing above debug level.
 * Workers (worker.c) move batches of packets with recvmmsg/sendmmsg; the
 * control side (main.c) runs libuv: signals, key reload, sync polling,
 * health and metrics.
 */
#ifndef NTS_RESPONDER_H
#define NTS_RESPONDER_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "common/keyring.h"
#include "common/metrics.h"
#include "proto/ntp.h"

/* One counter per outcome; each worker owns one struct. */
struct resp_stats {
	metrics_counter rx_packets;
	metrics_counter req_plain;
	metrics_counter req_nts;
	metrics_counter resp_plain;
	metrics_counter resp_nts;
	metrics_counter nak_unknown_key;
	metrics_counter nak_expired_key;
	metrics_counter nak_future_key;
	metrics_counter nak_bad_cookie;
	metrics_counter nak_bad_auth;
	metrics_counter nak_no_keys;
	metrics_counter drop_short;
	metrics_counter drop_mode; /* not a client request (6/7 and others) */
	metrics_counter drop_version;
	metrics_counter drop_malformed;
	metrics_counter drop_placeholders;
	metrics_counter drop_plain_disabled;
	metrics_counter drop_too_large;
	metrics_counter drop_bad_ef; /* after the header: neither extension fields nor a MAC */
	metrics_counter send_errors;
	metrics_counter rl_limited;     /* over the rate limit (ratelimit.c) */
	metrics_counter acl_denied;     /* from a denied prefix */
	metrics_counter kod_rate;       /* KoD RATE sent */
	metrics_counter kod_deny;       /* KoD DENY sent */
	metrics_counter rl_evictions;   /* rate-limit table entries replaced */
	struct metrics_hist processing; /* T3 - T2 */
};

/* What goes into the header of every response; replaced as a whole by the
 * control thread (see sync.c). */
struct sync_state {
	int synchronised;
	uint8_t leap;
	int64_t leap_until; /* Unix time: an insert/delete leap is announced only
	                       before this (the end of the UTC day it is for) */
	uint8_t stratum;
	uint32_t refid;
	uint32_t root_delay;      /* NTP short format */
	uint32_t root_dispersion; /* NTP short format */
	uint64_t reference_ts;
	char reason[64]; /* why not synchronised */
};

struct resp_config;
struct resp_abuse;

/* The packet path's view of the world. */
struct resp_ctx {
	struct keyring_holder *keys;
	_Atomic(const struct sync_state *) sync;
	_Atomic int serve_plain; /* changed by a config reload */
	int8_t precision;
	struct resp_abuse *abuse; /* NULL: no access list, no rate limit */
};

/* resp_handle answers one request of |len| bytes received at |rx| (the
 * kernel timestamp). Writes at most |len| bytes to |out| and returns the
 * response length, or 0 to stay silent. */
size_t resp_handle(const struct resp_ctx *ctx, struct resp_stats *st, const uint8_t *req,
                   size_t len, const struct timespec *rx, uint8_t *out);

/* resp_handle_from is resp_handle for a request from |peer|, which the
 * access list and the rate limit are checked against (ratelimit.h) right
 * after the header's version and mode; receive paths call this one. */
size_t resp_handle_from(const struct resp_ctx *ctx, struct resp_stats *st,
                        const struct sockaddr *peer, const uint8_t *req, size_t len,
                        const struct timespec *rx, uint8_t *out);

int8_t resp_clock_precision(void);

#endif
