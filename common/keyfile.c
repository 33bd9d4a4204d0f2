/*
 * keyfile.c: signed, optionally sealed key files (see keyfile.h).
 */
#include "common/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bytestring.h>

#include "common/fileio.h"
#include "common/smem.h"
#include "common/wbuf.h"

static const uint8_t magic[8] = {'N', 'T', 'S', 'K', 'E', 'Y', 'F', '1'};
#define VERSION   1
#define GEN_LEN   (1 + 8 + 8 + 8 + KEYS_FINGERPRINT_LEN + KEYS_LEN)
#define BODY_MAX  (1 + 1 + KEYS_DEPLOYMENT_LEN + 8 + 4 + 2 + 1 + KEYFILE_MAX_GENS * GEN_LEN)
#define INNER_MAX (BODY_MAX + crypto_sign_BYTES)

/* Errors that name a file or an id are formatted here; the text stays
 * valid until the next error on the same thread. */
static _Thread_local char err_buf[640];
static uid_t ident_uid = (uid_t)-1;
static char ident_name[64];

static const char *errf(const char *fmt, ...) NTS_PRINTF(1, 2);
static const char *errf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err_buf, sizeof(err_buf), fmt, ap);
	va_end(ap);
	return err_buf;
}

void keyfile_note_identity(void)
{
	struct passwd pw, *res = NULL;
	char buf[1024];
	uid_t uid = geteuid();
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL) {
		snprintf(ident_name, sizeof(ident_name), "%s", pw.pw_name);
		ident_uid = uid;
	}
}

/* read_error describes why |path| (a |what|) could not be read. */
static const char *read_error(const char *what, const char *path, int err, size_t cap)
{
	if (err == EFBIG) {
		return errf("%s %s is larger than %zu bytes: not a %s", what, path, cap, what);
	}
	if (err == EACCES || err == EPERM) {
		uid_t uid = geteuid();
		if (uid == ident_uid) {
			return errf("cannot read %s %s: %s (the daemon runs as user %s, uid %u: "
			            "check the file's owner and mode)",
			            what, path, strerror(err), ident_name, (unsigned)uid);
		}
		return errf("cannot read %s %s: %s (the daemon runs as uid %u: check the file's "
		            "owner and mode)",
		            what, path, strerror(err), (unsigned)uid);
	}
	if (err == ENOENT) {
		return errf("cannot read %s %s: %s (missing)", what, path, strerror(err));
	}
	return errf("cannot read %s %s: %s", what, path, strerror(err));
}

static void hex16(char out[2 * KEYS_DEPLOYMENT_LEN + 1], const uint8_t *id)
{
	sodium_bin2hex(out, 2 * KEYS_DEPLOYMENT_LEN + 1, id, KEYS_DEPLOYMENT_LEN);
}

static int encode_body(struct wbuf *w, const struct keyfile *kf)
{
	if (kf->num_gens == 0 || kf->num_gens > KEYFILE_MAX_GENS) {
		return 0;
	}
	int ok = wbuf_u8(w, VERSION) && wbuf_u8(w, kf->role) &&
	         wbuf_bytes(w, kf->deployment, KEYS_DEPLOYMENT_LEN) && wbuf_u64(w, kf->created) &&
	         wbuf_u32(w, kf->epoch_len) && wbuf_u16(w, kf->window) && wbuf_u8(w, kf->num_gens);
	for (size_t i = 0; ok && i < kf->num_gens; i++) {
		const struct keyfile_gen *g = &kf->gens[i];
		ok = wbuf_u8(w, g->gen) && wbuf_u64(w, (uint64_t)g->activation) &&
		     wbuf_u64(w, (uint64_t)g->retire) && wbuf_u64(w, (uint64_t)g->chain_epoch) &&
		     wbuf_bytes(w, g->fingerprint, KEYS_FINGERPRINT_LEN) &&
		     wbuf_bytes(w, g->key, KEYS_LEN);
	}
	return ok;
}

