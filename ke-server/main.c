/*
 * nts-ke-server: the NTS-KE front end (RFC 8915 s4).
 *
 *   nts-ke-server [-c FILE] [-d] [--check]
 *
 * Configuration: one directive per line (docs/config-ke-server.md);
 * deploy/examples/nts-ke-server.conf lists every directive with its default.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <openssl/x509.h>

#include "common/config.h"
#include "common/daemon.h"
#include "common/keywatch.h"
#include "common/log.h"
#include "common/notify.h"
#include "common/sandbox.h"
#include "common/smem.h"
#include "common/version.h"
#include "ke-server/ke.h"

static int d_listen(void *c, const struct cfg_line *l)
{
	struct ke_config *cfg = c;
	if (cfg->num_listen == KE_MAX_LISTEN) {
		return cfg_error(l, "at most %d listen addresses", KE_MAX_LISTEN);
	}
	int i = cfg->num_listen++;
	return cfg_arg_sockaddr(&cfg->listen[i], &cfg->listen_len[i], l, 0, NTSKE_PORT);
}
static int d_cert(void *c, const struct cfg_line *l)
{
	struct ke_config *cfg = c;
	if (cfg->num_certs == KE_MAX_CERTS) {
		return cfg_error(l, "at most %d certificates", KE_MAX_CERTS);
	}
	int i = cfg->num_certs;
	/* "cert CHAIN KEY": the key in this process (the weaker mode);
	 * "cert CHAIN": keyless, signed by nts-signer ('signer') */
	cfg->key[i][0] = '\0';
	if (!cfg_arg_string(cfg->cert[i], sizeof(cfg->cert[i]), l, 0) ||
	    (l->argc > 1 && !cfg_arg_string(cfg->key[i], sizeof(cfg->key[i]), l, 1))) {
		return 0;
	}
	cfg->num_certs++;
	return 1;
}
#define STRING_DIRECTIVE(fn, field)                                                                \
	static int fn(void *c, const struct cfg_line *l)                                           \
	{                                                                                          \
		struct ke_config *cfg = c;                                                         \
		return cfg_arg_string(cfg->field, sizeof(cfg->field), l, 0);                       \
	}
STRING_DIRECTIVE(d_keyfile, keyfile)
STRING_DIRECTIVE(d_deployment, deployment)
STRING_DIRECTIVE(d_boxkey, boxkey)
STRING_DIRECTIVE(d_ntpserver, ntpserver)
STRING_DIRECTIVE(d_ntpserver4, ntpserver4)
STRING_DIRECTIVE(d_ntpserver6, ntpserver6)
STRING_DIRECTIVE(d_user, user)

static int d_signer(void *c, const struct cfg_line *l)
{
	struct ke_config *cfg = c;
	if (l->argv[0][0] != '/') {
		return cfg_error(l, "'signer' needs the absolute path of nts-signer's socket");
	}
	return cfg_arg_string(cfg->signer, sizeof(cfg->signer), l, 0);
}
static int d_signerdeadline(void *c, const struct cfg_line *l)
{
	return cfg_arg_duration_ms(&((struct ke_config *)c)->signer_deadline_ms, l, 0, 10, 60000);
}
static int d_seccomp(void *c, const struct cfg_line *l)
{
	return cfg_arg_bool(&((struct ke_config *)c)->seccomp, l, 0);
}

