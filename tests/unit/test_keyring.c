/*
 * test_keyring.c: the keyring as the daemons use it: window edges,
 * one-wayness, generation switch-over, a simulated week of hourly epochs
 * with daily rotations, reload (bad files keep the old keys), and readers
 * on other threads while the control thread swaps snapshots.
 */
#include <pthread.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

#include <sodium.h>

#include "common/fileio.h"
#include "common/keyhost.h"
#include "common/keyring.h"
#include "common/smem.h"
#include "proto/cookie.h"
#include "tests/unit/testutil.h"

#define EPOCH  3600
#define WINDOW 25
static const int64_t T0 = 1764000000 - 1764000000 % EPOCH; /* an epoch start */

/* through_file exports |role| at |now| and decodes it again, so every
 * keyring below is built from a real signed file. */
static struct keyring *keyring_at(const struct keyhost *kh, int role, int64_t export_time,
                                  int64_t build_time)
{
	struct keyfile *kf = smem_new(sizeof(*kf)), *got = smem_new(sizeof(*got));
	static uint8_t buf[KEYFILE_MAX_SIZE];
	struct keyfile_trust t = {0};
	size_t len;
	const char *err;
	struct keyring *kr = NULL;

	memcpy(t.deployment, kh->deployment, 16);
	crypto_sign_ed25519_sk_to_pk(t.sign_pk, kh->sign_sk);
	if (keyhost_export(kh, role, export_time, kf) &&
	    keyfile_encode(buf, sizeof(buf), &len, kf, kh->sign_sk, NULL) &&
	    keyfile_decode(got, buf, len, &t, &err)) {
		kr = keyring_build(got, build_time);
	}
	smem_free(kf);
	smem_free(got);
	return kr;
}

static int opens(const struct keyring *kr, uint32_t kid, int64_t now, int *reason)
{
	return keyring_lookup(kr, kid, now, reason) != NULL;
}

static void test_window_edges(void)
{
	struct keyhost *kh = smem_new(sizeof(*kh));
	int reason;
	CHECK(keyhost_init(kh, EPOCH, WINDOW, NULL, T0 - 100 * EPOCH));
	const int64_t now = T0; /* first second of epoch n */
	const int64_t n = keys_epoch(now, EPOCH);
	struct keyring *r = keyring_at(kh, KEYFILE_ROLE_RESPONDER, now, now);
	CHECK(r != NULL);

	CHECK(opens(r, keys_key_id(0, n), now, &reason));
	CHECK(opens(r, keys_key_id(0, n - WINDOW), now, &reason));      /* oldest accepted */
	CHECK(!opens(r, keys_key_id(0, n - WINDOW - 1), now, &reason)); /* just expired */
	CHECK_EQ(reason, KEYRING_EXPIRED);
	CHECK(opens(r, keys_key_id(0, n + 1), now, &reason)); /* one future epoch */
	CHECK(!opens(r, keys_key_id(0, n + 2), now, &reason));
	CHECK_EQ(reason, KEYRING_FUTURE);
	CHECK(!opens(r, keys_key_id(7, n), now, &reason)); /* no such generation */
	CHECK_EQ(reason, KEYRING_UNKNOWN);

	/* last second of epoch n: same answers; first second of n + 1 after
	 * the tick: the window has moved by one */
	CHECK(opens(r, keys_key_id(0, n - WINDOW), now + EPOCH - 1, &reason));
	CHECK(keyring_advance(r, now + EPOCH - 1) == NULL); /* same epoch: nothing to do */
	struct keyring *r2 = keyring_advance(r, now + EPOCH);
	CHECK(r2 != NULL);
	CHECK(!opens(r2, keys_key_id(0, n - WINDOW), now + EPOCH, &reason));
	CHECK_EQ(reason, KEYRING_EXPIRED);
	CHECK(opens(r2, keys_key_id(0, n + 2), now + EPOCH, &reason));
	CHECK(opens(r2, keys_key_id(0, n - WINDOW + 1), now + EPOCH, &reason));

	/* one-wayness: a responder given its keys at epoch n cannot produce
	 * n - WINDOW - 1 even when asked at a time where it would be in the
	 * window */
	CHECK(!opens(r, keys_key_id(0, n - WINDOW - 1), now - EPOCH, &reason));
	CHECK_EQ(reason, KEYRING_EXPIRED);

	/* the same key on both sides: what a KE server mints opens */
	struct keyring *ke = keyring_at(kh, KEYFILE_ROLE_KE, now, now);
	uint32_t kid;
	const aead_ctx *mint;
	CHECK(keyring_current(ke, now, &kid, &mint));
	CHECK_EQ(kid, keys_key_id(0, n));
	CHECK(!opens(ke, keys_key_id(0, n - 1), now, &reason)); /* KE keeps no past keys */

	keyring_free(r);
	keyring_free(r2);
	keyring_free(ke);
	smem_free(kh);
}

