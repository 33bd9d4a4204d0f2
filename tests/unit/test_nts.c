/* test_nts.c: the NTS request parser (every rejection), responses of
 * exactly the request's length, NAKs, and client <-> server round trips
 * with the real AEADs. */
#include <openssl/rand.h>

#include "proto/cookie.h"
#include "proto/nts.h"
#include "tests/unit/testutil.h"

static const struct ntp_header client_hdr = {
    .version = 4, .mode = NTP_MODE_CLIENT, .transmit_ts = 0x1122334455667788ULL};

struct session {
	uint16_t aead;
	aead_ctx c2s, s2c;
	uint8_t uid[32];
	uint8_t cookie[NTS_COOKIE_MAX];
	size_t cookie_len;
};

static void session_init(struct session *s, uint16_t aead, size_t cookie_len)
{
	uint8_t k[AEAD_MAX_KEY_LEN];
	s->aead = aead;
	RAND_bytes(k, sizeof(k));
	CHECK(aead_ctx_init(&s->c2s, aead, k, aead_key_len(aead)));
	RAND_bytes(k, sizeof(k));
	CHECK(aead_ctx_init(&s->s2c, aead, k, aead_key_len(aead)));
	RAND_bytes(s->uid, sizeof(s->uid));
	RAND_bytes(s->cookie, cookie_len);
	s->cookie_len = cookie_len;
}

static void session_cleanup(struct session *s)
{
	aead_ctx_cleanup(&s->c2s);
	aead_ctx_cleanup(&s->s2c);
}

static size_t build_req(uint8_t *buf, size_t cap, struct session *s, size_t num_ph)
{
	uint8_t nonce[16];
	size_t len = 0;
	RAND_bytes(nonce, sizeof(nonce));
	CHECK(nts_build_request(buf, cap, &len, &client_hdr, s->uid, sizeof(s->uid), s->cookie,
	                        s->cookie_len, num_ph, &s->c2s, nonce, aead_nonce_len(s->aead)));
	return len;
}

/* serve does what the responder does after the keyring: authenticate the
 * request with C2S and answer with 1 + N cookies (random bytes here). */
static int serve(uint8_t *resp, size_t *resp_len, const uint8_t *req_buf, size_t req_len,
                 struct session *s)
{
	struct nts_request req;
	uint8_t plain[NTS_PLAIN_MAX], dec[NTP_MAX_PACKET], nonce[16];
	size_t dec_len, num;
	struct wbuf w;

	if (nts_parse_request(&req, req_buf, req_len) != NTS_PARSE_OK) {
		return 0;
	}
	if (!aead_open(&s->c2s, dec, &dec_len, sizeof(dec), CBS_data(&req.nonce),
	               CBS_len(&req.nonce), CBS_data(&req.ciphertext), CBS_len(&req.ciphertext),
	               req_buf, req.ad_len)) {
		return 0;
	}
	num = req.num_placeholders;
	if (!nts_count_encrypted_placeholders(&num, dec, dec_len, CBS_len(&req.cookie))) {
		return 0;
	}
	wbuf_init(&w, plain, sizeof(plain));
	for (size_t i = 0; i < 1 + num; i++) {
		uint8_t *p;
		if (!nts_add_cookie_ef_header(&w, s->cookie_len) ||
		    !wbuf_space_to(&w, &p, s->cookie_len)) {
			return 0;
		}
		memset(p, (int)(0xa0 + i), s->cookie_len);
		if (!ntp_ef_add_padding(&w, s->cookie_len)) {
			return 0;
		}
	}
	struct ntp_header h = {.version = 4,
	                       .mode = NTP_MODE_SERVER,
	                       .stratum = 1,
	                       .origin_ts = req.header.transmit_ts};
	RAND_bytes(nonce, sizeof(nonce));
	return nts_build_response(resp, resp_len, &req, req_len, &h, &s->s2c, nonce,
	                          aead_nonce_len(s->aead), plain, w.len, sizeof(plain));
}

