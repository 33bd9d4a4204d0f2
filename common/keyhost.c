/*
 * keyhost.c: generations, rotation and exports on the key host.
 */
#include "common/keyhost.h"

#include <assert.h>
#include <string.h>

#include <openssl/bytestring.h>

#include "common/wbuf.h"

static const uint8_t state_magic[8] = {'N', 'T', 'S', 'S', 'T', 'A', 'T', '1'};
#define MAX_CHAIN_STEPS 1000000

int keyhost_init(struct keyhost *kh, uint32_t epoch_len, uint16_t window, const uint8_t *master,
                 int64_t now)
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], m[KEYS_LEN];

	sodium_memzero(kh, sizeof(*kh));
	if (epoch_len < 60 || epoch_len > 7 * 86400 || window == 0) {
		return 0;
	}
	randombytes_buf(kh->deployment, sizeof(kh->deployment));
	crypto_sign_keypair(pk, kh->sign_sk);
	kh->epoch_len = epoch_len;
	kh->window = window;
	if (master != NULL) {
		memcpy(m, master, KEYS_LEN);
	} else {
		randombytes_buf(m, sizeof(m));
	}
	int ok = keyhost_add_gen(kh, m, keys_epoch(now, epoch_len));
	sodium_memzero(m, sizeof(m));
	return ok;
}

int keyhost_add_gen(struct keyhost *kh, const uint8_t master[KEYS_LEN], int64_t activation)
{
	if (kh->num_gens == KEYHOST_MAX_GENS ||
	    (kh->num_gens > 0 && activation <= kh->gens[kh->num_gens - 1].activation)) {
		return 0;
	}
	struct keyhost_gen *g = &kh->gens[kh->num_gens];
	g->id = kh->num_gens > 0 ? (uint8_t)(kh->gens[kh->num_gens - 1].id + 1) : 0;
	g->activation = activation;
	memcpy(g->master, master, KEYS_LEN);
	kh->num_gens++;
	return 1;
}

int64_t keyhost_retire(const struct keyhost *kh, int i)
{
	return i + 1 < kh->num_gens ? kh->gens[i + 1].activation : KEYFILE_NO_RETIRE;
}

/* drop_gens removes the |num| generations from index |i| and wipes them. */
static void drop_gens(struct keyhost *kh, int i, int num)
{
	memmove(&kh->gens[i], &kh->gens[i + num],
	        (size_t)(kh->num_gens - i - num) * sizeof(kh->gens[0]));
	kh->num_gens = (uint8_t)(kh->num_gens - num);
	sodium_memzero(&kh->gens[kh->num_gens], (size_t)num * sizeof(kh->gens[0]));
}

int keyhost_prune(struct keyhost *kh, int64_t now)
{
	int64_t n = keys_epoch(now, kh->epoch_len);
	int dropped = 0;
	/* Generation 0 of the list goes once its last acceptable epoch has
	 * left every window and its successor is active. */
	while (kh->num_gens > 1 && keyhost_retire(kh, 0) < n - kh->window &&
	       kh->gens[1].activation <= n) {
		drop_gens(kh, 0, 1);
		dropped++;
	}
	return dropped;
}

enum keyhost_revoke_result keyhost_revoke(struct keyhost *kh, uint8_t id, int64_t now,
                                          uint8_t *out_new_id)
{
	int64_t n = keys_epoch(now, kh->epoch_len);
	int i = -1, minting = -1;
	uint8_t master[KEYS_LEN];

	for (int j = 0; j < kh->num_gens; j++) {
		if (kh->gens[j].id == id) {
			i = j;
		}
		if (kh->gens[j].activation <= n) {
			minting = j;
		}
	}
	if (i < 0) {
		return KEYHOST_REVOKE_UNKNOWN;
	}
	if (i != minting) {
		drop_gens(kh, i, 1);
		return KEYHOST_REVOKED;
	}
	/* the minting one and everything announced after it go; a fresh
	 * generation takes over at once, with an id none of them had */
	uint8_t new_id = (uint8_t)(kh->gens[kh->num_gens - 1].id + 1);
	drop_gens(kh, i, kh->num_gens - i);
	randombytes_buf(master, sizeof(master));
	int ok = keyhost_add_gen(kh, master, n);
	sodium_memzero(master, sizeof(master));
	assert(ok); /* the kept generations all activated before the dropped one */
	(void)ok;
	kh->gens[kh->num_gens - 1].id = new_id;
	*out_new_id = new_id;
	return KEYHOST_REVOKED_REPLACED;
}

enum keyhost_rotate_result keyhost_rotate(struct keyhost *kh, int64_t now, unsigned lead,
                                          unsigned every, int *out_pruned)
{
	int64_t n = keys_epoch(now, kh->epoch_len);
	uint8_t master[KEYS_LEN];

	*out_pruned = keyhost_prune(kh, now);
	const struct keyhost_gen *newest = &kh->gens[kh->num_gens - 1];
	if (newest->activation > n) {
		return KEYHOST_PENDING;
	}
	if (n - newest->activation < (int64_t)every - (int64_t)lead) {
		return KEYHOST_NOT_DUE;
	}
	randombytes_buf(master, sizeof(master));
	int ok = keyhost_add_gen(kh, master, n + (lead > 0 ? lead : 1));
	sodium_memzero(master, sizeof(master));
	return ok ? KEYHOST_ROTATED : KEYHOST_NOT_DUE;
}

