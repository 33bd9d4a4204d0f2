/*
 * keyring.c: cookie-key snapshots (see keyring.h).
 */
#include "common/keyring.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "common/smem.h"

/* A chain gap larger than this (years of hourly epochs) is refused rather
 * than ratcheted through: this bounds the work one tick may do, whatever
 * the clock reads. */
#define MAX_RATCHET_STEPS 100000

struct kr_slot {
	int64_t epoch; /* INT64_MIN: empty */
	aead_ctx ctx;
};

struct kr_gen {
	uint8_t gen;
	int64_t activation;
	int64_t retire;
	uint8_t fingerprint[KEYS_FINGERPRINT_LEN];
	/* The chain state the key file carried, K(gen, base_epoch), kept as
	 * loaded so that the ring can be derived again after a backward clock
	 * step: a wrong clock reading never burns a key for good. */
	int64_t base_epoch;
	uint8_t base[KEYS_LEN];
	int64_t ratchet_epoch; /* epoch of |ratchet|, >= base_epoch */
	uint8_t ratchet[KEYS_LEN];
	struct kr_slot slots[KEYRING_RING];
};

struct keyring {
	int role;
	uint32_t epoch_len;
	uint16_t window;
	uint8_t deployment[KEYS_DEPLOYMENT_LEN];
	uint64_t created;
	int64_t epoch; /* built for */
	int num_gens;
	struct kr_gen gens[KEYFILE_MAX_GENS];
};

static int64_t ring_index(int64_t epoch)
{
	int64_t r = epoch % KEYRING_RING;
	return r < 0 ? r + KEYRING_RING : r;
}

/* range gives the epochs |g| must hold at epoch |n|; 0 if none. */
static int range(const struct keyring *kr, const struct kr_gen *g, int64_t n, int64_t *lo,
                 int64_t *hi)
{
	*lo = kr->role == KEYFILE_ROLE_RESPONDER ? n - kr->window : n;
	*hi = n + 1;
	if (*lo < g->activation) {
		*lo = g->activation;
	}
	if (*hi > g->retire) {
		*hi = g->retire;
	}
	return *lo <= *hi;
}

/* fill derives the slots of |g| for epoch |n| and wipes the others. Later
 * epochs come from the working ratchet; earlier ones (the clock went back)
 * from the file's chain state, never from before it (one-way). */
static int fill(struct keyring *kr, struct kr_gen *g, int64_t n)
{
	int64_t lo, hi;
	int have = range(kr, g, n, &lo, &hi);

	for (size_t i = 0; i < KEYRING_RING; i++) {
		struct kr_slot *s = &g->slots[i];
		if (s->epoch != INT64_MIN && (!have || s->epoch < lo || s->epoch > hi)) {
			aead_ctx_cleanup(&s->ctx);
			s->epoch = INT64_MIN;
		}
	}
	if (!have) {
		return 1;
	}
	if (lo < g->base_epoch) {
		lo = g->base_epoch; /* one-way: epochs before the file's are gone */
	}
	/* the ratchet work is bounded before any is done, so a bogus clock
	 * reading costs nothing and changes nothing */
	int64_t first = lo;
	while (first <= hi && g->slots[ring_index(first)].epoch == first) {
		first++;
	}
	if (first > hi) {
		return 1;
	}
	if (hi - (g->ratchet_epoch <= first ? g->ratchet_epoch : g->base_epoch) >
	    MAX_RATCHET_STEPS) {
		return 0;
	}
	for (int64_t e = first; e <= hi; e++) {
		struct kr_slot *s = &g->slots[ring_index(e)];
		if (s->epoch == e) {
			continue;
		}
		if (g->ratchet_epoch > e) {
			memcpy(g->ratchet, g->base, KEYS_LEN);
			g->ratchet_epoch = g->base_epoch;
		}
		while (g->ratchet_epoch < e) {
			if (!keys_ratchet(g->ratchet, kr->deployment, g->ratchet, g->gen,
			                  g->ratchet_epoch + 1)) {
				return 0;
			}
			g->ratchet_epoch++;
		}
		uint8_t a[KEYS_LEN];
		int ok = keys_aead_key(a, g->ratchet) &&
		         aead_ctx_init(&s->ctx, AEAD_AES_SIV_CMAC_256, a, sizeof(a));
		sodium_memzero(a, sizeof(a));
		if (!ok) {
			return 0;
		}
		s->epoch = e;
	}
	return 1;
}