static int roundtrip(const struct keyring *ke, int64_t mint_time, const struct keyring *resp,
                     int64_t check_time, int *reason, uint32_t *out_kid)
{
	uint32_t kid;
	const aead_ctx *ctx;
	uint8_t buf[COOKIE_MAX_LEN], nonce[COOKIE_NONCE_LEN];
	struct cookie_keys keys = {.aead_id = 15, .key_len = 32}, got;
	struct wbuf w;
	CBS cbs;

	if (!keyring_current(ke, mint_time, &kid, &ctx)) {
		*reason = -1;
		return 0;
	}
	*out_kid = kid;
	randombytes_buf(nonce, sizeof(nonce));
	randombytes_buf(keys.c2s, 32);
	wbuf_init(&w, buf, sizeof(buf));
	if (!cookie_seal(&w, ctx, kid, nonce, &keys)) {
		*reason = -2;
		return 0;
	}
	CBS_init(&cbs, buf, w.len);
	const aead_ctx *open = keyring_lookup(resp, kid, check_time, reason);
	return open != NULL && cookie_open(&got, open, &cbs) && memcmp(got.c2s, keys.c2s, 32) == 0;
}

static void test_week(void)
{
	/* 7 days of hourly epochs, cron rotating daily at hour 3 (lead 2,
	 * every 24). Each hour, KE servers and responders load the files the
	 * key host exported that hour. A cookie minted at any instant of
	 * epoch e must open on every responder at epochs e .. e + WINDOW and
	 * be refused at e + WINDOW + 1. Also a responder one hour behind on
	 * its files accepts everything minted with current KE files. */
	struct keyhost *kh = smem_new(sizeof(*kh));
	struct keyring *ke[170] = {0}, *resp[170] = {0};
	const int hours = 168;
	int pruned, rotations = 0, checks = 0;

	CHECK(keyhost_init(kh, EPOCH, WINDOW, NULL, T0));
	for (int h = 0; h < hours; h++) {
		int64_t t = T0 + (int64_t)h * EPOCH;
		if (h % 24 == 3) {
			rotations += keyhost_rotate(kh, t + 60, 2, 24, &pruned) == KEYHOST_ROTATED;
		}
		ke[h] = keyring_at(kh, KEYFILE_ROLE_KE, t + 120, t + 120);
		resp[h] = keyring_at(kh, KEYFILE_ROLE_RESPONDER, t + 120, t + 120);
		CHECK(ke[h] != NULL && resp[h] != NULL);
	}
	CHECK(rotations >= 6);
	for (int h = 0; h < hours; h++) {
		for (int k = 0; k < 3; k++) {
			/* an instant in hour h (after the hourly file update) */
			int64_t mint = T0 + (int64_t)h * EPOCH + 120 +
			               (int64_t)randombytes_uniform(EPOCH - 120);
			int64_t e = keys_epoch(mint, EPOCH);
			for (int d = 0; d <= WINDOW + 1 && h + d < hours; d++) {
				/* responder at some instant of epoch e + d, with
				 * that hour's files (re-advanced to the instant) */
				int64_t at = T0 + (int64_t)(h + d) * EPOCH + 120 +
				             (int64_t)randombytes_uniform(EPOCH - 120);
				struct keyring *adv = keyring_advance(resp[h + d], at);
				const struct keyring *r = adv != NULL ? adv : resp[h + d];
				int reason;
				uint32_t kid;
				int ok = roundtrip(ke[h], mint, r, at, &reason, &kid);
				if (d <= WINDOW) {
					if (!ok) {
						fprintf(stderr,
						        "hour %d + %d: cookie %08x refused (%d)\n",
						        h, d, kid, reason);
					}
					CHECK(ok);
				} else {
					CHECK(!ok);
					CHECK_EQ(reason, KEYRING_EXPIRED);
				}
				keyring_free(adv);
				checks++;
				(void)e;
			}
			/* a responder still on the previous hour's files */
			if (h > 0) {
				int reason;
				uint32_t kid;
				struct keyring *adv = keyring_advance(resp[h - 1], mint);
				CHECK(roundtrip(ke[h], mint, adv != NULL ? adv : resp[h - 1], mint,
				                &reason, &kid));
				keyring_free(adv);
			}
		}
	}
	printf("week: %d rotations, %d mint/open checks\n", rotations, checks);
	for (int h = 0; h < hours; h++) {
		keyring_free(ke[h]);
		keyring_free(resp[h]);
	}
	smem_free(kh);
}

