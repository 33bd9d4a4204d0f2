/*
 * test_keys.c: the derivation (known answers computed with Python's
 * cryptography HKDF), key ids, key files (signature, sealing, every
 * truncation and byte flip), and the key host's state file.
 */
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/fileio.h"
#include "common/keyfile.h"
#include "common/keyhost.h"
#include "common/keys.h"
#include "common/smem.h"
#include "tests/unit/testutil.h"

static void unhex(uint8_t *out, size_t len, const char *hex)
{
	size_t bin_len;
	if (sodium_hex2bin(out, len, hex, strlen(hex), NULL, &bin_len, NULL) != 0 ||
	    bin_len != len) {
		abort();
	}
}

static void test_derivation_kat(void)
{
	uint8_t dep[16], master[32], k0[32], k1[32], a1[32], a0[32], fp[8], want[32];
	for (int i = 0; i < 16; i++) {
		dep[i] = (uint8_t)(i + 1);
	}
	for (int i = 0; i < 32; i++) {
		master[i] = (uint8_t)(0x20 + i);
	}
	/* deployment 01..10, master 20..3f, generation 3, activation epoch 490000 */
	CHECK(keys_chain_start(k0, dep, master, 3, 490000));
	unhex(want, 32, "492606fb8c1921fe331ee3101e4f4d459485d5c46087d02d537bcece6f83ad36");
	CHECK_MEM(k0, 32, want, 32);
	CHECK(keys_ratchet(k1, dep, k0, 3, 490001));
	unhex(want, 32, "1fef41a21bd320d909c913547037780d40ae9f8259b5f01ca01b9d7ff72ba5a9");
	CHECK_MEM(k1, 32, want, 32);
	CHECK(keys_aead_key(a1, k1));
	unhex(want, 32, "3947c9d1b5a6d1b851e94ecf9356396d4c3cad640bf2e585342e5141988b0214");
	CHECK_MEM(a1, 32, want, 32);
	CHECK(keys_aead_key(a0, k0));
	keys_fingerprint(fp, a0);
	unhex(want, 8, "07b5a09cc1fbf45b");
	CHECK_MEM(fp, 8, want, 8);
	/* the ratchet depends on generation, epoch and deployment */
	uint8_t x[32];
	CHECK(keys_ratchet(x, dep, k0, 4, 490001));
	CHECK(memcmp(x, k1, 32) != 0);
	CHECK(keys_ratchet(x, dep, k0, 3, 490002));
	CHECK(memcmp(x, k1, 32) != 0);
	dep[0] ^= 1;
	CHECK(keys_ratchet(x, dep, k0, 3, 490001));
	CHECK(memcmp(x, k1, 32) != 0);
	/* in place */
	dep[0] ^= 1;
	memcpy(x, k0, 32);
	CHECK(keys_ratchet(x, dep, x, 3, 490001));
	CHECK_MEM(x, 32, k1, 32);
}

static void test_key_ids(void)
{
	CHECK_EQ(keys_key_id(1, 490000), 0x01077a10u);
	CHECK_EQ(keys_key_id(255, 0x1234567), 0xff234567u);
	CHECK_EQ(keys_id_epoch(0x01077a10u, 490000), 490000);
	CHECK_EQ(keys_id_epoch(0x01077a10u, 490100), 490000);
	/* across the 2^24 wrap */
	int64_t e = ((int64_t)1 << 24) + 5;
	CHECK_EQ(keys_id_epoch(keys_key_id(0, e), e + 3), e);
	CHECK_EQ(keys_id_epoch(keys_key_id(0, e - 10), e), e - 10);
	CHECK_EQ(keys_epoch(7199, 3600), 1);
	CHECK_EQ(keys_epoch(7200, 3600), 2);
	CHECK_EQ(keys_epoch(-1, 3600), -1);
}

static void make_trust(struct keyfile_trust *t, const struct keyhost *kh, int box)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->deployment, kh->deployment, 16);
	crypto_sign_ed25519_sk_to_pk(t->sign_pk, kh->sign_sk);
	if (box) {
		t->box_sk = smem_new(crypto_box_SECRETKEYBYTES);
		CHECK(t->box_sk != NULL);
		crypto_box_keypair(t->box_pk, t->box_sk);
		t->has_box = 1;
	}
}

