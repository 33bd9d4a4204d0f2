/*
 * nts-responder: the stateless NTP/NTS responder.
 *
 *   nts-responder [-c FILE] [-d] [--check]
 *
 * Configuration: one directive per line (docs/config-responder.md, and
 * deploy/examples/nts-responder.conf with every default).
 */
#include <errno.h>
#include <stddef.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "common/config.h"
#include "common/daemon.h"
#include "common/keywatch.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/notify.h"
#include "common/sandbox.h"
#include "common/smem.h"
#include "common/version.h"
#include "ntp-responder/sync.h"
#include "ntp-responder/worker.h"

#define MAX_LISTEN  8
#define MAX_WORKERS 64

const uint64_t *resp_hist_bounds(void);

struct resp_config {
	struct sockaddr_storage listen[MAX_LISTEN];
	socklen_t listen_len[MAX_LISTEN];
	int num_listen;
	uint64_t workers;
	int serve_plain;
	char keyfile[1024];
	char deployment[1024];
	char boxkey[1024];
	struct sync_config sync;
	int metrics_on;
	struct sockaddr_storage metrics;
	socklen_t metrics_len;
	char healthfile[1024];
	enum log_level loglevel;
	int use_syslog;
	char user[64];
	int pin_workers;
	int seccomp;
	uint64_t socketbuffer;
};

static int d_listen(void *c, const struct cfg_line *l)
{
	struct resp_config *cfg = c;
	if (cfg->num_listen == MAX_LISTEN) {
		return cfg_error(l, "at most %d listen addresses", MAX_LISTEN);
	}
	int i = cfg->num_listen++;
	return cfg_arg_sockaddr(&cfg->listen[i], &cfg->listen_len[i], l, 0, 123);
}
static int d_workers(void *c, const struct cfg_line *l)
{
	return cfg_arg_u64(&((struct resp_config *)c)->workers, l, 0, 0, MAX_WORKERS);
}
static int d_plain(void *c, const struct cfg_line *l)
{
	return cfg_arg_bool(&((struct resp_config *)c)->serve_plain, l, 0);
}
static int d_pin(void *c, const struct cfg_line *l)
{
	return cfg_arg_bool(&((struct resp_config *)c)->pin_workers, l, 0);
}
static int d_keyfile(void *c, const struct cfg_line *l)
{
	struct resp_config *cfg = c;
	return cfg_arg_string(cfg->keyfile, sizeof(cfg->keyfile), l, 0);
}
static int d_deployment(void *c, const struct cfg_line *l)
{
	struct resp_config *cfg = c;
	return cfg_arg_string(cfg->deployment, sizeof(cfg->deployment), l, 0);
}
static int d_boxkey(void *c, const struct cfg_line *l)
{
	struct resp_config *cfg = c;
	return cfg_arg_string(cfg->boxkey, sizeof(cfg->boxkey), l, 0);
}
static int d_syncsource(void *c, const struct cfg_line *l)
{
	struct resp_config *cfg = c;
	static const char *const modes[] = {"ntp", "static", NULL};
	int m;
	if (!cfg_arg_choice(&m, l, 0, modes)) {
		return 0;
	}
	if (m == 0) {
		cfg->sync.mode = SYNC_NTP;
		if (l->argc != 2) {
			return cfg_error(l, "usage: syncsource ntp ADDR[:PORT]");
		}
		return cfg_arg_sockaddr(&cfg->sync.daemon, &cfg->sync.daemon_len, l, 1, 123);
	}
	cfg->sync.mode = SYNC_STATIC;
	uint64_t stratum;
	if (l->argc != 3) {
		return cfg_error(l, "usage: syncsource static STRATUM REFID (labs and tests only)");
	}
	if (!cfg_arg_u64(&stratum, l, 1, 1, 15)) {
		return 0;
	}
	const char *r = l->argv[2];
	if (strlen(r) > 4) {
		return cfg_error(l, "refid: at most 4 characters");
	}
	uint8_t b[4] = {0};
	memcpy(b, r, strlen(r));
	cfg->sync.static_stratum = (uint8_t)stratum;
	cfg->sync.static_refid = NTP_REFID(b[0], b[1], b[2], b[3]);
	return 1;
}
static int d_metrics(void *c, const struct cfg_line *l)
{
	struct resp_config *cfg = c;
	if (strcmp(l->argv[0], "off") == 0) {
		cfg->metrics_on = 0;
		return 1;
	}
	cfg->metrics_on = 1;
	return cfg_arg_sockaddr(&cfg->metrics, &cfg->metrics_len, l, 0, 9124);
}
static int d_healthfile(void *c, const struct cfg_line *l)
{
	struct resp_config *cfg = c;
	return cfg_arg_string(cfg->healthfile, sizeof(cfg->healthfile), l, 0);
}
static int d_loglevel(void *c, const struct cfg_line *l)
{
	struct resp_config *cfg = c;
	if (!log_level_from_string(&cfg->loglevel, l->argv[0])) {
		return cfg_error(l, "log level: error, warning, info or debug");
	}
	return 1;
}
static int d_syslog(void *c, const struct cfg_line *l)
{
	return cfg_arg_bool(&((struct resp_config *)c)->use_syslog, l, 0);
}
static int d_user(void *c, const struct cfg_line *l)
{
	struct resp_config *cfg = c;
	return cfg_arg_string(cfg->user, sizeof(cfg->user), l, 0);
}