static struct keyring *alloc_keyring(void)
{
	struct keyring *kr = smem_new(sizeof(*kr));
	if (kr == NULL) {
		return NULL;
	}
	for (int i = 0; i < KEYFILE_MAX_GENS; i++) {
		for (int j = 0; j < KEYRING_RING; j++) {
			kr->gens[i].slots[j].epoch = INT64_MIN;
		}
	}
	return kr;
}

struct keyring *keyring_build(const struct keyfile *kf, int64_t now_unix)
{
	struct keyring *kr;

	if (kf->window == 0 || kf->window > KEYRING_MAX_WINDOW || kf->epoch_len == 0 ||
	    kf->num_gens == 0 || kf->num_gens > KEYFILE_MAX_GENS) {
		return NULL;
	}
	kr = alloc_keyring();
	if (kr == NULL) {
		return NULL;
	}
	kr->role = kf->role;
	kr->epoch_len = kf->epoch_len;
	kr->window = kf->window;
	memcpy(kr->deployment, kf->deployment, KEYS_DEPLOYMENT_LEN);
	kr->created = kf->created;
	kr->epoch = keys_epoch(now_unix, kf->epoch_len);
	kr->num_gens = kf->num_gens;
	for (int i = 0; i < kf->num_gens; i++) {
		struct kr_gen *g = &kr->gens[i];
		const struct keyfile_gen *fg = &kf->gens[i];
		for (int j = 0; j < i; j++) {
			if (kr->gens[j].gen == fg->gen) {
				goto err; /* one chain per generation */
			}
		}
		g->gen = fg->gen;
		g->activation = fg->activation;
		g->retire = fg->retire;
		memcpy(g->fingerprint, fg->fingerprint, KEYS_FINGERPRINT_LEN);
		g->base_epoch = fg->chain_epoch;
		memcpy(g->base, fg->key, KEYS_LEN);
		g->ratchet_epoch = fg->chain_epoch;
		memcpy(g->ratchet, fg->key, KEYS_LEN);
		if (!fill(kr, g, kr->epoch)) {
			goto err;
		}
	}
	return kr;
err:
	keyring_free(kr);
	return NULL;
}

struct keyring *keyring_advance(const struct keyring *kr, int64_t now_unix)
{
	int64_t n = keys_epoch(now_unix, kr->epoch_len);
	struct keyring *next;

	if (n == kr->epoch) {
		return NULL;
	}
	next = alloc_keyring();
	if (next == NULL) {
		return NULL;
	}
	/* The cookie AEAD is AES-SIV: its context is plain data, so a byte
	 * copy is a valid copy. */
	memcpy(next, kr, sizeof(*next));
	next->epoch = n;
	for (int i = 0; i < next->num_gens; i++) {
		if (!fill(next, &next->gens[i], n)) {
			keyring_free(next);
			return NULL;
		}
	}
	return next;
}

void keyring_free(struct keyring *kr)
{
	if (kr == NULL) {
		return;
	}
	for (int i = 0; i < KEYFILE_MAX_GENS; i++) {
		for (int j = 0; j < KEYRING_RING; j++) {
			if (kr->gens[i].slots[j].epoch != INT64_MIN) {
				aead_ctx_cleanup(&kr->gens[i].slots[j].ctx);
			}
		}
	}
	smem_free(kr); /* wipes the rest */
}

