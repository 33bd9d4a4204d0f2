/*
 * nts-keyctl: the key host's tool (docs/keys.md).
 *
 *   nts-keyctl init    --dir D [--epoch-length S] [--window N] [--master FILE]
 *   nts-keyctl rotate  --dir D [--lead N] [--every N]         (what cron runs)
 *   nts-keyctl import  --dir D --master FILE [--activation EPOCH]
 *   nts-keyctl revoke  --dir D GENERATION     (drop it now; see keyhost_revoke)
 *   nts-keyctl export  --dir D --role ke|responder --out FILE [--seal-to PUBFILE]
 *   nts-keyctl show    --dir D | --file F --pub P [--box-secret S]
 *   nts-keyctl genbox  --out-secret F --out-public F [--owner USER[:GROUP]] [--force]
 *                      (a host's sealing key pair; --owner gives the secret
 *                      file to the daemon's user; an existing secret is kept
 *                      unless --force)
 *
 * init, rotate and import change the state under an exclusive lock on
 * DIR/lock (flock), waiting at most --lock-timeout S (default 60) for
 * another run to finish, so overlapping runs never lose an update.
 *
 * Every command takes --now UNIX (for tests). Files are written atomically
 * with mode 0600 (the public files 0644). Key bytes are never printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bytestring.h>
#include <sodium.h>

#include "common/fileio.h"
#include "common/keyfile.h"
#include "common/keyhost.h"
#include "common/keyring.h"
#include "common/keys.h"
#include "common/numparse.h"
#include "common/smem.h"
#include "common/version.h"
#include "common/wbuf.h"

static struct {
	const char *dir, *master, *role, *out, *seal_to, *file, *pub, *box_secret;
	const char *out_secret, *out_public, *owner;
	int force;
	unsigned lock_timeout;
	int64_t now;
	uint32_t epoch_len;
	unsigned window, lead, every;
	int64_t activation;
	int has_activation;
} opt = {.epoch_len = 3600, .window = 25, .lead = 2, .every = 24, .lock_timeout = 60};

static void die(const char *fmt, ...) NTS_PRINTF(1, 2) __attribute__((noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "nts-keyctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void path_in(char *buf, size_t len, const char *name)
{
	if ((size_t)snprintf(buf, len, "%s/%s", opt.dir, name) >= len) {
		die("path too long");
	}
}

static int64_t now_epoch(const struct keyhost *st)
{
	return keys_epoch(opt.now, st->epoch_len);
}

/* lock_dir takes the exclusive lock on DIR/lock for the rest of the run
 * (released when the process exits), waiting up to --lock-timeout. */
static void lock_dir(void)
{
	char path[4096];
	path_in(path, sizeof(path), "lock");
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		die("cannot open the lock file %s: %s", path, strerror(errno));
	}
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			return; /* |fd| stays open: the lock lives until exit */
		}
		if (errno != EWOULDBLOCK && errno != EINTR) {
			die("cannot lock %s: %s", path, strerror(errno));
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= (time_t)opt.lock_timeout) {
			die("%s is held by another nts-keyctl (a rotate, import or init still "
			    "running?); gave up after %u s (--lock-timeout)",
			    path, opt.lock_timeout);
		}
		struct timespec pause = {0, 100 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
}

static void save_state(const struct keyhost *st)
{
	uint8_t *buf = smem_new(KEYHOST_STATE_MAX);
	size_t len;
	char path[4096];

	if (buf == NULL || !keyhost_encode(st, buf, KEYHOST_STATE_MAX, &len)) {
		die("cannot encode state");
	}
	path_in(path, sizeof(path), "state");
	if (!fileio_write_atomic(path, buf, len, 0600)) {
		die("cannot write %s: %s", path, strerror(errno));
	}
	smem_free(buf);
}

static int load_state(struct keyhost *st)
{
	uint8_t *buf = smem_new(KEYHOST_STATE_MAX);
	size_t len;
	char path[4096];
	const char *err;

	path_in(path, sizeof(path), "state");
	if (buf == NULL || !fileio_slurp(buf, KEYHOST_STATE_MAX, &len, path)) {
		smem_free(buf);
		return 0;
	}
	if (!keyhost_decode(st, buf, len, &err)) {
		die("%s: %s", path, err);
	}
	smem_free(buf);
	return 1;
}

