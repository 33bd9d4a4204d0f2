/* test_ntske.c: NTS-KE records: every request outcome, boundaries,
 * truncations at every offset, builders and the client-side validator. */
#include <openssl/rand.h>

#include "proto/ntske.h"
#include "tests/unit/testutil.h"

/* rec appends one record to a byte buffer. */
static size_t rec(uint8_t *buf, size_t off, uint16_t type, const uint8_t *body, size_t len)
{
	buf[off++] = (uint8_t)(type >> 8);
	buf[off++] = (uint8_t)type;
	buf[off++] = (uint8_t)(len >> 8);
	buf[off++] = (uint8_t)len;
	if (len > 0) {
		memcpy(buf + off, body, len);
	}
	return off + len;
}

#define C NTSKE_CRITICAL
static const uint8_t np0[] = {0, 0};
static const uint8_t aead_15_30[] = {0, 30, 0, 15};

static enum ntske_outcome parse(const uint8_t *buf, size_t len, struct ntske_request *req)
{
	CBS cbs;
	CBS_init(&cbs, buf, len);
	ntske_parse_request(req, &cbs);
	return req->outcome;
}

static size_t valid_request(uint8_t *buf)
{
	size_t n = 0;
	n = rec(buf, n, C | NTSKE_REC_NEXT_PROTO, np0, 2);
	n = rec(buf, n, C | NTSKE_REC_AEAD, aead_15_30, 4);
	n = rec(buf, n, NTSKE_REC_COMPLIANT_GCM_SIV, NULL, 0);
	n = rec(buf, n, C | NTSKE_REC_END, NULL, 0);
	return n;
}

