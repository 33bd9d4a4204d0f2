/*
 * phc.c: a NIC's PTP hardware clock mapped to CLOCK_REALTIME (see phc.h).
 */
#include "ntp-responder/phc.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/net_tstamp.h>
#include <linux/ptp_clock.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"

#define Q32 4294967296.0

static double dabs(double v)
{
	return v < 0 ? -v : v;
}

static int64_t dround(double v)
{
	return (int64_t)(v < 0 ? v - 0.5 : v + 0.5);
}

/* predict: |m|'s line at |phc_ns|, in floating point (a sample may come
 * long after the last one, beyond phc_to_sys's integer range). */
static double predict(const struct phc_map *m, int64_t phc_ns)
{
	double d = (double)(phc_ns - m->phc0);
	return (double)m->sys0 + d + d * (double)m->rate_q32 / Q32;
}

/* refit: least squares of the offset (sys - phc) against phc over the
 * samples, relative to the newest so that doubles keep nanoseconds. */
static void refit(struct phc_fit *f)
{
	const struct phc_sample *n = &f->s[f->last];
	double sx = 0, sy = 0, sxx = 0, sxy = 0;
	int64_t oldest = n->phc_ns;
	f->map.valid = 0;
	if (f->num < 2) {
		return;
	}
	for (int i = 0; i < f->num; i++) {
		const struct phc_sample *s = &f->s[i];
		double x = (double)(s->phc_ns - n->phc_ns);
		double y = (double)((s->sys_ns - s->phc_ns) - (n->sys_ns - n->phc_ns));
		sx += x;
		sy += y;
		sxx += x * x;
		sxy += x * y;
		if (s->phc_ns < oldest) {
			oldest = s->phc_ns;
		}
	}
	double k = f->num;
	double var = sxx - sx * sx / k;
	if (n->phc_ns - oldest < PHC_MIN_SPAN_NS || var <= 0) {
		return;
	}
	double b = (sxy - sx * sy / k) / var;
	double a = (sy - b * sx) / k;
	if (dabs(b) > PHC_MAX_PPM * 1e-6) {
		return;
	}
	f->map.phc0 = n->phc_ns;
	f->map.sys0 = n->sys_ns + dround(a);
	f->map.rate_q32 = dround(b * Q32);
	f->map.valid = 1;
}

int phc_fit_add(struct phc_fit *f, const struct phc_sample *s)
{
	if (s->width_ns < 0 || s->width_ns > PHC_MAX_WIDTH_NS) {
		return 0;
	}
	if (f->num > 0) {
		/* before the fit is valid: the newest sample's offset */
		const struct phc_sample *n = &f->s[f->last];
		struct phc_map m0 = {1, n->phc_ns, n->sys_ns, 0};
		double err = (double)s->sys_ns - predict(f->map.valid ? &f->map : &m0, s->phc_ns);
		if (dabs(err) > PHC_STEP_NS || s->phc_ns <= n->phc_ns) {
			f->num = 0;
		}
	}
	f->last = f->num == 0 ? 0 : (f->last + 1) % PHC_FIT_SAMPLES;
	f->s[f->last] = *s;
	if (f->num < PHC_FIT_SAMPLES) {
		f->num++;
	}
	refit(f);
	return 1;
}

enum phc_why phc_to_sys(int64_t *out_sys_ns, const struct phc_map *m, uint64_t phc_ns,
                        int64_t now_sys_ns)
{
	if (!m->valid) {
		return PHC_NO_FIT;
	}
	if (now_sys_ns - m->sys0 > PHC_FRESH_NS || m->sys0 - now_sys_ns > PHC_FRESH_NS) {
		return PHC_STALE;
	}
	/* |d| bounded first: the product below cannot overflow */
	if (phc_ns > INT64_MAX) {
		return PHC_INSANE;
	}
	int64_t d = (int64_t)phc_ns - m->phc0;
	if (d > 2 * PHC_FRESH_NS || d < -2 * PHC_FRESH_NS) {
		return PHC_INSANE;
	}
	int64_t sys = m->sys0 + d + d * m->rate_q32 / ((int64_t)1 << 32);
	if (sys > now_sys_ns + PHC_AHEAD_NS || sys < now_sys_ns - PHC_MAX_WAIT_NS) {
		return PHC_INSANE;
	}
	*out_sys_ns = sys;
	return PHC_OK;
}

int phc_pick_ext(struct phc_sample *out, const int64_t (*t)[3], size_t num)
{
	int found = 0;
	for (size_t i = 0; i < num; i++) {
		int64_t w = t[i][2] - t[i][0];
		if (w < 0 || (found && w >= out->width_ns)) {
			continue;
		}
		out->phc_ns = t[i][1];
		out->sys_ns = t[i][0] + w / 2;
		out->width_ns = w;
		found = 1;
	}
	return found;
}