static void read_master(uint8_t out[KEYS_LEN], const char *path)
{
	uint8_t buf[KEYS_LEN + 1];
	size_t len;
	if (!fileio_slurp(buf, sizeof(buf), &len, path) || len != KEYS_LEN) {
		die("%s: a master key file holds exactly 32 raw bytes", path);
	}
	memcpy(out, buf, KEYS_LEN);
	sodium_memzero(buf, sizeof(buf));
}

static void write_pub(const struct keyhost *st)
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	char dep_hex[2 * KEYS_DEPLOYMENT_LEN + 1], pk_hex[2 * sizeof(pk) + 1], line[256],
	    path[4096];

	crypto_sign_ed25519_sk_to_pk(pk, st->sign_sk);
	sodium_bin2hex(dep_hex, sizeof(dep_hex), st->deployment, KEYS_DEPLOYMENT_LEN);
	sodium_bin2hex(pk_hex, sizeof(pk_hex), pk, sizeof(pk));
	int n = snprintf(line, sizeof(line), "nts-deployment-v1 %s %s\n", dep_hex, pk_hex);
	path_in(path, sizeof(path), "deployment.pub");
	if (!fileio_write_atomic(path, (const uint8_t *)line, (size_t)n, 0644)) {
		die("cannot write %s: %s", path, strerror(errno));
	}
}

static void cmd_init(void)
{
	struct keyhost *st = smem_new(sizeof(*st));
	uint8_t master[KEYS_LEN];

	if (opt.window == 0 || opt.window > KEYRING_MAX_WINDOW || opt.epoch_len < 60 ||
	    opt.epoch_len > 7 * 86400) {
		die("--window must be 1..%d and --epoch-length 60..604800 s", KEYRING_MAX_WINDOW);
	}
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s", opt.dir);
	for (char *p = tmp + 1; *p != '\0'; p++) {
		if (*p == '/') {
			*p = '\0';
			(void)mkdir(tmp, 0700); /* parents; errors show at the last step */
			*p = '/';
		}
	}
	if (mkdir(opt.dir, 0700) != 0 && errno != EEXIST) {
		die("cannot create %s: %s", opt.dir, strerror(errno));
	}
	lock_dir();
	if (load_state(st)) {
		die("%s already holds a key state; refusing to overwrite it", opt.dir);
	}
	if (opt.master != NULL) {
		read_master(master, opt.master);
	}
	if (!keyhost_init(st, opt.epoch_len, (uint16_t)opt.window,
	                  opt.master != NULL ? master : NULL, opt.now)) {
		die("cannot initialise");
	}
	sodium_memzero(master, sizeof(master));
	save_state(st);
	write_pub(st);
	printf("initialised %s: epoch length %u s, window %u epochs, generation 0 active\n",
	       opt.dir, st->epoch_len, st->window);
	smem_free(st);
}

static void cmd_rotate(void)
{
	struct keyhost *st = smem_new(sizeof(*st));
	int pruned;
	lock_dir();
	if (!load_state(st)) {
		die("no key state in %s (run init)", opt.dir);
	}
	int64_t n = now_epoch(st);
	enum keyhost_rotate_result r = keyhost_rotate(st, opt.now, opt.lead, opt.every, &pruned);
	const struct keyhost_gen *newest = &st->gens[st->num_gens - 1];
	if (pruned > 0) {
		printf("pruned %d generation%s no window needs\n", pruned, pruned == 1 ? "" : "s");
	}
	switch (r) {
	case KEYHOST_ROTATED:
		printf("announced generation %u, active from epoch %" PRId64 " (in %" PRId64
		       " epochs)\n",
		       newest->id, newest->activation, newest->activation - n);
		break;
	case KEYHOST_PENDING:
		printf("generation %u is already announced for epoch %" PRId64 "; nothing to do\n",
		       newest->id, newest->activation);
		break;
	case KEYHOST_NOT_DUE:
		printf("generation %u active since epoch %" PRId64 "; not due yet\n", newest->id,
		       newest->activation);
		break;
	}
	if (r == KEYHOST_ROTATED || pruned > 0) {
		save_state(st);
	}
	smem_free(st);
}