static void test_switch_over(void)
{
	struct keyhost *kh = smem_new(sizeof(*kh));
	int pruned, reason;
	uint32_t kid;
	const aead_ctx *ctx;
	CHECK(keyhost_init(kh, EPOCH, WINDOW, NULL, T0));
	CHECK_EQ(keyhost_rotate(kh, T0 + 22 * EPOCH, 2, 24, &pruned), KEYHOST_ROTATED);
	const int64_t a = keys_epoch(T0, EPOCH) + 24;
	struct keyring *ke = keyring_at(kh, KEYFILE_ROLE_KE, T0 + 22 * EPOCH, T0 + 22 * EPOCH);
	/* before activation: generation 0; at activation: generation 1, from
	 * the same file (no reload needed) */
	struct keyring *k1 = keyring_advance(ke, a * EPOCH - 1);
	CHECK(keyring_current(k1, a * EPOCH - 1, &kid, &ctx));
	CHECK_EQ(kid >> 24, 0);
	struct keyring *k2 = keyring_advance(k1, a * EPOCH);
	CHECK(keyring_current(k2, a * EPOCH, &kid, &ctx));
	CHECK_EQ(kid >> 24, 1);
	/* responders accept both across the switch */
	struct keyring *r = keyring_at(kh, KEYFILE_ROLE_RESPONDER, a * EPOCH, a * EPOCH + 10);
	CHECK(opens(r, keys_key_id(0, a - 1), a * EPOCH + 10, &reason));
	CHECK(opens(r, keys_key_id(0, a), a * EPOCH + 10, &reason)); /* slow KE clock */
	CHECK(opens(r, keys_key_id(1, a), a * EPOCH + 10, &reason));
	CHECK(opens(r, keys_key_id(1, a + 1), a * EPOCH + 10, &reason));
	CHECK(!opens(r, keys_key_id(0, a + 1), a * EPOCH + 10, &reason)); /* retired */
	CHECK_EQ(reason, KEYRING_UNKNOWN);
	CHECK(!opens(r, keys_key_id(1, a - 1), a * EPOCH + 10, &reason)); /* before activation */
	/* a KE with no current generation fails closed */
	struct keyring *late = keyring_advance(ke, (a + 200) * EPOCH);
	struct keyring_status st;
	keyring_status(late != NULL ? late : ke, (a + 200) * EPOCH, &st);
	CHECK(st.usable); /* generation 1 has no retire yet */
	keyring_free(late);
	keyring_free(ke);
	keyring_free(k1);
	keyring_free(k2);
	keyring_free(r);
	smem_free(kh);
}

/* revocation: a revoked generation's cookies no longer open after the next
 * export; the minting one is replaced at once, so a KE server always has a
 * generation to mint with. */