static void test_outcomes(void)
{
	uint8_t buf[256];
	struct ntske_request req;
	size_t n;

	n = valid_request(buf);
	CHECK_EQ(parse(buf, n, &req), NTSKE_OK);
	CHECK(req.ntpv4_offered && req.compliant_gcm_siv);
	CHECK_EQ(req.num_aeads, 2);
	CHECK_EQ(req.aeads[0], 30);
	CHECK_EQ(req.aeads[1], 15);

	/* unknown non-critical records are ignored, unknown critical -> Error 0 */
	n = 0;
	n = rec(buf, n, 0x4321, (const uint8_t *)"xx", 2);
	n = rec(buf, n, C | NTSKE_REC_NEXT_PROTO, np0, 2);
	n = rec(buf, n, C | NTSKE_REC_AEAD, aead_15_30, 4);
	n = rec(buf, n, C | NTSKE_REC_END, NULL, 0);
	CHECK_EQ(parse(buf, n, &req), NTSKE_OK);
	n = 0;
	n = rec(buf, n, C | 0x4321, NULL, 0);
	n = rec(buf, n, C | NTSKE_REC_NEXT_PROTO, np0, 2);
	n = rec(buf, n, C | NTSKE_REC_AEAD, aead_15_30, 4);
	n = rec(buf, n, C | NTSKE_REC_END, NULL, 0);
	CHECK_EQ(parse(buf, n, &req), NTSKE_FAIL_UNRECOGNIZED_CRITICAL);
	/* unknown critical wins over a bad request */
	n = 0;
	n = rec(buf, n, C | 0x4321, NULL, 0);
	n = rec(buf, n, C | NTSKE_REC_END, NULL, 0);
	CHECK_EQ(parse(buf, n, &req), NTSKE_FAIL_UNRECOGNIZED_CRITICAL);

	/* missing Next Protocol, missing AEAD, duplicates -> Error 1 */
	n = 0;
	n = rec(buf, n, C | NTSKE_REC_AEAD, aead_15_30, 4);
	n = rec(buf, n, C | NTSKE_REC_END, NULL, 0);
	CHECK_EQ(parse(buf, n, &req), NTSKE_FAIL_BAD_REQUEST);
	n = 0;
	n = rec(buf, n, C | NTSKE_REC_NEXT_PROTO, np0, 2);
	n = rec(buf, n, C | NTSKE_REC_END, NULL, 0);
	CHECK_EQ(parse(buf, n, &req), NTSKE_FAIL_BAD_REQUEST);
	n = 0;
	n = rec(buf, n, C | NTSKE_REC_NEXT_PROTO, np0, 2);
	n = rec(buf, n, C | NTSKE_REC_NEXT_PROTO, np0, 2);
	n = rec(buf, n, C | NTSKE_REC_AEAD, aead_15_30, 4);
	n = rec(buf, n, C | NTSKE_REC_END, NULL, 0);
	CHECK_EQ(parse(buf, n, &req), NTSKE_FAIL_BAD_REQUEST);
	n = 0;
	n = rec(buf, n, C | NTSKE_REC_NEXT_PROTO, np0, 2);
	n = rec(buf, n, C | NTSKE_REC_AEAD, aead_15_30, 4);
	n = rec(buf, n, NTSKE_REC_AEAD, aead_15_30, 4);
	n = rec(buf, n, C | NTSKE_REC_END, NULL, 0);
	CHECK_EQ(parse(buf, n, &req), NTSKE_FAIL_BAD_REQUEST);
	/* odd-length lists */
	n = 0;
	n = rec(buf, n, C | NTSKE_REC_NEXT_PROTO, np0, 1);
	n = rec(buf, n, C | NTSKE_REC_AEAD, aead_15_30, 4);
	n = rec(buf, n, C | NTSKE_REC_END, NULL, 0);
	CHECK_EQ(parse(buf, n, &req), NTSKE_FAIL_BAD_REQUEST);
	n = 0;
	n = rec(buf, n, C | NTSKE_REC_NEXT_PROTO, np0, 2);
	n = rec(buf, n, C | NTSKE_REC_AEAD, aead_15_30, 3);
	n = rec(buf, n, C | NTSKE_REC_END, NULL, 0);
	CHECK_EQ(parse(buf, n, &req), NTSKE_FAIL_BAD_REQUEST);
	/* Error and Warning records from a client */
	n = 0;
	n = rec(buf, n, C | NTSKE_REC_NEXT_PROTO, np0, 2);
	n = rec(buf, n, C | NTSKE_REC_AEAD, aead_15_30, 4);
	n = rec(buf, n, C | NTSKE_REC_ERROR, np0, 2);
	n = rec(buf, n, C | NTSKE_REC_END, NULL, 0);
	CHECK_EQ(parse(buf, n, &req), NTSKE_FAIL_BAD_REQUEST);
	/* End of Message with a body, or without the critical bit */
	n = 0;
	n = rec(buf, n, C | NTSKE_REC_NEXT_PROTO, np0, 2);
	n = rec(buf, n, C | NTSKE_REC_AEAD, aead_15_30, 4);
	n = rec(buf, n, C | NTSKE_REC_END, np0, 2);
	CHECK_EQ(parse(buf, n, &req), NTSKE_FAIL_BAD_REQUEST);
	n = 0;
	n = rec(buf, n, C | NTSKE_REC_NEXT_PROTO, np0, 2);
	n = rec(buf, n, C | NTSKE_REC_AEAD, aead_15_30, 4);
	n = rec(buf, n, NTSKE_REC_END, NULL, 0);
	CHECK_EQ(parse(buf, n, &req), NTSKE_FAIL_BAD_REQUEST);
	/* no End of Message; bytes after it; a record running past the data */
	n = 0;
	n = rec(buf, n, C | NTSKE_REC_NEXT_PROTO, np0, 2);
	n = rec(buf, n, C | NTSKE_REC_AEAD, aead_15_30, 4);
	CHECK_EQ(parse(buf, n, &req), NTSKE_FAIL_BAD_REQUEST);
	n = valid_request(buf);
	buf[n] = 0;
	CHECK_EQ(parse(buf, n + 1, &req), NTSKE_FAIL_BAD_REQUEST);
	n = valid_request(buf);
	buf[3] = 3; /* Next Protocol body claims 3 bytes: swallows the AEAD header */
	CHECK(parse(buf, n, &req) != NTSKE_OK);
	n = valid_request(buf);
	buf[9] = 200; /* AEAD body runs past the end */
	CHECK_EQ(parse(buf, n, &req), NTSKE_FAIL_BAD_REQUEST);

	/* Next Protocol without NTPv4 parses; the server answers with an
	 * empty Next Protocol record */
	static const uint8_t np7[] = {0, 7};
	n = 0;
	n = rec(buf, n, C | NTSKE_REC_NEXT_PROTO, np7, 2);
	n = rec(buf, n, C | NTSKE_REC_AEAD, aead_15_30, 4);
	n = rec(buf, n, C | NTSKE_REC_END, NULL, 0);
	CHECK_EQ(parse(buf, n, &req), NTSKE_OK);
	CHECK(!req.ntpv4_offered);

	/* empty input */
	CHECK_EQ(parse(buf, 0, &req), NTSKE_FAIL_BAD_REQUEST);
}