static void cmd_import(void)
{
	struct keyhost *st = smem_new(sizeof(*st));
	uint8_t master[KEYS_LEN];
	lock_dir();
	if (!load_state(st)) {
		die("no key state in %s (use init --master to start from a master)", opt.dir);
	}
	read_master(master, opt.master);
	int64_t a = opt.has_activation ? opt.activation : now_epoch(st) + opt.lead;
	if (!keyhost_add_gen(st, master, a)) {
		die("a new generation must activate after the newest one (epoch %" PRId64 ")",
		    st->gens[st->num_gens - 1].activation);
	}
	sodium_memzero(master, sizeof(master));
	save_state(st);
	printf("imported generation %u, active from epoch %" PRId64 "\n",
	       st->gens[st->num_gens - 1].id, a);
	smem_free(st);
}

static unsigned parse_uint(const char *s, const char *what, unsigned max);

static void cmd_revoke(const char *arg)
{
	struct keyhost *st = smem_new(sizeof(*st));
	unsigned id = parse_uint(arg, "generation", 255);
	uint8_t new_id = 0;
	lock_dir();
	if (!load_state(st)) {
		die("no key state in %s", opt.dir);
	}
	switch (keyhost_revoke(st, (uint8_t)id, opt.now, &new_id)) {
	case KEYHOST_REVOKE_UNKNOWN:
		die("generation %u is not kept in %s (nts-keyctl show --dir lists them)", id,
		    opt.dir);
	case KEYHOST_REVOKED:
		printf("revoked generation %u\n", id);
		break;
	case KEYHOST_REVOKED_REPLACED:
		printf("revoked generation %u, which was minting: generation %u mints from epoch "
		       "%" PRId64 " on\n",
		       id, new_id, now_epoch(st));
		break;
	}
	save_state(st);
	printf("now export both roles and push the files: its cookies are refused (clients run "
	       "NTS-KE again) once every host has loaded them\n");
	smem_free(st);
}

static void cmd_export(void)
{
	struct keyhost *st = smem_new(sizeof(*st));
	struct keyfile *kf = smem_new(sizeof(*kf));
	uint8_t *buf = smem_new(KEYFILE_MAX_SIZE);
	uint8_t seal_pk[crypto_box_PUBLICKEYBYTES];
	size_t len;
	int role;

	if (!load_state(st)) {
		die("no key state in %s", opt.dir);
	}
	if (opt.role == NULL || opt.out == NULL) {
		die("export needs --role ke|responder and --out FILE");
	}
	if (strcmp(opt.role, "ke") == 0) {
		role = KEYFILE_ROLE_KE;
	} else if (strcmp(opt.role, "responder") == 0) {
		role = KEYFILE_ROLE_RESPONDER;
	} else {
		die("--role is ke or responder");
	}
	if (!keyhost_export(st, role, opt.now, kf)) {
		die("no generation is usable now (or too many live generations)");
	}
	if (opt.seal_to != NULL) {
		char text[256], *save = NULL;
		if (!fileio_slurp((uint8_t *)text, sizeof(text) - 1, &len, opt.seal_to)) {
			die("cannot read %s", opt.seal_to);
		}
		text[len] = '\0';
		char *label = strtok_r(text, " \t\n", &save), *hex = strtok_r(NULL, " \t\n", &save);
		size_t bin_len;
		if (label == NULL || strcmp(label, "nts-box-public-v1") != 0 || hex == NULL ||
		    sodium_hex2bin(seal_pk, sizeof(seal_pk), hex, strlen(hex), NULL, &bin_len,
		                   NULL) != 0 ||
		    bin_len != sizeof(seal_pk)) {
			die("%s is not a host sealing public key", opt.seal_to);
		}
	}
	if (!keyfile_encode(buf, KEYFILE_MAX_SIZE, &len, kf, st->sign_sk,
	                    opt.seal_to != NULL ? seal_pk : NULL)) {
		die("cannot encode key file");
	}
	if (!fileio_write_atomic(opt.out, buf, len, 0600)) {
		die("cannot write %s: %s", opt.out, strerror(errno));
	}
	printf("exported %s keys (%u generation%s%s) to %s\n", opt.role, kf->num_gens,
	       kf->num_gens == 1 ? "" : "s", opt.seal_to != NULL ? ", sealed" : "", opt.out);
	smem_free(buf);
	smem_free(kf);
	smem_free(st);
}