static int d_socketbuffer(void *c, const struct cfg_line *l)
{
	return cfg_arg_size(&((struct resp_config *)c)->socketbuffer, l, 0, 0, 1024 * 1024 * 1024);
}

static int d_seccomp(void *c, const struct cfg_line *l)
{
	return cfg_arg_bool(&((struct resp_config *)c)->seccomp, l, 0);
}

static const struct cfg_directive directives[] = {
    {"listen", 1, 1, d_listen, 1},
    {"workers", 1, 1, d_workers, 0},
    {"plain", 1, 1, d_plain, 0},
    {"pinworkers", 1, 1, d_pin, 0},
    {"keyfile", 1, 1, d_keyfile, 0},
    {"deployment", 1, 1, d_deployment, 0},
    {"boxkey", 1, 1, d_boxkey, 0},
    {"syncsource", 1, 3, d_syncsource, 0},
    {"metrics", 1, 1, d_metrics, 0},
    {"healthfile", 1, 1, d_healthfile, 0},
    {"loglevel", 1, 1, d_loglevel, 0},
    {"syslog", 1, 1, d_syslog, 0},
    {"user", 1, 1, d_user, 0},
    {"seccomp", 1, 1, d_seccomp, 0},
    {"socketbuffer", 1, 1, d_socketbuffer, 0},
};

static void config_defaults(struct resp_config *cfg)
{
	struct cfg_line l = {.file = "(default)", .name = "metrics", .argc = 1};
	memset(cfg, 0, sizeof(*cfg));
	cfg->serve_plain = 1;
	cfg->seccomp = 1;
	cfg->socketbuffer = 1024 * 1024;
	cfg->loglevel = LOG_LVL_INFO;
	cfg->sync.mode = SYNC_NTP;
	l.argv[0] = "127.0.0.1:123";
	if (!cfg_arg_sockaddr(&cfg->sync.daemon, &cfg->sync.daemon_len, &l, 0, 123)) {
		abort(); /* built-in default */
	}
	cfg->metrics_on = 1;
	l.argv[0] = "127.0.0.1:9124";
	if (!cfg_arg_sockaddr(&cfg->metrics, &cfg->metrics_len, &l, 0, 9124)) {
		abort(); /* built-in default */
	}
}