static void test_choose_aead(void)
{
	struct ntske_request req = {0};
	const uint16_t pref_30_15[] = {30, 15}, pref_15_30[] = {15, 30}, pref_17[] = {17};

	req.num_aeads = 2;
	req.aeads[0] = 30;
	req.aeads[1] = 15;
	/* old chrony: offers 30 and 15 without record 1024 -> 15 */
	CHECK_EQ(ntske_choose_aead(&req, pref_30_15, 2), 15);
	/* chrony >= 4.4: with 1024 -> 30 */
	req.compliant_gcm_siv = 1;
	CHECK_EQ(ntske_choose_aead(&req, pref_30_15, 2), 30);
	CHECK_EQ(ntske_choose_aead(&req, pref_15_30, 2), 15);
	/* a client offering only 30 gets the RFC context */
	req.compliant_gcm_siv = 0;
	req.num_aeads = 1;
	CHECK_EQ(ntske_choose_aead(&req, pref_30_15, 2), 30);
	/* no common AEAD, unsupported ids never chosen */
	req.aeads[0] = 16;
	CHECK_EQ(ntske_choose_aead(&req, pref_30_15, 2), 0);
	const uint16_t pref_16[] = {16};
	CHECK_EQ(ntske_choose_aead(&req, pref_16, 1), 0);
	req.aeads[0] = 17;
	CHECK_EQ(ntske_choose_aead(&req, pref_17, 1), 17);
	req.num_aeads = 0;
	CHECK_EQ(ntske_choose_aead(&req, pref_30_15, 2), 0);
}

static void test_truncations(void)
{
	uint8_t buf[256];
	struct ntske_request req;
	size_t n = valid_request(buf), msg_len;

	CHECK_EQ(ntske_stream_status(buf, n, &msg_len), NTSKE_STREAM_COMPLETE);
	CHECK_EQ(msg_len, n);
	for (size_t l = 0; l < n; l++) {
		CHECK_EQ(ntske_stream_status(buf, l, &msg_len), NTSKE_STREAM_NEED_MORE);
		CHECK(parse(buf, l, &req) != NTSKE_OK);
	}
	/* a complete message followed by junk: the message length excludes it */
	buf[n] = 0xff;
	CHECK_EQ(ntske_stream_status(buf, n + 1, &msg_len), NTSKE_STREAM_COMPLETE);
	CHECK_EQ(msg_len, n);
	/* random garbage never parses as a request with both records */
	for (int i = 0; i < 20000; i++) {
		uint8_t r[64];
		size_t len = (size_t)(i % 64);
		RAND_bytes(r, len);
		(void)ntske_stream_status(r, len, &msg_len);
		(void)parse(r, len, &req);
	}
}