static void fmt_epoch(char *buf, size_t len, int64_t e, uint32_t epoch_len)
{
	if (e == KEYFILE_NO_RETIRE) {
		snprintf(buf, len, "-");
		return;
	}
	time_t t = (time_t)(e * (int64_t)epoch_len);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void show_gen(uint8_t id, int64_t activation, int64_t retire, const uint8_t *fp,
                     uint32_t epoch_len, int64_t n, const char *extra)
{
	char a[32], r[32], fph[2 * KEYS_FINGERPRINT_LEN + 1];
	fmt_epoch(a, sizeof(a), activation, epoch_len);
	fmt_epoch(r, sizeof(r), retire, epoch_len);
	sodium_bin2hex(fph, sizeof(fph), fp, KEYS_FINGERPRINT_LEN);
	const char *state = activation > n ? "announced" : retire < n ? "retired" : "active";
	printf("  generation %3u  %-9s  activation epoch %" PRId64 " (%s)  retire %s  "
	       "key ids %08" PRIx32 "..  fingerprint %s%s\n",
	       id, state, activation, a, r, keys_key_id(id, activation), fph, extra);
}

static void cmd_show(void)
{
	if (opt.file != NULL) {
		struct keyfile_trust trust;
		struct keyfile *kf = smem_new(sizeof(*kf));
		const char *err;
		if (opt.pub == NULL) {
			die("show --file needs --pub deployment.pub");
		}
		if (!keyfile_trust_load(&trust, opt.pub, opt.box_secret, &err)) {
			die("%s", err);
		}
		if (!keyfile_read(kf, opt.file, &trust, &err)) {
			die("%s%s%s", strstr(err, opt.file) != NULL ? "" : opt.file,
			    strstr(err, opt.file) != NULL ? "" : ": ", err);
		}
		int64_t n = keys_epoch(opt.now, kf->epoch_len);
		printf("%s: %s key file, created %" PRIu64 ", epoch length %u s, window %u, "
		       "now epoch %" PRId64 "\n",
		       opt.file, kf->role == KEYFILE_ROLE_KE ? "KE server" : "responder",
		       kf->created, kf->epoch_len, kf->window, n);
		for (int i = 0; i < kf->num_gens; i++) {
			char extra[64];
			snprintf(extra, sizeof(extra), "  chain from epoch %" PRId64,
			         kf->gens[i].chain_epoch);
			show_gen(kf->gens[i].gen, kf->gens[i].activation, kf->gens[i].retire,
			         kf->gens[i].fingerprint, kf->epoch_len, n, extra);
		}
		smem_free(kf);
		keyfile_trust_cleanup(&trust);
		return;
	}
	struct keyhost *st = smem_new(sizeof(*st));
	char dep[2 * KEYS_DEPLOYMENT_LEN + 1];
	if (!load_state(st)) {
		die("no key state in %s", opt.dir);
	}
	int64_t n = now_epoch(st);
	sodium_bin2hex(dep, sizeof(dep), st->deployment, KEYS_DEPLOYMENT_LEN);
	printf("deployment %s: epoch length %u s, window %u epochs, now epoch %" PRId64 "\n", dep,
	       st->epoch_len, st->window, n);
	for (int i = 0; i < st->num_gens; i++) {
		uint8_t fp[KEYS_FINGERPRINT_LEN];
		if (!keyhost_fingerprint(st, i, fp)) {
			die("derivation failed");
		}
		show_gen(st->gens[i].id, st->gens[i].activation, keyhost_retire(st, i), fp,
		         st->epoch_len, n, "");
	}
	smem_free(st);
}

/* parse_owner resolves USER[:GROUP] (names or numbers); without a group,
 * the user's primary group. */
static void parse_owner(const char *spec, uid_t *out_uid, gid_t *out_gid)
{
	char user[256];
	const char *colon = strchr(spec, ':');
	size_t ulen = colon != NULL ? (size_t)(colon - spec) : strlen(spec);
	if (ulen == 0 || ulen >= sizeof(user)) {
		die("bad --owner %s: USER[:GROUP]", spec);
	}
	memcpy(user, spec, ulen);
	user[ulen] = '\0';
	errno = 0;
	struct passwd *pw = getpwnam(user);
	if (pw == NULL) {
		die("--owner: no user %s%s%s", user, errno != 0 ? ": " : "",
		    errno != 0 ? strerror(errno) : "");
	}
	*out_uid = pw->pw_uid;
	*out_gid = pw->pw_gid;
	if (colon != NULL) {
		errno = 0;
		struct group *gr = getgrnam(colon + 1);
		if (gr == NULL) {
			die("--owner: no group %s%s%s", colon + 1, errno != 0 ? ": " : "",
			    errno != 0 ? strerror(errno) : "");
		}
		*out_gid = gr->gr_gid;
	}
}

static void cmd_genbox(void)
{
	uint8_t pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES];
	char hex[2 * crypto_box_SECRETKEYBYTES + 1], line[256];
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	struct stat st;

	if (opt.out_secret == NULL || opt.out_public == NULL) {
		die("genbox needs --out-secret and --out-public");
	}
	if (opt.owner != NULL) {
		parse_owner(opt.owner, &uid, &gid);
	}
	/* a new secret makes every file sealed to the old one unreadable */
	if (!opt.force && lstat(opt.out_secret, &st) == 0) {
		die("%s exists: this host's files are sealed to it; refusing to replace it "
		    "(--force replaces it; then copy the new public key to the key host)",
		    opt.out_secret);
	}
	crypto_box_keypair(pk, sk);
	sodium_bin2hex(hex, sizeof(hex), sk, sizeof(sk));
	int n = snprintf(line, sizeof(line), "nts-box-secret-v1 %s\n", hex);
	if (!fileio_write_atomic_owned(opt.out_secret, (const uint8_t *)line, (size_t)n, 0600, uid,
	                               gid)) {
		die("cannot write %s: %s", opt.out_secret, strerror(errno));
	}
	sodium_memzero(hex, sizeof(hex));
	sodium_bin2hex(hex, sizeof(hex), pk, sizeof(pk));
	n = snprintf(line, sizeof(line), "nts-box-public-v1 %s\n", hex);
	if (!fileio_write_atomic(opt.out_public, (const uint8_t *)line, (size_t)n, 0644)) {
		die("cannot write %s: %s", opt.out_public, strerror(errno));
	}
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(line, sizeof(line));
	if (opt.owner != NULL) {
		printf("wrote %s (owner %s, mode 0600) and %s\n", opt.out_secret, opt.owner,
		       opt.out_public);
	} else {
		printf("wrote %s and %s\n", opt.out_secret, opt.out_public);
	}
	if (uid == (uid_t)-1 && geteuid() == 0) {
		printf("note: %s belongs to root; the daemons read it as their own user: "
		       "use --owner USER (e.g. --owner nts) or chown it\n",
		       opt.out_secret);
	}
}