static int config_check(struct resp_config *cfg, const char *path)
{
	if (cfg->num_listen == 0) {
		struct cfg_line l = {.file = "(default)", .name = "listen", .argc = 1};
		l.argv[0] = "0.0.0.0:123";
		if (!cfg_arg_sockaddr(&cfg->listen[0], &cfg->listen_len[0], &l, 0, 123)) {
			abort(); /* built-in default */
		}
		l.argv[0] = "[::]:123";
		if (!cfg_arg_sockaddr(&cfg->listen[1], &cfg->listen_len[1], &l, 0, 123)) {
			abort(); /* built-in default */
		}
		cfg->num_listen = 2;
	}
	if ((cfg->keyfile[0] != '\0') != (cfg->deployment[0] != '\0')) {
		fprintf(stderr, "%s: 'keyfile' and 'deployment' go together\n", path);
		return 0;
	}
	if (cfg->workers == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		cfg->workers = n > 0 ? (uint64_t)n : 1;
		if (cfg->workers > MAX_WORKERS) {
			cfg->workers = MAX_WORKERS;
		}
	}
	return 1;
}

static int config_load(struct resp_config *cfg, const char *path)
{
	config_defaults(cfg);
	return cfg_parse_file(path, directives, NTS_ARRAY_SIZE(directives), cfg) &&
	       config_check(cfg, path);
}

/* What SIGHUP may change at run time (see docs/config-responder.md). */
#define F(name, field, reloadable) CFG_FIELD(struct resp_config, name, field, reloadable)
/* clang-format off */
static const struct cfg_field reload_fields[] = {
    F("listen", listen, 0),
    F("listen", listen_len, 0),
    F("listen", num_listen, 0),
    F("workers", workers, 0),
    F("plain", serve_plain, 1),
    F("keyfile", keyfile, 0),
    F("deployment", deployment, 0),
    F("boxkey", boxkey, 0),
    F("syncsource", sync, 0),
    F("metrics", metrics_on, 0),
    F("metrics", metrics, 0),
    F("metrics", metrics_len, 0),
    F("healthfile", healthfile, 1),
    F("loglevel", loglevel, 1),
    F("syslog", use_syslog, 0),
    F("user", user, 0),
    F("pinworkers", pin_workers, 0),
    F("seccomp", seccomp, 0),
    F("socketbuffer", socketbuffer, 0),
};
/* clang-format on */
#undef F

/* sync_polls_self: would the sync poll reach one of our own sockets (same
 * port, and the same address or a wildcard of the same family)? */
static int sync_polls_self(const struct resp_config *cfg)
{
	const struct sockaddr_storage *t = &cfg->sync.daemon;
	for (int i = 0; i < cfg->num_listen; i++) {
		const struct sockaddr_storage *l = &cfg->listen[i];
		if (l->ss_family != t->ss_family) {
			continue;
		}
		if (l->ss_family == AF_INET) {
			const struct sockaddr_in *a = (const struct sockaddr_in *)l;
			const struct sockaddr_in *b = (const struct sockaddr_in *)t;
			if (a->sin_port == b->sin_port &&
			    (a->sin_addr.s_addr == htonl(INADDR_ANY) ||
			     a->sin_addr.s_addr == b->sin_addr.s_addr)) {
				return 1;
			}
		} else if (l->ss_family == AF_INET6) {
			const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)l;
			const struct sockaddr_in6 *b = (const struct sockaddr_in6 *)t;
			if (a->sin6_port == b->sin6_port &&
			    (IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr) ||
			     memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(a->sin6_addr)) == 0)) {
				return 1;
			}
		}
	}
	return 0;
}

/* ---- the running daemon ---- */

static struct {
	struct resp_config cfg;
	struct resp_ctx ctx;
	struct keyring_holder holder;
	struct keywatch kw;
	struct sync_source sync;
	struct worker workers[MAX_WORKERS];
	int num_workers;
	_Atomic int stop;
	struct metrics_server *metrics;
	uv_signal_t sighup, sigterm, sigint;
	uv_timer_t health_timer;
	int have_keys_config;
	const char *conf_path;
	int debug;
	uint64_t config_reloads_ok, config_reloads_failed;
	int config_restart_needed;
	int last_health; /* -1: not known yet */
} d;

