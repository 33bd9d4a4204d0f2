/*
 * test_responder.c: the responder's packet path (resp_handle) with a real
 * keyring: valid requests of every size, every NAK and drop reason, and
 * responses never longer than requests.
 */
#include <sodium.h>

#include "common/keyhost.h"
#include "common/smem.h"
#include <sys/timex.h>

#include "ntp-responder/responder.h"
#include "ntp-responder/sync.h"
#include "proto/cookie.h"
#include "proto/nts.h"
#include "tests/unit/testutil.h"

static struct keyring_holder holder;
static struct sync_state synced = {.synchronised = 1, .stratum = 2, .refid = 0x54455354};
static struct resp_ctx ctx;
static struct resp_stats st;
static struct keyhost *kh;
static int64_t now;

struct client {
	uint16_t aead;
	struct cookie_keys keys;
	uint8_t cookie[COOKIE_MAX_LEN];
	size_t cookie_len;
	aead_ctx c2s, s2c;
};

/* mint a cookie the way the KE server does, at |t| */
static void client_init(struct client *c, uint16_t aead, int64_t t)
{
	struct keyfile *kf = smem_new(sizeof(*kf));
	CHECK(keyhost_export(kh, KEYFILE_ROLE_KE, t, kf));
	struct keyring *ke = keyring_build(kf, t);
	uint32_t kid = 0;
	const aead_ctx *ck = NULL;
	CHECK(ke != NULL && keyring_current(ke, t, &kid, &ck));
	memset(c, 0, sizeof(*c));
	c->aead = aead;
	c->keys.aead_id = aead;
	c->keys.key_len = aead_key_len(aead);
	randombytes_buf(c->keys.c2s, c->keys.key_len);
	randombytes_buf(c->keys.s2c, c->keys.key_len);
	uint8_t nonce[COOKIE_NONCE_LEN];
	randombytes_buf(nonce, sizeof(nonce));
	struct wbuf w;
	wbuf_init(&w, c->cookie, sizeof(c->cookie));
	CHECK(cookie_seal(&w, ck, kid, nonce, &c->keys));
	c->cookie_len = w.len;
	CHECK(aead_ctx_init(&c->c2s, aead, c->keys.c2s, c->keys.key_len));
	CHECK(aead_ctx_init(&c->s2c, aead, c->keys.s2c, c->keys.key_len));
	keyring_free(ke);
	smem_free(kf);
}

static size_t request(uint8_t *buf, struct client *c, size_t ph, uint8_t *uid)
{
	struct ntp_header h = {.version = 4, .mode = NTP_MODE_CLIENT, .transmit_ts = 42};
	uint8_t nonce[16];
	size_t len;
	randombytes_buf(uid, 32);
	randombytes_buf(nonce, sizeof(nonce));
	CHECK(nts_build_request(buf, NTP_MAX_PACKET, &len, &h, uid, 32, c->cookie, c->cookie_len,
	                        ph, &c->c2s, nonce, aead_nonce_len(c->aead)));
	return len;
}

static size_t handle(const uint8_t *req, size_t len, uint8_t *out)
{
	struct timespec rx = {.tv_sec = (time_t)now};
	return resp_handle(&ctx, &st, req, len, &rx, out);
}

