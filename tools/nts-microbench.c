/*
 * nts-microbench: nanoseconds per operation of the crypto on the NTS
 * paths, next to BoringSSL's raw AES-128-GCM on the same sizes as a
 * reference bound. Each figure is the median of 15 runs.
 *
 *   cookie seal / open      a cookie for AEAD 15 (100 bytes) and 30 (68)
 *   request authenticate    aead_open of a typical request: AD = header +
 *                           UID field + cookie field (48 + 36 + 104 = 188
 *                           bytes), empty plaintext, 16-byte tag
 *   response seal           aead_seal of a typical response: AD = header +
 *                           UID field (84 bytes), plaintext = one cookie
 *                           field (104 bytes)
 *   session keys            aead_ctx_init of c2s and s2c, as the responder
 *                           does once per request
 *   per request             cookie open + session keys + request
 *                           authenticate + cookie seal + response seal
 *
 * With NTS_MICROBENCH_MIN in the environment each figure is the fastest of
 * the 15 runs instead of the median (on a shared, noisy machine).
 *
 * With --siv portable|aesni it is instead a known-answer helper for
 * tests/unit/siv_python.py: each stdin line "KEY PT AD1 AD2 ..." (hex, "-"
 * for an empty string) gets one line "V||C" in hex on that SIV path; exit
 * 77 (skip) if the path is not available on this CPU.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/aead.h>
#include <openssl/rand.h>

#include "common/aead.h"
#include "common/siv.h"
#include "proto/cookie.h"

#define RUNS 15

static volatile size_t sink;
static int use_min; /* NTS_MICROBENCH_MIN set: the fastest run, not the median */

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

typedef void (*op_fn)(void *arg);

static double measure(op_fn fn, void *arg, long iters)
{
	double r[RUNS];
	for (int i = 0; i < RUNS; i++) {
		double t0 = now_ns();
		for (long j = 0; j < iters; j++) {
			fn(arg);
		}
		r[i] = (now_ns() - t0) / (double)iters;
	}
	qsort(r, RUNS, sizeof(r[0]), cmp_double);
	return use_min ? r[0] : r[RUNS / 2];
}

struct cookie_arg {
	aead_ctx ck;
	struct cookie_keys keys;
	uint8_t buf[COOKIE_MAX_LEN];
	size_t len;
};

static void op_cookie_seal(void *p)
{
	struct cookie_arg *a = p;
	uint8_t nonce[COOKIE_NONCE_LEN] = {1};
	struct wbuf w;
	wbuf_init(&w, a->buf, sizeof(a->buf));
	if (!cookie_seal(&w, &a->ck, 0x01000001, nonce, &a->keys)) {
		abort();
	}
	sink += w.len;
}

static void op_cookie_open(void *p)
{
	struct cookie_arg *a = p;
	struct cookie_keys k;
	CBS cbs;
	CBS_init(&cbs, a->buf, a->len);
	if (!cookie_open(&k, &a->ck, &cbs)) {
		abort();
	}
	sink += k.key_len;
}

struct aead_arg {
	aead_ctx ctx;
	EVP_AEAD_CTX gcm;
	int raw;
	uint8_t nonce[16];
	size_t nonce_len;
	uint8_t ad[256];
	size_t ad_len;
	uint8_t pt[256];
	size_t pt_len;
	uint8_t ct[300];
	size_t ct_len;
	uint8_t out[300];
};

static void op_seal(void *p)
{
	struct aead_arg *a = p;
	size_t n;
	int ok = a->raw ? EVP_AEAD_CTX_seal(&a->gcm, a->out, &n, sizeof(a->out), a->nonce, 12,
	                                    a->pt, a->pt_len, a->ad, a->ad_len)
	                : aead_seal(&a->ctx, a->out, &n, sizeof(a->out), a->nonce, a->nonce_len,
	                            a->pt, a->pt_len, a->ad, a->ad_len);
	if (!ok) {
		abort();
	}
	sink += n;
}

static void op_open(void *p)
{
	struct aead_arg *a = p;
	size_t n;
	int ok = a->raw ? EVP_AEAD_CTX_open(&a->gcm, a->out, &n, sizeof(a->out), a->nonce, 12,
	                                    a->ct, a->ct_len, a->ad, a->ad_len)
	                : aead_open(&a->ctx, a->out, &n, sizeof(a->out), a->nonce, a->nonce_len,
	                            a->ct, a->ct_len, a->ad, a->ad_len);
	if (!ok) {
		abort();
	}
	sink += n;
}

static void setup_aead(struct aead_arg *a, uint16_t id, int raw, size_t ad_len, size_t pt_len)
{
	uint8_t key[AEAD_MAX_KEY_LEN];
	memset(a, 0, sizeof(*a));
	RAND_bytes(key, sizeof(key));
	a->raw = raw;
	if (raw) {
		if (!EVP_AEAD_CTX_init(&a->gcm, EVP_aead_aes_128_gcm(), key, 16, 16, NULL)) {
			abort();
		}
	} else if (!aead_ctx_init(&a->ctx, id, key, aead_key_len(id))) {
		abort();
	}
	a->nonce_len = raw ? 12 : aead_nonce_len(id);
	RAND_bytes(a->nonce, sizeof(a->nonce));
	a->ad_len = ad_len;
	RAND_bytes(a->ad, ad_len);
	a->pt_len = pt_len;
	RAND_bytes(a->pt, pt_len);
	int saved = a->raw;
	op_seal(a);
	a->raw = saved;
	a->ct_len = pt_len + 16;
	memcpy(a->ct, a->out, a->ct_len);
}