static int health(void *arg, struct metrics_buf *b)
{
	const struct sync_state *s = atomic_load(&d.ctx.sync);
	const struct keyring *kr = keyring_holder_get(&d.holder);
	struct keyring_status ks;
	(void)arg;
	if (s == NULL || !s->synchronised) {
		metrics_buf_printf(b, "unhealthy: %s\n", s != NULL ? s->reason : "no sync state");
		return 0;
	}
	if (d.have_keys_config) {
		if (kr == NULL) {
			metrics_buf_printf(b, "unhealthy: no cookie keys loaded\n");
			return 0;
		}
		keyring_status(kr, (int64_t)time(NULL), &ks);
		if (!ks.usable) {
			metrics_buf_printf(b, "unhealthy: cookie keys expired or not yet active\n");
			return 0;
		}
	}
	for (int i = 0; i < d.num_workers; i++) {
		if (!d.workers[i].started) {
			metrics_buf_printf(b, "unhealthy: worker %d not running\n", i);
			return 0;
		}
	}
	metrics_buf_printf(b, "ok\n");
	return 1;
}

/* sum adds one counter (at |off| in struct resp_stats) over all workers. */
static uint64_t sum(size_t off)
{
	uint64_t total = 0;
	for (int i = 0; i < d.num_workers; i++) {
		const char *base = (const char *)&d.workers[i].stats;
		total += metrics_get((const metrics_counter *)(const void *)(base + off));
	}
	return total;
}
#define SUM(field) sum(offsetof(struct resp_stats, field))