int keyfile_encode(uint8_t *out, size_t cap, size_t *out_len, const struct keyfile *kf,
                   const uint8_t sign_sk[crypto_sign_SECRETKEYBYTES], const uint8_t *seal_pk)
{
	uint8_t *inner = smem_new(INNER_MAX);
	struct wbuf w, o;
	int ret = 0;

	if (inner == NULL) {
		return 0;
	}
	wbuf_init(&w, inner, INNER_MAX);
	if (!encode_body(&w, kf)) {
		goto err;
	}
	size_t body_len = w.len;
	uint8_t *sig = wbuf_space(&w, crypto_sign_BYTES);
	if (sig == NULL || crypto_sign_detached(sig, NULL, inner, body_len, sign_sk) != 0) {
		goto err;
	}
	wbuf_init(&o, out, cap);
	if (!wbuf_bytes(&o, magic, sizeof(magic)) || !wbuf_u8(&o, seal_pk != NULL)) {
		goto err;
	}
	if (seal_pk != NULL) {
		uint8_t *dst = wbuf_space(&o, w.len + crypto_box_SEALBYTES);
		if (dst == NULL || crypto_box_seal(dst, inner, w.len, seal_pk) != 0) {
			goto err;
		}
	} else if (!wbuf_bytes(&o, inner, w.len)) {
		goto err;
	}
	*out_len = o.len;
	ret = 1;
err:
	smem_free(inner);
	return ret;
}

static int get_i64(CBS *c, int64_t *out)
{
	uint64_t v;
	if (!CBS_get_u64(c, &v)) {
		return 0;
	}
	*out = (int64_t)v;
	return 1;
}

/* open_envelope checks the magic and copies the signed part of the file
 * into |inner| (INNER_MAX bytes of secure memory), unsealing it first if
 * the file is sealed. */
static int open_envelope(uint8_t *inner, size_t *out_inner_len, const uint8_t *in, size_t len,
                         const struct keyfile_trust *trust, const char **out_err)
{
	uint8_t sealed;
	CBS c, m;

	*out_err = "not a key file (bad magic or truncated header)";
	CBS_init(&c, in, len);
	if (!CBS_get_bytes(&c, &m, sizeof(magic)) || memcmp(CBS_data(&m), magic, 8) != 0 ||
	    !CBS_get_u8(&c, &sealed) || sealed > 1) {
		return 0;
	}
	if (!sealed) {
		*out_err = "file too large";
		if (CBS_len(&c) > INNER_MAX) {
			return 0;
		}
		memcpy(inner, CBS_data(&c), CBS_len(&c));
		*out_inner_len = CBS_len(&c);
		return 1;
	}
	if (!trust->has_box) {
		*out_err = "sealed file, but no host sealing key is configured (boxkey)";
		return 0;
	}
	char pkh[2 * crypto_box_PUBLICKEYBYTES + 1];
	sodium_bin2hex(pkh, sizeof(pkh), trust->box_pk, sizeof(trust->box_pk));
	*out_err = errf("sealed file: not sealed to this host's sealing key (public key "
	                "%.16s...), or corrupted; the key host seals to hosts/HOST.pub, "
	                "which must be this host's current public key",
	                pkh);
	if (CBS_len(&c) < crypto_box_SEALBYTES || CBS_len(&c) - crypto_box_SEALBYTES > INNER_MAX ||
	    crypto_box_seal_open(inner, CBS_data(&c), CBS_len(&c), trust->box_pk, trust->box_sk) !=
	        0) {
		return 0;
	}
	*out_inner_len = CBS_len(&c) - crypto_box_SEALBYTES;
	return 1;
}

/* check_signature verifies the deployment's signature at the end of
 * |inner| and sets |out_body| to what it covers. */