static int d_ntpport(void *c, const struct cfg_line *l)
{
	return cfg_arg_u64(&((struct ke_config *)c)->ntpport, l, 0, 1, 65535);
}
static int d_aead(void *c, const struct cfg_line *l)
{
	struct ke_config *cfg = c;
	cfg->num_aeads = 0;
	for (int i = 0; i < l->argc; i++) {
		uint64_t id;
		if (!cfg_arg_u64(&id, l, i, 1, 65535)) {
			return 0;
		}
		if (id != AEAD_AES_SIV_CMAC_256 && id != AEAD_AES_128_GCM_SIV &&
		    id != AEAD_AES_SIV_CMAC_512) {
			return cfg_error(l, "'aead': %u is not supported (15, 17 and 30 are)",
			                 (unsigned)id);
		}
		cfg->aeads[cfg->num_aeads++] = (uint16_t)id;
	}
	return 1;
}
static int d_deadline(void *c, const struct cfg_line *l)
{
	return cfg_arg_duration_ms(&((struct ke_config *)c)->deadline_ms, l, 0, 100, 60000);
}
static int d_maxconn(void *c, const struct cfg_line *l)
{
	return cfg_arg_u64(&((struct ke_config *)c)->max_connections, l, 0, 1, 1000000);
}
static int d_maxsource(void *c, const struct cfg_line *l)
{
	return cfg_arg_u64(&((struct ke_config *)c)->max_per_source, l, 0, 1, 60000);
}
static int d_maxrequest(void *c, const struct cfg_line *l)
{
	return cfg_arg_size(&((struct ke_config *)c)->max_request, l, 0, 64, 65536);
}
static int d_workers(void *c, const struct cfg_line *l)
{
	return cfg_arg_u64(&((struct ke_config *)c)->workers, l, 0, 0, KE_MAX_WORKERS);
}
static int d_metrics(void *c, const struct cfg_line *l)
{
	struct ke_config *cfg = c;
	if (strcmp(l->argv[0], "off") == 0) {
		cfg->metrics_on = 0;
		return 1;
	}
	cfg->metrics_on = 1;
	return cfg_arg_sockaddr(&cfg->metrics, &cfg->metrics_len, l, 0, 9125);
}
static int d_loglevel(void *c, const struct cfg_line *l)
{
	if (!log_level_from_string(&((struct ke_config *)c)->loglevel, l->argv[0])) {
		return cfg_error(l, "log level: error, warning, info or debug");
	}
	return 1;
}
static int d_syslog(void *c, const struct cfg_line *l)
{
	return cfg_arg_bool(&((struct ke_config *)c)->use_syslog, l, 0);
}

static const struct cfg_directive directives[] = {
    {"listen", 1, 1, d_listen, 1},          {"cert", 1, 2, d_cert, 1},
    {"signer", 1, 1, d_signer, 0},          {"signerdeadline", 1, 1, d_signerdeadline, 0},
    {"seccomp", 1, 1, d_seccomp, 0},        {"keyfile", 1, 1, d_keyfile, 0},
    {"deployment", 1, 1, d_deployment, 0},  {"boxkey", 1, 1, d_boxkey, 0},
    {"ntpserver", 1, 1, d_ntpserver, 0},    {"ntpserver4", 1, 1, d_ntpserver4, 0},
    {"ntpserver6", 1, 1, d_ntpserver6, 0},  {"ntpport", 1, 1, d_ntpport, 0},
    {"aead", 1, KE_MAX_AEADS, d_aead, 0},   {"deadline", 1, 1, d_deadline, 0},
    {"maxconnections", 1, 1, d_maxconn, 0}, {"maxpersource", 1, 1, d_maxsource, 0},
    {"maxrequest", 1, 1, d_maxrequest, 0},  {"workers", 1, 1, d_workers, 0},
    {"metrics", 1, 1, d_metrics, 0},        {"loglevel", 1, 1, d_loglevel, 0},
    {"syslog", 1, 1, d_syslog, 0},          {"user", 1, 1, d_user, 0},
};

static void set_addr(struct sockaddr_storage *ss, socklen_t *len, const char *s, uint16_t port)
{
	struct cfg_line l = {.file = "(default)", .name = "default", .argc = 1};
	l.argv[0] = s;
	if (!cfg_arg_sockaddr(ss, len, &l, 0, port)) {
		abort(); /* built-in default */
	}
}

static void config_defaults(struct ke_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->aeads[0] = AEAD_AES_128_GCM_SIV;
	cfg->aeads[1] = AEAD_AES_SIV_CMAC_256;
	cfg->num_aeads = 2;
	cfg->deadline_ms = 2000;
	cfg->max_connections = 10000;
	cfg->max_per_source = 32;
	cfg->max_request = 1024;
	cfg->metrics_on = 1;
	set_addr(&cfg->metrics, &cfg->metrics_len, "127.0.0.1", 9125);
	cfg->loglevel = LOG_LVL_INFO;
	cfg->signer_deadline_ms = 500;
	cfg->seccomp = 1;
}