static void render(void *arg, struct metrics_buf *b)
{
	(void)arg;
	metrics_family(b, "nts_responder_packets_received_total", "counter",
	               "UDP datagrams received, before any check.");
	metrics_sample(b, "nts_responder_packets_received_total", NULL, SUM(rx_packets));
	metrics_family(b, "nts_responder_requests_total", "counter", "Requests by kind.");
	metrics_sample(b, "nts_responder_requests_total", "kind=\"plain\"", SUM(req_plain));
	metrics_sample(b, "nts_responder_requests_total", "kind=\"nts\"", SUM(req_nts));
	metrics_family(b, "nts_responder_responses_total", "counter", "Responses sent by kind.");
	metrics_sample(b, "nts_responder_responses_total", "kind=\"plain\"", SUM(resp_plain));
	metrics_sample(b, "nts_responder_responses_total", "kind=\"nts\"", SUM(resp_nts));
	metrics_family(b, "nts_responder_naks_total", "counter", "NTS NAKs by reason.");
	metrics_sample(b, "nts_responder_naks_total", "reason=\"unknown_key\"",
	               SUM(nak_unknown_key));
	metrics_sample(b, "nts_responder_naks_total", "reason=\"expired_key\"",
	               SUM(nak_expired_key));
	metrics_sample(b, "nts_responder_naks_total", "reason=\"future_key\"", SUM(nak_future_key));
	metrics_sample(b, "nts_responder_naks_total", "reason=\"bad_cookie\"", SUM(nak_bad_cookie));
	metrics_sample(b, "nts_responder_naks_total", "reason=\"bad_auth\"", SUM(nak_bad_auth));
	metrics_sample(b, "nts_responder_naks_total", "reason=\"no_keys\"", SUM(nak_no_keys));
	metrics_family(b, "nts_responder_drops_total", "counter", "Requests dropped by reason.");
	metrics_sample(b, "nts_responder_drops_total", "reason=\"short\"", SUM(drop_short));
	metrics_sample(b, "nts_responder_drops_total", "reason=\"mode\"", SUM(drop_mode));
	metrics_sample(b, "nts_responder_drops_total", "reason=\"version\"", SUM(drop_version));
	metrics_sample(b, "nts_responder_drops_total", "reason=\"malformed\"", SUM(drop_malformed));
	metrics_sample(b, "nts_responder_drops_total", "reason=\"placeholder_cap\"",
	               SUM(drop_placeholders));
	metrics_sample(b, "nts_responder_drops_total", "reason=\"plain_disabled\"",
	               SUM(drop_plain_disabled));
	metrics_sample(b, "nts_responder_drops_total", "reason=\"too_large\"", SUM(drop_too_large));
	metrics_sample(b, "nts_responder_drops_total", "reason=\"bad_extension\"",
	               SUM(drop_bad_ef));
	metrics_family(b, "nts_responder_send_errors_total", "counter", "sendmmsg failures.");
	metrics_sample(b, "nts_responder_send_errors_total", NULL, SUM(send_errors));

	const struct metrics_hist *hs[MAX_WORKERS];
	for (int i = 0; i < d.num_workers; i++) {
		hs[i] = &d.workers[i].stats.processing;
	}
	metrics_family(b, "nts_responder_processing_seconds", "histogram",
	               "Server processing time T3 - T2 (kernel receive to transmit timestamp).");
	metrics_hist_render(b, "nts_responder_processing_seconds", NULL, resp_hist_bounds(), hs,
	                    (size_t)d.num_workers);

	const struct sync_state *s = atomic_load(&d.ctx.sync);
	metrics_family(b, "nts_responder_synchronised", "gauge", "1 if the clock is synchronised.");
	metrics_sample(b, "nts_responder_synchronised", NULL, s != NULL && s->synchronised);
	int synced = s != NULL && s->synchronised;
	metrics_family(b, "nts_responder_leap", "gauge", "Leap indicator served.");
	metrics_sample(b, "nts_responder_leap", NULL, synced ? s->leap : 3);
	metrics_family(b, "nts_responder_stratum", "gauge", "Stratum served.");
	metrics_sample(b, "nts_responder_stratum", NULL, synced ? s->stratum : 16);
	metrics_family(b, "nts_responder_root_delay_seconds", "gauge", "Root delay served.");
	metrics_sample_double(b, "nts_responder_root_delay_seconds", NULL,
	                      synced ? ntp_short_to_double(s->root_delay) : 0.0);
	metrics_family(b, "nts_responder_root_dispersion_seconds", "gauge",
	               "Root dispersion served.");
	metrics_sample_double(b, "nts_responder_root_dispersion_seconds", NULL,
	                      synced ? ntp_short_to_double(s->root_dispersion) : 0.0);
	metrics_family(b, "nts_responder_sync_polls_total", "counter",
	               "Polls of the local time daemon (syncsource ntp).");
	metrics_sample(b, "nts_responder_sync_polls_total", NULL, metrics_get(&d.sync.polls));
	metrics_family(b, "nts_responder_sync_replies_total", "counter",
	               "Valid replies from the local time daemon.");
	metrics_sample(b, "nts_responder_sync_replies_total", NULL, metrics_get(&d.sync.replies));
	const struct keyring *kr = keyring_holder_get(&d.holder);
	struct keyring_status ks = {0};
	if (kr != NULL) {
		keyring_status(kr, (int64_t)time(NULL), &ks);
	}
	metrics_family(b, "nts_responder_keys_usable", "gauge",
	               "1 if cookie keys are loaded and current.");
	metrics_sample(b, "nts_responder_keys_usable", NULL, ks.usable);
	metrics_family(b, "nts_responder_key_generations", "gauge", "Key generations loaded.");
	metrics_sample(b, "nts_responder_key_generations", NULL, (uint64_t)ks.num_gens);
	metrics_family(b, "nts_responder_key_reloads_total", "counter", "Key file loads.");
	metrics_sample(b, "nts_responder_key_reloads_total", "result=\"ok\"", d.holder.reloads_ok);
	metrics_sample(b, "nts_responder_key_reloads_total", "result=\"failed\"",
	               d.holder.reloads_failed);
	metrics_family(b, "nts_responder_config_reloads_total", "counter",
	               "Configuration reloads (SIGHUP) by result.");
	metrics_sample(b, "nts_responder_config_reloads_total", "result=\"ok\"",
	               d.config_reloads_ok);
	metrics_sample(b, "nts_responder_config_reloads_total", "result=\"failed\"",
	               d.config_reloads_failed);
	metrics_family(b, "nts_responder_config_restart_needed", "gauge",
	               "1 if the file has changes that only a restart applies.");
	metrics_sample(b, "nts_responder_config_restart_needed", NULL,
	               (uint64_t)d.config_restart_needed);
	struct metrics_buf hb = {0};
	int healthy = health(NULL, &hb);
	free(hb.data);
	metrics_family(b, "nts_responder_healthy", "gauge", "1 if the responder should serve.");
	metrics_sample(b, "nts_responder_healthy", NULL, (uint64_t)healthy);
	version_metric(b, "nts_responder_build_info");
}