/* chain_key derives K(g, e) from the master (e >= activation). */
static int chain_key(uint8_t out[KEYS_LEN], const struct keyhost *kh, const struct keyhost_gen *g,
                     int64_t e)
{
	if (e < g->activation || e - g->activation > MAX_CHAIN_STEPS ||
	    !keys_chain_start(out, kh->deployment, g->master, g->id, g->activation)) {
		return 0;
	}
	for (int64_t x = g->activation + 1; x <= e; x++) {
		if (!keys_ratchet(out, kh->deployment, out, g->id, x)) {
			return 0;
		}
	}
	return 1;
}

int keyhost_fingerprint(const struct keyhost *kh, int i, uint8_t out[KEYS_FINGERPRINT_LEN])
{
	uint8_t k[KEYS_LEN], a[KEYS_LEN];
	int ok = chain_key(k, kh, &kh->gens[i], kh->gens[i].activation) && keys_aead_key(a, k);
	if (ok) {
		keys_fingerprint(out, a);
	}
	sodium_memzero(k, sizeof(k));
	sodium_memzero(a, sizeof(a));
	return ok;
}

int keyhost_export(const struct keyhost *kh, int role, int64_t now, struct keyfile *kf)
{
	int64_t n = keys_epoch(now, kh->epoch_len);

	sodium_memzero(kf, sizeof(*kf));
	kf->role = (uint8_t)role;
	memcpy(kf->deployment, kh->deployment, KEYS_DEPLOYMENT_LEN);
	kf->created = (uint64_t)now;
	kf->epoch_len = kh->epoch_len;
	kf->window = kh->window;
	for (int i = 0; i < kh->num_gens; i++) {
		const struct keyhost_gen *g = &kh->gens[i];
		int64_t retire = keyhost_retire(kh, i);
		/* the first epoch this role needs from generation i: KE servers
		 * mint from now on; responders accept the window back */
		int64_t from = role == KEYFILE_ROLE_KE ? n : n - kh->window;
		if (from < g->activation) {
			from = g->activation;
		}
		if (from > retire) {
			continue;
		}
		if (kf->num_gens == KEYFILE_MAX_GENS) {
			return 0;
		}
		struct keyfile_gen *fg = &kf->gens[kf->num_gens++];
		fg->gen = g->id;
		fg->activation = g->activation;
		fg->retire = retire;
		fg->chain_epoch = from;
		if (!keyhost_fingerprint(kh, i, fg->fingerprint) ||
		    !chain_key(fg->key, kh, g, from)) {
			return 0;
		}
	}
	return kf->num_gens > 0;
}

int keyhost_encode(const struct keyhost *kh, uint8_t *out, size_t cap, size_t *out_len)
{
	struct wbuf w;
	wbuf_init(&w, out, cap);
	int ok = wbuf_bytes(&w, state_magic, 8) && wbuf_u8(&w, 1) &&
	         wbuf_bytes(&w, kh->deployment, KEYS_DEPLOYMENT_LEN) &&
	         wbuf_bytes(&w, kh->sign_sk, sizeof(kh->sign_sk)) && wbuf_u32(&w, kh->epoch_len) &&
	         wbuf_u16(&w, kh->window) && wbuf_u8(&w, kh->num_gens);
	for (int i = 0; ok && i < kh->num_gens; i++) {
		ok = wbuf_u8(&w, kh->gens[i].id) &&
		     wbuf_u64(&w, (uint64_t)kh->gens[i].activation) &&
		     wbuf_bytes(&w, kh->gens[i].master, KEYS_LEN);
	}
	uint8_t *h = ok ? wbuf_space(&w, 32) : NULL;
	if (h == NULL || crypto_generichash(h, 32, out, w.len - 32, NULL, 0) != 0) {
		return 0;
	}
	*out_len = w.len;
	return 1;
}

int keyhost_decode(struct keyhost *kh, const uint8_t *in, size_t len, const char **out_err)
{
	uint8_t h[32], version;
	CBS c, m, dep, sk;

	sodium_memzero(kh, sizeof(*kh));
	*out_err = "corrupted (checksum mismatch): restore it from backup";
	if (len < 32 || crypto_generichash(h, 32, in, len - 32, NULL, 0) != 0 ||
	    sodium_memcmp(h, in + len - 32, 32) != 0) {
		return 0;
	}
	*out_err = "unsupported or malformed state";
	CBS_init(&c, in, len - 32);
	if (!CBS_get_bytes(&c, &m, 8) || memcmp(CBS_data(&m), state_magic, 8) != 0 ||
	    !CBS_get_u8(&c, &version) || version != 1 ||
	    !CBS_get_bytes(&c, &dep, KEYS_DEPLOYMENT_LEN) ||
	    !CBS_get_bytes(&c, &sk, sizeof(kh->sign_sk)) || !CBS_get_u32(&c, &kh->epoch_len) ||
	    !CBS_get_u16(&c, &kh->window) || !CBS_get_u8(&c, &kh->num_gens) || kh->num_gens == 0 ||
	    kh->num_gens > KEYHOST_MAX_GENS) {
		goto err;
	}
	memcpy(kh->deployment, CBS_data(&dep), KEYS_DEPLOYMENT_LEN);
	memcpy(kh->sign_sk, CBS_data(&sk), sizeof(kh->sign_sk));
	for (int i = 0; i < kh->num_gens; i++) {
		uint64_t a;
		CBS mk;
		if (!CBS_get_u8(&c, &kh->gens[i].id) || !CBS_get_u64(&c, &a) ||
		    !CBS_get_bytes(&c, &mk, KEYS_LEN)) {
			goto err;
		}
		kh->gens[i].activation = (int64_t)a;
		memcpy(kh->gens[i].master, CBS_data(&mk), KEYS_LEN);
	}
	if (CBS_len(&c) != 0) {
		goto err;
	}
	return 1;
err:
	sodium_memzero(kh, sizeof(*kh));
	return 0;
}
