/*
 * ntp.h: the NTPv4 packet header (RFC 5905 s7.3), timestamps, and the
 * RFC 7822 extension-field walker. Pure functions over CBS/CBB.
 */
#ifndef NTS_NTP_H
#define NTS_NTP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/bytestring.h>

#include "common/compiler.h"
#include "common/wbuf.h"

#define NTP_HEADER_LEN 48
#define NTP_EF_MIN_LEN 16
/* NTP_MAX_PACKET: the largest request the responder accepts (larger ones
 * are dropped as too_large) and the size of every packet buffer. The
 * largest NTS request a conforming client can send within what the parser
 * accepts is 48 (header) + 68 (a 64-byte UID) + 8 x 260 (a cookie and 7
 * placeholders of NTS_COOKIE_MAX bytes) + 40 (authenticator with a 16-byte
 * nonce and no encrypted fields) = 2236 bytes; our own largest (AEAD 17,
 * 164-byte cookies, 32-byte UID, 7 placeholders) is 1468. 4096 leaves room
 * for encrypted extension fields and padding a client may add, and costs
 * 2 x 4 KiB per receive slot. */
#define NTP_MAX_PACKET 4096

#define NTP_MODE_SYMMETRIC_ACTIVE  1
#define NTP_MODE_SYMMETRIC_PASSIVE 2
#define NTP_MODE_CLIENT            3
#define NTP_MODE_SERVER            4
#define NTP_MODE_BROADCAST         5
#define NTP_MODE_CONTROL           6
#define NTP_MODE_PRIVATE           7

#define NTP_LI_NONE   0
#define NTP_LI_INS    1
#define NTP_LI_DEL    2
#define NTP_LI_UNSYNC 3

#define NTP_VERSION        4
#define NTP_STRATUM_UNSYNC 16

/* Seconds between the NTP era-0 epoch (1900) and the Unix epoch (1970). */
#define NTP_UNIX_OFFSET 2208988800ULL

#define NTP_REFID(a, b, c, d)                                                                      \
	(((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))
#define NTP_KISS_NTSN NTP_REFID('N', 'T', 'S', 'N')
#define NTP_KISS_RATE NTP_REFID('R', 'A', 'T', 'E')
#define NTP_KISS_DENY NTP_REFID('D', 'E', 'N', 'Y')

struct ntp_header {
	uint8_t leap;    /* 2 bits */
	uint8_t version; /* 3 bits */
	uint8_t mode;    /* 3 bits */
	uint8_t stratum;
	int8_t poll;
	int8_t precision;
	uint32_t root_delay; /* NTP short format, 16.16 */
	uint32_t root_dispersion;
	uint32_t refid;
	uint64_t reference_ts; /* NTP timestamp format, 32.32 */
	uint64_t origin_ts;
	uint64_t receive_ts;
	uint64_t transmit_ts;
};

/* ntp_header_parse reads the 48-byte header from |in|. */
int ntp_header_parse(struct ntp_header *out, CBS *in) NTS_WUR;

/* ntp_header_build appends the 48-byte header to |out|. */
int ntp_header_build(struct wbuf *out, const struct ntp_header *h) NTS_WUR;

/*
 * Timestamps. An NTP timestamp names a second within a 136-year era. We
 * map era 0 to 1900-2036 and era 1 to 2036-2172 by a pivot: NTP seconds
 * below 2^31 (i.e. before 1968-01-20 in era 0) are taken to be in era 1.
 * This is correct from 1968 to 2104. Differences between two timestamps
 * (offsets, delays) are computed modulo 2^64 and are era-independent.
 */
uint64_t ntp_ts_from_timespec(const struct timespec *ts);
void ntp_ts_to_timespec(struct timespec *out, uint64_t ntp_ts);
/* ntp_ts_diff returns a - b in seconds (|a - b| < 68 years). */
double ntp_ts_diff(uint64_t a, uint64_t b);
uint32_t ntp_short_from_double(double seconds); /* saturating */
double ntp_short_to_double(uint32_t s);

struct ntp_ef {
	uint16_t type;
	size_t len; /* the whole field, header included */
	CBS body;   /* value and padding: len - 4 bytes */
};

/* ntp_ef_next reads one extension field from |in|: a length that is a
 * multiple of 4, at least 16 and within |in|. Returns 0, leaving |in|
 * unchanged, if the bytes do not form one. */
int ntp_ef_next(CBS *in, struct ntp_ef *out) NTS_WUR;

/* ntp_ef_add_header appends an EF header for a body of |body_len| bytes
 * (the field length is 4 + body_len rounded up to 4, at least 16); the
 * caller then appends the body and calls ntp_ef_add_padding. */
int ntp_ef_add_header(struct wbuf *out, uint16_t type, size_t body_len) NTS_WUR;
int ntp_ef_add_padding(struct wbuf *out, size_t body_len) NTS_WUR;
/* ntp_ef_size returns the field length for a body of |body_len| bytes. */
size_t ntp_ef_size(size_t body_len);

#endif
