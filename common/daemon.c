/*
 * daemon.c: the daemon skeleton the three daemons share (see daemon.h).
 */
#include "common/daemon.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/smem.h"
#include "common/version.h"

int daemon_d_metrics(void *c, const struct cfg_line *l)
{
	struct daemon_config *b = c; /* the first member of every config */
	if (strcmp(l->argv[0], "off") == 0) {
		b->metrics_on = 0;
		return 1;
	}
	b->metrics_on = 1;
	return cfg_arg_sockaddr(&b->metrics, &b->metrics_len, l, 0, b->metrics_port);
}

int daemon_config_load(const struct daemon_schema *s, void *cfg, const char *path)
{
	memset(cfg, 0, s->cfg_size);
	((struct daemon_config *)cfg)->metrics_port = s->metrics_port;
	cfg_defaults(s->dirs, s->num_dirs, cfg);
	return cfg_parse_file(path, s->dirs, s->num_dirs, cfg) &&
	       (s->check == NULL || s->check(cfg, path));
}

void daemon_list_directives(const struct daemon_schema *s)
{
	for (size_t i = 0; i < s->num_dirs; i++) {
		printf("%s %s\n", s->dirs[i].name, s->dirs[i].reloadable ? "yes" : "no");
	}
}

int daemon_init(struct daemon *dm, const struct daemon_schema *s, void *cfg, int argc, char **argv)
{
	const char *conf = s->default_conf;
	if (argc == 2 && strcmp(argv[1], "--list-directives") == 0) {
		daemon_list_directives(s); /* hidden: tests/unit/config_docs.sh */
		exit(0);
	}
	daemon_parse_args(argc, argv, s->name, &conf, &dm->debug, &dm->check);
	dm->schema = s;
	dm->cfg = cfg;
	dm->conf_path = conf;
	dm->last_health = -1;
	return daemon_config_load(s, cfg, conf);
}

void daemon_start(struct daemon *dm)
{
	const struct daemon_config *b = dm->cfg;
	log_init(dm->schema->name, b->use_syslog, dm->debug ? LOG_LVL_DEBUG : b->loglevel);
	if (!smem_init()) {
		log_fatal("libsodium initialisation failed");
	}
	if (!smem_harden_process()) {
		log_warn("cannot disable core dumps");
	}
	signal(SIGPIPE, SIG_IGN);
	dm->loop = uv_default_loop();
}

void daemon_serve_metrics(struct daemon *dm, metrics_render_fn render, metrics_health_fn health)
{
	const struct daemon_config *b = dm->cfg;
	if (!b->metrics_on) {
		return;
	}
	dm->metrics = metrics_server_start(dm->loop, (const struct sockaddr *)&b->metrics, render,
	                                   health, NULL);
	if (dm->metrics == NULL) {
		log_fatal("cannot start the metrics endpoint");
	}
}

int daemon_drop(struct daemon *dm)
{
	const struct daemon_config *b = dm->cfg;
	return b->user[0] == '\0' || daemon_drop_privileges(b->user);
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct daemon *dm = s->data;
	if (signum == SIGHUP) {
		dm->on_hup();
		return;
	}
	dm->on_stop(signum);
	uv_stop(s->loop);
}

void daemon_signals(struct daemon *dm)
{
	uv_signal_t *sigs[] = {&dm->sighup, &dm->sigterm, &dm->sigint};
	const int nums[] = {SIGHUP, SIGTERM, SIGINT};
	for (size_t i = 0; i < NTS_ARRAY_SIZE(sigs); i++) {
		uv_signal_init(dm->loop, sigs[i]);
		sigs[i]->data = dm;
		uv_signal_start(sigs[i], on_signal, nums[i]);
	}
}

void daemon_sandbox(struct daemon *dm, enum sandbox_role role)
{
	const struct daemon_config *b = dm->cfg;
	if (b->seccomp && !sandbox_apply(role, dm->debug)) {
		log_fatal("cannot install the seccomp filter");
	}
}

int daemon_reload_config(struct daemon *dm)
{
	const struct daemon_schema *s = dm->schema;
	void *fresh = malloc(s->cfg_size);
	if (fresh == NULL || !daemon_config_load(s, fresh, dm->conf_path)) {
		dm->config_reloads_failed++;
		log_err("%s: not reloaded (errors above); the running configuration stays",
		        dm->conf_path);
		free(fresh);
		return 0;
	}
	int restart =
	    cfg_reload_diff(dm->conf_path, dm->cfg, fresh, s->cfg_size, s->dirs, s->num_dirs);
	dm->config_restart_needed = restart > 0;
	dm->config_reloads_ok++;
	if (!dm->debug) {
		log_set_level(((const struct daemon_config *)dm->cfg)->loglevel);
	}
	free(fresh);
	return 1;
}