static void test_revoke(void)
{
	struct keyhost *kh = smem_new(sizeof(*kh));
	int pruned, reason;
	uint32_t kid;
	uint8_t new_id = 0;
	const aead_ctx *ctx;
	CHECK(keyhost_init(kh, EPOCH, WINDOW, NULL, T0));
	CHECK_EQ(keyhost_rotate(kh, T0 + 22 * EPOCH, 2, 24, &pruned), KEYHOST_ROTATED);
	const int64_t a = keys_epoch(T0, EPOCH) + 24;
	const int64_t t = a * EPOCH + 10; /* generation 1 mints, 0 is in the window */
	struct keyring *r = keyring_at(kh, KEYFILE_ROLE_RESPONDER, t, t);
	CHECK(opens(r, keys_key_id(0, a - 1), t, &reason));
	keyring_free(r);

	CHECK_EQ(keyhost_revoke(kh, 9, t, &new_id), KEYHOST_REVOKE_UNKNOWN);
	/* a generation that no longer mints: dropped, the minting one stays */
	CHECK_EQ(keyhost_revoke(kh, 0, t, &new_id), KEYHOST_REVOKED);
	CHECK_EQ(kh->num_gens, 1);
	r = keyring_at(kh, KEYFILE_ROLE_RESPONDER, t, t);
	CHECK(!opens(r, keys_key_id(0, a - 1), t, &reason));
	CHECK(opens(r, keys_key_id(1, a), t, &reason));
	keyring_free(r);

	/* the minting (and only) generation: replaced from the current epoch
	 * with a new id; its cookies stop opening, the new one's open */
	CHECK_EQ(keyhost_revoke(kh, 1, t, &new_id), KEYHOST_REVOKED_REPLACED);
	CHECK_EQ(new_id, 2);
	CHECK_EQ(kh->num_gens, 1);
	CHECK_EQ(kh->gens[0].activation, a);
	struct keyring *ke = keyring_at(kh, KEYFILE_ROLE_KE, t, t);
	CHECK(keyring_current(ke, t, &kid, &ctx));
	CHECK_EQ(kid >> 24, 2);
	r = keyring_at(kh, KEYFILE_ROLE_RESPONDER, t, t);
	CHECK(!opens(r, keys_key_id(1, a), t, &reason));
	CHECK(opens(r, keys_key_id(2, a), t, &reason));
	keyring_free(r);
	keyring_free(ke);

	/* an announced generation goes with the minting one it follows */
	CHECK_EQ(keyhost_rotate(kh, t + 22 * EPOCH, 2, 24, &pruned), KEYHOST_ROTATED);
	CHECK_EQ(kh->num_gens, 2);
	CHECK_EQ(keyhost_revoke(kh, 2, t + 22 * EPOCH, &new_id), KEYHOST_REVOKED_REPLACED);
	CHECK_EQ(new_id, 4);
	CHECK_EQ(kh->num_gens, 1);
	CHECK_EQ(kh->gens[0].activation, a + 22);
	smem_free(kh);
}

/* ---- holder: reload and concurrency ---- */

static char dir[256];