static void test_round_trips(void)
{
	static const uint16_t aeads[] = {AEAD_AES_SIV_CMAC_256, AEAD_AES_128_GCM_SIV};
	for (size_t a = 0; a < 2; a++) {
		for (size_t c = 0; c < 2; c++) {
			size_t clen = c == 0 ? 68 : 100;
			for (size_t n = 0; n <= NTS_MAX_PLACEHOLDERS; n++) {
				struct session s;
				uint8_t req[NTP_MAX_PACKET], resp[NTP_MAX_PACKET];
				uint8_t scratch[NTP_MAX_PACKET];
				size_t req_len, resp_len = 0;
				struct nts_response r;

				session_init(&s, aeads[a], clen);
				req_len = build_req(req, sizeof(req), &s, n);
				CHECK_EQ(req_len, 48 + 36 + (1 + n) * (4 + clen) + 8 +
				                      aead_nonce_len(aeads[a]) + 16);
				CHECK(serve(resp, &resp_len, req, req_len, &s));
				/* exactly as long as the request */
				CHECK_EQ(resp_len, req_len);
				CHECK_EQ(nts_parse_response(&r, resp, resp_len, s.uid, 32, &s.s2c,
				                            scratch, sizeof(scratch)),
				         NTS_RESP_OK);
				CHECK_EQ(r.num_cookies, 1 + n);
				CHECK_EQ(CBS_len(&r.cookies[n]), clen);
				CHECK_EQ(CBS_data(&r.cookies[n])[0], 0xa0 + n);
				CHECK_EQ(r.header.origin_ts, client_hdr.transmit_ts);
				/* another client's UID is not ours */
				uint8_t other[32];
				RAND_bytes(other, sizeof(other));
				CHECK_EQ(nts_parse_response(&r, resp, resp_len, other, 32, &s.s2c,
				                            scratch, sizeof(scratch)),
				         NTS_RESP_BAD_UID);
				/* any flipped byte in the response fails the client's checks */
				for (size_t i = 0; i < resp_len; i += 7) {
					resp[i] ^= 0x40;
					enum nts_client_result res =
					    nts_parse_response(&r, resp, resp_len, s.uid, 32,
					                       &s.s2c, scratch, sizeof(scratch));
					if (i >= 48) {
						CHECK(res != NTS_RESP_OK);
					}
					resp[i] ^= 0x40;
				}
				/* a tampered request fails authentication */
				req[50] ^= 1;
				CHECK(!serve(resp, &resp_len, req, req_len, &s));
				session_cleanup(&s);
			}
		}
	}
}

static void test_extra_fields_padding(void)
{
	/* A request with an extra 16-byte field before the authenticator:
	 * the response is padded back to the request's length. */
	struct session s;
	uint8_t req[NTP_MAX_PACKET], resp[NTP_MAX_PACKET], scratch[NTP_MAX_PACKET];
	size_t req_len, resp_len;
	struct nts_response r;
	uint8_t nonce[16] = {0};

	session_init(&s, AEAD_AES_SIV_CMAC_256, 100);
	/* build by hand: header, UID, cookie, unknown 32-byte field, auth */
	struct wbuf w;
	wbuf_init(&w, req, sizeof(req));
	CHECK(ntp_header_build(&w, &client_hdr));
	CHECK(ntp_ef_add_header(&w, NTS_EF_UID, 32) && wbuf_bytes(&w, s.uid, 32));
	CHECK(ntp_ef_add_header(&w, NTS_EF_COOKIE, 100) && wbuf_bytes(&w, s.cookie, 100));
	CHECK(ntp_ef_add_header(&w, 0x7777, 28));
	for (int i = 0; i < 28; i++) {
		CHECK(wbuf_u8(&w, 0));
	}
	size_t ad_len = w.len;
	uint8_t *tag = NULL;
	size_t tag_len;
	CHECK(wbuf_u16(&w, NTS_EF_AUTH) && wbuf_u16(&w, 4 + 4 + 16 + 16) && wbuf_u16(&w, 16) &&
	      wbuf_u16(&w, 16) && wbuf_bytes(&w, nonce, 16) && wbuf_space_to(&w, &tag, 16));
	CHECK(aead_seal(&s.c2s, tag, &tag_len, 16, nonce, 16, NULL, 0, req, ad_len));
	CHECK(((req_len = w.len), !w.failed));
	CHECK(serve(resp, &resp_len, req, req_len, &s));
	CHECK_EQ(resp_len, req_len);
	CHECK_EQ(
	    nts_parse_response(&r, resp, resp_len, s.uid, 32, &s.s2c, scratch, sizeof(scratch)),
	    NTS_RESP_OK);
	CHECK_EQ(r.num_cookies, 1);
	session_cleanup(&s);
}

