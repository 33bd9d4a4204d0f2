/* test_ntp.c: NTP header round trips, timestamps across eras, short
 * format, and the extension-field walker at every boundary. */
#include <openssl/rand.h>

#include "proto/ntp.h"
#include "tests/unit/testutil.h"

static void test_header(void)
{
	struct ntp_header h = {.leap = 3,
	                       .version = 4,
	                       .mode = 3,
	                       .stratum = 2,
	                       .poll = -6,
	                       .precision = -20,
	                       .root_delay = 0x00010002,
	                       .root_dispersion = 7,
	                       .refid = NTP_REFID('G', 'P', 'S', 0),
	                       .reference_ts = 1,
	                       .origin_ts = 0x0123456789abcdefULL,
	                       .receive_ts = ~0ULL,
	                       .transmit_ts = 0x8000000000000000ULL};
	struct ntp_header g;
	uint8_t buf[64];
	size_t len = 0;
	struct wbuf w;
	CBS cbs;

	wbuf_init(&w, buf, sizeof(buf));
	CHECK(ntp_header_build(&w, &h) && ((len = w.len), !w.failed));
	CHECK_EQ(len, NTP_HEADER_LEN);
	CHECK_EQ(buf[0], 0xe3); /* 11 100 011 */
	CHECK_EQ(buf[2], 0xfa);
	CBS_init(&cbs, buf, len);
	CHECK(ntp_header_parse(&g, &cbs));
	CHECK(g.leap == h.leap && g.version == h.version && g.mode == h.mode &&
	      g.stratum == h.stratum && g.poll == h.poll && g.precision == h.precision);
	CHECK(g.root_delay == h.root_delay && g.root_dispersion == h.root_dispersion &&
	      g.refid == h.refid);
	CHECK(g.reference_ts == h.reference_ts && g.origin_ts == h.origin_ts &&
	      g.receive_ts == h.receive_ts && g.transmit_ts == h.transmit_ts);
	CHECK_EQ(CBS_len(&cbs), 0);
	/* one byte short */
	CBS_init(&cbs, buf, NTP_HEADER_LEN - 1);
	CHECK(!ntp_header_parse(&g, &cbs));
	/* a fixed buffer one byte short */
	wbuf_init(&w, buf, NTP_HEADER_LEN - 1);
	CHECK(!ntp_header_build(&w, &h));
}

static void test_timestamps(void)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = 0}, back;
	uint64_t t;

	/* Unix epoch = NTP 2208988800 */
	t = ntp_ts_from_timespec(&ts);
	CHECK_EQ(t >> 32, 2208988800u);
	ntp_ts_to_timespec(&back, t);
	CHECK_EQ(back.tv_sec, 0);
	/* half a second is 0x80000000 */
	ts.tv_nsec = 500000000;
	CHECK_EQ(ntp_ts_from_timespec(&ts) & 0xffffffffu, 0x80000000u);
	/* era 1: 2036-02-07T06:28:16Z is NTP era-1 second 0 */
	ts.tv_sec = 2085978496;
	ts.tv_nsec = 999999999;
	t = ntp_ts_from_timespec(&ts);
	CHECK_EQ(t >> 32, 0);
	ntp_ts_to_timespec(&back, t);
	CHECK_EQ(back.tv_sec, 2085978496);
	CHECK(back.tv_nsec >= 999999990);
	/* the second before, in era 0 */
	ts.tv_sec = 2085978495;
	t = ntp_ts_from_timespec(&ts);
	CHECK_EQ(t >> 32, 0xffffffffu);
	ntp_ts_to_timespec(&back, t);
	CHECK_EQ(back.tv_sec, 2085978495);
	/* differences work across the era boundary */
	struct timespec a = {.tv_sec = 2085978495, .tv_nsec = 0}, b = {.tv_sec = 2085978497};
	CHECK(ntp_ts_diff(ntp_ts_from_timespec(&b), ntp_ts_from_timespec(&a)) == 2.0);
	CHECK(ntp_ts_diff(ntp_ts_from_timespec(&a), ntp_ts_from_timespec(&b)) == -2.0);
	/* round trips of random times 1970..2100 to the nanosecond (+-1) */
	for (int i = 0; i < 10000; i++) {
		uint32_t r[2];
		RAND_bytes((uint8_t *)r, sizeof(r));
		ts.tv_sec = (time_t)(r[0] % 4102444800u);
		ts.tv_nsec = (long)(r[1] % 1000000000u);
		ntp_ts_to_timespec(&back, ntp_ts_from_timespec(&ts));
		long dn =
		    (long)(back.tv_sec - ts.tv_sec) * 1000000000L + (back.tv_nsec - ts.tv_nsec);
		CHECK(back.tv_sec == ts.tv_sec || back.tv_sec == ts.tv_sec - 1);
		CHECK(dn <= 0 && dn >= -1);
	}
	/* short format */
	CHECK_EQ(ntp_short_from_double(1.0), 0x00010000u);
	CHECK_EQ(ntp_short_from_double(0.5), 0x00008000u);
	CHECK_EQ(ntp_short_from_double(-1.0), 0);
	CHECK_EQ(ntp_short_from_double(1e9), 0xffffffffu);
	CHECK(ntp_short_to_double(0x00018000u) == 1.5);
}