static void write_healthfile(uv_timer_t *t)
{
	struct metrics_buf b = {0};
	(void)t;
	sync_update(&d.sync);
	int ok = health(NULL, &b);
	/* log health changes (clock lost or regained sync, keys expired) */
	if (ok != d.last_health && !b.failed && b.data != NULL) {
		size_t n = strcspn(b.data, "\n");
		if (ok) {
			log_info("health: %.*s", (int)n, b.data);
		} else {
			log_warn("health: %.*s", (int)n, b.data);
		}
		d.last_health = ok;
	}
	if (d.cfg.healthfile[0] == '\0') {
		free(b.data);
		return;
	}
	if (!b.failed && b.data != NULL &&
	    !keyfile_write_atomic(d.cfg.healthfile, (const uint8_t *)b.data, b.len, 0644)) {
		LOG_RL_WARN("cannot write health file %s", d.cfg.healthfile);
	}
	free(b.data);
}

static void reload_config(void)
{
	struct resp_config *fresh = malloc(sizeof(*fresh));
	if (fresh == NULL || !config_load(fresh, d.conf_path)) {
		d.config_reloads_failed++;
		log_err("%s: not reloaded (errors above); the running configuration stays",
		        d.conf_path);
		free(fresh);
		return;
	}
	int restart = cfg_reload_diff(d.conf_path, &d.cfg, fresh, sizeof(*fresh), reload_fields,
	                              NTS_ARRAY_SIZE(reload_fields));
	d.config_restart_needed = restart > 0;
	d.config_reloads_ok++;
	atomic_store(&d.ctx.serve_plain, d.cfg.serve_plain);
	if (!d.debug) {
		log_set_level(d.cfg.loglevel);
	}
	free(fresh);
}

static void on_signal(uv_signal_t *s, int signum)
{
	if (signum == SIGHUP) {
		log_info("SIGHUP: reloading configuration and keys");
		reload_config();
		if (d.have_keys_config) {
			keywatch_reload(&d.kw);
		}
		return;
	}
	log_info("signal %d: stopping (workers finish their batch)", signum);
	atomic_store(&d.stop, 1);
	uv_stop(s->loop);
}

