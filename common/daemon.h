/*
 * daemon.h: the skeleton the three daemons (nts-ke-server, nts-responder,
 * nts-signer) share around their main loops: the command line, the
 * directives every daemon has (loglevel, syslog, user, seccomp, metrics),
 * loading and reloading the configuration, the start-up steps in their
 * order (logging, libsodium, core dumps, metrics endpoint, privileges,
 * signals, seccomp), health-change logging and counter sums.
 */
#ifndef NTS_DAEMON_H
#define NTS_DAEMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

#include "common/compiler.h"
#include "common/config.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/sandbox.h"

/* The directives every daemon has: the first member of each daemon's
 * config struct, named |base|. */
struct daemon_config {
	enum log_level loglevel;
	int use_syslog;
	int seccomp;
	char user[64];
	int metrics_on; /* "metrics off" */
	struct sockaddr_storage metrics;
	socklen_t metrics_len;
	uint16_t metrics_port; /* the daemon's default port (not a directive) */
};

int daemon_d_metrics(void *cfg, const struct cfg_line *l);

/* DAEMON_DIRECTIVES(ST): the rows of the shared directives, for the table
 * of a config struct ST whose first member is struct daemon_config base. */
/* clang-format off */
#define DAEMON_DIRECTIVES(st) \
	CFG_LOGLEVEL_ROW("loglevel", st, base.loglevel, "info", 1), \
	CFG_BOOL_ROW("syslog", st, base.use_syslog, "no", 0), \
	CFG_STRING_ROW("user", st, base.user, NULL, 0), \
	CFG_BOOL_ROW("seccomp", st, base.seccomp, "yes", 0), \
	CFG_FUNC_ROW("metrics", st, base.metrics_on, base.metrics_port, 1, 1, 0, \
	             daemon_d_metrics, "127.0.0.1", 0)
/* clang-format on */

/* What a daemon's configuration is: its directive table, the size of its
 * config struct, the default metrics port and a check run after parsing
 * (requirements between directives, computed defaults; errors on stderr). */
struct daemon_schema {
	const char *name; /* "nts-ke-server": usage and log ident */
	const char *default_conf;
	const struct cfg_directive *dirs;
	size_t num_dirs;
	size_t cfg_size;
	uint16_t metrics_port;
	int (*check)(void *cfg, const char *path);
};

/* DAEMON_SCHEMA(NAME, CONF, ST, PORT, CHECK): the schema of a daemon whose
 * config struct ST is described by a static table named directives. */
/* clang-format off */
#define DAEMON_SCHEMA(name_, conf_, st, port, check_) \
	{.name = (name_), .default_conf = (conf_), .dirs = directives, \
	 .num_dirs = NTS_ARRAY_SIZE(directives), .cfg_size = sizeof(st), \
	 .metrics_port = (port), .check = (check_)}
/* clang-format on */

/* One running daemon. */
struct daemon {
	const struct daemon_schema *schema;
	void *cfg; /* the running configuration (struct daemon_config first) */
	const char *conf_path;
	int debug, check;
	uv_loop_t *loop;
	uv_signal_t sighup, sigterm, sigint;
	void (*on_hup)(void);
	void (*on_stop)(int signum); /* logs; the loop is stopped after it */
	struct metrics_server *metrics;
	uint64_t config_reloads_ok, config_reloads_failed;
	int config_restart_needed; /* directives changed that need a restart */
	int last_health;           /* -1: not known yet */
};

/* daemon_parse_args reads the command line all three daemons share:
 * "-c FILE" (default |*conf| as passed in), "-d"/"--debug", "--check";
 * anything else (including -h/--help and stray arguments) prints the usage
 * line for |name| and exits with status 2. */
void daemon_parse_args(int argc, char **argv, const char *name, const char **conf, int *out_debug,
                       int *out_check);

/* daemon_config_load fills |cfg| with the defaults of |s|'s rows, parses
 * |path| over them and runs the check. Errors on stderr as FILE:LINE. */
int daemon_config_load(const struct daemon_schema *s, void *cfg, const char *path) NTS_WUR;

/* daemon_init reads the command line and loads the configuration into
 * |cfg|; returns 0 (the caller exits with 1) if the file has errors. */
int daemon_init(struct daemon *dm, const struct daemon_schema *s, void *cfg, int argc,
                char **argv) NTS_WUR;

/* daemon_start opens the log, initialises libsodium (fatal on failure),
 * disables core dumps, ignores SIGPIPE and sets dm->loop. */
void daemon_start(struct daemon *dm);

/* daemon_serve_metrics starts the metrics endpoint unless "metrics off"
 * (fatal if it cannot listen); daemon_drop drops to 'user' if one is set
 * (returns 0 on failure); daemon_signals handles SIGHUP (dm->on_hup),
 * SIGTERM and SIGINT (dm->on_stop, then the loop stops); daemon_sandbox
 * installs the seccomp filter of |role| unless "seccomp no" (fatal). */
void daemon_serve_metrics(struct daemon *dm, metrics_render_fn render, metrics_health_fn health);
int daemon_drop(struct daemon *dm) NTS_WUR;
void daemon_signals(struct daemon *dm);
void daemon_sandbox(struct daemon *dm, enum sandbox_role role);

/* daemon_reload_config re-reads the configuration file: a file with errors
 * is refused whole (errors on stderr as FILE:LINE); otherwise reloadable
 * directives take effect and the others are logged as needing a restart.
 * Returns 1 if the file was read. */
int daemon_reload_config(struct daemon *dm);

/* daemon_log_health logs the first line of |health|'s answer when it
 * changes (a few times a day at most, never per request). The answer is
 * returned in |out| (may be NULL), which the caller frees. */
int daemon_log_health(struct daemon *dm, metrics_health_fn health, struct metrics_buf *out);

/* daemon_render_config renders PREFIX_config_reloads_total,
 * PREFIX_config_restart_needed and PREFIX_healthy (|healthy_help|). */
void daemon_render_config(const struct daemon *dm, struct metrics_buf *b, const char *prefix,
                          int healthy, const char *healthy_help);

/* daemon_sum adds the metrics_counter at |off| in each of |num| structs
 * |stride| bytes apart starting at |first|. */
uint64_t daemon_sum(const void *first, size_t stride, int num, size_t off);

/* daemon_drop_privileges switches to |user| (and its group, no
 * supplementary groups); logs and returns 0 on failure. */
int daemon_drop_privileges(const char *user) NTS_WUR;

/* daemon_close_loop closes every handle still open on |loop|, runs it
 * until the close callbacks are done and closes it. Returns 1 if nothing
 * was left behind. */
int daemon_close_loop(uv_loop_t *loop);

/* daemon_list_directives prints each of |s|'s directives as "NAME yes" or
 * "NAME no" (whether a reload applies it), one a line: the hidden
 * --list-directives option, for tests/unit/config_docs.sh. */
void daemon_list_directives(const struct daemon_schema *s);

#endif
