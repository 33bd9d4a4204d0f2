/*
 * keyring.h: the cookie keys a KE server or responder holds (docs/keys.md).
 *
 * A keyring is an immutable snapshot built from a key file at a given
 * time: for each generation, the AEAD contexts of the epochs the role may
 * use, in a ring indexed by epoch (key id -> generation slot -> epoch slot,
 * O(1), no allocation), plus the ratchet state to derive later epochs.
 *
 *   responder: epochs [now - window, now + 1] (clipped to each generation's
 *              [activation, retire]); keys of older epochs are wiped and can
 *              no longer be derived (the ratchet only moves forward)
 *   KE server: epochs [now, now + 1]; mints with the newest generation whose
 *              activation has come
 *
 * Worker threads read the current snapshot through a keyring_holder with
 * one atomic load; the control thread builds a new snapshot (each epoch,
 * or on reload) and swaps it in. A replaced snapshot is freed only after
 * KEYRING_GRACE_S seconds, far longer than any reader holds it (one packet
 * or one handshake).
 */
#ifndef NTS_KEYRING_H
#define NTS_KEYRING_H

#include <stdatomic.h>
#include <stdint.h>

#include "common/aead.h"
#include "common/compiler.h"
#include "common/keyfile.h"
#include "common/keys.h"

#define KEYRING_MAX_WINDOW  96
#define KEYRING_RING        (KEYRING_MAX_WINDOW + 4)
#define KEYRING_GRACE_S     30
#define KEYRING_MAX_RETIRED 8

enum keyring_miss {
	KEYRING_FOUND = 0,
	KEYRING_UNKNOWN, /* no such generation, or the epoch is outside it */
	KEYRING_EXPIRED, /* older than the window (or wiped) */
	KEYRING_FUTURE,  /* more than one epoch ahead */
};

struct keyring;

/* keyring_build derives the snapshot of |kf| at |now_unix|. NULL on
 * failure (bad window, allocation). */
struct keyring *keyring_build(const struct keyfile *kf, int64_t now_unix);

/* keyring_advance returns a new snapshot for |now_unix| if the epoch moved
 * since |kr| was built, else NULL (nothing to do). */
struct keyring *keyring_advance(const struct keyring *kr, int64_t now_unix);

/* keyring_free wipes and frees; NULL-safe. */
void keyring_free(struct keyring *kr);

/* keyring_lookup finds the cookie AEAD context for |key_id|, or returns
 * NULL with the reason in |*out_reason|. */
const aead_ctx *keyring_lookup(const struct keyring *kr, uint32_t key_id, int64_t now_unix,
                               int *out_reason);

/* keyring_current gives the key to mint new cookies with at |now_unix|;
 * 0 if there is none (fail closed: all expired, none active yet). */
int keyring_current(const struct keyring *kr, int64_t now_unix, uint32_t *out_key_id,
                    const aead_ctx **out_ctx) NTS_WUR;

struct keyring_status {
	int usable; /* keyring_current would succeed */
	int role;
	int num_gens;
	uint8_t current_gen; /* valid if usable */
	int64_t epoch;       /* the epoch the snapshot was built for */
	uint64_t file_created;
	int64_t valid_until; /* unix time after which nothing can be minted */
};
void keyring_status(const struct keyring *kr, int64_t now_unix, struct keyring_status *out);

/* keyring_describe writes one line per generation (id, activation, retire,
 * fingerprint in hex) to |buf|; never key bytes. */
void keyring_describe(const struct keyring *kr, char *buf, size_t buf_len);

/* The daemons' handle: the current snapshot plus what reload needs. */
struct keyring_holder {
	_Atomic(struct keyring *) current;
	struct keyring *retired[KEYRING_MAX_RETIRED];
	int64_t retired_at[KEYRING_MAX_RETIRED];
	int expected_role;
	uint64_t loaded_created;
	uint64_t reloads_ok;
	uint64_t reloads_failed;
};

void keyring_holder_init(struct keyring_holder *h, int expected_role);
void keyring_holder_cleanup(struct keyring_holder *h);

/* keyring_holder_get: the snapshot for one packet or handshake. */
static inline const struct keyring *keyring_holder_get(struct keyring_holder *h)
{
	return atomic_load_explicit(&h->current, memory_order_acquire);
}

/* keyring_holder_load reads, verifies and builds |path|; swaps it in only
 * if all of that worked and the file is not older than the current one.
 * On failure the old keys stay and |*out_err| says why. */
int keyring_holder_load(struct keyring_holder *h, const char *path,
                        const struct keyfile_trust *trust, int64_t now_unix,
                        const char **out_err) NTS_WUR;

/* keyring_holder_tick advances to the epoch of |now_unix| and frees
 * snapshots retired more than KEYRING_GRACE_S ago (measured on the
 * monotonic clock, so clock steps cannot shorten it). Call about once a
 * second from the control thread. */
void keyring_holder_tick(struct keyring_holder *h, int64_t now_unix);

#endif
