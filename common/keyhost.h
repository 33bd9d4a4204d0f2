/*
 * keyhost.h: the key host's logic (generations, rotation, pruning, what
 * each role gets), kept apart from nts-keyctl's I/O so that tests can run
 * the whole scheme in-process. Only the key host ever holds a keyhost
 * state: it contains the masters and the deployment signing key.
 */
#ifndef NTS_KEYHOST_H
#define NTS_KEYHOST_H

#include <stdint.h>

#include <sodium.h>

#include "common/compiler.h"
#include "common/keyfile.h"
#include "common/keys.h"

#define KEYHOST_MAX_GENS  16
#define KEYHOST_STATE_MAX 4096

struct keyhost_gen {
	uint8_t id;
	int64_t activation;
	uint8_t master[KEYS_LEN];
};

/* Secret: allocate with smem_new. */
struct keyhost {
	uint8_t deployment[KEYS_DEPLOYMENT_LEN];
	uint8_t sign_sk[crypto_sign_SECRETKEYBYTES];
	uint32_t epoch_len;
	uint16_t window;
	uint8_t num_gens;
	struct keyhost_gen gens[KEYHOST_MAX_GENS]; /* ascending activation */
};

/* keyhost_init sets up a new deployment with generation 0 from |master|
 * (random if NULL) active from the epoch of |now|. */
int keyhost_init(struct keyhost *kh, uint32_t epoch_len, uint16_t window, const uint8_t *master,
                 int64_t now) NTS_WUR;

/* keyhost_add_gen appends a generation activating at |activation|. */
int keyhost_add_gen(struct keyhost *kh, const uint8_t master[KEYS_LEN], int64_t activation) NTS_WUR;

/* keyhost_retire: the last epoch whose cookies generation |i| may carry
 * (the next generation's activation), or KEYFILE_NO_RETIRE. */
int64_t keyhost_retire(const struct keyhost *kh, int i);

enum keyhost_rotate_result {
	KEYHOST_ROTATED, /* a new generation was announced */
	KEYHOST_PENDING, /* one is already announced: nothing to do */
	KEYHOST_NOT_DUE, /* the active one is younger than every - lead */
};

/* keyhost_rotate announces a new random generation activating |lead|
 * epochs from now, unless one is pending or the active one is younger than
 * |every| - |lead| epochs. Idempotent. Prunes first; |*out_pruned| counts
 * generations dropped. */
enum keyhost_rotate_result keyhost_rotate(struct keyhost *kh, int64_t now, unsigned lead,
                                          unsigned every, int *out_pruned);

enum keyhost_revoke_result {
	KEYHOST_REVOKE_UNKNOWN,  /* no such generation is kept */
	KEYHOST_REVOKED,         /* dropped; the minting generation is unchanged */
	KEYHOST_REVOKED_REPLACED /* it was minting: a new one mints from this epoch */
};

/* keyhost_revoke drops generation |id| (its master is wiped) so that no
 * export carries its keys again. If it is the generation minting at |now|,
 * it is replaced by a new random generation active from the current epoch,
 * so there is always one to mint with; generations announced for later
 * epochs are dropped with it (nothing was minted with them yet; the next
 * rotate announces again). |*out_new_id| is the replacement's id. */
enum keyhost_revoke_result keyhost_revoke(struct keyhost *kh, uint8_t id, int64_t now,
                                          uint8_t *out_new_id);

/* keyhost_prune drops generations no acceptance window needs any more. */
int keyhost_prune(struct keyhost *kh, int64_t now);

/* keyhost_export fills |kf| with exactly what |role| needs at |now|. */
int keyhost_export(const struct keyhost *kh, int role, int64_t now, struct keyfile *kf) NTS_WUR;

/* keyhost_fingerprint of generation |i|. */
int keyhost_fingerprint(const struct keyhost *kh, int i, uint8_t out[KEYS_FINGERPRINT_LEN]) NTS_WUR;

/* State file: magic "NTSSTAT1", version, fields, BLAKE2b-256 checksum. */
int keyhost_encode(const struct keyhost *kh, uint8_t *out, size_t cap, size_t *out_len) NTS_WUR;
int keyhost_decode(struct keyhost *kh, const uint8_t *in, size_t len, const char **out_err) NTS_WUR;

#endif