static void test_nak(void)
{
	struct session s;
	uint8_t req[NTP_MAX_PACKET], resp[NTP_MAX_PACKET], scratch[NTP_MAX_PACKET];
	size_t req_len, resp_len;
	struct nts_request pr;
	struct nts_response r;

	session_init(&s, AEAD_AES_SIV_CMAC_256, 100);
	req_len = build_req(req, sizeof(req), &s, 3);
	CHECK_EQ(nts_parse_request(&pr, req, req_len), NTS_PARSE_OK);
	struct ntp_header h = {
	    .version = 4, .mode = NTP_MODE_SERVER, .stratum = 2, .refid = 0x01020304};
	CHECK(nts_build_nak(resp, &resp_len, &pr, req_len, &h));
	CHECK_EQ(resp_len, 48 + 36);
	CHECK_EQ(resp[1], 0); /* stratum 0 */
	CHECK_MEM(resp + 12, 4, (const uint8_t *)"NTSN", 4);
	CHECK_MEM(resp + 52, 32, s.uid, 32);
	CHECK_EQ(
	    nts_parse_response(&r, resp, resp_len, s.uid, 32, &s.s2c, scratch, sizeof(scratch)),
	    NTS_RESP_NAK);
	/* a NAK never exceeds the request even when the room is tight */
	CHECK(!nts_build_nak(resp, &resp_len, &pr, 48 + 35, &h));
	session_cleanup(&s);
}

/* mutate builds a valid request then applies one damage. */
static enum nts_parse_result parse_with(size_t num_ph, void (*damage)(uint8_t *, size_t *))
{
	struct session s;
	uint8_t req[NTP_MAX_PACKET + 64];
	size_t len;
	struct nts_request pr;
	session_init(&s, AEAD_AES_SIV_CMAC_256, 100);
	len = build_req(req, sizeof(req), &s, num_ph);
	damage(req, &len);
	session_cleanup(&s);
	return nts_parse_request(&pr, req, len);
}

/* offsets in a request with no placeholders: header 0, UID 48 (36 bytes),
 * cookie 84 (104 bytes), auth 188 (40 bytes) -> 228 */
static void dmg_none(uint8_t *b, size_t *l)
{
	(void)b;
	(void)l;
}
static void dmg_short_uid(uint8_t *b, size_t *l)
{
	/* UID field of 32 bytes (28-byte UID): shift the rest left by 8 */
	memmove(b + 48 + 32, b + 48 + 36, *l - 84);
	b[51] = 32;
	*l -= 4;
}
static void dmg_two_uids(uint8_t *b, size_t *l)
{
	memmove(b + 84, b + 48, *l - 48);
	*l += 36;
}
static void dmg_no_cookie(uint8_t *b, size_t *l)
{
	memmove(b + 84, b + 188, *l - 188);
	*l -= 104;
}
static void dmg_auth_not_last(uint8_t *b, size_t *l)
{
	memset(b + *l, 0, 16);
	b[*l + 1] = 0x77;
	b[*l + 3] = 16;
	*l += 16;
}
static void dmg_legacy_mac(uint8_t *b, size_t *l)
{
	memset(b + *l, 0, 20);
	*l += 20;
}
static void dmg_no_auth(uint8_t *b, size_t *l)
{
	(void)b;
	*l = 188;
}
static void dmg_nonce_len(uint8_t *b, size_t *l)
{
	(void)l;
	b[188 + 5] = 40; /* nonce longer than the field */
}
static void dmg_ct_len(uint8_t *b, size_t *l)
{
	(void)l;
	b[188 + 7] = 12; /* ciphertext shorter than a tag */
}
static void dmg_ef_len(uint8_t *b, size_t *l)
{
	(void)l;
	b[84 + 3] = 106; /* cookie field length not a multiple of 4 */
}
static void dmg_ef_past_end(uint8_t *b, size_t *l)
{
	(void)l;
	b[188 + 2] = 1; /* authenticator runs past the end */
}
static void dmg_ph_wrong_len(uint8_t *b, size_t *l)
{
	(void)l;
	/* first placeholder at 188: make it 4 bytes shorter by shrinking
	 * its length and turning the tail into... simply change length. */
	b[188 + 3] = 100;
}
static void dmg_truncate_1(uint8_t *b, size_t *l)
{
	(void)b;
	*l -= 1;
}

