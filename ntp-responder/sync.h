/*
 * sync.h: where the responder's leap indicator, stratum, reference id and
 * root distances come from.
 *
 *   ntp ADDR     the kernel clock state (ntp_adjtime: STA_UNSYNC, leap
 *                flags) plus the local time daemon (chronyd, ntpd) polled
 *                with a plain NTP client request every 16 s: its stratum,
 *                reference id, root delay/dispersion and leap
 *   static       fixed values, for labs and tests only
 */
#ifndef NTS_SYNC_H
#define NTS_SYNC_H

#include <sys/socket.h>
#include <uv.h>

#include "ntp-responder/responder.h"

enum sync_mode {
	SYNC_NTP = 0,
	SYNC_STATIC,
};

struct sync_config {
	enum sync_mode mode;
	struct sockaddr_storage daemon;
	socklen_t daemon_len;
	uint8_t static_stratum;
	uint32_t static_refid;
};

struct sync_source {
	struct sync_config cfg;
	struct resp_ctx *ctx;
	uv_udp_t udp;
	uv_timer_t timer;
	int open, timer_open; /* handles to close in sync_stop */
	struct sync_state bufs[4];
	int next_buf;
	int64_t last_reply; /* monotonic seconds; 0: never */
	int polls_unanswered;
	uint64_t last_tx;
	struct ntp_header daemon; /* last good reply */
	int have_daemon;
	metrics_counter polls;
	metrics_counter replies;
};

int sync_start(struct sync_source *s, uv_loop_t *loop, struct resp_ctx *ctx,
               const struct sync_config *cfg);
void sync_stop(struct sync_source *s);
/* sync_update recomputes the published state (the control timer calls it
 * every second). */
void sync_update(struct sync_source *s);

#endif