static void write_file(const struct keyhost *kh, int role, int64_t t, const char *name, int corrupt)
{
	struct keyfile *kf = smem_new(sizeof(*kf));
	static uint8_t buf[KEYFILE_MAX_SIZE];
	size_t len;
	char path[512];
	CHECK(keyhost_export(kh, role, t, kf));
	CHECK(keyfile_encode(buf, sizeof(buf), &len, kf, kh->sign_sk, NULL));
	if (corrupt == 1) {
		buf[len / 2] ^= 1;
	} else if (corrupt == 2) {
		len -= 10;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	CHECK(fileio_write_atomic(path, buf, len, 0600));
	smem_free(kf);
}

static struct keyring_holder holder;
static _Atomic int stop;
static _Atomic long lookups;

static void *reader(void *arg)
{
	uint32_t kid = *(uint32_t *)arg;
	while (!atomic_load(&stop)) {
		const struct keyring *kr = keyring_holder_get(&holder);
		int reason;
		if (kr != NULL && keyring_lookup(kr, kid, T0, &reason) == NULL) {
			abort();
		}
		atomic_fetch_add(&lookups, 1);
	}
	return NULL;
}

static void test_holder(void)
{
	struct keyhost *kh = smem_new(sizeof(*kh)), *other = smem_new(sizeof(*other));
	struct keyfile_trust t = {0};
	const char *err;
	char path[512];

	snprintf(dir, sizeof(dir), "/tmp/nts-test-keyring.%d", (int)getpid());
	CHECK(mkdir(dir, 0700) == 0);
	CHECK(keyhost_init(kh, EPOCH, WINDOW, NULL, T0 - 10 * EPOCH));
	CHECK(keyhost_init(other, EPOCH, WINDOW, NULL, T0 - 10 * EPOCH));
	memcpy(t.deployment, kh->deployment, 16);
	crypto_sign_ed25519_sk_to_pk(t.sign_pk, kh->sign_sk);
	keyring_holder_init(&holder, KEYFILE_ROLE_RESPONDER);

	write_file(kh, KEYFILE_ROLE_RESPONDER, T0, "good", 0);
	write_file(kh, KEYFILE_ROLE_RESPONDER, T0 - 5, "older", 0);
	write_file(kh, KEYFILE_ROLE_RESPONDER, T0 + 5, "newer", 0);
	write_file(kh, KEYFILE_ROLE_RESPONDER, T0 + 6, "flipped", 1);
	write_file(kh, KEYFILE_ROLE_RESPONDER, T0 + 6, "truncated", 2);
	write_file(kh, KEYFILE_ROLE_KE, T0 + 6, "ke", 0);
	write_file(other, KEYFILE_ROLE_RESPONDER, T0 + 6, "other", 0);

	snprintf(path, sizeof(path), "%s/missing", dir);
	CHECK(!keyring_holder_load(&holder, path, &t, T0, &err));
	CHECK(keyring_holder_get(&holder) == NULL); /* fail closed: nothing loaded */
	snprintf(path, sizeof(path), "%s/good", dir);
	CHECK(keyring_holder_load(&holder, path, &t, T0, &err));
	const struct keyring *first = keyring_holder_get(&holder);
	CHECK(first != NULL);
	static const char *const bad[] = {"older", "flipped", "truncated", "ke", "other"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, bad[i]);
		CHECK(!keyring_holder_load(&holder, path, &t, T0, &err));
		CHECK(keyring_holder_get(&holder) == first); /* old keys kept */
	}
	CHECK_EQ(holder.reloads_failed, 6);

	/* readers on two threads while the control thread reloads and ticks */
	uint32_t kid = keys_key_id(0, keys_epoch(T0, EPOCH) - 3);
	pthread_t th[2];
	for (int i = 0; i < 2; i++) {
		pthread_create(&th[i], NULL, reader, &kid);
	}
	snprintf(path, sizeof(path), "%s/newer", dir);
	int ok = 0, refused = 0;
	for (int i = 0; i < 50; i++) {
		/* the same file again is not older: accepted until the parking
		 * slots are full, then refused (never freed early) */
		if (keyring_holder_load(&holder, path, &t, T0, &err)) {
			ok++;
		} else {
			refused++;
		}
		keyring_holder_tick(&holder, T0);
		usleep(1000);
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
	}
	CHECK(ok >= 1 && ok <= KEYRING_MAX_RETIRED);
	CHECK(refused > 0);
	CHECK(atomic_load(&lookups) > 0);
	printf("holder: %d reloads, %d refused while parked, %ld lookups on 2 threads\n", ok,
	       refused, (long)atomic_load(&lookups));
	keyring_holder_cleanup(&holder);
	const char *names[] = {"good", "older", "newer", "flipped", "truncated", "ke", "other"};
	for (size_t i = 0; i < 7; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
	smem_free(kh);
	smem_free(other);
}

/* ---- clock steps (issue 12, item 3) ---- */

struct minted {
	uint8_t buf[COOKIE_MAX_LEN];
	size_t len;
	uint32_t kid;
	uint8_t c2s[32];
};

static int mint(const struct keyring *kr, int64_t now, struct minted *out)
{
	const aead_ctx *ctx;
	uint8_t nonce[COOKIE_NONCE_LEN];
	struct cookie_keys keys = {.aead_id = 15, .key_len = 32};
	struct wbuf w;

	if (!keyring_current(kr, now, &out->kid, &ctx)) {
		return 0;
	}
	randombytes_buf(nonce, sizeof(nonce));
	randombytes_buf(keys.c2s, 32);
	memcpy(out->c2s, keys.c2s, 32);
	wbuf_init(&w, out->buf, sizeof(out->buf));
	if (!cookie_seal(&w, ctx, out->kid, nonce, &keys)) {
		return 0;
	}
	out->len = w.len;
	return 1;
}

static int opens_minted(const struct keyring *kr, int64_t now, const struct minted *m)
{
	struct cookie_keys got;
	int reason;
	CBS cbs;
	CBS_init(&cbs, m->buf, m->len);
	const aead_ctx *ctx = keyring_lookup(kr, m->kid, now, &reason);
	return ctx != NULL && cookie_open(&got, ctx, &cbs) && memcmp(got.c2s, m->c2s, 32) == 0;
}

/* step follows the clock as the control thread's tick does: the new
 * snapshot if the epoch moved, else the same one. */
static struct keyring *step(struct keyring *kr, int64_t now)
{
	struct keyring *next = keyring_advance(kr, now);
	if (next == NULL) {
		return kr;
	}
	keyring_free(kr);
	return next;
}

static void test_clock_steps(void)
{
	struct keyhost *kh = smem_new(sizeof(*kh));
	const int64_t now = T0 + 600;
	const int64_t n = keys_epoch(now, EPOCH);
	struct minted before, after, fwd;
	int reason;

	CHECK(keyhost_init(kh, EPOCH, WINDOW, NULL, T0 - 100 * EPOCH));
	struct keyring *ke = keyring_at(kh, KEYFILE_ROLE_KE, now, now);
	struct keyring *r = keyring_at(kh, KEYFILE_ROLE_RESPONDER, now, now);
	CHECK(ke != NULL && r != NULL);
	CHECK(mint(ke, now, &before));
	CHECK(opens_minted(r, now, &before));

	/* KE server: +2 h, then back. It mints again at once. */
	ke = step(ke, now + 2 * 3600);
	CHECK(mint(ke, now + 2 * 3600, &fwd));
	ke = step(ke, now + 5);
	CHECK(mint(ke, now + 5, &after));
	CHECK_EQ(after.kid, keys_key_id(0, n));
	CHECK(opens_minted(r, now + 5, &after));

	/* responder: +2 days (every real cookie is expired by that clock),
	 * then back: the cookies minted before and after open again, and it
	 * mints the cookies of its responses again */
	r = step(r, now + 2 * 86400);
	CHECK(!opens_minted(r, now + 2 * 86400, &before));
	r = step(r, now + 10);
	CHECK(opens_minted(r, now + 10, &before));
	CHECK(opens_minted(r, now + 10, &after));
	struct minted resp;
	CHECK(mint(r, now + 10, &resp));
	CHECK(opens_minted(r, now + 10, &resp));
	/* the whole window is back, and still nothing before the file */
	CHECK(keyring_lookup(r, keys_key_id(0, n - WINDOW), now + 10, &reason) != NULL);
	CHECK(keyring_lookup(r, keys_key_id(0, n - WINDOW - 1), now - EPOCH, &reason) == NULL);
	CHECK_EQ(reason, KEYRING_EXPIRED);

	/* a backward step first (-2 days, before the file's chain), then
	 * forward again */
	r = step(r, now - 2 * 86400);
	r = step(r, now + 20);
	CHECK(opens_minted(r, now + 20, &before));
	ke = step(ke, now - 2 * 3600);
	ke = step(ke, now + 20);
	CHECK(mint(ke, now + 20, &after));
	CHECK(opens_minted(r, now + 20, &after));

	/* an absurd reading (a century ahead) does no work and keeps the
	 * snapshot; the next sane reading carries on */
	CHECK(keyring_advance(r, now + 100LL * 365 * 86400) == NULL);
	CHECK(keyring_advance(ke, now + 100LL * 365 * 86400) == NULL);

	/* then time really passes: a cookie minted before the steps opens up
	 * to the end of the window, and not after */
	r = step(r, now + (int64_t)WINDOW * EPOCH);
	CHECK(opens_minted(r, now + (int64_t)WINDOW * EPOCH, &before));
	r = step(r, now + (int64_t)(WINDOW + 1) * EPOCH);
	CHECK(!opens_minted(r, now + (int64_t)(WINDOW + 1) * EPOCH, &before));

	/* the same through the holder, as the daemons drive it */
	struct keyring_holder h;
	const char *err;
	keyring_holder_init(&h, KEYFILE_ROLE_RESPONDER);
	CHECK(mkdir(dir, 0700) == 0); /* test_holder set |dir| and removed it */
	write_file(kh, KEYFILE_ROLE_RESPONDER, now, "steps.keys", 0);
	char path[512];
	snprintf(path, sizeof(path), "%s/steps.keys", dir);
	struct keyfile_trust t = {0};
	memcpy(t.deployment, kh->deployment, 16);
	crypto_sign_ed25519_sk_to_pk(t.sign_pk, kh->sign_sk);
	CHECK(keyring_holder_load(&h, path, &t, now, &err));
	keyring_holder_tick(&h, now + 2 * 86400);
	keyring_holder_tick(&h, now + 30);
	CHECK(opens_minted(keyring_holder_get(&h), now + 30, &before));
	keyring_holder_cleanup(&h);
	unlink(path);
	rmdir(dir);

	keyring_free(ke);
	keyring_free(r);
	smem_free(kh);
}

int main(void)
{
	CHECK(smem_init());
	test_window_edges();
	test_switch_over();
	test_revoke();
	test_week();
	test_holder();
	test_clock_steps();
	return test_summary("keyring");
}