int main(int argc, char **argv)
{
	const char *conf = "/etc/nts/nts-responder.conf";
	int check, debug;

	daemon_parse_args(argc, argv, "nts-responder", &conf, &debug, &check);
	d.conf_path = conf;
	d.debug = debug;
	d.last_health = -1;
	if (!config_load(&d.cfg, conf)) {
		return 1;
	}
	if (check) {
		const char *err = "libsodium initialisation failed";
		if (d.cfg.keyfile[0] != '\0' &&
		    (!smem_init() || !keywatch_check(d.cfg.keyfile, d.cfg.deployment,
		                                     d.cfg.boxkey[0] != '\0' ? d.cfg.boxkey : NULL,
		                                     KEYFILE_ROLE_RESPONDER, &err))) {
			fprintf(stderr, "%s: keys: %s: %s\n", conf, d.cfg.keyfile, err);
			return 1;
		}
		printf("%s: OK\n", conf);
		return 0;
	}
	log_init("nts-responder", d.cfg.use_syslog, debug ? LOG_LVL_DEBUG : d.cfg.loglevel);
	if (!smem_init()) {
		log_fatal("libsodium initialisation failed");
	}
	if (!smem_harden_process()) {
		log_warn("cannot disable core dumps");
	}
	signal(SIGPIPE, SIG_IGN);
	uv_loop_t *loop = uv_default_loop();

	keyring_holder_init(&d.holder, KEYFILE_ROLE_RESPONDER);
	d.ctx.keys = &d.holder;
	d.ctx.serve_plain = d.cfg.serve_plain;
	d.ctx.precision = resp_clock_precision();
	d.have_keys_config = d.cfg.keyfile[0] != '\0';
	if (d.have_keys_config &&
	    !keywatch_start(&d.kw, loop, &d.holder, d.cfg.keyfile, d.cfg.deployment,
	                    d.cfg.boxkey[0] != '\0' ? d.cfg.boxkey : NULL)) {
		return 1;
	}
	if (!d.have_keys_config) {
		log_warn("no keyfile configured: NTS requests get NAKs");
	}
	if (!sync_start(&d.sync, loop, &d.ctx, &d.cfg.sync)) {
		log_fatal("cannot start the sync-state poll");
	}
	if (d.cfg.sync.mode == SYNC_NTP && sync_polls_self(&d.cfg)) {
		char a[64];
		log_warn(
		    "syncsource ntp %s: that is this responder's own listen address; the local "
		    "time daemon must answer on another port (see docs/config-responder.md)",
		    cfg_sockaddr_str(a, sizeof(a), (struct sockaddr *)&d.cfg.sync.daemon));
	}
	if (d.cfg.sync.mode == SYNC_STATIC) {
		log_warn("syncsource static: serving fixed stratum %u (labs and tests only)",
		         d.cfg.sync.static_stratum);
	}

	d.num_workers = (int)d.cfg.workers;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	for (int i = 0; i < d.num_workers; i++) {
		struct worker *w = &d.workers[i];
		w->id = i;
		w->cpu = d.cfg.pin_workers && ncpu > 0 ? (int)(i % ncpu) : -1;
		w->ctx = &d.ctx;
		w->stop = &d.stop;
		for (int j = 0; j < d.cfg.num_listen; j++) {
			char a[64];
			int fd = worker_open_socket((struct sockaddr *)&d.cfg.listen[j],
			                            d.cfg.listen_len[j], (int)d.cfg.socketbuffer);
			if (fd < 0) {
				log_fatal("cannot listen on %s: %s",
				          cfg_sockaddr_str(a, sizeof(a),
				                           (struct sockaddr *)&d.cfg.listen[j]),
				          strerror(errno));
			}
			w->fds[w->num_fds++] = fd;
		}
	}
	if (d.cfg.metrics_on) {
		d.metrics = metrics_server_start(loop, (struct sockaddr *)&d.cfg.metrics, render,
		                                 health, NULL);
		if (d.metrics == NULL) {
			log_fatal("cannot start the metrics endpoint");
		}
	}
	if (d.cfg.user[0] != '\0' && !daemon_drop_privileges(d.cfg.user)) {
		return 1;
	}
	for (int i = 0; i < d.num_workers; i++) {
		if (!worker_start(&d.workers[i])) {
			log_fatal("cannot start worker %d", i);
		}
	}
	uv_signal_init(loop, &d.sighup);
	uv_signal_start(&d.sighup, on_signal, SIGHUP);
	uv_signal_init(loop, &d.sigterm);
	uv_signal_start(&d.sigterm, on_signal, SIGTERM);
	uv_signal_init(loop, &d.sigint);
	uv_signal_start(&d.sigint, on_signal, SIGINT);
	uv_timer_init(loop, &d.health_timer);
	uv_timer_start(&d.health_timer, write_healthfile, 0, 1000);
	if (d.cfg.seccomp && !sandbox_apply(SANDBOX_RESPONDER, debug)) {
		log_fatal("cannot install the seccomp filter");
	}
	for (int j = 0; j < d.cfg.num_listen; j++) {
		char a[64];
		log_info("serving on %s with %d workers%s",
		         cfg_sockaddr_str(a, sizeof(a), (struct sockaddr *)&d.cfg.listen[j]),
		         d.num_workers, d.cfg.serve_plain ? "" : " (NTS only)");
	}
	notify_ready(); /* sockets bound, workers running */

	uv_run(loop, UV_RUN_DEFAULT);

	atomic_store(&d.stop, 1);
	for (int i = 0; i < d.num_workers; i++) {
		worker_join(&d.workers[i]);
	}
	metrics_server_stop(d.metrics);
	sync_stop(&d.sync);
	keywatch_stop(&d.kw);
	if (!daemon_close_loop(loop)) {
		log_warn("handles left open at exit");
	}
	keyring_holder_cleanup(&d.holder);
	log_info("stopped");
	return 0;
}