static int config_check(struct ke_config *cfg, const char *path)
{
	if (cfg->num_certs == 0) {
		fprintf(stderr, "%s: at least one 'cert CERTFILE [KEYFILE]' is required\n", path);
		return 0;
	}
	for (int i = 0; i < cfg->num_certs; i++) {
		if (cfg->key[i][0] == '\0' && cfg->signer[0] == '\0') {
			fprintf(stderr,
			        "%s: 'cert %s' has no key file: name nts-signer's socket with "
			        "'signer PATH' (keyless), or give the key (in-process signing)\n",
			        path, cfg->cert[i]);
			return 0;
		}
		if (cfg->key[i][0] != '\0' && cfg->signer[0] != '\0') {
			fprintf(stderr,
			        "%s: with 'signer' the private keys stay in nts-signer: write "
			        "'cert %s' without a key file\n",
			        path, cfg->cert[i]);
			return 0;
		}
	}
	if (cfg->keyfile[0] == '\0' || cfg->deployment[0] == '\0') {
		fprintf(stderr, "%s: 'keyfile' and 'deployment' are required\n", path);
		return 0;
	}
	if (cfg->num_listen == 0) {
		set_addr(&cfg->listen[0], &cfg->listen_len[0], "0.0.0.0", NTSKE_PORT);
		set_addr(&cfg->listen[1], &cfg->listen_len[1], "::", NTSKE_PORT);
		cfg->num_listen = 2;
	}
	if (cfg->workers == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		cfg->workers = n > 0 ? (uint64_t)(n < KE_MAX_WORKERS ? n : KE_MAX_WORKERS) : 1;
	}
	return 1;
}

/* config_load parses |path| into |cfg| (defaults first); errors go to
 * stderr as FILE:LINE. */
static int config_load(struct ke_config *cfg, const char *path)
{
	config_defaults(cfg);
	return cfg_parse_file(path, directives, NTS_ARRAY_SIZE(directives), cfg) &&
	       config_check(cfg, path);
}

/* What SIGHUP may change at run time: only what the control loop alone
 * reads. Everything the worker threads read per connection (bounds, AEADs,
 * Server/Port records) and everything bound or set up at start needs a
 * restart. */
#define F(name, field, reloadable) CFG_FIELD(struct ke_config, name, field, reloadable)
/* clang-format off */
static const struct cfg_field reload_fields[] = {
    F("listen", listen, 0),
    F("listen", listen_len, 0),
    F("listen", num_listen, 0),
    F("cert", cert, 1),
    F("cert", key, 1),
    F("cert", num_certs, 1),
    F("keyfile", keyfile, 0),
    F("deployment", deployment, 0),
    F("boxkey", boxkey, 0),
    F("ntpserver", ntpserver, 0),
    F("ntpserver4", ntpserver4, 0),
    F("ntpserver6", ntpserver6, 0),
    F("ntpport", ntpport, 0),
    F("aead", aeads, 0),
    F("aead", num_aeads, 0),
    F("deadline", deadline_ms, 0),
    F("maxconnections", max_connections, 0),
    F("maxpersource", max_per_source, 0),
    F("maxrequest", max_request, 0),
    F("workers", workers, 0),
    F("metrics", metrics_on, 0),
    F("metrics", metrics, 0),
    F("metrics", metrics_len, 0),
    F("loglevel", loglevel, 1),
    F("syslog", use_syslog, 0),
    F("user", user, 0),
    F("signer", signer, 0),
    F("signerdeadline", signer_deadline_ms, 0),
    F("seccomp", seccomp, 0),
};
/* clang-format on */
#undef F

/* ---- the running daemon ---- */

static struct {
	struct ke_server srv;
	struct ke_worker workers[KE_MAX_WORKERS];
	int num_workers;
	struct keywatch kw;
	struct metrics_server *metrics;
	uv_signal_t sighup, sigterm, sigint;
	uv_fs_event_t certwatch[KE_MAX_CERTS * 2];
	int num_certwatch;
	uv_timer_t cert_debounce, gc_timer;
	uint64_t cert_reloads_ok, cert_reloads_failed;
	const char *conf_path;
	int debug;
	/* the certificate paths of the set in use (for metric labels) */
	char tls_cert[KE_MAX_CERTS][sizeof(((struct ke_config *)0)->cert[0])];
	int tls_num;
	uint64_t config_reloads_ok, config_reloads_failed;
	int config_restart_needed; /* directives changed that need a restart */
	int last_health;           /* -1: not known yet */
	/* keyless: does nts-signer hold the key of every certificate in use? */
	enum ke_signer_check keycheck;
	char keycheck_msg[1024];
} d;

/* How long a refused certificate reload waits to try again by itself (the
 * signer may get the new key meanwhile). */
#define CERT_RETRY_MS 30000

static void on_cert_debounce(uv_timer_t *t);

static void remember_cert_paths(void)
{
	d.tls_num = d.srv.cfg.num_certs;
	memcpy(d.tls_cert, d.srv.cfg.cert, sizeof(d.tls_cert));
}