static void cleanup_aead(struct aead_arg *a)
{
	if (a->raw) {
		EVP_AEAD_CTX_cleanup(&a->gcm);
	} else {
		aead_ctx_cleanup(&a->ctx);
	}
}

/* One NTS request's crypto as the responder does it (see the top). */
struct req_arg {
	aead_ctx ck;
	uint8_t cookie[COOKIE_MAX_LEN];
	size_t cookie_len;
	uint8_t nonce[16], ad_req[188], ad_resp[84], tag[16];
	uint8_t out[COOKIE_MAX_LEN + 4 + 2 * AEAD_TAG_LEN];
};

static void op_session_keys(void *p)
{
	struct cookie_arg *a = p;
	aead_ctx c2s, s2c;
	if (!aead_ctx_init(&c2s, a->keys.aead_id, a->keys.c2s, a->keys.key_len) ||
	    !aead_ctx_init(&s2c, a->keys.aead_id, a->keys.s2c, a->keys.key_len)) {
		abort();
	}
	sink += c2s.id + s2c.id;
	aead_ctx_cleanup(&c2s);
	aead_ctx_cleanup(&s2c);
}

static void op_request(void *p)
{
	struct req_arg *a = p;
	struct cookie_keys keys;
	aead_ctx c2s, s2c;
	uint8_t nonce[COOKIE_NONCE_LEN] = {2};
	size_t n;
	struct wbuf w;
	CBS cbs;

	CBS_init(&cbs, a->cookie, a->cookie_len);
	if (!cookie_open(&keys, &a->ck, &cbs) ||
	    !aead_ctx_init(&c2s, keys.aead_id, keys.c2s, keys.key_len) ||
	    !aead_open(&c2s, a->out, &n, sizeof(a->out), a->nonce, aead_nonce_len(keys.aead_id),
	               a->tag, sizeof(a->tag), a->ad_req, sizeof(a->ad_req)) ||
	    !aead_ctx_init(&s2c, keys.aead_id, keys.s2c, keys.key_len)) {
		abort();
	}
	wbuf_init(&w, a->out + 4, sizeof(a->out) - 4 - AEAD_TAG_LEN);
	if (!cookie_seal(&w, &a->ck, 0x01000001, nonce, &keys) ||
	    !aead_seal(&s2c, a->out, &n, sizeof(a->out), a->nonce, aead_nonce_len(keys.aead_id),
	               a->out, w.len + 4, a->ad_resp, sizeof(a->ad_resp))) {
		abort();
	}
	sink += n;
	aead_ctx_cleanup(&c2s);
	aead_ctx_cleanup(&s2c);
}

static void setup_request(struct req_arg *r, struct cookie_arg *c)
{
	aead_ctx c2s;
	size_t n;
	memset(r, 0, sizeof(*r));
	r->ck = c->ck;
	memcpy(r->cookie, c->buf, c->len);
	r->cookie_len = c->len;
	RAND_bytes(r->nonce, sizeof(r->nonce));
	RAND_bytes(r->ad_req, sizeof(r->ad_req));
	RAND_bytes(r->ad_resp, sizeof(r->ad_resp));
	if (!aead_ctx_init(&c2s, c->keys.aead_id, c->keys.c2s, c->keys.key_len) ||
	    !aead_seal(&c2s, r->tag, &n, sizeof(r->tag), r->nonce, aead_nonce_len(c->keys.aead_id),
	               NULL, 0, r->ad_req, sizeof(r->ad_req))) {
		abort();
	}
	aead_ctx_cleanup(&c2s);
}

static size_t unhex(uint8_t *out, size_t max, const char *hex)
{
	size_t n = 0;
	if (strcmp(hex, "-") == 0) {
		return 0;
	}
	for (; hex[0] != '\0' && hex[1] != '\0' && n < max; hex += 2) {
		unsigned v;
		if (sscanf(hex, "%2x", &v) != 1) {
			exit(2);
		}
		out[n++] = (uint8_t)v;
	}
	return n;
}

