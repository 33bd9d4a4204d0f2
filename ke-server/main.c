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
#include "common/fileio.h"
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
static int d_aead(void *c, const struct cfg_line *l)
{
	struct ke_config *cfg = c;
	cfg->num_aeads = 0;
	for (int i = 0; i < l->argc; i++) {
		uint64_t id;
		if (!cfg_arg_u64(&id, l, i, 1, 65535)) {
			return 0;
		}
		if (!aead_supported((uint16_t)id)) {
			char ids[64] = "";
			size_t n = 0;
			for (unsigned a = 1; a <= 65535 && n < sizeof(ids); a++) {
				if (aead_supported((uint16_t)a)) {
					n += (size_t)snprintf(ids + n, sizeof(ids) - n, "%s%u",
					                      n > 0 ? ", " : "", a);
				}
			}
			return cfg_error(l, "'aead': %u is not supported (%s are)", (unsigned)id,
			                 ids);
		}
		cfg->aeads[cfg->num_aeads++] = (uint16_t)id;
	}
	return 1;
}

static int d_allow(void *c, const struct cfg_line *l)
{
	return acl_cfg_rule(&((struct ke_config *)c)->acl, l, 1);
}
static int d_deny(void *c, const struct cfg_line *l)
{
	return acl_cfg_rule(&((struct ke_config *)c)->acl, l, 0);
}

/* The directives. Reloadable (SIGHUP): only what the control loop alone
 * reads. Everything the worker threads read per connection (bounds, AEADs,
 * Server/Port records) and everything bound or set up at start needs a
 * restart. */
#define S struct ke_config
/* clang-format off */
static const struct cfg_directive directives[] = {
    CFG_FUNC_ROW("listen", S, listen, num_listen, 1, 1, 1, d_listen, NULL, 0),
    CFG_FUNC_ROW("cert", S, cert, num_certs, 1, 2, 1, d_cert, NULL, 1),
    CFG_ABSPATH_ROW("signer", S, signer, NULL, 0),
    CFG_DURATION_ROW("signerdeadline", S, signer_deadline_ms, 10, 60000, "500ms", 0),
    CFG_STRING_ROW("keyfile", S, keyfile, NULL, 0),
    CFG_STRING_ROW("deployment", S, deployment, NULL, 0),
    CFG_STRING_ROW("boxkey", S, boxkey, NULL, 0),
    CFG_STRING_ROW("ntpserver", S, ntpserver, NULL, 0),
    CFG_STRING_ROW("ntpserver4", S, ntpserver4, NULL, 0),
    CFG_STRING_ROW("ntpserver6", S, ntpserver6, NULL, 0),
    CFG_UINT_ROW("ntpport", S, ntpport, 1, 65535, NULL, 0),
    CFG_FUNC_ROW("aead", S, aeads, num_aeads, 1, KE_MAX_AEADS, 0, d_aead, "30 15", 0),
    CFG_DURATION_ROW("deadline", S, deadline_ms, 100, 60000, "2s", 0),
    CFG_UINT_ROW("maxconnections", S, max_connections, 1, 1000000, "10000", 0),
    CFG_UINT_ROW("maxpersource", S, max_per_source, 1, 60000, "32", 0),
    CFG_SIZE_ROW("maxrequest", S, max_request, 64, 65536, "1024", 0),
    RL_DIRECTIVES(S, rl, "no", "1s", "16", "16384"),
    CFG_FUNC_ROW("allow", S, acl, acl, 1, 1, 1, d_allow, NULL, 1),
    CFG_FUNC_ROW("deny", S, acl, acl, 1, 1, 1, d_deny, NULL, 1),
    CFG_UINT_ROW("workers", S, workers, 0, KE_MAX_WORKERS, NULL, 0),
    DAEMON_DIRECTIVES(S),
};
/* clang-format on */
#undef S

static void set_addr(struct sockaddr_storage *ss, socklen_t *len, const char *s, uint16_t port)
{
	struct cfg_line l = {.file = "(default)", .name = "default", .argc = 1};
	l.argv[0] = s;
	if (!cfg_arg_sockaddr(ss, len, &l, 0, port)) {
		abort(); /* built-in default */
	}
}