int daemon_log_health(struct daemon *dm, metrics_health_fn health, struct metrics_buf *out)
{
	struct metrics_buf hb = {0};
	int ok = health(NULL, &hb);
	if (ok != dm->last_health && !hb.failed && hb.data != NULL) {
		int n = (int)strcspn(hb.data, "\n");
		if (ok) {
			log_info("health: %.*s", n, hb.data);
		} else {
			log_warn("health: %.*s", n, hb.data);
		}
		dm->last_health = ok;
	}
	if (out != NULL) {
		*out = hb;
	} else {
		free(hb.data);
	}
	return ok;
}

void daemon_render_config(const struct daemon *dm, struct metrics_buf *b, const char *prefix,
                          int healthy, const char *healthy_help)
{
	char name[96];
	snprintf(name, sizeof(name), "%s_config_reloads_total", prefix);
	metrics_family(b, name, "counter", "Configuration reloads (SIGHUP) by result.");
	metrics_sample(b, name, "result=\"ok\"", dm->config_reloads_ok);
	metrics_sample(b, name, "result=\"failed\"", dm->config_reloads_failed);
	snprintf(name, sizeof(name), "%s_config_restart_needed", prefix);
	metrics_family(b, name, "gauge", "1 if the file has changes that only a restart applies.");
	metrics_sample(b, name, NULL, (uint64_t)dm->config_restart_needed);
	snprintf(name, sizeof(name), "%s_healthy", prefix);
	metrics_family(b, name, "gauge", healthy_help);
	metrics_sample(b, name, NULL, (uint64_t)healthy);
}

uint64_t daemon_sum(const void *first, size_t stride, int num, size_t off)
{
	uint64_t total = 0;
	for (int i = 0; i < num; i++) {
		const char *p = (const char *)first + (size_t)i * stride + off;
		total += metrics_get((const metrics_counter *)(const void *)p);
	}
	return total;
}

int daemon_drop_privileges(const char *user)
{
	struct passwd *pw = getpwnam(user);
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;
	if (pw == NULL) {
		log_err("no such user %s", user);
		return 0;
	}
	/* groups first (that needs privileges), then real, effective and saved
	 * ids together so that nothing can switch back */
	if (setgroups(0, NULL) != 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0) {
		log_err("cannot drop privileges to %s: %s", user, strerror(errno));
		return 0;
	}
	if (getresuid(&ruid, &euid, &suid) != 0 || getresgid(&rgid, &egid, &sgid) != 0 ||
	    ruid != pw->pw_uid || euid != pw->pw_uid || suid != pw->pw_uid || rgid != pw->pw_gid ||
	    egid != pw->pw_gid || sgid != pw->pw_gid || getgroups(0, NULL) != 0) {
		log_err("privileges to %s not fully dropped", user);
		return 0;
	}
	if (pw->pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		log_err("could regain root after dropping to %s", user);
		return 0;
	}
	/* a credential change resets the dumpable flag to fs.suid_dumpable:
	 * set it again (and no core files either way) */
	if (!smem_harden_process()) {
		log_err("cannot disable core dumps after dropping privileges");
		return 0;
	}
	log_info("running as %s (uid %u, gid %u)", user, (unsigned)pw->pw_uid,
	         (unsigned)pw->pw_gid);
	return 1;
}

static void close_one(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h)) {
		uv_close(h, NULL);
	}
}

int daemon_close_loop(uv_loop_t *loop)
{
	uv_walk(loop, close_one, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	return uv_loop_close(loop) == 0;
}

void daemon_parse_args(int argc, char **argv, const char *name, const char **conf, int *out_debug,
                       int *out_check)
{
	static const struct option longopts[] = {{"check", no_argument, NULL, 'k'},
	                                         {"debug", no_argument, NULL, 'd'},
	                                         {"help", no_argument, NULL, 'h'},
	                                         {"version", no_argument, NULL, 'V'},
	                                         {NULL, 0, NULL, 0}};
	int c;

	*out_debug = 0;
	*out_check = 0;
	while ((c = getopt_long(argc, argv, "c:dh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			*conf = optarg;
			break;
		case 'd':
			*out_debug = 1;
			break;
		case 'k':
			*out_check = 1;
			break;
		case 'V':
			printf("%s %s\n", name, nts_version);
			exit(0);
		default:
			goto usage;
		}
	}
	if (optind == argc) {
		return;
	}
usage:
	fprintf(stderr, "usage: %s [-c FILE] [-d] [--check] [--version]\n", name);
	exit(2);
}
