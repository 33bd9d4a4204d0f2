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
	int64_t daemon_rx_unix;   /* wall clock when it came (UTC seconds) */
	int have_daemon;
	metrics_counter polls;
	metrics_counter replies;
};

int sync_start(struct sync_source *s, uv_loop_t *loop, struct resp_ctx *ctx,
               const struct sync_config *cfg);
void sync_stop(struct sync_source *s);
/* sync_leap decides the leap indicator at Unix time |now| from the kernel's
 * state (|kernel_state|, |kernel_status| as ntp_adjtime returns them) and
 * the local daemon's last answer (|daemon_leap|, received at Unix time
 * |daemon_rx|). A leap second happens at the end of a UTC day, and only at
 * the end of a month, so an insert or delete is announced only on the last
 * day of a month, and from the daemon's answer only if that answer is from
 * the same UTC day; the kernel's flags count unless the kernel says the leap
 * is over (TIME_WAIT). Sets |*out_until| to the end of that day: past it the
 * packet path announces no leap, whatever the published state still says.
 * Pure: the unit tests drive it with any clock. */
uint8_t sync_leap(int64_t *out_until, int64_t now, int kernel_state, int kernel_status,
                  uint8_t daemon_leap, int64_t daemon_rx);

/* sync_update recomputes the published state (the control timer calls it
 * every second). */
void sync_update(struct sync_source *s);

#endif