static void test_keyfile(void)
{
	struct keyhost *kh = smem_new(sizeof(*kh)), *other = smem_new(sizeof(*other));
	struct keyfile *kf = smem_new(sizeof(*kf)), *got = smem_new(sizeof(*got));
	struct keyfile_trust trust, wrong, boxed, boxed2;
	static uint8_t buf[KEYFILE_MAX_SIZE], copy[KEYFILE_MAX_SIZE];
	size_t len;
	const char *err;
	const int64_t now = 1764000000;

	CHECK(keyhost_init(kh, 3600, 25, NULL, now));
	CHECK(keyhost_init(other, 3600, 25, NULL, now));
	uint8_t m[32] = {9};
	CHECK(keyhost_add_gen(kh, m, keys_epoch(now, 3600) + 2));
	make_trust(&trust, kh, 0);
	make_trust(&wrong, other, 0);
	make_trust(&boxed, kh, 1);
	make_trust(&boxed2, kh, 1);

	CHECK(keyhost_export(kh, KEYFILE_ROLE_RESPONDER, now, kf));
	CHECK_EQ(kf->num_gens, 2);
	CHECK(keyfile_encode(buf, sizeof(buf), &len, kf, kh->sign_sk, NULL));
	CHECK(keyfile_decode(got, buf, len, &trust, &err));
	CHECK_EQ(got->num_gens, 2);
	CHECK_EQ(got->role, KEYFILE_ROLE_RESPONDER);
	CHECK_MEM(got->gens[1].key, 32, kf->gens[1].key, 32);
	CHECK_EQ(got->gens[0].retire, kf->gens[1].activation);
	/* a host with a sealing key still reads unsealed files */
	CHECK(keyfile_decode(got, buf, len, &boxed, &err));
	/* another deployment's key: rejected */
	CHECK(!keyfile_decode(got, buf, len, &wrong, &err));
	CHECK_EQ(got->num_gens, 0); /* wiped */
	/* same signing key, other deployment id: rejected */
	struct keyfile_trust t2 = trust;
	t2.deployment[0] ^= 1;
	CHECK(!keyfile_decode(got, buf, len, &t2, &err));
	/* every truncation and every byte flip: rejected */
	for (size_t l = 0; l < len; l++) {
		CHECK(!keyfile_decode(got, buf, l, &trust, &err));
	}
	for (size_t i = 0; i < len; i++) {
		memcpy(copy, buf, len);
		copy[i] ^= 0x01;
		CHECK(!keyfile_decode(got, copy, len, &trust, &err));
	}
	/* a trailing byte */
	memcpy(copy, buf, len);
	copy[len] = 0;
	CHECK(!keyfile_decode(got, copy, len + 1, &trust, &err));

	/* sealed to boxed: boxed reads it, nobody else does */
	CHECK(keyfile_encode(buf, sizeof(buf), &len, kf, kh->sign_sk, boxed.box_pk));
	CHECK(keyfile_decode(got, buf, len, &boxed, &err));
	CHECK_MEM(got->gens[0].key, 32, kf->gens[0].key, 32);
	CHECK(!keyfile_decode(got, buf, len, &boxed2, &err)); /* wrong recipient */
	CHECK(!keyfile_decode(got, buf, len, &trust, &err));  /* no box key */
	for (size_t i = 0; i < len; i += 3) {
		memcpy(copy, buf, len);
		copy[i] ^= 0x80;
		CHECK(!keyfile_decode(got, copy, len, &boxed, &err));
	}

	/* the key host's state file */
	static uint8_t st[KEYHOST_STATE_MAX];
	size_t st_len;
	CHECK(keyhost_encode(kh, st, sizeof(st), &st_len));
	CHECK(keyhost_decode(other, st, st_len, &err));
	CHECK_EQ(other->num_gens, 2);
	CHECK_MEM(other->gens[1].master, 32, m, 32);
	for (size_t i = 0; i < st_len; i += 5) {
		st[i] ^= 0x10;
		CHECK(!keyhost_decode(other, st, st_len, &err));
		st[i] ^= 0x10;
	}
	CHECK(!keyhost_decode(other, st, st_len - 1, &err));

	/* another deployment's file names both ids */
	CHECK(keyfile_encode(buf, sizeof(buf), &len, kf, kh->sign_sk, NULL));
	CHECK(!keyfile_decode(got, buf, len, &wrong, &err));
	char a[33], b[33];
	sodium_bin2hex(a, sizeof(a), kh->deployment, 16);
	sodium_bin2hex(b, sizeof(b), wrong.deployment, 16);
	CHECK(strstr(err, "bad signature") != NULL);
	CHECK(strstr(err, a) != NULL && strstr(err, b) != NULL);

	keyfile_trust_cleanup(&boxed);
	keyfile_trust_cleanup(&boxed2);
	CHECK(boxed.box_sk == NULL && !boxed.has_box);
	smem_free(kh);
	smem_free(other);
	smem_free(kf);
	smem_free(got);
}