static void test_rejections(void)
{
	CHECK_EQ(parse_with(0, dmg_none), NTS_PARSE_OK);
	CHECK_EQ(parse_with(0, dmg_short_uid), NTS_PARSE_MALFORMED);
	CHECK_EQ(parse_with(0, dmg_two_uids), NTS_PARSE_MALFORMED);
	CHECK_EQ(parse_with(0, dmg_no_cookie), NTS_PARSE_MALFORMED);
	CHECK_EQ(parse_with(0, dmg_auth_not_last), NTS_PARSE_MALFORMED);
	CHECK_EQ(parse_with(0, dmg_legacy_mac), NTS_PARSE_MALFORMED);
	CHECK_EQ(parse_with(0, dmg_no_auth), NTS_PARSE_MALFORMED);
	CHECK_EQ(parse_with(0, dmg_nonce_len), NTS_PARSE_MALFORMED);
	CHECK_EQ(parse_with(0, dmg_ct_len), NTS_PARSE_MALFORMED);
	CHECK_EQ(parse_with(0, dmg_ef_len), NTS_PARSE_MALFORMED);
	CHECK_EQ(parse_with(0, dmg_ef_past_end), NTS_PARSE_MALFORMED);
	CHECK_EQ(parse_with(2, dmg_ph_wrong_len), NTS_PARSE_MALFORMED);
	CHECK_EQ(parse_with(0, dmg_truncate_1), NTS_PARSE_MALFORMED);
	CHECK_EQ(parse_with(7, dmg_none), NTS_PARSE_OK);
}

static void test_placeholder_cap_and_plain(void)
{
	/* 8 placeholders are dropped (cap 7) */
	struct session s;
	uint8_t req[NTP_MAX_PACKET * 2];
	size_t len;
	struct nts_request pr;
	uint8_t nonce[16] = {0};
	session_init(&s, AEAD_AES_SIV_CMAC_256, 100);
	/* nts_build_request refuses more than 7, so build 7 and add one */
	len = build_req(req, sizeof(req), &s, 7);
	size_t auth_off = len - 40;
	memmove(req + auth_off + 104, req + auth_off, 40);
	memcpy(req + auth_off, req + 188, 104); /* a copy of a placeholder */
	len += 104;
	CHECK_EQ(nts_parse_request(&pr, req, len), NTS_PARSE_TOO_MANY_PLACEHOLDERS);
	(void)nonce;

	/* plain NTP: 48 bytes, unknown fields, a legacy MAC, short packets */
	memset(req, 0, 48);
	req[0] = 0x23;
	CHECK_EQ(nts_parse_request(&pr, req, 48), NTS_PARSE_PLAIN);
	CHECK_EQ(pr.header.mode, 3);
	memset(req + 48, 0, 20);
	req[49] = 0x99;
	req[51] = 20;
	CHECK_EQ(nts_parse_request(&pr, req, 68), NTS_PARSE_PLAIN);
	CHECK_EQ(nts_parse_request(&pr, req, 48 + 24), NTS_PARSE_PLAIN); /* MAC-sized tail */
	CHECK_EQ(nts_parse_request(&pr, req, 47), NTS_PARSE_MALFORMED);
	CHECK_EQ(nts_parse_request(&pr, req, 0), NTS_PARSE_MALFORMED);

	/* RFC 7822: after the header, extension fields (each at least 16
	 * bytes, a multiple of 4, inside the datagram), then nothing or a MAC
	 * of 20 or 24 bytes; anything else is not a valid request */
	memset(req + 48, 0, 200);
	req[48] = 0x77;
	req[51] = 16; /* one unknown field of 16 */
	CHECK_EQ(nts_parse_request(&pr, req, 48 + 16), NTS_PARSE_PLAIN);
	CHECK_EQ(nts_parse_request(&pr, req, 48 + 16 + 20), NTS_PARSE_PLAIN); /* + MAC */
	CHECK_EQ(nts_parse_request(&pr, req, 48 + 16 + 24), NTS_PARSE_PLAIN);
	/* 24 bytes after the header are a MAC, not a field of 16 and 8 more */
	CHECK_EQ(nts_parse_request(&pr, req, 48 + 16 + 8), NTS_PARSE_PLAIN);
	CHECK_EQ(nts_parse_request(&pr, req, 48 + 16 + 12), NTS_PARSE_BAD_EF);
	CHECK_EQ(nts_parse_request(&pr, req, 48 + 16 + 28), NTS_PARSE_BAD_EF);
	CHECK_EQ(nts_parse_request(&pr, req, 48 + 4), NTS_PARSE_BAD_EF);
	for (size_t tail = 1; tail < 20; tail++) { /* short garbage */
		if (tail != 16) {
			CHECK_EQ(nts_parse_request(&pr, req, 48 + tail), NTS_PARSE_BAD_EF);
		}
	}
	req[51] = 18; /* not a multiple of 4 */
	CHECK_EQ(nts_parse_request(&pr, req, 48 + 18), NTS_PARSE_BAD_EF);
	CHECK_EQ(nts_parse_request(&pr, req, 48 + 28), NTS_PARSE_BAD_EF);
	req[51] = 12; /* shorter than the minimum */
	CHECK_EQ(nts_parse_request(&pr, req, 48 + 16), NTS_PARSE_BAD_EF);
	CHECK_EQ(nts_parse_request(&pr, req, 48 + 32), NTS_PARSE_BAD_EF);
	req[51] = 32; /* past the end of the datagram */
	CHECK_EQ(nts_parse_request(&pr, req, 48 + 28), NTS_PARSE_BAD_EF);
	CHECK_EQ(nts_parse_request(&pr, req, 48 + 32), NTS_PARSE_PLAIN);
	/* NTPv3 has no extension fields: a MAC of 20 to 68 bytes */
	req[0] = 0x1b;
	CHECK_EQ(nts_parse_request(&pr, req, 48 + 36), NTS_PARSE_PLAIN);
	CHECK_EQ(nts_parse_request(&pr, req, 48 + 68), NTS_PARSE_PLAIN);
	CHECK_EQ(nts_parse_request(&pr, req, 48 + 18), NTS_PARSE_BAD_EF);
	CHECK_EQ(nts_parse_request(&pr, req, 48 + 4), NTS_PARSE_BAD_EF);
	session_cleanup(&s);
}

