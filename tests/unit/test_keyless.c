/*
 * test_keyless.c: the nts-ke-server <-> nts-signer messages: round trips,
 * every truncation and one-byte extension refused, field checks, the TLS
 * 1.3 CertificateVerify input check, and random bytes never accepted.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "proto/keyless.h"
#include "tests/unit/testutil.h"

static size_t tls13_input(uint8_t *out, size_t hash_len)
{
	static const char ctx[] = "TLS 1.3, server CertificateVerify";
	memset(out, 0x20, 64);
	memcpy(out + 64, ctx, sizeof(ctx)); /* with the zero byte */
	memset(out + 64 + sizeof(ctx), 0xab, hash_len);
	return 64 + sizeof(ctx) + hash_len;
}

static void test_request(void)
{
	uint8_t in[KL_MAX_INPUT], buf[KL_MAX_REQUEST + 8];
	struct kl_request r = {
	    .id = 0x01020304, .sent_ns = 0x1122334455667788u, .algorithm = 0x0403};
	struct kl_request p;
	struct wbuf w;
	CBS cbs;

	memset(r.key_id, 0x5a, sizeof(r.key_id));
	r.input = in;
	r.input_len = tls13_input(in, 32);
	wbuf_init(&w, buf, KL_MAX_REQUEST);
	CHECK(kl_build_request(&w, &r));
	CHECK_EQ(w.len, KL_REQUEST_HEAD + r.input_len);
	CHECK_EQ(buf[0], KL_VERSION);
	CHECK_EQ(buf[1], KL_TYPE_SIGN);
	CBS_init(&cbs, buf, w.len);
	CHECK(kl_parse_request(&p, &cbs));
	CHECK_EQ(p.id, r.id);
	CHECK_EQ(p.sent_ns, r.sent_ns);
	CHECK_EQ(p.algorithm, r.algorithm);
	CHECK_MEM(p.key_id, sizeof(p.key_id), r.key_id, sizeof(r.key_id));
	CHECK_MEM(p.input, p.input_len, in, r.input_len);
	/* every truncation and one trailing byte are refused */
	for (size_t n = 0; n < w.len; n++) {
		CBS_init(&cbs, buf, n);
		CHECK(!kl_parse_request(&p, &cbs));
	}
	buf[w.len] = 0;
	CBS_init(&cbs, buf, w.len + 1);
	CHECK(!kl_parse_request(&p, &cbs));
	/* version and type */
	buf[0] = 2;
	CBS_init(&cbs, buf, w.len);
	CHECK(!kl_parse_request(&p, &cbs));
	buf[0] = KL_VERSION;
	buf[1] = KL_TYPE_REPLY;
	CBS_init(&cbs, buf, w.len);
	CHECK(!kl_parse_request(&p, &cbs));
	/* empty and oversized inputs are not built */
	r.input_len = 0;
	wbuf_init(&w, buf, KL_MAX_REQUEST);
	CHECK(!kl_build_request(&w, &r));
	r.input_len = KL_MAX_INPUT + 1;
	wbuf_init(&w, buf, sizeof(buf));
	CHECK(!kl_build_request(&w, &r));
	/* the largest request fits KL_MAX_REQUEST exactly */
	r.input_len = KL_MAX_INPUT;
	wbuf_init(&w, buf, KL_MAX_REQUEST);
	CHECK(kl_build_request(&w, &r));
	CHECK_EQ(w.len, KL_MAX_REQUEST);
}