static int config_check(void *c, const char *path)
{
	struct ke_config *cfg = c;
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

static const struct daemon_schema schema = DAEMON_SCHEMA(
    "nts-ke-server", "/etc/nts/nts-ke-server.conf", struct ke_config, 9125, config_check);

/* ---- the running daemon ---- */

static struct {
	struct ke_server srv;
	struct ke_worker workers[KE_MAX_WORKERS];
	int num_workers;
	struct keywatch kw;
	struct daemon dm;
	uv_fs_event_t certwatch[KE_MAX_CERTS * 2];
	int num_certwatch;
	uv_timer_t cert_debounce, gc_timer;
	uint64_t cert_reloads_ok, cert_reloads_failed;
	/* the certificate paths of the set in use (for metric labels) */
	char tls_cert[KE_MAX_CERTS][sizeof(((struct ke_config *)0)->cert[0])];
	int tls_num;
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
	(void)daemon_log_health(&d.dm, health, NULL);
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

static void on_hup(void)
{
	log_info("SIGHUP: reloading configuration, certificates and keys");
	if (daemon_reload_config(&d.dm) &&
	    !rl_policy_apply(&d.srv.policy, &d.srv.cfg.rl, &d.srv.cfg.acl)) {
		log_warn("out of memory for the rate-limit table or access list: kept the old");
	}
	reload_certs();
	keywatch_reload(&d.kw);
}

static void on_stop(int signum)
{
	log_info("signal %d: stopping; draining %llu open connections (at most %llu ms)", signum,
	         (unsigned long long)atomic_load(&d.srv.open_connections),
	         (unsigned long long)d.srv.cfg.deadline_ms);
	atomic_store(&d.srv.stop, 1);
}

static uint64_t sum(size_t off)
{
	return daemon_sum(&d.workers[0].stats, sizeof(d.workers[0]), d.num_workers, off);
}
#define SUM(field) sum(offsetof(struct ke_stats, field))

/* signer_connected counts the workers whose signer connection is up */
static int signer_connected(void)
{
	int n = 0;
	for (int i = 0; i < d.num_workers; i++) {
		const struct ke_signer *s = &d.workers[i].signer;
		uint64_t up = metrics_get(&s->connects);
		uint64_t down = metrics_get(&s->disconnects);
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

static void render_state(struct metrics_buf *b);

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
	    {"rate_limited", offsetof(struct ke_stats, rate_limited)},
	    {"denied", offsetof(struct ke_stats, denied)},
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
			conns += metrics_get(&d.workers[i].signer.connects);
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
	render_state(b);
}

/* render_state: certificates, keys, configuration and health. */
static void render_state(struct metrics_buf *b)
{
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
	struct metrics_buf hb = {0};
	int healthy = health(NULL, &hb);
	free(hb.data);
	daemon_render_config(&d.dm, b, "nts_ke", healthy, "1 if /health answers 200.");
	version_metric(b, "nts_ke_build_info");
}

static void watch_dir_of(uv_loop_t *loop, const char *file)
{
	char dir[1024];
	fileio_dirname(dir, sizeof(dir), file);
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

/* check_config is --check: the certificates load (and nts-signer holds
 * their keys) and the key file opens. */
static int check_config(const struct ke_config *cfg, const char *conf)
{
	const char *err;
	char errbuf[1024];
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
	if (!smem_init() ||
	    !keywatch_check(cfg->keyfile, cfg->deployment,
	                    cfg->boxkey[0] != '\0' ? cfg->boxkey : NULL, KEYFILE_ROLE_KE, &err)) {
		fprintf(stderr, "%s: keys: %s: %s\n", conf, cfg->keyfile, err);
		return 1;
	}
	printf("%s: OK\n", conf);
	return 0;
}

/* open_listeners binds every listen address once per worker. */
static void open_listeners(const struct ke_config *cfg)
{
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
}

/* check_signer_keys: as the user that connects to the signer from now on
 * (its 'allowuser'), refuse to start on a key the signer lacks; if the
 * signer is not there yet, check again until it is. */
static void check_signer_keys(const struct ke_config *cfg)
{
	if (cfg->signer[0] == '\0') {
		return;
	}
	d.keycheck = ke_tls_signer_check(d.srv.tls, cfg, d.keycheck_msg, sizeof(d.keycheck_msg));
	if (d.keycheck == KE_SIGNER_KEY_MISSING) {
		log_fatal("certificates: %s", d.keycheck_msg);
	}
	if (d.keycheck == KE_SIGNER_UNVERIFIED) {
		log_warn("certificates: %s; checking again every 5 s", d.keycheck_msg);
	}
}

/* start_workers starts the worker threads, watches the certificate files
 * and starts the timers of the control loop. */
static void start_workers(const struct ke_config *cfg)
{
	for (int i = 0; i < d.num_workers; i++) {
		if (!ke_worker_start(&d.workers[i])) {
			log_fatal("cannot start worker %d", i);
		}
	}
	for (int i = 0; i < cfg->num_certs; i++) {
		watch_dir_of(d.dm.loop, cfg->cert[i]);
		if (cfg->key[i][0] != '\0' && strcmp(cfg->key[i], cfg->cert[i]) != 0) {
			watch_dir_of(d.dm.loop, cfg->key[i]);
		}
	}
	uv_timer_init(d.dm.loop, &d.cert_debounce);
	uv_timer_init(d.dm.loop, &d.gc_timer);
	uv_timer_start(&d.gc_timer, on_gc, 5000, 5000);
}

/* stop_workers drains: wake every worker first so that all stop accepting
 * at once, then wait for each to finish its connections (at most the
 * deadline). */
static void stop_workers(void)
{
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
	}
}

/* load_certs_and_keys loads the certificates (fatal on failure) and loads
 * and watches the key file. */
static int load_certs_and_keys(const struct ke_config *cfg)
{
	const char *err;
	char errbuf[1024];
	RAND_bytes(d.srv.source_salt, sizeof(d.srv.source_salt));
	if (!rl_policy_apply(&d.srv.policy, &cfg->rl, &cfg->acl)) {
		log_fatal("out of memory for the rate-limit table or access list");
	}
	struct ke_tls *t = ke_tls_load(cfg, errbuf, sizeof(errbuf), &err);
	if (t == NULL) {
		log_fatal("certificates: %s", err);
	}
	ke_tls_swap(&d.srv, t);
	remember_cert_paths();
	keyring_holder_init(&d.srv.keys, KEYFILE_ROLE_KE);
	return keywatch_start(&d.kw, d.dm.loop, &d.srv.keys, cfg->keyfile, cfg->deployment,
	                      cfg->boxkey[0] != '\0' ? cfg->boxkey : NULL);
}

int main(int argc, char **argv)
{
	struct ke_config *cfg = &d.srv.cfg;

	pthread_mutex_init(&d.srv.tls_lock, NULL);
	if (!daemon_init(&d.dm, &schema, cfg, argc, argv)) {
		return 1;
	}
	if (d.dm.check) {
		return check_config(cfg, d.dm.conf_path);
	}
	daemon_start(&d.dm);
	if (!load_certs_and_keys(cfg)) {
		return 1;
	}
	open_listeners(cfg);
	daemon_serve_metrics(&d.dm, render, health);
	if (!daemon_drop(&d.dm)) {
		return 1;
	}
	check_signer_keys(cfg);
	start_workers(cfg);
	d.dm.on_hup = on_hup;
	d.dm.on_stop = on_stop;
	daemon_signals(&d.dm);
	daemon_sandbox(&d.dm, SANDBOX_KE);
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

	uv_run(d.dm.loop, UV_RUN_DEFAULT);

	stop_workers();
	metrics_server_stop(d.dm.metrics);
	keywatch_stop(&d.kw);
	(void)daemon_close_loop(d.dm.loop);
	ke_tls_swap(&d.srv, NULL);
	keyring_holder_cleanup(&d.srv.keys);
	rl_policy_cleanup(&d.srv.policy);
	log_info("stopped");
	return 0;
}