static void test_encrypted_placeholders(void)
{
	uint8_t plain[256];
	size_t n = 2;
	struct wbuf w;
	wbuf_init(&w, plain, sizeof(plain));
	CHECK(ntp_ef_add_header(&w, NTS_EF_PLACEHOLDER, 68));
	for (int i = 0; i < 68; i++) {
		CHECK(wbuf_u8(&w, 0));
	}
	size_t len = w.len;
	CHECK(nts_count_encrypted_placeholders(&n, plain, len, 68));
	CHECK_EQ(n, 3);
	CHECK(!nts_count_encrypted_placeholders(&n, plain, len, 100)); /* wrong length */
	n = 7;
	CHECK(!nts_count_encrypted_placeholders(&n, plain, len, 68)); /* over the cap */
	n = 0;
	CHECK(!nts_count_encrypted_placeholders(&n, plain, len - 4, 68)); /* truncated */
	CHECK(nts_count_encrypted_placeholders(&n, plain, 0, 68));
}

static void test_random_truncations(void)
{
	struct session s;
	uint8_t req[NTP_MAX_PACKET];
	size_t len;
	struct nts_request pr;
	session_init(&s, AEAD_AES_128_GCM_SIV, 68);
	len = build_req(req, sizeof(req), &s, 2);
	for (size_t l = 0; l < len; l++) {
		enum nts_parse_result r = nts_parse_request(&pr, req, l);
		CHECK(r != NTS_PARSE_OK);
	}
	for (int i = 0; i < 20000; i++) {
		uint8_t r[300];
		size_t l = (size_t)(i % 300);
		RAND_bytes(r, l);
		(void)nts_parse_request(&pr, r, l);
	}
	session_cleanup(&s);
}

/* Requests built by an independent implementation (Python cryptography,
 * tests/fuzz/corpus_nts.py) under the fuzzing cookie key 0x42 x 32: the
 * cookie opens and the authenticator verifies with our code. */