static void usage(void) __attribute__((noreturn));

/* parse_uint and parse_time: a bad number is a usage error (exit 2) */
static unsigned parse_uint(const char *s, const char *what, unsigned max)
{
	uint64_t v;
	if (!num_parse_u64(&v, s, 0, max)) {
		fprintf(stderr, "nts-keyctl: bad %s: %s (0..%u)\n", what, s, max);
		usage();
	}
	return (unsigned)v;
}

/* times and epochs up to 2^40 (Unix seconds: the year 36812) */
static int64_t parse_time(const char *s, const char *what)
{
	int64_t v;
	if (!num_parse_i64(&v, s, 0, INT64_C(1) << 40)) {
		fprintf(stderr, "nts-keyctl: bad %s: %s (a non-negative integer)\n", what, s);
		usage();
	}
	return v;
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: nts-keyctl init    --dir D [--epoch-length S] [--window N] [--master F]\n"
	        "       nts-keyctl rotate  --dir D [--lead N] [--every N]\n"
	        "       nts-keyctl import  --dir D --master F [--activation EPOCH]\n"
	        "       (init, rotate, import: [--lock-timeout S], default 60)\n"
	        "       nts-keyctl revoke  --dir D GENERATION [--lock-timeout S]\n"
	        "       nts-keyctl revoke  --dir D GENERATION [--lock-timeout S]\n"
	        "       nts-keyctl export  --dir D --role ke|responder --out F [--seal-to PUB]\n"
	        "       nts-keyctl show    --dir D | --file F --pub P [--box-secret S]\n"
	        "       nts-keyctl genbox  --out-secret F --out-public F [--owner USER[:GROUP]]\n"
	        "                          [--force]\n"
	        "       nts-keyctl --version\n");
	exit(2);
}