int phc_pick_basic(struct phc_sample *out, const int64_t *t, size_t num)
{
	int found = 0;
	for (size_t i = 0; i < num; i++) {
		int64_t w = t[2 * i + 2] - t[2 * i];
		if (w < 0 || (found && w >= out->width_ns)) {
			continue;
		}
		out->phc_ns = t[2 * i + 1];
		out->sys_ns = t[2 * i] + w / 2;
		out->width_ns = w;
		found = 1;
	}
	return found;
}

/* ---- the device ---- */

/* reads per sample: the narrowest of them is kept */
#define PHC_READS 5

static int64_t ptp_ns(const struct ptp_clock_time *t)
{
	return t->sec * 1000000000 + t->nsec;
}

int phc_read(struct phc_sample *out, int fd, int *ext)
{
	if (*ext) {
		struct ptp_sys_offset_extended e;
		memset(&e, 0, sizeof(e));
		e.n_samples = PHC_READS;
		if (ioctl(fd, PTP_SYS_OFFSET_EXTENDED, &e) == 0) {
			int64_t t[PHC_READS][3];
			for (int i = 0; i < PHC_READS; i++) {
				for (int j = 0; j < 3; j++) {
					t[i][j] = ptp_ns(&e.ts[i][j]);
				}
			}
			return phc_pick_ext(out, (const int64_t(*)[3])t, PHC_READS);
		}
		if (errno != EOPNOTSUPP && errno != ENOTTY && errno != EINVAL) {
			return 0;
		}
		*ext = 0;
	}
	struct ptp_sys_offset o;
	memset(&o, 0, sizeof(o));
	o.n_samples = PHC_READS;
	if (ioctl(fd, PTP_SYS_OFFSET, &o) != 0) {
		return 0;
	}
	int64_t t[2 * PHC_READS + 1];
	for (int i = 0; i < 2 * PHC_READS + 1; i++) {
		t[i] = ptp_ns(&o.ts[i]);
	}
	return phc_pick_basic(out, t, PHC_READS);
}

/* want_rx_timestamps asks |iface|'s NIC to timestamp every received packet
 * if it timestamps none; whoever set another filter (ptp4l) is left alone. */
static void want_rx_timestamps(int sock, const char *iface, uint32_t rx_filters)
{
	struct hwtstamp_config hc;
	struct ifreq ifr;
	memset(&hc, 0, sizeof(hc));
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, iface, strnlen(iface, IF_NAMESIZE - 1));
	ifr.ifr_data = (void *)&hc;
	if (ioctl(sock, SIOCGHWTSTAMP, &ifr) != 0 || hc.rx_filter != HWTSTAMP_FILTER_NONE) {
		return;
	}
	if (!(rx_filters & (1u << HWTSTAMP_FILTER_ALL))) {
		log_warn("xdp: %s timestamps no received packets and cannot timestamp all: "
		         "hardware receive timestamps only where the driver gives them anyway",
		         iface);
		return;
	}
	hc.rx_filter = HWTSTAMP_FILTER_ALL;
	if (ioctl(sock, SIOCSHWTSTAMP, &ifr) == 0) {
		log_info("xdp: asked %s to timestamp all received packets (it timestamped none; "
		         "left so at stop)",
		         iface);
	} else {
		log_warn("xdp: cannot turn on receive timestamps on %s: %s", iface,
		         strerror(errno));
	}
}

int phc_open(const char *iface, char *path, size_t path_len)
{
	struct ethtool_ts_info info;
	struct ifreq ifr;
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0) {
		snprintf(path, path_len, "no socket: %s", strerror(errno));
		return -1;
	}
	memset(&info, 0, sizeof(info));
	memset(&ifr, 0, sizeof(ifr));
	info.cmd = ETHTOOL_GET_TS_INFO;
	memcpy(ifr.ifr_name, iface, strnlen(iface, IF_NAMESIZE - 1));
	ifr.ifr_data = (void *)&info;
	if (ioctl(sock, SIOCETHTOOL, &ifr) != 0) {
		snprintf(path, path_len, "no time stamping information: %s", strerror(errno));
		close(sock);
		return -1;
	}
	if (info.phc_index < 0) {
		snprintf(path, path_len, "no PTP hardware clock");
		close(sock);
		return -1;
	}
	want_rx_timestamps(sock, iface, info.rx_filters);
	close(sock);
	snprintf(path, path_len, "/dev/ptp%d", info.phc_index);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(path, path_len, "cannot open /dev/ptp%d: %s", info.phc_index,
		         strerror(errno));
	}
	return fd;
}