static void reload_certs(void)
{
	const char *err;
	char errbuf[1024];
	struct ke_tls *t = ke_tls_load(&d.srv.cfg, errbuf, sizeof(errbuf), &err);
	if (t == NULL) {
		d.cert_reloads_failed++;
		log_err("certificates: %s; keeping the ones in use", err);
		return;
	}
	if (d.srv.cfg.signer[0] != '\0' &&
	    ke_tls_signer_check(t, &d.srv.cfg, errbuf, sizeof(errbuf)) != KE_SIGNER_OK) {
		/* a chain whose key the signer lacks would fail every handshake */
		d.cert_reloads_failed++;
		log_err("certificates: %s; keeping the ones in use (trying again in %d s)", errbuf,
		        CERT_RETRY_MS / 1000);
		ke_tls_unref(t);
		uv_timer_start(&d.cert_debounce, on_cert_debounce, CERT_RETRY_MS, 0);
		return;
	}
	d.keycheck = KE_SIGNER_OK;
	/* connections in flight keep a reference to the set they started
	 * with: the old set is freed when the last of them closes */
	ke_tls_swap(&d.srv, t);
	remember_cert_paths();
	d.cert_reloads_ok++;
	log_info("certificates loaded (%d)", t->num);
}

static int health(void *arg, struct metrics_buf *b);

static void on_gc(uv_timer_t *t)
{
	struct metrics_buf hb = {0};
	(void)t;
	if (d.keycheck == KE_SIGNER_UNVERIFIED) {
		/* the signer was unreachable at start: check once it is there */
		d.keycheck = ke_tls_signer_check(d.srv.tls, &d.srv.cfg, d.keycheck_msg,
		                                 sizeof(d.keycheck_msg));
		if (d.keycheck == KE_SIGNER_KEY_MISSING) {
			log_err("certificates: %s", d.keycheck_msg);
		} else if (d.keycheck == KE_SIGNER_OK) {
			log_info("nts-signer holds the key of every certificate");
		}
	}
	/* log health changes (a few per day at most, never per request) */
	int ok = health(NULL, &hb);
	if (ok != d.last_health && !hb.failed && hb.data != NULL) {
		hb.data[strcspn(hb.data, "\n")] = '\0';
		if (ok) {
			log_info("health: %s", hb.data);
		} else {
			log_warn("health: %s", hb.data);
		}
		d.last_health = ok;
	}
	free(hb.data);
}

static void on_cert_debounce(uv_timer_t *t)
{
	(void)t;
	reload_certs();
}

static int is_cert_file(const char *name)
{
	const struct ke_config *cfg = &d.srv.cfg;
	for (int i = 0; i < cfg->num_certs; i++) {
		const char *files[2] = {cfg->cert[i], cfg->key[i]};
		for (int j = 0; j < 2 && files[j][0] != '\0'; j++) {
			const char *slash = strrchr(files[j], '/');
			const char *base = slash != NULL ? slash + 1 : files[j];
			if (strcmp(base, name) == 0) {
				return 1;
			}
		}
	}
	return 0;
}

static void on_certwatch(uv_fs_event_t *h, const char *filename, int events, int status)
{
	(void)h;
	(void)events;
	/* certbot-style renewals replace files (or the symlinks to them) */
	if (status == 0 && filename != NULL && is_cert_file(filename)) {
		uv_timer_start(&d.cert_debounce, on_cert_debounce, 500, 0);
	}
}

/* reload_config re-reads the configuration file: a file with errors is
 * refused whole (errors on stderr as FILE:LINE); otherwise reloadable
 * directives take effect and the others are logged as needing a restart. */
static void reload_config(void)
{
	struct ke_config *fresh = malloc(sizeof(*fresh));
	if (fresh == NULL || !config_load(fresh, d.conf_path)) {
		d.config_reloads_failed++;
		log_err("%s: not reloaded (errors above); the running configuration stays",
		        d.conf_path);
		free(fresh);
		return;
	}
	int restart = cfg_reload_diff(d.conf_path, &d.srv.cfg, fresh, sizeof(*fresh), reload_fields,
	                              NTS_ARRAY_SIZE(reload_fields));
	d.config_restart_needed = restart > 0;
	d.config_reloads_ok++;
	if (!d.debug) {
		log_set_level(d.srv.cfg.loglevel);
	}
	free(fresh);
}