static void test_valid(void)
{
	/* AEAD 17 with 6 and 7 placeholders: 1300 and 1468 bytes (once
	 * dropped as over 1280) */
	static const uint16_t aeads[] = {AEAD_AES_SIV_CMAC_256, AEAD_AES_128_GCM_SIV,
	                                 AEAD_AES_SIV_CMAC_512};
	for (size_t a = 0; a < NTS_ARRAY_SIZE(aeads); a++) {
		for (size_t ph = 0; ph <= 7; ph++) {
			struct client c;
			uint8_t req[NTP_MAX_PACKET], out[NTP_MAX_PACKET], scratch[NTP_MAX_PACKET];
			uint8_t uid[32];
			client_init(&c, aeads[a], now);
			size_t len = request(req, &c, ph, uid);
			if (aeads[a] == AEAD_AES_SIV_CMAC_512 && ph >= 6) {
				CHECK(len > 1280);
			}
			size_t n = handle(req, len, out);
			CHECK_EQ(n, len); /* exactly as long as the request */
			struct nts_response r;
			CHECK_EQ(nts_parse_response(&r, out, n, uid, 32, &c.s2c, scratch,
			                            sizeof(scratch)),
			         NTS_RESP_OK);
			CHECK_EQ(r.num_cookies, 1 + ph);
			CHECK_EQ(r.header.stratum, 2);
			CHECK_EQ(r.header.origin_ts, 42);
			/* the new cookies open on the responder too */
			struct cookie_keys k;
			uint32_t kid;
			int reason;
			CHECK(cookie_key_id(&kid, &r.cookies[ph]));
			const aead_ctx *ck =
			    keyring_lookup(keyring_holder_get(&holder), kid, now, &reason);
			CHECK(ck != NULL && cookie_open(&k, ck, &r.cookies[ph]));
			CHECK_MEM(k.c2s, k.key_len, c.keys.c2s, c.keys.key_len);
			aead_ctx_cleanup(&c.c2s);
			aead_ctx_cleanup(&c.s2c);
		}
	}
}

