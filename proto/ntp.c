/*
 * ntp.c: NTP header, timestamps and extension fields (see ntp.h).
 */
#include "proto/ntp.h"

int ntp_header_parse(struct ntp_header *out, CBS *in)
{
	uint8_t b0, stratum, poll, precision;

	if (!CBS_get_u8(in, &b0) || !CBS_get_u8(in, &stratum) || !CBS_get_u8(in, &poll) ||
	    !CBS_get_u8(in, &precision) || !CBS_get_u32(in, &out->root_delay) ||
	    !CBS_get_u32(in, &out->root_dispersion) || !CBS_get_u32(in, &out->refid) ||
	    !CBS_get_u64(in, &out->reference_ts) || !CBS_get_u64(in, &out->origin_ts) ||
	    !CBS_get_u64(in, &out->receive_ts) || !CBS_get_u64(in, &out->transmit_ts)) {
		return 0;
	}
	out->leap = b0 >> 6;
	out->version = (b0 >> 3) & 7;
	out->mode = b0 & 7;
	out->stratum = stratum;
	out->poll = (int8_t)poll;
	out->precision = (int8_t)precision;
	return 1;
}

int ntp_header_build(struct wbuf *out, const struct ntp_header *h)
{
	uint8_t b0 = (uint8_t)(((h->leap & 3) << 6) | ((h->version & 7) << 3) | (h->mode & 7));
	return wbuf_u8(out, b0) && wbuf_u8(out, h->stratum) && wbuf_u8(out, (uint8_t)h->poll) &&
	       wbuf_u8(out, (uint8_t)h->precision) && wbuf_u32(out, h->root_delay) &&
	       wbuf_u32(out, h->root_dispersion) && wbuf_u32(out, h->refid) &&
	       wbuf_u64(out, h->reference_ts) && wbuf_u64(out, h->origin_ts) &&
	       wbuf_u64(out, h->receive_ts) && wbuf_u64(out, h->transmit_ts);
}

uint64_t ntp_ts_from_timespec(const struct timespec *ts)
{
	/* Unix seconds to NTP seconds, wrapping into the current era. */
	uint32_t sec = (uint32_t)((uint64_t)ts->tv_sec + NTP_UNIX_OFFSET);
	/* nanoseconds to a 32-bit binary fraction: ns * 2^32 / 1e9 */
	uint32_t frac = (uint32_t)(((uint64_t)ts->tv_nsec << 32) / 1000000000u);
	return ((uint64_t)sec << 32) | frac;
}

void ntp_ts_to_timespec(struct timespec *out, uint64_t ntp_ts)
{
	uint64_t sec = ntp_ts >> 32;
	if (sec < 0x80000000u) {
		sec += 1ULL << 32; /* era 1 */
	}
	out->tv_sec = (time_t)(sec - NTP_UNIX_OFFSET);
	out->tv_nsec = (long)(((ntp_ts & 0xffffffffu) * 1000000000u) >> 32);
}

double ntp_ts_diff(uint64_t a, uint64_t b)
{
	int64_t d = (int64_t)(a - b);
	return (double)d / 4294967296.0;
}

uint32_t ntp_short_from_double(double seconds)
{
	if (!(seconds > 0.0)) {
		return 0;
	}
	if (seconds >= 65535.99998) {
		return 0xffffffffu;
	}
	return (uint32_t)(seconds * 65536.0 + 0.5);
}

double ntp_short_to_double(uint32_t s)
{
	return (double)s / 65536.0;
}

int ntp_ef_next(CBS *in, struct ntp_ef *out)
{
	CBS copy = *in;
	uint16_t type, len;

	if (!CBS_get_u16(&copy, &type) || !CBS_get_u16(&copy, &len) || len < NTP_EF_MIN_LEN ||
	    len % 4 != 0 || !CBS_get_bytes(&copy, &out->body, (size_t)len - 4)) {
		return 0;
	}
	out->type = type;
	out->len = len;
	*in = copy;
	return 1;
}

size_t ntp_ef_size(size_t body_len)
{
	size_t len = 4 + ((body_len + 3) & ~(size_t)3);
	return len < NTP_EF_MIN_LEN ? NTP_EF_MIN_LEN : len;
}

int ntp_ef_add_header(struct wbuf *out, uint16_t type, size_t body_len)
{
	size_t len = ntp_ef_size(body_len);
	return len <= 0xffff && wbuf_u16(out, type) && wbuf_u16(out, (uint16_t)len);
}

int ntp_ef_add_padding(struct wbuf *out, size_t body_len)
{
	return wbuf_zeros(out, ntp_ef_size(body_len) - 4 - body_len);
}