static void test_large_request(void)
{
	/* 64 KiB of unknown non-critical records, then a valid request */
	static uint8_t big[70000];
	static const uint8_t filler[1000] = {0};
	struct ntske_request req;
	size_t n = 0;
	while (n < 65536) {
		n = rec(big, n, 0x1234, filler, sizeof(filler));
	}
	n = rec(big, n, C | NTSKE_REC_NEXT_PROTO, np0, 2);
	/* a long AEAD list: only the first NTSKE_MAX_AEADS are kept */
	uint8_t many[200];
	for (int i = 0; i < 100; i++) {
		many[2 * i] = 0;
		many[2 * i + 1] = (uint8_t)(100 + i);
	}
	many[199] = 15; /* 15 last: past what is stored */
	n = rec(big, n, C | NTSKE_REC_AEAD, many, sizeof(many));
	n = rec(big, n, C | NTSKE_REC_END, NULL, 0);
	CHECK_EQ(parse(big, n, &req), NTSKE_OK);
	CHECK_EQ(req.num_aeads, NTSKE_MAX_AEADS);
	const uint16_t pref[] = {15};
	CHECK_EQ(ntske_choose_aead(&req, pref, 1), 0);
}

static void test_builders(void)
{
	uint8_t buf[2048], cookies[8][102];
	const uint16_t offer[] = {30, 15};
	struct ntske_response resp = {0};
	struct ntske_response_view view;
	size_t len;
	CBB cbb;
	CBS cbs;

	/* client request -> server parse */
	CBB_init_fixed(&cbb, buf, sizeof(buf));
	CHECK(ntske_build_request(&cbb, offer, 2, 1));
	CHECK(CBB_finish(&cbb, NULL, &len));
	struct ntske_request req;
	CHECK_EQ(parse(buf, len, &req), NTSKE_OK);
	CHECK(req.compliant_gcm_siv && req.ntpv4_offered && req.num_aeads == 2);

	/* server response with 8 cookies, server and port -> client parse */
	RAND_bytes(&cookies[0][0], sizeof(cookies));
	resp.ntpv4 = 1;
	resp.aead = 30;
	resp.echo_compliant = 1;
	resp.num_cookies = 8;
	for (int i = 0; i < 8; i++) {
		resp.cookies[i] = cookies[i];
		resp.cookie_lens[i] = sizeof(cookies[i]);
	}
	resp.server = "ntp.example.net";
	resp.port = 4123;
	CBB_init_fixed(&cbb, buf, sizeof(buf));
	CHECK(ntske_build_response(&cbb, &resp));
	CHECK(CBB_finish(&cbb, NULL, &len));
	CHECK_EQ(len, 4 + 2 + 4 + 2 + 4 + 8 * (4 + 102) + 4 + 15 + 4 + 2 + 4);
	CBS_init(&cbs, buf, len);
	CHECK(ntske_parse_response(&view, &cbs, offer, 2));
	CHECK_EQ(view.result, NTSKE_RESP_OK);
	CHECK_EQ(view.aead, 30);
	CHECK(view.compliant_gcm_siv);
	CHECK_EQ(view.num_cookies, 8);
	CHECK_MEM(CBS_data(&view.cookies[7]), CBS_len(&view.cookies[7]), cookies[7], 102);
	CHECK(view.has_server && CBS_len(&view.server) == 15);
	CHECK_EQ(view.port, 4123);
	/* every truncation of the response is refused */
	for (size_t l = 0; l < len; l++) {
		CBS_init(&cbs, buf, l);
		CHECK(!ntske_parse_response(&view, &cbs, offer, 2));
	}
	/* an AEAD the client did not offer */
	const uint16_t only15[] = {15};
	CBS_init(&cbs, buf, len);
	CHECK(!ntske_parse_response(&view, &cbs, only15, 1));
	CHECK_EQ(view.result, NTSKE_RESP_NO_AEAD);
	/* an AEAD the client offered but cannot use (NTPsec's server honours
	 * 16, AES-SIV-CMAC-384, which we do not implement): refused, never a
	 * session with a zero-length key */
	resp.aead = AEAD_AES_SIV_CMAC_384;
	resp.echo_compliant = 0;
	const uint16_t with16[] = {AEAD_AES_SIV_CMAC_384, 15};
	CBB_init_fixed(&cbb, buf, sizeof(buf));
	CHECK(ntske_build_response(&cbb, &resp));
	CHECK(CBB_finish(&cbb, NULL, &len));
	CBS_init(&cbs, buf, len);
	CHECK(!ntske_parse_response(&view, &cbs, with16, 2));
	CHECK_EQ(view.result, NTSKE_RESP_NO_AEAD);
	/* the same response with AEAD 17, which we do implement, is fine */
	resp.aead = AEAD_AES_SIV_CMAC_512;
	const uint16_t with17[] = {AEAD_AES_SIV_CMAC_512, 15};
	CBB_init_fixed(&cbb, buf, sizeof(buf));
	CHECK(ntske_build_response(&cbb, &resp));
	CHECK(CBB_finish(&cbb, NULL, &len));
	CBS_init(&cbs, buf, len);
	CHECK(ntske_parse_response(&view, &cbs, with17, 2));
	CHECK_EQ(view.aead, AEAD_AES_SIV_CMAC_512);

	/* no common AEAD: empty AEAD record, no cookies even if given */
	resp.aead = 0;
	resp.echo_compliant = 0;
	CBB_init_fixed(&cbb, buf, sizeof(buf));
	CHECK(ntske_build_response(&cbb, &resp));
	CHECK(CBB_finish(&cbb, NULL, &len));
	CHECK_EQ(len, 6 + 4 + 4);
	CBS_init(&cbs, buf, len);
	CHECK(!ntske_parse_response(&view, &cbs, offer, 2));
	CHECK_EQ(view.result, NTSKE_RESP_NO_AEAD);
	CHECK_EQ(view.num_cookies, 0);

	/* no NTPv4: empty Next Protocol */
	resp.ntpv4 = 0;
	CBB_init_fixed(&cbb, buf, sizeof(buf));
	CHECK(ntske_build_response(&cbb, &resp));
	CHECK(CBB_finish(&cbb, NULL, &len));
	CBS_init(&cbs, buf, len);
	CHECK(!ntske_parse_response(&view, &cbs, offer, 2));
	CHECK_EQ(view.result, NTSKE_RESP_NO_NTPV4);

	/* errors */
	CBB_init_fixed(&cbb, buf, sizeof(buf));
	CHECK(ntske_build_error(&cbb, NTSKE_ERR_BAD_REQUEST));
	CHECK(CBB_finish(&cbb, NULL, &len));
	static const uint8_t err1[] = {0x80, 2, 0, 2, 0, 1, 0x80, 0, 0, 0};
	CHECK_MEM(buf, len, err1, sizeof(err1));
	CBS_init(&cbs, buf, len);
	CHECK(!ntske_parse_response(&view, &cbs, offer, 2));
	CHECK_EQ(view.result, NTSKE_RESP_ERROR);
	CHECK_EQ(view.error_code, 1);

	/* too many cookies, a fixed buffer that is too small */
	resp.ntpv4 = 1;
	resp.aead = 15;
	resp.num_cookies = 9;
	CBB_init_fixed(&cbb, buf, sizeof(buf));
	CHECK(!ntske_build_response(&cbb, &resp));
	CBB_cleanup(&cbb);
	resp.num_cookies = 8;
	CBB_init_fixed(&cbb, buf, 100);
	CHECK(!ntske_build_response(&cbb, &resp));
	CBB_cleanup(&cbb);

	/* exporter context */
	uint8_t ctx[5];
	static const uint8_t c2s_15[] = {0, 0, 0, 15, 0}, s2c_30[] = {0, 0, 0, 30, 1};
	ntske_exporter_context(ctx, 0, 15, 0);
	CHECK_MEM(ctx, 5, c2s_15, 5);
	ntske_exporter_context(ctx, 0, 30, 1);
	CHECK_MEM(ctx, 5, s2c_30, 5);
}

int main(void)
{
	test_outcomes();
	test_choose_aead();
	test_truncations();
	test_large_request();
	test_builders();
	return test_summary("ntske");
}