static const struct kr_gen *find_gen(const struct keyring *kr, uint8_t gen)
{
	for (int i = 0; i < kr->num_gens; i++) {
		if (kr->gens[i].gen == gen) {
			return &kr->gens[i];
		}
	}
	return NULL;
}

const aead_ctx *keyring_lookup(const struct keyring *kr, uint32_t key_id, int64_t now_unix,
                               int *out_reason)
{
	int64_t n = keys_epoch(now_unix, kr->epoch_len);
	int64_t e = keys_id_epoch(key_id, n);
	const struct kr_gen *g = find_gen(kr, (uint8_t)(key_id >> KEYS_EPOCH_BITS));
	int64_t lo = kr->role == KEYFILE_ROLE_RESPONDER ? n - kr->window : n;

	if (e > n + 1) {
		*out_reason = KEYRING_FUTURE;
		return NULL;
	}
	if (e < lo) {
		*out_reason = KEYRING_EXPIRED;
		return NULL;
	}
	if (g == NULL || e < g->activation || e > g->retire) {
		*out_reason = KEYRING_UNKNOWN;
		return NULL;
	}
	const struct kr_slot *s = &g->slots[ring_index(e)];
	if (s->epoch != e) {
		/* before the chain we were given (one-way), or not derived yet */
		*out_reason = e < g->base_epoch ? KEYRING_EXPIRED : KEYRING_UNKNOWN;
		return NULL;
	}
	*out_reason = KEYRING_FOUND;
	return &s->ctx;
}

/* minting_gen: the newest generation whose activation has come at |n|. */
static const struct kr_gen *minting_gen(const struct keyring *kr, int64_t n)
{
	const struct kr_gen *best = NULL;
	for (int i = 0; i < kr->num_gens; i++) {
		const struct kr_gen *g = &kr->gens[i];
		if (g->activation <= n && n <= g->retire &&
		    (best == NULL || g->activation > best->activation)) {
			best = g;
		}
	}
	return best;
}

int keyring_current(const struct keyring *kr, int64_t now_unix, uint32_t *out_key_id,
                    const aead_ctx **out_ctx)
{
	int64_t n = keys_epoch(now_unix, kr->epoch_len);
	const struct kr_gen *g = minting_gen(kr, n);
	if (g == NULL) {
		return 0;
	}
	const struct kr_slot *s = &g->slots[ring_index(n)];
	if (s->epoch != n) {
		return 0;
	}
	*out_key_id = keys_key_id(g->gen, n);
	*out_ctx = &s->ctx;
	return 1;
}

void keyring_status(const struct keyring *kr, int64_t now_unix, struct keyring_status *out)
{
	uint32_t id;
	const aead_ctx *ctx;
	int64_t last = INT64_MIN;

	memset(out, 0, sizeof(*out));
	out->role = kr->role;
	out->num_gens = kr->num_gens;
	out->epoch = kr->epoch;
	out->file_created = kr->created;
	out->usable = keyring_current(kr, now_unix, &id, &ctx);
	if (out->usable) {
		out->current_gen = (uint8_t)(id >> KEYS_EPOCH_BITS);
	}
	for (int i = 0; i < kr->num_gens; i++) {
		if (kr->gens[i].retire > last) {
			last = kr->gens[i].retire;
		}
	}
	out->valid_until =
	    last == KEYFILE_NO_RETIRE || last > INT64_MAX / (int64_t)kr->epoch_len - 1
	        ? INT64_MAX
	        : (last + 1) * (int64_t)kr->epoch_len;
}

