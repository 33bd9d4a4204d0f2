/*
 * phc.h: a NIC's PTP hardware clock (PHC) mapped to CLOCK_REALTIME, for
 * the hardware receive timestamps of the AF_XDP path (xdp.c,
 * docs/xdp.md).
 *
 * A driver's receive timestamp counts on the NIC's clock, not the
 * system's. Once a second a worker reads both clocks together
 * (phc_read: PTP_SYS_OFFSET_EXTENDED, else PTP_SYS_OFFSET, keeping the
 * read with the narrowest system-time bracket) and adds the sample to its
 * own phc_fit, which fits an offset and a rate over the last
 * PHC_FIT_SAMPLES samples. Converting a packet's timestamp (phc_to_sys)
 * is then a multiply-add on that worker's own copy: no lock and no system
 * call per packet. The fit and the conversion are pure (unit-tested with
 * synthetic samples); phc_open and phc_read do the I/O.
 */
#ifndef NTS_PHC_H
#define NTS_PHC_H

#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

#define PHC_FIT_SAMPLES 8
/* a sample whose system-time bracket is wider than this is not used */
#define PHC_MAX_WIDTH_NS 1000000
/* a sample this far from the fit's prediction: one of the clocks was
 * stepped; the fit starts again from it */
#define PHC_STEP_NS 1000000
/* the fit is used once its samples span this, with a rate within
 * PHC_MAX_PPM of the system clock's */
#define PHC_MIN_SPAN_NS 500000000
#define PHC_MAX_PPM     1000
/* per packet: the newest sample at most this old (at the batch time) */
#define PHC_FRESH_NS 3000000000
/* per packet: a converted timestamp later than the batch time by more than
 * this, or earlier by more than PHC_MAX_WAIT_NS, is not believed */
#define PHC_AHEAD_NS    100000
#define PHC_MAX_WAIT_NS 1000000000

/* One reading of both clocks: the PHC's time and the midpoint of the
 * CLOCK_REALTIME bracket around it, in ns since the epoch. */
struct phc_sample {
	int64_t phc_ns;
	int64_t sys_ns;
	int64_t width_ns; /* the bracket's width */
};

/* The conversion a packet uses: sys = sys0 + d + d * rate / 2^32, with
 * d = phc - phc0. valid is 0 until the fit is usable. */
struct phc_map {
	int valid;
	int64_t phc0;
	int64_t sys0;
	int64_t rate_q32; /* (d sys / d phc - 1) * 2^32 */
};

/* Zero-initialised: empty. */
struct phc_fit {
	struct phc_sample s[PHC_FIT_SAMPLES]; /* a ring; s[last] the newest */
	int num;
	int last;
	struct phc_map map;
};

/* Why a packet's hardware timestamp was not used. */
enum phc_why {
	PHC_OK = 0,
	PHC_NO_FIT, /* no usable fit (too few samples, or a rate out of range) */
	PHC_STALE,  /* the newest sample is older than PHC_FRESH_NS */
	PHC_INSANE, /* the converted time is not near the batch time */
	PHC_WHY_MAX,
};

/* phc_fit_add adds |s| to |f| and refits |f->map|. Returns 0 (and leaves
 * |f| as it was) for a sample with a bracket wider than PHC_MAX_WIDTH_NS;
 * a sample PHC_STEP_NS off the current fit restarts it. */
int phc_fit_add(struct phc_fit *f, const struct phc_sample *s);

/* phc_to_sys writes to |out_sys_ns| the CLOCK_REALTIME time of PHC time
 * |phc_ns| by |m|, and returns PHC_OK, if |m| is valid, its newest sample
 * was at most PHC_FRESH_NS before |now_sys_ns| (the batch time), and the
 * result lies within [now - PHC_MAX_WAIT_NS, now + PHC_AHEAD_NS];
 * otherwise the reason, and |out_sys_ns| is untouched. */
enum phc_why phc_to_sys(int64_t *out_sys_ns, const struct phc_map *m, uint64_t phc_ns,
                        int64_t now_sys_ns) NTS_WUR;

/* phc_pick_ext picks from |num| PTP_SYS_OFFSET_EXTENDED triples (system
 * before, PHC, system after, as ns) the one with the narrowest bracket;
 * phc_pick_basic from PTP_SYS_OFFSET's 2 * |num| + 1 alternating system
 * and PHC times. Return 0 if |num| is 0 or no bracket is ordered. */
int phc_pick_ext(struct phc_sample *out, const int64_t (*t)[3], size_t num) NTS_WUR;
int phc_pick_basic(struct phc_sample *out, const int64_t *t, size_t num) NTS_WUR;

/* phc_open finds the PHC of interface |iface| (ETHTOOL_GET_TS_INFO) and
 * opens it read-only; writes its path to |path| (or why not). Returns the
 * fd or -1. Asks the NIC to timestamp all received packets if it
 * timestamps none (SIOCSHWTSTAMP, HWTSTAMP_FILTER_ALL), which drivers
 * need before bpf_xdp_metadata_rx_timestamp returns anything. */
int phc_open(const char *iface, char *path, size_t path_len);

/* phc_read takes one sample of the PHC open on |fd|: 1 or 0. *|ext| is 1
 * to try PTP_SYS_OFFSET_EXTENDED; set to 0 when the driver lacks it. */
int phc_read(struct phc_sample *out, int fd, int *ext) NTS_WUR;

#endif