/* The trust files: the sealing secret in guarded memory; errors that name
 * the file and the OS error. */
static void test_trust_files(void)
{
	char dir[64], pub[128], box[128], big[128], bad[128];
	struct keyfile_trust t;
	const char *err;
	struct keyhost *kh = smem_new(sizeof(*kh));
	uint8_t pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES];
	char line[256], hex[2 * sizeof(pk) + 1], sign_hex[2 * crypto_sign_PUBLICKEYBYTES + 1];

	snprintf(dir, sizeof(dir), "/tmp/nts-test-keys.%d", (int)getpid());
	CHECK(mkdir(dir, 0700) == 0);
	CHECK(keyhost_init(kh, 3600, 25, NULL, 1764000000));
	uint8_t spk[crypto_sign_PUBLICKEYBYTES];
	crypto_sign_ed25519_sk_to_pk(spk, kh->sign_sk);
	char dep[33];
	sodium_bin2hex(dep, sizeof(dep), kh->deployment, 16);
	sodium_bin2hex(sign_hex, sizeof(sign_hex), spk, sizeof(spk));
	snprintf(pub, sizeof(pub), "%s/deployment.pub", dir);
	int n = snprintf(line, sizeof(line), "nts-deployment-v1 %s %s\n", dep, sign_hex);
	CHECK(fileio_write_atomic(pub, (const uint8_t *)line, (size_t)n, 0644));
	crypto_box_keypair(pk, sk);
	sodium_bin2hex(hex, sizeof(hex), sk, sizeof(sk));
	snprintf(box, sizeof(box), "%s/host.box", dir);
	n = snprintf(line, sizeof(line), "nts-box-secret-v1 %s\n", hex);
	CHECK(fileio_write_atomic(box, (const uint8_t *)line, (size_t)n, 0600));

	CHECK(keyfile_trust_load(&t, pub, box, &err));
	CHECK(t.has_box);
	CHECK_MEM(t.box_pk, sizeof(pk), pk, sizeof(pk));
	/* libsodium guarded memory: outside the struct, and ending right at
	 * a guard page (sodium_malloc puts the buffer against it) */
	CHECK(t.box_sk != NULL);
	CHECK((uint8_t *)t.box_sk < (uint8_t *)&t || (uint8_t *)t.box_sk >= (uint8_t *)(&t + 1));
	CHECK(((uintptr_t)t.box_sk + crypto_box_SECRETKEYBYTES) %
	          (uintptr_t)sysconf(_SC_PAGESIZE) ==
	      0);
	CHECK_MEM(t.box_sk, sizeof(sk), sk, sizeof(sk));
	keyfile_trust_cleanup(&t);
	CHECK(t.box_sk == NULL);

	/* missing sealing key: its own path and the OS error, not
	 * deployment.pub's */
	char missing[160];
	snprintf(missing, sizeof(missing), "%s/nope.box", dir);
	CHECK(!keyfile_trust_load(&t, pub, missing, &err));
	CHECK(strstr(err, missing) != NULL && strstr(err, "No such file") != NULL);
	CHECK(strstr(err, "deployment.pub") == NULL);
	CHECK(t.box_sk == NULL);
	/* malformed sealing key */
	snprintf(bad, sizeof(bad), "%s/bad.box", dir);
	CHECK(fileio_write_atomic(bad, (const uint8_t *)"nts-box-secret-v1 zz\n", 21, 0600));
	CHECK(!keyfile_trust_load(&t, pub, bad, &err));
	CHECK(strstr(err, bad) != NULL && strstr(err, "not a host sealing key") != NULL);
	/* a key file too large, and a missing one: which, with the path */
	static uint8_t huge[KEYFILE_MAX_SIZE + 10];
	snprintf(big, sizeof(big), "%s/big.keys", dir);
	CHECK(fileio_write_atomic(big, huge, sizeof(huge), 0600));
	CHECK(keyfile_trust_load(&t, pub, NULL, &err));
	struct keyfile *kf = smem_new(sizeof(*kf));
	CHECK(!keyfile_read(kf, big, &t, &err));
	CHECK(strstr(err, big) != NULL && strstr(err, "larger than 65536 bytes") != NULL);
	CHECK(!keyfile_read(kf, missing, &t, &err));
	CHECK(strstr(err, missing) != NULL && strstr(err, "No such file") != NULL);
	/* unreadable: the OS error and who we run as (root reads anything) */
	if (geteuid() != 0) {
		chmod(box, 0);
		keyfile_note_identity();
		CHECK(!keyfile_trust_load(&t, pub, box, &err));
		CHECK(strstr(err, box) != NULL && strstr(err, "Permission denied") != NULL &&
		      strstr(err, "runs as user") != NULL);
	}
	keyfile_trust_cleanup(&t);
	smem_free(kf);
	unlink(pub);
	unlink(box);
	unlink(bad);
	unlink(big);
	rmdir(dir);
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(line, sizeof(line));
	smem_free(kh);
}

