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
#include "common/fileio.h"
#include "common/keywatch.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/notify.h"
#include "common/sandbox.h"
#include "common/smem.h"
#include "common/version.h"
#include "ntp-responder/ratelimit.h"
#include "ntp-responder/sync.h"
#include "ntp-responder/worker.h"
#include "ntp-responder/xdp.h"

#define MAX_LISTEN  8
#define MAX_WORKERS 64

const uint64_t *resp_hist_bounds(void);

struct resp_config {
	struct daemon_config base; /* first: loglevel, syslog, user, seccomp, metrics */
	struct sockaddr_storage listen[MAX_LISTEN];
	socklen_t listen_len[MAX_LISTEN];
	int num_listen;
	uint64_t workers;
	int serve_plain;
	char keyfile[1024];
	char deployment[1024];
	char boxkey[1024];
	struct sync_config sync;
	char healthfile[1024];
	int pin_workers;
	uint64_t socketbuffer;
	struct xdp_config xdp;
	int xdp_fallback;
	int xdp_hwts;
	struct rl_config rl;
	uint64_t leak;
	int deny_kod;
	struct acl_rules acl;
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
static int d_xdp(void *c, const struct cfg_line *l)
{
	return xdp_config_line(&((struct resp_config *)c)->xdp, l);
}
static int d_allow(void *c, const struct cfg_line *l)
{
	return acl_cfg_rule(&((struct resp_config *)c)->acl, l, 1);
}
static int d_deny(void *c, const struct cfg_line *l)
{
	return acl_cfg_rule(&((struct resp_config *)c)->acl, l, 0);
}
static int d_denyaction(void *c, const struct cfg_line *l)
{
	static const char *const actions[] = {"silent", "kod", NULL};
	return cfg_arg_choice(&((struct resp_config *)c)->deny_kod, l, 0, actions);
}
/* The directives; reloadable (SIGHUP): see docs/config-responder.md. */
#define S struct resp_config
/* clang-format off */
static const struct cfg_directive directives[] = {
    CFG_FUNC_ROW("listen", S, listen, num_listen, 1, 1, 1, d_listen, NULL, 0),
    CFG_UINT_ROW("workers", S, workers, 0, MAX_WORKERS, NULL, 0),
    CFG_BOOL_ROW("plain", S, serve_plain, "yes", 1),
    CFG_BOOL_ROW("pinworkers", S, pin_workers, "no", 0),
    CFG_STRING_ROW("keyfile", S, keyfile, NULL, 0),
    CFG_STRING_ROW("deployment", S, deployment, NULL, 0),
    CFG_STRING_ROW("boxkey", S, boxkey, NULL, 0),
    CFG_FUNC_ROW("syncsource", S, sync, sync, 1, 3, 0, d_syncsource, "ntp 127.0.0.1:123", 0),
    CFG_STRING_ROW("healthfile", S, healthfile, NULL, 1),
    CFG_SIZE_ROW("socketbuffer", S, socketbuffer, 0, 1024 * 1024 * 1024, "1M", 0),
    CFG_FUNC_ROW("xdp", S, xdp, xdp, 1, CFG_MAX_ARGS, 0, d_xdp, NULL, 0),
    CFG_BOOL_ROW("xdpfallback", S, xdp_fallback, "no", 0),
    CFG_BOOL_ROW("xdphwtimestamps", S, xdp_hwts, "yes", 0),
    RL_DIRECTIVES(S, rl, "no", "1s", "16", "65536"),
    CFG_UINT_ROW("ratelimitleak", S, leak, 0, 100, "25", 1),
    CFG_FUNC_ROW("allow", S, acl, acl, 1, 1, 1, d_allow, NULL, 1),
    CFG_FUNC_ROW("deny", S, acl, acl, 1, 1, 1, d_deny, NULL, 1),
    CFG_FUNC_ROW("denyaction", S, deny_kod, deny_kod, 1, 1, 0, d_denyaction, "silent", 1),
    DAEMON_DIRECTIVES(S),
};
/* clang-format on */
#undef S

static int config_check(void *c, const char *path)
{
	struct resp_config *cfg = c;
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

static const struct daemon_schema schema = DAEMON_SCHEMA(
    "nts-responder", "/etc/nts/nts-responder.conf", struct resp_config, 9124, config_check);

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

/* self_poll_warning: if the sync poll would reach one of our own sockets,
 * says so in |buf| and returns 1. */
static int self_poll_warning(char *buf, size_t buf_len, const struct resp_config *cfg)
{
	char a[64];
	if (cfg->sync.mode != SYNC_NTP || !sync_polls_self(cfg)) {
		return 0;
	}
	snprintf(buf, buf_len,
	         "syncsource ntp %s: that is this responder's own listen address; the local "
	         "time daemon must answer on another port (see docs/config-responder.md)",
	         cfg_sockaddr_str(a, sizeof(a), (const struct sockaddr *)&cfg->sync.daemon));
	return 1;
}

/* ---- the running daemon ---- */

static struct {
	struct resp_config cfg;
	struct resp_ctx ctx;
	struct keyring_holder holder;
	struct keywatch kw;
	struct sync_source sync;
	struct resp_abuse abuse;
	struct worker workers[MAX_WORKERS];
	int num_workers;
	struct xdp_state *xdp;
	_Atomic int stop;
	struct daemon dm;
	uv_timer_t health_timer;
	int have_keys_config;
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
	return daemon_sum(&d.workers[0].stats, sizeof(d.workers[0]), d.num_workers, off);
}
#define SUM(field) sum(offsetof(struct resp_stats, field))

static void render_state(struct metrics_buf *b);

/* render_abuse: the access list and rate limit counters (ratelimit.c) */
static void render_abuse(struct metrics_buf *b)
{
	static const struct {
		const char *name, *help, *label;
		size_t off;
	} rows[] = {
	    {"nts_responder_ratelimited_total",
	     "Requests over the per-prefix rate limit (KoD RATE or silence).", NULL,
	     offsetof(struct resp_stats, rl_limited)},
	    {"nts_responder_denied_total", "Requests from prefixes the access list denies.", NULL,
	     offsetof(struct resp_stats, acl_denied)},
	    {"nts_responder_kod_total", "Kiss-o'-Death responses by code.", "code=\"RATE\"",
	     offsetof(struct resp_stats, kod_rate)},
	    {"nts_responder_kod_total", NULL, "code=\"DENY\"",
	     offsetof(struct resp_stats, kod_deny)},
	    {"nts_responder_ratelimit_evictions_total",
	     "Rate-limit table entries given to a new source prefix.", NULL,
	     offsetof(struct resp_stats, rl_evictions)},
	};
	for (size_t i = 0; i < NTS_ARRAY_SIZE(rows); i++) {
		if (rows[i].help != NULL) {
			metrics_family(b, rows[i].name, "counter", rows[i].help);
		}
		metrics_sample(b, rows[i].name, rows[i].label, sum(rows[i].off));
	}
}

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
	render_abuse(b);

	const struct metrics_hist *hs[MAX_WORKERS];
	for (int i = 0; i < d.num_workers; i++) {
		hs[i] = &d.workers[i].stats.processing;
	}
	metrics_family(b, "nts_responder_processing_seconds", "histogram",
	               "Server processing time T3 - T2 (kernel receive to transmit timestamp).");
	metrics_hist_render(b, "nts_responder_processing_seconds", NULL, resp_hist_bounds(), hs,
	                    (size_t)d.num_workers);

	xdp_render(d.xdp, d.cfg.xdp.iface[0] != '\0', b);
	render_state(b);
}

/* render_state: the sync state served, keys, configuration and health. */
static void render_state(struct metrics_buf *b)
{
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
	struct metrics_buf hb = {0};
	int healthy = health(NULL, &hb);
	free(hb.data);
	daemon_render_config(&d.dm, b, "nts_responder", healthy,
	                     "1 if the responder should serve.");
	version_metric(b, "nts_responder_build_info");
}

static void write_healthfile(uv_timer_t *t)
{
	struct metrics_buf b = {0};
	(void)t;
	sync_update(&d.sync);
	/* logs health changes (clock lost or regained sync, keys expired) */
	(void)daemon_log_health(&d.dm, health, &b);
	if (d.cfg.healthfile[0] == '\0') {
		free(b.data);
		return;
	}
	if (!b.failed && b.data != NULL &&
	    !fileio_write_atomic(d.cfg.healthfile, (const uint8_t *)b.data, b.len, 0644)) {
		LOG_RL_WARN("cannot write health file %s", d.cfg.healthfile);
	}
	free(b.data);
}

/* apply_abuse installs the access list and rate limit of the running
 * configuration (at start and after a reload). */
static int apply_abuse(void)
{
	atomic_store(&d.abuse.leak_pct, (unsigned)d.cfg.leak);
	atomic_store(&d.abuse.deny_kod, d.cfg.deny_kod);
	if (!rl_policy_apply(&d.abuse.policy, &d.cfg.rl, &d.cfg.acl)) {
		log_warn("out of memory for the rate-limit table or access list");
		return 0;
	}
	return 1;
}

static void on_hup(void)
{
	log_info("SIGHUP: reloading configuration and keys");
	if (daemon_reload_config(&d.dm)) {
		atomic_store(&d.ctx.serve_plain, d.cfg.serve_plain);
		(void)apply_abuse();
	}
	if (d.have_keys_config) {
		keywatch_reload(&d.kw);
	}
}

static void on_stop(int signum)
{
	log_info("signal %d: stopping (workers finish their batch)", signum);
	atomic_store(&d.stop, 1);
}

/* check_config is --check: the key file opens; a syncsource that is one of
 * our own listen addresses gets a warning. */
static int check_config(const struct resp_config *cfg, const char *conf)
{
	const char *err = "libsodium initialisation failed";
	if (cfg->keyfile[0] != '\0' &&
	    (!smem_init() || !keywatch_check(cfg->keyfile, cfg->deployment,
	                                     cfg->boxkey[0] != '\0' ? cfg->boxkey : NULL,
	                                     KEYFILE_ROLE_RESPONDER, &err))) {
		fprintf(stderr, "%s: keys: %s: %s\n", conf, cfg->keyfile, err);
		return 1;
	}
	char msg[256];
	if (self_poll_warning(msg, sizeof(msg), cfg)) {
		fprintf(stderr, "%s: warning: %s\n", conf, msg);
	}
	printf("%s: OK\n", conf);
	return 0;
}

/* start_keys sets up the shared context and loads (and watches) the key
 * file if there is one. */
static int start_keys(void)
{
	keyring_holder_init(&d.holder, KEYFILE_ROLE_RESPONDER);
	d.ctx.keys = &d.holder;
	d.ctx.serve_plain = d.cfg.serve_plain;
	d.ctx.precision = resp_clock_precision();
	d.ctx.abuse = &d.abuse;
	if (!apply_abuse()) {
		return 0;
	}
	d.have_keys_config = d.cfg.keyfile[0] != '\0';
	if (!d.have_keys_config) {
		log_warn("no keyfile configured: NTS requests get NAKs");
		return 1;
	}
	return keywatch_start(&d.kw, d.dm.loop, &d.holder, d.cfg.keyfile, d.cfg.deployment,
	                      d.cfg.boxkey[0] != '\0' ? d.cfg.boxkey : NULL);
}

/* start_sync starts the sync-state poll and warns about labs-only and
 * self-polling set-ups. */
static void start_sync(void)
{
	if (!sync_start(&d.sync, d.dm.loop, &d.ctx, &d.cfg.sync)) {
		log_fatal("cannot start the sync-state poll");
	}
	char msg[256];
	if (self_poll_warning(msg, sizeof(msg), &d.cfg)) {
		log_warn("%s", msg);
	}
	if (d.cfg.sync.mode == SYNC_STATIC) {
		log_warn("syncsource static: serving fixed stratum %u (labs and tests only)",
		         d.cfg.sync.static_stratum);
	}
}

/* open_workers opens every listen socket once per worker. */
static void open_workers(void)
{
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
}

/* start_xdp attaches the AF_XDP fast path if configured; a failure stops
 * the start unless xdpfallback says to serve from the sockets (loudly). */
static void start_xdp(void)
{
	char err[512];
	if (d.cfg.xdp.iface[0] == '\0') {
		return;
	}
	d.cfg.xdp.hwts = d.cfg.xdp_hwts;
	d.xdp = xdp_start(&d.cfg.xdp, d.cfg.listen, d.cfg.num_listen, d.workers, d.num_workers, err,
	                  sizeof(err));
	if (d.xdp != NULL) {
		return;
	}
	if (!d.cfg.xdp_fallback) {
		log_fatal("%s (or set 'xdpfallback yes' to serve from sockets instead)", err);
	}
	log_err("%s; serving from sockets only (xdpfallback yes)", err);
}

int main(int argc, char **argv)
{
	if (!daemon_init(&d.dm, &schema, &d.cfg, argc, argv)) {
		return 1;
	}
	if (d.dm.check) {
		return check_config(&d.cfg, d.dm.conf_path);
	}
	daemon_start(&d.dm);
	if (!start_keys()) {
		return 1;
	}
	start_sync();
	open_workers();
	start_xdp();
	daemon_serve_metrics(&d.dm, render, health);
	if (!daemon_drop(&d.dm)) {
		return 1;
	}
	for (int i = 0; i < d.num_workers; i++) {
		if (!worker_start(&d.workers[i])) {
			log_fatal("cannot start worker %d", i);
		}
	}
	d.dm.on_hup = on_hup;
	d.dm.on_stop = on_stop;
	daemon_signals(&d.dm);
	uv_timer_init(d.dm.loop, &d.health_timer);
	uv_timer_start(&d.health_timer, write_healthfile, 0, 1000);
	daemon_sandbox(&d.dm, SANDBOX_RESPONDER);
	for (int j = 0; j < d.cfg.num_listen; j++) {
		char a[64];
		log_info("serving on %s with %d workers%s",
		         cfg_sockaddr_str(a, sizeof(a), (struct sockaddr *)&d.cfg.listen[j]),
		         d.num_workers, d.cfg.serve_plain ? "" : " (NTS only)");
	}
	notify_ready(); /* sockets bound, workers running */

	uv_run(d.dm.loop, UV_RUN_DEFAULT);

	atomic_store(&d.stop, 1);
	for (int i = 0; i < d.num_workers; i++) {
		worker_join(&d.workers[i]);
	}
	xdp_stop(d.xdp);
	metrics_server_stop(d.dm.metrics);
	sync_stop(&d.sync);
	keywatch_stop(&d.kw);
	if (!daemon_close_loop(d.dm.loop)) {
		log_warn("handles left open at exit");
	}
	keyring_holder_cleanup(&d.holder);
	rl_policy_cleanup(&d.abuse.policy);
	log_info("stopped");
	return 0;
}
