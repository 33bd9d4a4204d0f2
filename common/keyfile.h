/*
 * keyfile.h: the files that carry cookie keys from the key host to KE
 * servers and responders, and the key host's own state file. Formats are
 * versioned and documented in docs/keys.md.
 *
 * A key file is signed (Ed25519) by the key host's deployment key, so a
 * truncated, corrupted, tampered or other-deployment file is rejected
 * whole; hosts hold only the public half (deployment.pub). It may also be
 * sealed (crypto_box_seal, X25519) to the receiving host's public key, so
 * it can travel over any channel. A daemon also refuses a file older than
 * the one it runs with.
 */
#ifndef NTS_KEYFILE_H
#define NTS_KEYFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <sodium.h>

#include "common/compiler.h"
#include "common/keys.h"

#define KEYFILE_MAX_GENS       6
#define KEYFILE_MAX_SIZE       65536
#define KEYFILE_ROLE_KE        1
#define KEYFILE_ROLE_RESPONDER 2
#define KEYFILE_NO_RETIRE      INT64_MAX

struct keyfile_gen {
	uint8_t gen;
	int64_t activation;  /* first epoch this generation mints in */
	int64_t retire;      /* last epoch its cookies may carry; KEYFILE_NO_RETIRE */
	int64_t chain_epoch; /* the epoch of |key| */
	uint8_t fingerprint[KEYS_FINGERPRINT_LEN];
	uint8_t key[KEYS_LEN]; /* K(gen, chain_epoch) */
};

/* What a key file carries. Holds secrets: allocate with smem_new. */
struct keyfile {
	uint8_t role;
	uint8_t deployment[KEYS_DEPLOYMENT_LEN];
	uint64_t created; /* unix seconds; files are accepted only in order */
	uint32_t epoch_len;
	uint16_t window;
	uint8_t num_gens;
	struct keyfile_gen gens[KEYFILE_MAX_GENS];
};

/* What a host needs to trust a key file: the deployment id and the key
 * host's signing public key (from deployment.pub), and optionally its own
 * sealing key pair. */
struct keyfile_trust {
	uint8_t deployment[KEYS_DEPLOYMENT_LEN];
	uint8_t sign_pk[crypto_sign_PUBLICKEYBYTES];
	int has_box;
	uint8_t box_pk[crypto_box_PUBLICKEYBYTES];
	/* crypto_box_SECRETKEYBYTES of libsodium guarded memory (smem_new),
	 * owned by the struct: NULL unless |has_box| */
	uint8_t *box_sk;
};

/* keyfile_encode writes |kf| signed with |sign_sk|, sealed to |seal_pk|
 * unless it is NULL. */
int keyfile_encode(uint8_t *out, size_t cap, size_t *out_len, const struct keyfile *kf,
                   const uint8_t sign_sk[crypto_sign_SECRETKEYBYTES],
                   const uint8_t *seal_pk) NTS_WUR;

/* keyfile_decode checks and parses a file. On failure |*out_err| says why
 * (valid until the next call on this thread) and |out| is wiped. */
int keyfile_decode(struct keyfile *out, const uint8_t *in, size_t len,
                   const struct keyfile_trust *trust, const char **out_err) NTS_WUR;

/* keyfile_read reads and decodes |path|. */
int keyfile_read(struct keyfile *out, const char *path, const struct keyfile_trust *trust,
                 const char **out_err) NTS_WUR;

/* keyfile_trust_load reads deployment.pub ("nts-deployment-v1 <hex id>
 * <hex ed25519 pk>") and, if |box_secret_path| is not NULL, the host's
 * sealing key ("nts-box-secret-v1 <hex sk>") into guarded memory. Returns
 * 0 with |*out_err| naming the file and the OS error (valid until the
 * next call on this thread); |out| then holds nothing to clean up. Free a
 * loaded trust with keyfile_trust_cleanup. */
int keyfile_trust_load(struct keyfile_trust *out, const char *pub_path, const char *box_secret_path,
                       const char **out_err) NTS_WUR;

/* keyfile_trust_cleanup wipes |t| and frees its secret key; safe on a
 * zeroed or cleaned-up struct. */
void keyfile_trust_cleanup(struct keyfile_trust *t);

/* keyfile_note_identity remembers the name of the user the process runs
 * as, so that a later "permission denied" can name it without a user
 * database lookup (which a sandboxed process may not be allowed). */
void keyfile_note_identity(void);

#endif