static void test_exports(void)
{
	/* what each role gets: KE from now on, responders the window back;
	 * never a master, and nothing of a generation no window needs */
	struct keyhost *kh = smem_new(sizeof(*kh));
	struct keyfile *kf = smem_new(sizeof(*kf));
	const int64_t t0 = 1764000000;
	const int64_t n0 = keys_epoch(t0, 3600);
	int pruned;

	CHECK(keyhost_init(kh, 3600, 25, NULL, t0));
	CHECK_EQ(keyhost_rotate(kh, t0, 2, 24, &pruned), KEYHOST_NOT_DUE);
	CHECK_EQ(keyhost_rotate(kh, t0 + 22 * 3600, 2, 24, &pruned), KEYHOST_ROTATED);
	CHECK_EQ(keyhost_rotate(kh, t0 + 22 * 3600, 2, 24, &pruned), KEYHOST_PENDING);
	CHECK_EQ(kh->num_gens, 2);
	CHECK_EQ(kh->gens[1].activation, n0 + 24);

	CHECK(keyhost_export(kh, KEYFILE_ROLE_KE, t0 + 22 * 3600, kf));
	CHECK_EQ(kf->num_gens, 2);
	CHECK_EQ(kf->gens[0].chain_epoch, n0 + 22);
	CHECK_EQ(kf->gens[1].chain_epoch, n0 + 24);
	CHECK(keyhost_export(kh, KEYFILE_ROLE_RESPONDER, t0 + 30 * 3600, kf));
	CHECK_EQ(kf->gens[0].chain_epoch, n0 + 30 - 25);
	/* 50 epochs after the switch: generation 0 is no longer exported and
	 * rotate prunes its master */
	CHECK(keyhost_export(kh, KEYFILE_ROLE_RESPONDER, t0 + 50 * 3600, kf));
	CHECK_EQ(kf->num_gens, 1);
	CHECK_EQ(keyhost_rotate(kh, t0 + 50 * 3600, 2, 24, &pruned), KEYHOST_ROTATED);
	CHECK_EQ(pruned, 1);
	CHECK_EQ(kh->gens[0].id, 1);
	smem_free(kh);
	smem_free(kf);
}

int main(void)
{
	CHECK(smem_init());
	test_derivation_kat();
	test_key_ids();
	test_keyfile();
	test_trust_files();
	test_exports();
	return test_summary("keys");
}