static void test_naks_and_drops(void)
{
	struct client c;
	uint8_t req[NTP_MAX_PACKET], out[NTP_MAX_PACKET], scratch[NTP_MAX_PACKET], uid[32];
	size_t len, n;
	struct nts_response r;

	/* expired: a cookie minted 30 epochs ago */
	client_init(&c, AEAD_AES_SIV_CMAC_256, now - 30 * 3600);
	len = request(req, &c, 0, uid);
	n = handle(req, len, out);
	CHECK_EQ(nts_parse_response(&r, out, n, uid, 32, &c.s2c, scratch, sizeof(scratch)),
	         NTS_RESP_NAK);
	CHECK_EQ(metrics_get(&st.nak_expired_key), 1);
	CHECK(n <= len);

	/* bad cookie: one flipped byte of ciphertext */
	client_init(&c, AEAD_AES_SIV_CMAC_256, now);
	c.cookie[40] ^= 1;
	len = request(req, &c, 0, uid);
	n = handle(req, len, out);
	CHECK_EQ(nts_parse_response(&r, out, n, uid, 32, &c.s2c, scratch, sizeof(scratch)),
	         NTS_RESP_NAK);
	CHECK_EQ(metrics_get(&st.nak_bad_cookie), 1);

	/* unknown generation in the key id */
	client_init(&c, AEAD_AES_SIV_CMAC_256, now);
	c.cookie[0] = 9;
	len = request(req, &c, 0, uid);
	(void)handle(req, len, out);
	CHECK_EQ(metrics_get(&st.nak_unknown_key), 1);

	/* bad authentication: the request altered after sealing */
	client_init(&c, AEAD_AES_SIV_CMAC_256, now);
	len = request(req, &c, 0, uid);
	req[47] ^= 1; /* transmit timestamp */
	n = handle(req, len, out);
	CHECK(n > 0 && n <= len);
	CHECK_EQ(metrics_get(&st.nak_bad_auth), 1);

	/* silence: short, mode 6/7, server mode, bad versions, malformed */
	client_init(&c, AEAD_AES_SIV_CMAC_256, now);
	len = request(req, &c, 0, uid);
	CHECK_EQ(handle(req, 47, out), 0);
	CHECK_EQ(metrics_get(&st.drop_short), 1);
	uint8_t b0 = req[0];
	for (int mode = 0; mode < 8; mode++) {
		if (mode == 3) {
			continue;
		}
		req[0] = (uint8_t)((4 << 3) | mode);
		CHECK_EQ(handle(req, len, out), 0);
	}
	CHECK_EQ(metrics_get(&st.drop_mode), 7);
	req[0] = (uint8_t)((2 << 3) | 3);
	CHECK_EQ(handle(req, len, out), 0);
	req[0] = (uint8_t)((3 << 3) | 3);
	CHECK_EQ(handle(req, len, out), 0); /* NTS needs v4 */
	CHECK_EQ(metrics_get(&st.drop_version), 2);
	req[0] = b0;
	CHECK_EQ(handle(req, len - 4, out), 0); /* truncated authenticator */
	CHECK_EQ(metrics_get(&st.drop_malformed), 1);

	/* plain NTP: v3 and v4 answered with 48 bytes, or dropped if disabled */
	uint8_t plain[48] = {(3 << 3) | 3};
	CHECK_EQ(handle(plain, 48, out), 48);
	ctx.serve_plain = 0;
	CHECK_EQ(handle(plain, 48, out), 0);
	CHECK_EQ(metrics_get(&st.drop_plain_disabled), 1);
	ctx.serve_plain = 1;

	/* extension fields that do not parse (RFC 7822) are not a request:
	 * dropped and counted (they used to get a 48-byte answer); a legacy
	 * MAC (key id + 16 or 20 byte digest) is still answered */
	uint8_t odd[48 + 64] = {(4 << 3) | 3};
	odd[48] = 0x77;
	odd[51] = 18; /* not a multiple of 4 */
	CHECK_EQ(handle(odd, 48 + 20 - 2, out), 0);
	odd[51] = 12; /* shorter than 16 */
	CHECK_EQ(handle(odd, 48 + 16, out), 0);
	odd[51] = 32; /* past the end */
	CHECK_EQ(handle(odd, 48 + 28, out), 0);
	CHECK_EQ(metrics_get(&st.drop_bad_ef), 3);
	memset(odd + 48, 0xaa, 24);
	CHECK_EQ(handle(odd, 48 + 20, out), 48);
	CHECK_EQ(handle(odd, 48 + 24, out), 48);
	CHECK_EQ(metrics_get(&st.drop_bad_ef), 3);

	/* unsynchronised: LI=3, stratum 16 */
	struct sync_state unsync = {.synchronised = 0};
	atomic_store(&ctx.sync, &unsync);
	CHECK_EQ(handle(plain, 48, out), 48);
	CHECK_EQ(out[0] >> 6, 3);
	CHECK_EQ(out[1], 16);
	atomic_store(&ctx.sync, &synced);

	/* no keys loaded: NAK */
	struct keyring_holder empty;
	keyring_holder_init(&empty, KEYFILE_ROLE_RESPONDER);
	ctx.keys = &empty;
	client_init(&c, AEAD_AES_SIV_CMAC_256, now);
	len = request(req, &c, 0, uid);
	n = handle(req, len, out);
	CHECK_EQ(nts_parse_response(&r, out, n, uid, 32, &c.s2c, scratch, sizeof(scratch)),
	         NTS_RESP_NAK);
	CHECK_EQ(metrics_get(&st.nak_no_keys), 1);
	ctx.keys = &holder;
}

/* the leap second of 2016-12-31 (issue 12 item 6): announced on that day,
 * at 23:59:59, and never after midnight, even with a daemon answer from
 * before midnight (cached up to 16 s and more) or from just after it that
 * still says insert, and even if the kernel has not cleared STA_INS yet */