static void on_signal(uv_signal_t *s, int signum)
{
	if (signum == SIGHUP) {
		log_info("SIGHUP: reloading configuration, certificates and keys");
		reload_config();
		reload_certs();
		keywatch_reload(&d.kw);
		return;
	}
	log_info("signal %d: stopping; draining %llu open connections (at most %llu ms)", signum,
	         (unsigned long long)atomic_load(&d.srv.open_connections),
	         (unsigned long long)d.srv.cfg.deadline_ms);
	atomic_store(&d.srv.stop, 1);
	uv_stop(s->loop);
}

static uint64_t sum(size_t off)
{
	uint64_t total = 0;
	for (int i = 0; i < d.num_workers; i++) {
		const char *base = (const char *)&d.workers[i].stats;
		total += metrics_get((const metrics_counter *)(const void *)(base + off));
	}
	return total;
}
#define SUM(field) sum(offsetof(struct ke_stats, field))

/* signer_connected counts the workers whose signer connection is up */
static int signer_connected(void)
{
	int n = 0;
	for (int i = 0; i < d.num_workers; i++) {
		const struct ke_signer *s = &d.workers[i].signer;
		uint64_t up = atomic_load_explicit((const _Atomic uint64_t *)&s->connects,
		                                   memory_order_relaxed);
		uint64_t down = atomic_load_explicit((const _Atomic uint64_t *)&s->disconnects,
		                                     memory_order_relaxed);
		n += up > down;
	}
	return n;
}

static int health(void *arg, struct metrics_buf *b)
{
	struct keyring_status ks = {0};
	const struct keyring *kr = keyring_holder_get(&d.srv.keys);
	(void)arg;
	if (kr != NULL) {
		keyring_status(kr, (int64_t)time(NULL), &ks);
	}
	if (!ks.usable) {
		metrics_buf_printf(b, "unhealthy: no usable cookie keys\n");
		return 0;
	}
	struct ke_tls *t = d.srv.tls; /* only this thread changes it */
	if (t == NULL || t->not_after <= (int64_t)time(NULL)) {
		metrics_buf_printf(b, "unhealthy: certificate expired\n");
		return 0;
	}
	if (d.srv.cfg.signer[0] != '\0' && signer_connected() == 0) {
		metrics_buf_printf(b, "unhealthy: nts-signer unreachable\n");
		return 0;
	}
	if (d.keycheck == KE_SIGNER_KEY_MISSING) {
		metrics_buf_printf(b, "unhealthy: nts-signer lacks a certificate's key\n");
		return 0;
	}
	metrics_buf_printf(b, "ok\n");
	return 1;
}