static void test_reply(void)
{
	uint8_t sig[KL_MAX_SIG], buf[KL_MAX_REPLY + 8];
	struct kl_reply r = {.id = 77, .status = KL_OK, .sig = sig, .sig_len = 72};
	struct kl_reply p;
	struct wbuf w;
	CBS cbs;

	memset(sig, 0x33, sizeof(sig));
	wbuf_init(&w, buf, KL_MAX_REPLY);
	CHECK(kl_build_reply(&w, &r));
	CHECK_EQ(w.len, KL_REPLY_HEAD + 72);
	CBS_init(&cbs, buf, w.len);
	CHECK(kl_parse_reply(&p, &cbs));
	CHECK_EQ(p.id, 77);
	CHECK_EQ(p.status, KL_OK);
	CHECK_MEM(p.sig, p.sig_len, sig, 72);
	for (size_t n = 0; n < w.len; n++) {
		CBS_init(&cbs, buf, n);
		CHECK(!kl_parse_reply(&p, &cbs));
	}
	/* an error carries no signature, whatever sig_len says */
	r.status = KL_UNKNOWN_KEY;
	wbuf_init(&w, buf, KL_MAX_REPLY);
	CHECK(kl_build_reply(&w, &r));
	CHECK_EQ(w.len, KL_REPLY_HEAD);
	CBS_init(&cbs, buf, w.len);
	CHECK(kl_parse_reply(&p, &cbs));
	CHECK_EQ(p.status, KL_UNKNOWN_KEY);
	CHECK_EQ(p.sig_len, 0);
	/* OK without a signature, unknown status: refused */
	buf[6] = KL_OK;
	CBS_init(&cbs, buf, w.len);
	CHECK(!kl_parse_reply(&p, &cbs));
	buf[6] = KL_NUM_STATUS;
	CBS_init(&cbs, buf, w.len);
	CHECK(!kl_parse_reply(&p, &cbs));
	/* an error with a signature attached: refused */
	r.status = KL_OK;
	wbuf_init(&w, buf, KL_MAX_REPLY);
	CHECK(kl_build_reply(&w, &r));
	buf[6] = KL_EXPIRED;
	CBS_init(&cbs, buf, w.len);
	CHECK(!kl_parse_reply(&p, &cbs));
	/* the largest signature */
	r.sig_len = KL_MAX_SIG;
	wbuf_init(&w, buf, KL_MAX_REPLY);
	CHECK(kl_build_reply(&w, &r));
	CHECK_EQ(w.len, KL_MAX_REPLY);
	r.sig_len = KL_MAX_SIG + 1;
	wbuf_init(&w, buf, sizeof(buf));
	CHECK(!kl_build_reply(&w, &r));
}

static void test_tls13_input(void)
{
	uint8_t in[KL_MAX_INPUT];
	size_t n = tls13_input(in, 48);
	CHECK(kl_tls13_server_input(in, n, 48));
	CHECK(!kl_tls13_server_input(in, n, 32));
	CHECK(!kl_tls13_server_input(in, n - 1, 48));
	CHECK(!kl_tls13_server_input(in, n + 1, 48));
	for (size_t i = 0; i < 64 + 34; i++) {
		uint8_t save = in[i];
		in[i] ^= 1;
		CHECK(!kl_tls13_server_input(in, n, 48));
		in[i] = save;
	}
	/* the client's context is not the server's */
	memcpy(in + 64, "TLS 1.3, client CertificateVerify", 33);
	CHECK(!kl_tls13_server_input(in, n, 48));
}

static void test_random(void)
{
	uint8_t buf[KL_MAX_REPLY];
	for (int i = 0; i < 20000; i++) {
		struct kl_request rq;
		struct kl_reply rp;
		CBS cbs;
		size_t n = (size_t)(i % (int)sizeof(buf));
		RAND_bytes(buf, n);
		buf[0] = KL_VERSION; /* get past the first check most of the time */
		CBS_init(&cbs, buf, n);
		if (kl_parse_request(&rq, &cbs)) {
			CHECK_EQ(KL_REQUEST_HEAD + rq.input_len, n);
		}
		CBS_init(&cbs, buf, n);
		if (kl_parse_reply(&rp, &cbs)) {
			CHECK_EQ(KL_REPLY_HEAD + rp.sig_len, n);
		}
	}
	CHECK(strcmp(kl_status_name(KL_EXPIRED), "expired") == 0);
	CHECK(strcmp(kl_status_name(200), "invalid") == 0);
}

int main(void)
{
	test_request();
	test_reply();
	test_tls13_input();
	test_random();
	return test_summary("keyless");
}