static int check_signature(CBS *out_body, const uint8_t *inner, size_t inner_len,
                           const struct keyfile_trust *trust, const char **out_err)
{
	char want[2 * KEYS_DEPLOYMENT_LEN + 1], claim[2 * KEYS_DEPLOYMENT_LEN + 1];
	hex16(want, trust->deployment);
	if (inner_len >= crypto_sign_BYTES + 2 + KEYS_DEPLOYMENT_LEN) {
		/* unauthenticated, only to help the operator tell the cases apart */
		hex16(claim, inner + 2);
		*out_err = errf("bad signature: truncated, corrupted, or of another deployment "
		                "(the file names deployment %s; deployment.pub is %s)",
		                claim, want);
	} else {
		*out_err = errf("bad signature: truncated, corrupted, or of another deployment "
		                "(too short to name one; deployment.pub is %s)",
		                want);
	}
	if (inner_len < crypto_sign_BYTES ||
	    crypto_sign_verify_detached(inner + inner_len - crypto_sign_BYTES, inner,
	                                inner_len - crypto_sign_BYTES, trust->sign_pk) != 0) {
		return 0;
	}
	CBS_init(out_body, inner, inner_len - crypto_sign_BYTES);
	return 1;
}

/* parse_body reads the signed body (header, then the generations) into
 * |out|; it must be consumed exactly. */
static int parse_body(struct keyfile *out, CBS *body, const struct keyfile_trust *trust,
                      const char **out_err)
{
	uint8_t version;
	CBS dep;

	*out_err = "malformed body";
	if (!CBS_get_u8(body, &version) || !CBS_get_u8(body, &out->role) ||
	    !CBS_get_bytes(body, &dep, KEYS_DEPLOYMENT_LEN) || !CBS_get_u64(body, &out->created) ||
	    !CBS_get_u32(body, &out->epoch_len) || !CBS_get_u16(body, &out->window) ||
	    !CBS_get_u8(body, &out->num_gens)) {
		return 0;
	}
	if (version != VERSION) {
		*out_err = "unsupported key file version";
		return 0;
	}
	memcpy(out->deployment, CBS_data(&dep), KEYS_DEPLOYMENT_LEN);
	if (memcmp(out->deployment, trust->deployment, KEYS_DEPLOYMENT_LEN) != 0) {
		char want[2 * KEYS_DEPLOYMENT_LEN + 1], claim[2 * KEYS_DEPLOYMENT_LEN + 1];
		hex16(want, trust->deployment);
		hex16(claim, out->deployment);
		*out_err = errf("key file of another deployment (the file's is %s; deployment.pub "
		                "is %s)",
		                claim, want);
		return 0;
	}
	if ((out->role != KEYFILE_ROLE_KE && out->role != KEYFILE_ROLE_RESPONDER) ||
	    out->num_gens == 0 || out->num_gens > KEYFILE_MAX_GENS || out->epoch_len < 60 ||
	    out->epoch_len > 7 * 86400 || out->window == 0) {
		return 0;
	}
	for (size_t i = 0; i < out->num_gens; i++) {
		struct keyfile_gen *g = &out->gens[i];
		CBS fp, key;
		if (!CBS_get_u8(body, &g->gen) || !get_i64(body, &g->activation) ||
		    !get_i64(body, &g->retire) || !get_i64(body, &g->chain_epoch) ||
		    !CBS_get_bytes(body, &fp, KEYS_FINGERPRINT_LEN) ||
		    !CBS_get_bytes(body, &key, KEYS_LEN) || g->retire < g->activation ||
		    g->chain_epoch < g->activation || g->chain_epoch > g->retire) {
			return 0;
		}
		memcpy(g->fingerprint, CBS_data(&fp), KEYS_FINGERPRINT_LEN);
		memcpy(g->key, CBS_data(&key), KEYS_LEN);
	}
	return CBS_len(body) == 0;
}

int keyfile_decode(struct keyfile *out, const uint8_t *in, size_t len,
                   const struct keyfile_trust *trust, const char **out_err)
{
	uint8_t *inner = smem_new(INNER_MAX);
	size_t inner_len = 0;
	CBS body;
	int ret = 0;

	sodium_memzero(out, sizeof(*out));
	*out_err = "out of memory";
	if (inner == NULL) {
		return 0;
	}
	ret = open_envelope(inner, &inner_len, in, len, trust, out_err) &&
	      check_signature(&body, inner, inner_len, trust, out_err) &&
	      parse_body(out, &body, trust, out_err);
	smem_free(inner);
	if (!ret) {
		sodium_memzero(out, sizeof(*out));
	}
	return ret;
}