static void render(void *arg, struct metrics_buf *b)
{
	static const struct {
		const char *label;
		size_t off;
	} outcomes[] = {
	    {"ok", offsetof(struct ke_stats, ok)},
	    {"tls_error", offsetof(struct ke_stats, tls_error)},
	    {"alpn_missing", offsetof(struct ke_stats, alpn_missing)},
	    {"bad_request", offsetof(struct ke_stats, bad_request)},
	    {"unrecognized_critical", offsetof(struct ke_stats, unrecognized)},
	    {"no_common_aead", offsetof(struct ke_stats, no_common_aead)},
	    {"no_ntpv4", offsetof(struct ke_stats, no_ntpv4)},
	    {"too_large", offsetof(struct ke_stats, too_large)},
	    {"timeout", offsetof(struct ke_stats, timeout)},
	    {"overload_shed", offsetof(struct ke_stats, overload_shed)},
	    {"source_limited", offsetof(struct ke_stats, source_limited)},
	    {"no_keys", offsetof(struct ke_stats, no_keys)},
	    {"internal_error", offsetof(struct ke_stats, internal_error)},
	    {"signer_failure", offsetof(struct ke_stats, signer_failure)},
	};
	char lab[64];
	(void)arg;
	metrics_family(b, "nts_ke_connections_accepted_total", "counter", "TCP connections.");
	metrics_sample(b, "nts_ke_connections_accepted_total", NULL, SUM(accepted));
	metrics_family(b, "nts_ke_handshakes_total", "counter", "NTS-KE sessions by outcome.");
	for (size_t i = 0; i < NTS_ARRAY_SIZE(outcomes); i++) {
		snprintf(lab, sizeof(lab), "outcome=\"%s\"", outcomes[i].label);
		metrics_sample(b, "nts_ke_handshakes_total", lab, sum(outcomes[i].off));
	}
	metrics_family(b, "nts_ke_aead_total", "counter", "Sessions by negotiated AEAD.");
	for (int i = 0; i < d.srv.cfg.num_aeads; i++) {
		snprintf(lab, sizeof(lab), "aead=\"%u\"", d.srv.cfg.aeads[i]);
		metrics_sample(
		    b, "nts_ke_aead_total", lab,
		    sum(offsetof(struct ke_stats, aead) + (size_t)i * sizeof(metrics_counter)));
	}
	if (d.srv.cfg.signer[0] != '\0') {
		metrics_family(b, "nts_ke_signer_connected", "gauge",
		               "Workers connected to nts-signer now.");
		metrics_sample(b, "nts_ke_signer_connected", NULL, (uint64_t)signer_connected());
		uint64_t conns = 0;
		for (int i = 0; i < d.num_workers; i++) {
			conns += atomic_load_explicit(
			    (const _Atomic uint64_t *)&d.workers[i].signer.connects,
			    memory_order_relaxed);
		}
		metrics_family(b, "nts_ke_signer_connects_total", "counter",
		               "Connections made to nts-signer (reconnects included).");
		metrics_sample(b, "nts_ke_signer_connects_total", NULL, conns);
	}
	metrics_family(b, "nts_ke_cookies_total", "counter", "Cookies minted.");
	metrics_sample(b, "nts_ke_cookies_total", NULL, SUM(cookies));
	metrics_family(b, "nts_ke_open_connections", "gauge", "Connections open now.");
	metrics_sample(b, "nts_ke_open_connections", NULL, atomic_load(&d.srv.open_connections));
	const struct metrics_hist *hs[KE_MAX_WORKERS];
	for (int i = 0; i < d.num_workers; i++) {
		hs[i] = &d.workers[i].stats.latency;
	}
	metrics_family(b, "nts_ke_handshake_seconds", "histogram",
	               "Accept to NTS-KE response written (including error responses).");
	metrics_hist_render(b, "nts_ke_handshake_seconds", NULL, ke_latency_bounds(), hs,
	                    (size_t)d.num_workers);
	struct ke_tls *t = d.srv.tls; /* only this thread changes it */
	metrics_family(b, "nts_ke_certificate_expiry_seconds", "gauge",
	               "Unix time at which the first certificate expires.");
	metrics_sample(b, "nts_ke_certificate_expiry_seconds", NULL,
	               t != NULL ? (uint64_t)t->not_after : 0);
	metrics_family(b, "nts_ke_certificate_not_after_seconds", "gauge",
	               "Unix time at which each certificate in use expires.");
	for (int i = 0; t != NULL && i < t->num; i++) {
		X509 *x = SSL_CTX_get0_certificate(t->ctx[i]);
		int days, secs;
		char path[512], clab[600];
		if (x == NULL || ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)) != 1) {
			continue;
		}
		metrics_label_value(path, sizeof(path), i < d.tls_num ? d.tls_cert[i] : "?");
		snprintf(clab, sizeof(clab), "cert=\"%s\"", path);
		int64_t na = (int64_t)time(NULL) + (int64_t)days * 86400 + secs;
		metrics_sample(b, "nts_ke_certificate_not_after_seconds", clab,
		               na > 0 ? (uint64_t)na : 0);
	}
	metrics_family(b, "nts_ke_certificate_reloads_total", "counter", "Certificate loads.");
	metrics_sample(b, "nts_ke_certificate_reloads_total", "result=\"ok\"", d.cert_reloads_ok);
	metrics_sample(b, "nts_ke_certificate_reloads_total", "result=\"failed\"",
	               d.cert_reloads_failed);
	const struct keyring *kr = keyring_holder_get(&d.srv.keys);
	struct keyring_status ks = {0};
	if (kr != NULL) {
		keyring_status(kr, (int64_t)time(NULL), &ks);
	}
	metrics_family(b, "nts_ke_key_generation", "gauge",
	               "Key generation minting now (-1: none usable).");
	metrics_sample_double(b, "nts_ke_key_generation", NULL,
	                      ks.usable ? (double)ks.current_gen : -1.0);
	metrics_family(b, "nts_ke_key_reloads_total", "counter", "Key file loads.");
	metrics_sample(b, "nts_ke_key_reloads_total", "result=\"ok\"", d.srv.keys.reloads_ok);
	metrics_sample(b, "nts_ke_key_reloads_total", "result=\"failed\"",
	               d.srv.keys.reloads_failed);
	metrics_family(b, "nts_ke_config_reloads_total", "counter",
	               "Configuration reloads (SIGHUP) by result.");
	metrics_sample(b, "nts_ke_config_reloads_total", "result=\"ok\"", d.config_reloads_ok);
	metrics_sample(b, "nts_ke_config_reloads_total", "result=\"failed\"",
	               d.config_reloads_failed);
	metrics_family(b, "nts_ke_config_restart_needed", "gauge",
	               "1 if the file has changes that only a restart applies.");
	metrics_sample(b, "nts_ke_config_restart_needed", NULL, (uint64_t)d.config_restart_needed);
	struct metrics_buf hb = {0};
	int healthy = health(NULL, &hb);
	free(hb.data);
	metrics_family(b, "nts_ke_healthy", "gauge", "1 if /health answers 200.");
	metrics_sample(b, "nts_ke_healthy", NULL, (uint64_t)healthy);
	version_metric(b, "nts_ke_build_info");
}