/* set_option sets option |c| from |arg|; a bad number is a usage error */
static void set_option(int c, const char *arg)
{
	switch (c) {
	case 'd':
		opt.dir = arg;
		break;
	case 'm':
		opt.master = arg;
		break;
	case 'r':
		opt.role = arg;
		break;
	case 'o':
		opt.out = arg;
		break;
	case 's':
		opt.seal_to = arg;
		break;
	case 'f':
		opt.file = arg;
		break;
	case 'p':
		opt.pub = arg;
		break;
	case 'b':
		opt.box_secret = arg;
		break;
	case 'S':
		opt.out_secret = arg;
		break;
	case 'P':
		opt.out_public = arg;
		break;
	case 'O':
		opt.owner = arg;
		break;
	case 'F':
		opt.force = 1;
		break;
	case 'E':
		opt.epoch_len = parse_uint(arg, "epoch length", 604800);
		break;
	case 'w':
		opt.window = parse_uint(arg, "window", 65535);
		break;
	case 'l':
		opt.lead = parse_uint(arg, "lead", 1000);
		break;
	case 'e':
		opt.every = parse_uint(arg, "every", 100000);
		break;
	case 'a':
		opt.activation = parse_time(arg, "activation epoch");
		opt.has_activation = 1;
		break;
	case 'n':
		opt.now = parse_time(arg, "time (--now)");
		break;
	case 'L':
		opt.lock_timeout = parse_uint(arg, "lock timeout", 86400);
		break;
	default:
		usage();
	}
}

/* parse_options sets opt from the options after the command; a bad one is a
 * usage error (exit 2). */
static const char *parse_options(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"dir", required_argument, NULL, 'd'},
	    {"epoch-length", required_argument, NULL, 'E'},
	    {"window", required_argument, NULL, 'w'},
	    {"master", required_argument, NULL, 'm'},
	    {"lead", required_argument, NULL, 'l'},
	    {"every", required_argument, NULL, 'e'},
	    {"activation", required_argument, NULL, 'a'},
	    {"role", required_argument, NULL, 'r'},
	    {"out", required_argument, NULL, 'o'},
	    {"seal-to", required_argument, NULL, 's'},
	    {"file", required_argument, NULL, 'f'},
	    {"pub", required_argument, NULL, 'p'},
	    {"box-secret", required_argument, NULL, 'b'},
	    {"out-secret", required_argument, NULL, 'S'},
	    {"out-public", required_argument, NULL, 'P'},
	    {"now", required_argument, NULL, 'n'},
	    {"owner", required_argument, NULL, 'O'},
	    {"force", no_argument, NULL, 'F'},
	    {"lock-timeout", required_argument, NULL, 'L'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	optind = 2;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		set_option(c, optarg);
	}
	/* revoke takes the generation as its one operand */
	const char *operand =
	    strcmp(argv[1], "revoke") == 0 && optind + 1 == argc ? argv[optind++] : NULL;
	if (optind != argc) {
		usage();
	}
	return operand;
}

int main(int argc, char **argv)
{
	version_handle_arg(argc, argv, "nts-keyctl");
	if (argc < 2 || !smem_init()) {
		usage();
	}
	(void)smem_harden_process();
	const char *cmd = argv[1];
	opt.now = (int64_t)time(NULL);
	const char *operand = parse_options(argc, argv);
	umask(077);
	if (strcmp(cmd, "genbox") == 0) {
		cmd_genbox();
		return 0;
	}
	if (strcmp(cmd, "show") == 0 && opt.file != NULL) {
		cmd_show();
		return 0;
	}
	if (opt.dir == NULL) {
		usage();
	}
	if (strcmp(cmd, "init") == 0) {
		cmd_init();
	} else if (strcmp(cmd, "rotate") == 0) {
		cmd_rotate();
	} else if (strcmp(cmd, "import") == 0) {
		if (opt.master == NULL) {
			usage();
		}
		cmd_import();
	} else if (strcmp(cmd, "revoke") == 0 && operand != NULL) {
		cmd_revoke(operand);
	} else if (strcmp(cmd, "export") == 0) {
		cmd_export();
	} else if (strcmp(cmd, "show") == 0) {
		cmd_show();
	} else {
		usage();
	}
	return 0;
}