void keyring_describe(const struct keyring *kr, char *buf, size_t buf_len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (int i = 0; i < kr->num_gens && off < buf_len; i++) {
		const struct kr_gen *g = &kr->gens[i];
		char fp[2 * KEYS_FINGERPRINT_LEN + 1];
		sodium_bin2hex(fp, sizeof(fp), g->fingerprint, KEYS_FINGERPRINT_LEN);
		char retire[32];
		if (g->retire == KEYFILE_NO_RETIRE) {
			snprintf(retire, sizeof(retire), "-");
		} else {
			snprintf(retire, sizeof(retire), "%" PRId64, g->retire);
		}
		int n = snprintf(buf + off, buf_len - off,
		                 "%sgeneration %u fingerprint %s activation-epoch %" PRId64
		                 " retire-epoch %s",
		                 i > 0 ? "; " : "", g->gen, fp, g->activation, retire);
		if (n < 0) {
			break;
		}
		off += (size_t)n;
	}
}

/* ---- holder ---- */

void keyring_holder_init(struct keyring_holder *h, int expected_role)
{
	memset(h, 0, sizeof(*h));
	atomic_init(&h->current, NULL);
	h->expected_role = expected_role;
}

static int64_t mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* swap_in makes |kr| current and parks the old snapshot until the grace
 * period has passed. If every parking slot is busy (reloads faster than
 * the grace period), nothing is swapped: freeing a snapshot early could
 * pull it from under a reader. */
static int swap_in(struct keyring_holder *h, struct keyring *kr)
{
	int slot = -1;
	for (int i = 0; i < KEYRING_MAX_RETIRED; i++) {
		if (h->retired[i] == NULL) {
			slot = i;
			break;
		}
	}
	if (slot < 0) {
		return 0;
	}
	h->retired[slot] = atomic_exchange_explicit(&h->current, kr, memory_order_acq_rel);
	h->retired_at[slot] = mono_now();
	return 1;
}

void keyring_holder_cleanup(struct keyring_holder *h)
{
	keyring_free(atomic_exchange(&h->current, NULL));
	for (int i = 0; i < KEYRING_MAX_RETIRED; i++) {
		keyring_free(h->retired[i]);
		h->retired[i] = NULL;
	}
}

int keyring_holder_load(struct keyring_holder *h, const char *path,
                        const struct keyfile_trust *trust, int64_t now_unix, const char **out_err)
{
	struct keyfile *kf = smem_new(sizeof(*kf));
	struct keyring *kr = NULL;
	int ret = 0;

	*out_err = "out of memory";
	if (kf == NULL) {
		goto err;
	}
	if (!keyfile_read(kf, path, trust, out_err)) {
		goto err;
	}
	if (kf->role != h->expected_role) {
		*out_err = "key file is for the other role";
		goto err;
	}
	if (kf->created < h->loaded_created) {
		*out_err = "key file is older than the one in use (stale copy?)";
		goto err;
	}
	kr = keyring_build(kf, now_unix);
	if (kr == NULL) {
		*out_err = "cannot derive keys from the file (window too large or chain gap)";
		goto err;
	}
	if (!swap_in(h, kr)) {
		*out_err = "reloads too frequent: retry in a few seconds";
		keyring_free(kr);
		goto err;
	}
	h->loaded_created = kf->created;
	ret = 1;
err:
	smem_free(kf);
	if (ret) {
		h->reloads_ok++;
	} else {
		h->reloads_failed++;
	}
	return ret;
}

void keyring_holder_tick(struct keyring_holder *h, int64_t now_unix)
{
	struct keyring *cur = atomic_load_explicit(&h->current, memory_order_acquire);
	if (cur != NULL) {
		struct keyring *next = keyring_advance(cur, now_unix);
		if (next != NULL && !swap_in(h, next)) {
			keyring_free(next); /* retried on the next tick */
		}
	}
	int64_t mono = mono_now();
	for (int i = 0; i < KEYRING_MAX_RETIRED; i++) {
		if (h->retired[i] != NULL && mono - h->retired_at[i] >= KEYRING_GRACE_S) {
			keyring_free(h->retired[i]);
			h->retired[i] = NULL;
		}
	}
}