static void watch_dir_of(uv_loop_t *loop, const char *file)
{
	char dir[1024];
	snprintf(dir, sizeof(dir), "%s", file);
	char *slash = strrchr(dir, '/');
	if (slash != NULL) {
		*slash = '\0';
	} else {
		strcpy(dir, ".");
	}
	if (d.num_certwatch == (int)NTS_ARRAY_SIZE(d.certwatch)) {
		return;
	}
	uv_fs_event_t *ev = &d.certwatch[d.num_certwatch];
	uv_fs_event_init(loop, ev);
	if (uv_fs_event_start(ev, on_certwatch, dir[0] != '\0' ? dir : "/", 0) != 0) {
		uv_close((uv_handle_t *)ev, NULL);
		log_warn("cannot watch %s for certificate renewals; use SIGHUP", dir);
		return;
	}
	d.num_certwatch++;
}

int main(int argc, char **argv)
{
	const char *conf = "/etc/nts/nts-ke-server.conf", *err;
	char errbuf[1024];
	int check, debug;
	struct ke_config *cfg = &d.srv.cfg;

	d.last_health = -1;
	pthread_mutex_init(&d.srv.tls_lock, NULL);
	daemon_parse_args(argc, argv, "nts-ke-server", &conf, &debug, &check);
	d.conf_path = conf;
	d.debug = debug;
	if (!config_load(cfg, conf)) {
		return 1;
	}
	if (check) {
		struct ke_tls *t = ke_tls_load(cfg, errbuf, sizeof(errbuf), &err);
		if (t == NULL) {
			fprintf(stderr, "%s: certificates: %s\n", conf, err);
			return 1;
		}
		if (cfg->signer[0] != '\0' &&
		    ke_tls_signer_check(t, cfg, errbuf, sizeof(errbuf)) != KE_SIGNER_OK) {
			fprintf(stderr, "%s: certificates: %s\n", conf, errbuf);
			ke_tls_unref(t);
			return 1;
		}
		ke_tls_unref(t);
		err = "libsodium initialisation failed";
		if (!smem_init() || !keywatch_check(cfg->keyfile, cfg->deployment,
		                                    cfg->boxkey[0] != '\0' ? cfg->boxkey : NULL,
		                                    KEYFILE_ROLE_KE, &err)) {
			fprintf(stderr, "%s: keys: %s: %s\n", conf, cfg->keyfile, err);
			return 1;
		}
		printf("%s: OK\n", conf);
		return 0;
	}
	log_init("nts-ke-server", cfg->use_syslog, debug ? LOG_LVL_DEBUG : cfg->loglevel);
	if (!smem_init()) {
		log_fatal("libsodium initialisation failed");
	}
	if (!smem_harden_process()) {
		log_warn("cannot disable core dumps");
	}
	signal(SIGPIPE, SIG_IGN);
	RAND_bytes(d.srv.source_salt, sizeof(d.srv.source_salt));
	uv_loop_t *loop = uv_default_loop();

	struct ke_tls *t = ke_tls_load(cfg, errbuf, sizeof(errbuf), &err);
	if (t == NULL) {
		log_fatal("certificates: %s", err);
	}
	ke_tls_swap(&d.srv, t);
	remember_cert_paths();
	keyring_holder_init(&d.srv.keys, KEYFILE_ROLE_KE);
	if (!keywatch_start(&d.kw, loop, &d.srv.keys, cfg->keyfile, cfg->deployment,
	                    cfg->boxkey[0] != '\0' ? cfg->boxkey : NULL)) {
		return 1;
	}
	d.num_workers = (int)cfg->workers;
	unsigned defer = (unsigned)((cfg->deadline_ms + 999) / 1000);
	for (int i = 0; i < d.num_workers; i++) {
		struct ke_worker *w = &d.workers[i];
		w->id = i;
		w->srv = &d.srv;
		for (int j = 0; j < cfg->num_listen; j++) {
			char a[64];
			int fd = ke_listen_socket((struct sockaddr *)&cfg->listen[j],
			                          cfg->listen_len[j], defer);
			if (fd < 0) {
				log_fatal("cannot listen on %s: %s",
				          cfg_sockaddr_str(a, sizeof(a),
				                           (struct sockaddr *)&cfg->listen[j]),
				          strerror(errno));
			}
			w->fds[w->num_listeners++] = fd;
		}
	}
	if (cfg->metrics_on) {
		d.metrics = metrics_server_start(loop, (struct sockaddr *)&cfg->metrics, render,
		                                 health, NULL);
		if (d.metrics == NULL) {
			log_fatal("cannot start the metrics endpoint");
		}
	}
	if (cfg->user[0] != '\0' && !daemon_drop_privileges(cfg->user)) {
		return 1;
	}
	if (cfg->signer[0] != '\0') {
		/* as the user that connects to the signer from now on (its
		 * 'allowuser'): refuse to start on a key the signer lacks; if
		 * the signer is not there yet, check again until it is */
		d.keycheck = ke_tls_signer_check(t, cfg, d.keycheck_msg, sizeof(d.keycheck_msg));
		if (d.keycheck == KE_SIGNER_KEY_MISSING) {
			log_fatal("certificates: %s", d.keycheck_msg);
		}
		if (d.keycheck == KE_SIGNER_UNVERIFIED) {
			log_warn("certificates: %s; checking again every 5 s", d.keycheck_msg);
		}
	}
	for (int i = 0; i < d.num_workers; i++) {
		if (!ke_worker_start(&d.workers[i])) {
			log_fatal("cannot start worker %d", i);
		}
	}
	for (int i = 0; i < cfg->num_certs; i++) {
		watch_dir_of(loop, cfg->cert[i]);
		if (cfg->key[i][0] != '\0' && strcmp(cfg->key[i], cfg->cert[i]) != 0) {
			watch_dir_of(loop, cfg->key[i]);
		}
	}
	uv_timer_init(loop, &d.cert_debounce);
	uv_timer_init(loop, &d.gc_timer);
	uv_timer_start(&d.gc_timer, on_gc, 5000, 5000);
	uv_signal_init(loop, &d.sighup);
	uv_signal_start(&d.sighup, on_signal, SIGHUP);
	uv_signal_init(loop, &d.sigterm);
	uv_signal_start(&d.sigterm, on_signal, SIGTERM);
	uv_signal_init(loop, &d.sigint);
	uv_signal_start(&d.sigint, on_signal, SIGINT);
	if (cfg->seccomp && !sandbox_apply(SANDBOX_KE, debug)) {
		log_fatal("cannot install the seccomp filter");
	}
	if (cfg->signer[0] != '\0') {
		log_info("keyless: signatures by nts-signer at %s", cfg->signer);
	} else {
		log_warn("private keys in this process (no 'signer'): the weaker mode");
	}
	for (int j = 0; j < cfg->num_listen; j++) {
		char a[64];
		log_info("NTS-KE on %s with %d workers",
		         cfg_sockaddr_str(a, sizeof(a), (struct sockaddr *)&cfg->listen[j]),
		         d.num_workers);
	}
	notify_ready(); /* sockets bound, workers running */

	uv_run(loop, UV_RUN_DEFAULT);

	/* drain: wake every worker first so that all stop accepting at once,
	 * then wait for each to finish its connections (at most the deadline) */
	atomic_store(&d.srv.stop, 1);
	for (int i = 0; i < d.num_workers; i++) {
		if (d.workers[i].started) {
			uv_async_send(&d.workers[i].wakeup);
		}
	}
	for (int i = 0; i < d.num_workers; i++) {
		if (d.workers[i].started) {
			uv_thread_join(&d.workers[i].thread);
			d.workers[i].started = 0;
		}
		ke_worker_stop(&d.workers[i]); /* nothing left to do: not started */
	}
	metrics_server_stop(d.metrics);
	keywatch_stop(&d.kw);
	(void)daemon_close_loop(loop);
	ke_tls_swap(&d.srv, NULL);
	keyring_holder_cleanup(&d.srv.keys);
	log_info("stopped");
	return 0;
}