static size_t ef(uint8_t *buf, uint16_t type, uint16_t len)
{
	buf[0] = (uint8_t)(type >> 8);
	buf[1] = (uint8_t)type;
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)len;
	return len;
}

static void test_ef_walker(void)
{
	uint8_t buf[256] = {0};
	struct ntp_ef e;
	CBS cbs;

	/* lengths 0, 4, 12, 15, 17: never a field */
	static const uint16_t bad[] = {0, 4, 8, 12, 15, 17, 18, 19};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ef(buf, 0x1234, bad[i]);
		CBS_init(&cbs, buf, 64);
		CHECK(!ntp_ef_next(&cbs, &e));
		CHECK_EQ(CBS_len(&cbs), 64); /* untouched */
	}
	/* 16 is the minimum; exactly at the end, one past the end */
	ef(buf, 0x0104, 16);
	CBS_init(&cbs, buf, 16);
	CHECK(ntp_ef_next(&cbs, &e));
	CHECK_EQ(e.type, 0x0104);
	CHECK_EQ(e.len, 16);
	CHECK_EQ(CBS_len(&e.body), 12);
	CHECK_EQ(CBS_len(&cbs), 0);
	CBS_init(&cbs, buf, 15);
	CHECK(!ntp_ef_next(&cbs, &e));
	ef(buf, 0x0104, 20);
	CBS_init(&cbs, buf, 19);
	CHECK(!ntp_ef_next(&cbs, &e));
	CBS_init(&cbs, buf, 20);
	CHECK(ntp_ef_next(&cbs, &e) && CBS_len(&cbs) == 0);
	/* header split at every byte */
	for (size_t l = 0; l < 4; l++) {
		CBS_init(&cbs, buf, l);
		CHECK(!ntp_ef_next(&cbs, &e));
	}
	/* two fields back to back */
	size_t off = ef(buf, 1, 16);
	ef(buf + off, 2, 24);
	CBS_init(&cbs, buf, 40);
	CHECK(ntp_ef_next(&cbs, &e) && e.type == 1);
	CHECK(ntp_ef_next(&cbs, &e) && e.type == 2 && e.len == 24);
	CHECK(!ntp_ef_next(&cbs, &e));
	/* builder sizes */
	CHECK_EQ(ntp_ef_size(0), 16);
	CHECK_EQ(ntp_ef_size(12), 16);
	CHECK_EQ(ntp_ef_size(13), 20);
	CHECK_EQ(ntp_ef_size(100), 104);
	/* random bytes never make the walker read past the end */
	for (int i = 0; i < 20000; i++) {
		uint8_t r[80];
		size_t len = (size_t)(i % 80);
		RAND_bytes(r, len);
		CBS_init(&cbs, r, len);
		while (ntp_ef_next(&cbs, &e)) {
			CHECK(e.len >= 16 && e.len % 4 == 0 && CBS_len(&e.body) == e.len - 4);
		}
	}
}

int main(void)
{
	test_header();
	test_timestamps();
	test_ef_walker();
	return test_summary("ntp");
}