static const char kat15[] = "2300000000000000000000000000000000000000000000000000000000000000"
                            "0000000000000000111111111111111101040024555555555555555555555555"
                            "5555555555555555555555555555555555555555020400680100000507070707"
                            "070707070707070707075d33b128d75ca928593b0248d8cd4fbd2c54796e53d9"
                            "b2d63d93ecfdd67a4c461bd59f92fcc04ae2709ef789589332cdcfb562e8d112"
                            "50c5e1f2a0f5975e1c9c830c84a4ded6bfcfb11adec6d49c54bc2a4603040068"
                            "0000000000000000000000000000000000000000000000000000000000000000"
                            "0000000000000000000000000000000000000000000000000000000000000000"
                            "0000000000000000000000000000000000000000000000000000000000000000"
                            "00000000040400280010001001010101010101010101010101010101c57c9265"
                            "14d02b36be29ccef76b1e968";
static const char kat30[] = "2300000000000000000000000000000000000000000000000000000000000000"
                            "0000000000000000111111111111111101040024555555555555555555555555"
                            "5555555555555555555555555555555555555555020400480100000507070707"
                            "07070707070707070707d6b42a26bc7d41b49caf8c31dd61254843d900bc74b5"
                            "bec1f519e52cbc623468ccd66133a903748b23b71eec01dd531383f003040048"
                            "0000000000000000000000000000000000000000000000000000000000000000"
                            "0000000000000000000000000000000000000000000000000000000000000000"
                            "00000000040400b4000c00a00101010101010101010101010da967e77ea662bb"
                            "6348917c95c0525196fe5c341ca3ab5f6407eba665c7b7ef8fa00584c7b5711e"
                            "cf963241b422067ad5adf0cc6a57b07559c951010efddf5dc9c06769058f468a"
                            "3ecfde2c810114b84ed92250abd49ce979d66d9a5dafc6c313d4b513c0895281"
                            "033000e9e91285ebe6131710757c80fb1244ea48f632564a362ddc0085a149f5"
                            "8a5ddaf6b5586533499dc01dd886b13a9c550bcc40df2180";

static void test_independent_requests(void)
{
	const char *hexes[2] = {kat15, kat30};
	const size_t want_ph[2] = {1, 3}; /* nts-30-enc2: 1 plain + 2 encrypted */
	uint8_t k42[COOKIE_KEY_LEN];
	aead_ctx ck;

	memset(k42, 0x42, sizeof(k42));
	CHECK(aead_ctx_init(&ck, COOKIE_AEAD, k42, sizeof(k42)));
	for (int i = 0; i < 2; i++) {
		uint8_t pkt[NTP_MAX_PACKET], dec[NTP_MAX_PACKET];
		size_t len = strlen(hexes[i]) / 2, dec_len;
		struct nts_request req;
		struct cookie_keys keys;
		aead_ctx c2s;
		for (size_t j = 0; j < len; j++) {
			unsigned v;
			sscanf(hexes[i] + 2 * j, "%2x", &v);
			pkt[j] = (uint8_t)v;
		}
		CHECK_EQ(nts_parse_request(&req, pkt, len), NTS_PARSE_OK);
		CHECK(cookie_open(&keys, &ck, &req.cookie));
		CHECK(aead_ctx_init(&c2s, keys.aead_id, keys.c2s, keys.key_len));
		CHECK(aead_open(&c2s, dec, &dec_len, sizeof(dec), CBS_data(&req.nonce),
		                CBS_len(&req.nonce), CBS_data(&req.ciphertext),
		                CBS_len(&req.ciphertext), pkt, req.ad_len));
		size_t n = req.num_placeholders;
		CHECK(nts_count_encrypted_placeholders(&n, dec, dec_len, CBS_len(&req.cookie)));
		CHECK_EQ(n, want_ph[i]);
		aead_ctx_cleanup(&c2s);
	}
	aead_ctx_cleanup(&ck);
}

int main(void)
{
	test_independent_requests();
	test_round_trips();
	test_extra_fields_padding();
	test_nak();
	test_rejections();
	test_placeholder_cap_and_plain();
	test_encrypted_placeholders();
	test_random_truncations();
	return test_summary("nts");
}