static void test_leap(void)
{
	const int64_t dec31 = 1483142400, jan1 = 1483228800;
	int64_t until = 0;
	/* before midnight: from the daemon or the kernel */
	CHECK_EQ(sync_leap(&until, dec31 + 43200, TIME_OK, 0, NTP_LI_INS, dec31 + 43190),
	         NTP_LI_INS);
	CHECK_EQ(until, jan1);
	CHECK_EQ(sync_leap(&until, jan1 - 1, TIME_INS, STA_INS, NTP_LI_NONE, 0), NTP_LI_INS);
	/* at the leap second (the kernel repeats 23:59:59 in TIME_OOP) */
	CHECK_EQ(sync_leap(&until, jan1 - 1, TIME_OOP, STA_INS, NTP_LI_INS, jan1 - 10), NTP_LI_INS);
	CHECK_EQ(sync_leap(&until, jan1 - 1, TIME_OK, 0, NTP_LI_INS, jan1 - 16), NTP_LI_INS);
	/* after midnight: a cached answer from 23:59:50, one from 00:00:01 that
	 * still says insert, a kernel that still has STA_INS, TIME_WAIT */
	CHECK_EQ(sync_leap(&until, jan1, TIME_OK, 0, NTP_LI_INS, jan1 - 10), NTP_LI_NONE);
	CHECK_EQ(sync_leap(&until, jan1 + 5, TIME_OK, 0, NTP_LI_INS, jan1 - 10), NTP_LI_NONE);
	CHECK_EQ(sync_leap(&until, jan1 + 5, TIME_OK, 0, NTP_LI_INS, jan1 + 1), NTP_LI_NONE);
	CHECK_EQ(sync_leap(&until, jan1 + 1, TIME_INS, STA_INS, NTP_LI_INS, jan1), NTP_LI_NONE);
	CHECK_EQ(sync_leap(&until, jan1 - 1, TIME_WAIT, STA_INS, NTP_LI_NONE, 0), NTP_LI_NONE);
	/* an answer from the day before does not count on the last day */
	CHECK_EQ(sync_leap(&until, dec31 + 10, TIME_OK, 0, NTP_LI_INS, dec31 - 10), NTP_LI_NONE);
	/* not the last day of a month: nothing */
	CHECK_EQ(sync_leap(&until, dec31 - 3600, TIME_OK, 0, NTP_LI_INS, dec31 - 3601),
	         NTP_LI_NONE);
	/* delete; February of a common year and of a leap year */
	CHECK_EQ(sync_leap(&until, 1435622400 + 100, TIME_DEL, STA_DEL, NTP_LI_NONE, 0),
	         NTP_LI_DEL);
	CHECK_EQ(sync_leap(&until, 1803772800 + 100, TIME_OK, 0, NTP_LI_INS, 1803772800 + 90),
	         NTP_LI_INS);
	CHECK_EQ(sync_leap(&until, 1835308800 + 100, TIME_OK, 0, NTP_LI_INS, 1835308800 + 90),
	         NTP_LI_NONE);

	/* the packet path: a published insert is dropped once T3 has passed
	 * leap_until, whatever the state (recomputed once a second) says */
	uint8_t req[48] = {(4 << 3) | 3}, out[NTP_MAX_PACKET];
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	synced.leap = NTP_LI_INS;
	synced.leap_until = (int64_t)t.tv_sec + 3600;
	CHECK_EQ(handle(req, 48, out), 48);
	CHECK_EQ(out[0] >> 6, NTP_LI_INS);
	synced.leap_until = (int64_t)t.tv_sec;
	CHECK_EQ(handle(req, 48, out), 48);
	CHECK_EQ(out[0] >> 6, NTP_LI_NONE);
	synced.leap = NTP_LI_NONE;
	synced.leap_until = 0;
}

int main(void)
{
	CHECK(smem_init());
	now = 1764000000;
	kh = smem_new(sizeof(*kh));
	CHECK(keyhost_init(kh, 3600, 25, NULL, now - 100 * 3600));
	struct keyfile *kf = smem_new(sizeof(*kf));
	CHECK(keyhost_export(kh, KEYFILE_ROLE_RESPONDER, now, kf));
	keyring_holder_init(&holder, KEYFILE_ROLE_RESPONDER);
	struct keyring *kr = keyring_build(kf, now);
	CHECK(kr != NULL);
	atomic_store(&holder.current, kr);
	ctx.keys = &holder;
	atomic_store(&ctx.sync, &synced);
	ctx.serve_plain = 1;
	ctx.precision = resp_clock_precision();

	test_valid();
	test_naks_and_drops();
	test_leap();

	keyring_holder_cleanup(&holder);
	smem_free(kf);
	smem_free(kh);
	return test_summary("responder");
}