int keyfile_read(struct keyfile *out, const char *path, const struct keyfile_trust *trust,
                 const char **out_err)
{
	uint8_t *buf = smem_new(KEYFILE_MAX_SIZE);
	size_t len;
	int ret = 0;

	*out_err = "out of memory";
	if (buf == NULL) {
		return 0;
	}
	if (fileio_slurp(buf, KEYFILE_MAX_SIZE, &len, path)) {
		ret = keyfile_decode(out, buf, len, trust, out_err);
	} else {
		*out_err = read_error("key file", path, errno, KEYFILE_MAX_SIZE);
	}
	smem_free(buf);
	return ret;
}

/* read_hex_line parses "<label> <hex>[ <hex>]" from a small text file. */
static int parse_hex(uint8_t *out, size_t out_len, const char *hex)
{
	size_t bin_len;
	return sodium_hex2bin(out, out_len, hex, strlen(hex), NULL, &bin_len, NULL) == 0 &&
	       bin_len == out_len;
}

void keyfile_trust_cleanup(struct keyfile_trust *t)
{
	smem_free(t->box_sk);
	sodium_memzero(t, sizeof(*t));
}

int keyfile_trust_load(struct keyfile_trust *out, const char *pub_path, const char *box_secret_path,
                       const char **out_err)
{
	char text[512], *save = NULL;
	size_t len;

	sodium_memzero(out, sizeof(*out));
	if (!fileio_slurp((uint8_t *)text, sizeof(text) - 1, &len, pub_path)) {
		*out_err = read_error("deployment public key", pub_path, errno, sizeof(text) - 1);
		return 0;
	}
	text[len] = '\0';
	char *label = strtok_r(text, " \t\n", &save);
	char *dep = strtok_r(NULL, " \t\n", &save);
	char *pk = strtok_r(NULL, " \t\n", &save);
	if (label == NULL || strcmp(label, "nts-deployment-v1") != 0 || dep == NULL || pk == NULL ||
	    !parse_hex(out->deployment, sizeof(out->deployment), dep) ||
	    !parse_hex(out->sign_pk, sizeof(out->sign_pk), pk)) {
		*out_err = errf("%s is not a deployment public key (expected \"nts-deployment-v1 "
		                "<hex id> <hex key>\", as nts-keyctl init writes it)",
		                pub_path);
		return 0;
	}
	if (box_secret_path == NULL) {
		return 1;
	}
	char *stext = smem_new(512);
	out->box_sk = smem_new(crypto_box_SECRETKEYBYTES);
	int ok = 0;
	*out_err = "out of memory";
	if (stext != NULL && out->box_sk != NULL) {
		if (!fileio_slurp((uint8_t *)stext, 511, &len, box_secret_path)) {
			*out_err = read_error("host sealing key", box_secret_path, errno, 511);
		} else {
			stext[len] = '\0';
			save = NULL;
			label = strtok_r(stext, " \t\n", &save);
			char *sk = strtok_r(NULL, " \t\n", &save);
			ok = label != NULL && strcmp(label, "nts-box-secret-v1") == 0 &&
			     sk != NULL && parse_hex(out->box_sk, crypto_box_SECRETKEYBYTES, sk) &&
			     crypto_scalarmult_base(out->box_pk, out->box_sk) == 0;
			if (!ok) {
				*out_err = errf("%s is not a host sealing key (expected "
				                "\"nts-box-secret-v1 <hex>\", as nts-keyctl genbox "
				                "writes it)",
				                box_secret_path);
			}
		}
	}
	smem_free(stext);
	if (!ok) {
		keyfile_trust_cleanup(out);
		return 0;
	}
	out->has_box = 1;
	return 1;
}