/* siv_kat: the --siv mode described at the top. */
static int siv_kat(const char *path)
{
	static char line[65536];
	static uint8_t key[64], pt[8192], out[8192 + SIV_BLOCK], ad[SIV_MAX_COMPONENTS][4096];
	enum siv_impl impl = strcmp(path, "aesni") == 0 ? SIV_IMPL_AESNI : SIV_IMPL_PORTABLE;

	if (strcmp(path, "aesni") != 0 && strcmp(path, "portable") != 0) {
		return 2;
	}
	if (!siv_impl_available(impl)) {
		return 77;
	}
	while (fgets(line, sizeof(line), stdin) != NULL) {
		struct siv_component c[SIV_MAX_COMPONENTS];
		struct siv_key k;
		size_t num_ad = 0, key_len, pt_len;
		char *save = NULL, *tok = strtok_r(line, " \n", &save);
		if (tok == NULL) {
			continue;
		}
		key_len = unhex(key, sizeof(key), tok);
		tok = strtok_r(NULL, " \n", &save);
		pt_len = tok != NULL ? unhex(pt, sizeof(pt), tok) : 0;
		while ((tok = strtok_r(NULL, " \n", &save)) != NULL &&
		       num_ad < SIV_MAX_COMPONENTS) {
			c[num_ad].data = ad[num_ad];
			c[num_ad].len = unhex(ad[num_ad], sizeof(ad[0]), tok);
			num_ad++;
		}
		if (!siv_key_init_impl(&k, key, key_len, impl) ||
		    !siv_seal(&k, out, c, num_ad, pt, pt_len)) {
			return 1;
		}
		for (size_t i = 0; i < pt_len + SIV_BLOCK; i++) {
			printf("%02x", out[i]);
		}
		printf("\n");
		siv_key_cleanup(&k);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "--siv") == 0) {
		return siv_kat(argv[2]);
	}
	long iters = argc > 1 ? atol(argv[1]) : 20000;
	/* a second argument limits the run to one AEAD (15 or 30) and skips
	 * the GCM references, for instruction counts under callgrind */
	long only = argc > 2 ? atol(argv[2]) : 0;
	use_min = getenv("NTS_MICROBENCH_MIN") != NULL;
	static struct aead_arg a;
	static struct req_arg r;
	struct cookie_arg c;
	uint8_t key[COOKIE_KEY_LEN];

	printf("%-34s %10s %10s\n", "operation", "ns/op", "ref GCM");
	printf("(SIV path: %s)\n", siv_impl_available(SIV_IMPL_AESNI) ? "aesni" : "portable");
	RAND_bytes(key, sizeof(key));
	for (int k = 0; k < 2; k++) {
		uint16_t id = k == 0 ? AEAD_AES_SIV_CMAC_256 : AEAD_AES_128_GCM_SIV;
		double ref_seal = 0, ref_open = 0;
		if (only != 0 && only != id) {
			continue;
		}
		memset(&c, 0, sizeof(c));
		if (!aead_ctx_init(&c.ck, COOKIE_AEAD, key, sizeof(key))) {
			abort();
		}
		c.keys.aead_id = id;
		c.keys.key_len = aead_key_len(id);
		op_cookie_seal(&c);
		c.len = cookie_len(id);
		size_t pl = 2 + 2 * c.keys.key_len;
		if (only == 0) {
			setup_aead(&a, 0, 1, 4, pl);
			ref_seal = measure(op_seal, &a, iters);
			ref_open = measure(op_open, &a, iters);
			cleanup_aead(&a);
		}
		printf("cookie seal (AEAD %2u, %3zu B)        %10.0f %10.0f\n", id, c.len,
		       measure(op_cookie_seal, &c, iters), ref_seal);
		printf("cookie open (AEAD %2u, %3zu B)        %10.0f %10.0f\n", id, c.len,
		       measure(op_cookie_open, &c, iters), ref_open);
		RAND_bytes(c.keys.c2s, c.keys.key_len);
		RAND_bytes(c.keys.s2c, c.keys.key_len);
		printf("session keys c2s+s2c (AEAD %2u)      %10.0f %10s\n", id,
		       measure(op_session_keys, &c, iters), "-");
		op_cookie_seal(&c);
		setup_request(&r, &c);
		printf("per request, all of it (AEAD %2u)    %10.0f %10s\n", id,
		       measure(op_request, &r, iters), "-");
		aead_ctx_cleanup(&c.ck);
	}
	static const uint16_t ids[] = {AEAD_AES_SIV_CMAC_256, AEAD_AES_128_GCM_SIV};
	double ref_auth = 0, ref_resp = 0;
	if (only == 0) {
		setup_aead(&a, 0, 1, 188, 0);
		ref_auth = measure(op_open, &a, iters);
		cleanup_aead(&a);
		setup_aead(&a, 0, 1, 84, 104);
		ref_resp = measure(op_seal, &a, iters);
		cleanup_aead(&a);
	}
	for (size_t i = 0; i < 2; i++) {
		if (only != 0 && only != ids[i]) {
			continue;
		}
		setup_aead(&a, ids[i], 0, 188, 0);
		printf("request authenticate (AEAD %2u)      %10.0f %10.0f\n", ids[i],
		       measure(op_open, &a, iters), ref_auth);
		cleanup_aead(&a);
		setup_aead(&a, ids[i], 0, 84, 104);
		printf("response seal, 1 cookie (AEAD %2u)   %10.0f %10.0f\n", ids[i],
		       measure(op_seal, &a, iters), ref_resp);
		cleanup_aead(&a);
	}
	return sink == 0;
}
