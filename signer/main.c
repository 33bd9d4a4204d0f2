/*
 * nts-signer: holds the TLS private keys of nts-ke-server and signs TLS 1.3
 * CertificateVerify contents for it over a Unix SOCK_SEQPACKET socket, so
 * that the process that parses the internet never holds a private key
 * (docs/signer.md).
 *
 *   nts-signer [-c FILE] [-d] [--check]
 *
 * Configuration: one directive per line; deploy/examples/nts-signer.conf
 * lists every directive with its default.
 */
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <uv.h>

#include "common/config.h"
#include "common/daemon.h"
#include "common/list.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/notify.h"
#include "common/sandbox.h"
#include "common/smem.h"
#include "common/version.h"
#include "signer/signer.h"

#define MAX_ALLOW   8
#define MAX_CONNS   256
#define BATCH       64 /* requests read per wakeup and connection */
#define SIGNER_PORT 9126

struct sg_config {
	struct daemon_config base; /* first: loglevel, syslog, user, seccomp, metrics */
	char socket[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char keys[SG_MAX_KEYS][1024];
	int num_keys;
	char allow[MAX_ALLOW][64];
	uid_t allow_uid[MAX_ALLOW];
	int num_allow;
	uint64_t deadline_ms;
};

static int d_key(void *c, const struct cfg_line *l)
{
	struct sg_config *cfg = c;
	if (cfg->num_keys == SG_MAX_KEYS) {
		return cfg_error(l, "at most %d keys", SG_MAX_KEYS);
	}
	return cfg_arg_string(cfg->keys[cfg->num_keys++], sizeof(cfg->keys[0]), l, 0);
}
static int d_allowuser(void *c, const struct cfg_line *l)
{
	struct sg_config *cfg = c;
	if (cfg->num_allow == MAX_ALLOW) {
		return cfg_error(l, "at most %d allowed users", MAX_ALLOW);
	}
	int i = cfg->num_allow;
	if (!cfg_arg_string(cfg->allow[i], sizeof(cfg->allow[i]), l, 0)) {
		return 0;
	}
	struct passwd *pw = getpwnam(cfg->allow[i]);
	if (pw == NULL) {
		return cfg_error(l, "'allowuser': no such user %s", cfg->allow[i]);
	}
	cfg->allow_uid[i] = pw->pw_uid;
	cfg->num_allow++;
	return 1;
}
static int config_check(void *c, const char *path)
{
	struct sg_config *cfg = c;
	if (cfg->num_keys == 0) {
		fprintf(stderr, "%s: at least one 'key FILE' is required\n", path);
		return 0;
	}
	if (cfg->num_allow == 0) {
		/* default: the user that started the signer, never root by default */
		if (getuid() == 0) {
			fprintf(stderr,
			        "%s: started as root: name the KE server's user with 'allowuser' "
			        "(root is allowed only when configured)\n",
			        path);
			return 0;
		}
		cfg->allow_uid[0] = getuid();
		snprintf(cfg->allow[0], sizeof(cfg->allow[0]), "uid %u", (unsigned)getuid());
		cfg->num_allow = 1;
	}
	return 1;
}

/* The directives. SIGHUP re-reads only 'key' (reload_keys). */
#define S struct sg_config
/* clang-format off */
static const struct cfg_directive directives[] = {
    CFG_ABSPATH_ROW("socket", S, socket, "/run/nts-signer/signer.sock", 0),
    CFG_FUNC_ROW("key", S, keys, num_keys, 1, 1, 1, d_key, NULL, 1),
    CFG_FUNC_ROW("allowuser", S, allow, num_allow, 1, 1, 1, d_allowuser, NULL, 0),
    CFG_DURATION_ROW("deadline", S, deadline_ms, 10, 60000, "1s", 0),
    DAEMON_DIRECTIVES(S),
};
/* clang-format on */
#undef S

static const struct daemon_schema schema = DAEMON_SCHEMA(
    "nts-signer", "/etc/nts/nts-signer.conf", struct sg_config, SIGNER_PORT, config_check);

/* ---- the running daemon ---- */

enum fail_reason {
	FAIL_MALFORMED = KL_NUM_STATUS, /* after the kl_status values */
	FAIL_PEER_REFUSED,
	FAIL_SEND,
	FAIL_SLOW_PEER,
	FAIL_TOO_MANY_CONNS,
	NUM_FAIL,
};
static const char *const fail_names[NUM_FAIL] = {
    [KL_UNKNOWN_KEY] = "unknown_key",     [KL_BAD_ALGORITHM] = "bad_algorithm",
    [KL_BAD_INPUT] = "bad_input",         [KL_EXPIRED] = "expired",
    [KL_SIGN_FAILED] = "sign_failed",     [FAIL_MALFORMED] = "malformed",
    [FAIL_PEER_REFUSED] = "peer_refused", [FAIL_SEND] = "send_failed",
    [FAIL_SLOW_PEER] = "slow_peer",       [FAIL_TOO_MANY_CONNS] = "too_many_connections",
};

static const uint64_t latency_bounds[METRICS_HIST_BUCKETS] = {
    10000,   20000,    50000,    100000,   200000,    500000,    1000000,   2000000,
    5000000, 10000000, 20000000, 50000000, 100000000, 200000000, 500000000, 1000000000,
};

struct sg_conn {
	uv_poll_t poll;
	int fd;
	uid_t uid;
	int closing;
	struct list_link link;
	size_t pending_len; /* a reply that did not fit the socket yet */
	uint64_t pending_since;
	uint8_t pending[KL_MAX_REPLY];
};

static struct {
	struct sg_config cfg;
	struct sg_keyset keys;
	int lfd;
	uv_poll_t lpoll;
	struct list conns;
	uv_timer_t slow_timer;
	struct daemon dm;
	uint64_t requests, connections_total;
	uint64_t fails[NUM_FAIL];
	struct metrics_hist latency, age;
} d;

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void conn_freed(uv_handle_t *h)
{
	struct sg_conn *c = h->data;
	close(c->fd);
	free(c);
}

static void conn_close(struct sg_conn *c)
{
	if (c->closing) {
		return;
	}
	c->closing = 1;
	list_remove(&d.conns, &c->link);
	uv_poll_stop(&c->poll);
	uv_close((uv_handle_t *)&c->poll, conn_freed);
}

static void on_conn(uv_poll_t *p, int status, int events);

/* The replies to one wakeup's requests, sent together (single-threaded). */
static struct {
	uint8_t msg[BATCH][KL_MAX_REPLY];
	size_t len[BATCH];
	int num;
} out;

/* send_replies sends the batched replies in one sendmmsg. If the socket is
 * full, a single unsent reply is parked and reading stops until the peer
 * drains; more than one means the peer stopped reading: it is a slow peer
 * and the connection closes (its requests fail, the KE reconnects).
 * Returns 0 if the connection must close. */
static int send_replies(struct sg_conn *c)
{
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	int n = out.num, sent = 0;

	out.num = 0;
	if (n == 0) {
		return 1;
	}
	memset(msgs, 0, sizeof(msgs[0]) * (size_t)n);
	for (int i = 0; i < n; i++) {
		iov[i].iov_base = out.msg[i];
		iov[i].iov_len = out.len[i];
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	while (sent < n) {
		int r =
		    sendmmsg(c->fd, msgs + sent, (unsigned)(n - sent), MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r > 0) {
			sent += r;
		} else if (r < 0 && errno == EINTR) {
			continue;
		} else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			break;
		} else {
			d.fails[FAIL_SEND]++;
			return 0;
		}
	}
	if (sent == n) {
		return 1;
	}
	if (n - sent > 1) {
		d.fails[FAIL_SLOW_PEER]++;
		LOG_RL_WARN("uid %u does not read its replies: closing the connection",
		            (unsigned)c->uid);
		return 0;
	}
	/* stop reading until the peer drains its socket */
	memcpy(c->pending, out.msg[sent], out.len[sent]);
	c->pending_len = out.len[sent];
	c->pending_since = mono_ns();
	uv_poll_start(&c->poll, UV_WRITABLE | UV_DISCONNECT, on_conn);
	return 1;
}

/* handle answers one request into the reply batch (sent by send_replies);
 * returns 0 if the connection must close. */
static int handle(struct sg_conn *c, const uint8_t *msg, size_t len)
{
	struct kl_request req;
	struct kl_reply rep = {0};
	uint8_t sig[KL_MAX_SIG];
	struct wbuf w;
	CBS cbs;
	uint64_t t0 = mono_ns();

	CBS_init(&cbs, msg, len);
	if (!kl_parse_request(&req, &cbs)) {
		/* a malformed message from the less privileged side ends the channel */
		d.fails[FAIL_MALFORMED]++;
		LOG_RL_WARN("malformed request from uid %u: closing the connection",
		            (unsigned)c->uid);
		return 0;
	}
	d.requests++;
	uint64_t age = t0 > req.sent_ns ? t0 - req.sent_ns : 0;
	metrics_hist_observe(&d.age, latency_bounds, age);
	rep.id = req.id;
	if (age > d.cfg.deadline_ms * 1000000u) {
		rep.status = KL_EXPIRED;
	} else {
		size_t sig_len;
		rep.status = (uint8_t)sg_sign(&d.keys, &req, sig, &sig_len);
		rep.sig = sig;
		rep.sig_len = sig_len;
	}
	if (rep.status != KL_OK) {
		d.fails[rep.status]++;
		log_debug("request %u: %s", (unsigned)req.id, kl_status_name(rep.status));
	}
	wbuf_init(&w, out.msg[out.num], KL_MAX_REPLY);
	if (!kl_build_reply(&w, &rep)) {
		return 0; /* our bug */
	}
	out.len[out.num++] = w.len;
	metrics_hist_observe(&d.latency, latency_bounds, mono_ns() - t0);
	return 1;
}

static void on_conn(uv_poll_t *p, int status, int events)
{
	struct sg_conn *c = p->data;
	uint8_t buf[KL_MAX_REQUEST + 1];

	if (status < 0 || (events & UV_DISCONNECT)) {
		conn_close(c);
		return;
	}
	if (c->pending_len > 0) {
		if (!(events & UV_WRITABLE)) {
			return;
		}
		ssize_t n = send(c->fd, c->pending, c->pending_len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return;
		}
		if (n != (ssize_t)c->pending_len) {
			d.fails[FAIL_SEND]++;
			conn_close(c);
			return;
		}
		c->pending_len = 0;
		uv_poll_start(&c->poll, UV_READABLE | UV_DISCONNECT, on_conn);
	}
	/* up to BATCH requests, then their replies in one sendmmsg: the peer
	 * wakes once for all of them */
	out.num = 0;
	for (int i = 0; i < BATCH; i++) {
		/* MSG_TRUNC: the real length of an oversized message */
		ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			break;
		}
		if (n <= 0) {
			out.num = 0;
			conn_close(c); /* closed or failed */
			return;
		}
		if ((size_t)n > KL_MAX_REQUEST) {
			d.fails[FAIL_MALFORMED]++;
			LOG_RL_WARN("oversized request from uid %u: closing the connection",
			            (unsigned)c->uid);
			out.num = 0;
			conn_close(c);
			return;
		}
		if (!handle(c, buf, (size_t)n)) {
			out.num = 0;
			conn_close(c);
			return;
		}
	}
	if (!send_replies(c)) {
		conn_close(c);
	}
}

static int peer_allowed(uid_t uid)
{
	for (int i = 0; i < d.cfg.num_allow; i++) {
		if (d.cfg.allow_uid[i] == uid) {
			return 1;
		}
	}
	return 0;
}

static void on_accept(uv_poll_t *p, int status, int events)
{
	(void)p;
	(void)events;
	if (status < 0) {
		return;
	}
	for (;;) {
		int fd = accept4(d.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			return;
		}
		struct ucred cred;
		socklen_t clen = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 ||
		    !peer_allowed(cred.uid)) {
			d.fails[FAIL_PEER_REFUSED]++;
			LOG_RL_WARN("connection from uid %d refused (not an allowuser)",
			            clen == sizeof(cred) ? (int)cred.uid : -1);
			close(fd);
			continue;
		}
		if (d.conns.num >= MAX_CONNS) {
			d.fails[FAIL_TOO_MANY_CONNS]++;
			LOG_RL_WARN("too many connections: refusing one from uid %u",
			            (unsigned)cred.uid);
			close(fd);
			continue;
		}
		struct sg_conn *c = calloc(1, sizeof(*c));
		if (c == NULL || uv_poll_init(uv_default_loop(), &c->poll, fd) != 0) {
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->uid = cred.uid;
		c->poll.data = c;
		list_append(&d.conns, &c->link);
		d.connections_total++;
		log_debug("connection from pid %d uid %u", (int)cred.pid, (unsigned)cred.uid);
		uv_poll_start(&c->poll, UV_READABLE | UV_DISCONNECT, on_conn);
	}
}

/* A peer that does not read its replies within the deadline is dropped. */
static void on_slow_timer(uv_timer_t *t)
{
	uint64_t now = mono_ns();
	(void)t;
	for (struct list_link *l = d.conns.first, *next; l != NULL; l = next) {
		struct sg_conn *c = LIST_ENTRY(l, struct sg_conn, link);
		next = l->next;
		if (c->pending_len > 0 && now - c->pending_since > d.cfg.deadline_ms * 1000000u) {
			d.fails[FAIL_SLOW_PEER]++;
			LOG_RL_WARN("uid %u does not read its replies: closing the connection",
			            (unsigned)c->uid);
			conn_close(c);
		}
	}
}

static int listen_socket(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -1;
	}
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		(void)unlink(path); /* a stale socket of an earlier run */
	}
	/* access is decided by SO_PEERCRED; the file mode lets any local user
	 * reach that check */
	mode_t old = umask(0);
	int r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r != 0 || chmod(path, 0666) != 0 || listen(fd, 128) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static void log_keys(const struct sg_config *cfg, const struct sg_keyset *ks)
{
	for (int i = 0; i < ks->num; i++) {
		char hex[2 * KL_KEY_ID_LEN + 1];
		sodium_bin2hex(hex, sizeof(hex), ks->keys[i].id, KL_KEY_ID_LEN);
		log_info("key %s: public key SHA-256 %s", cfg->keys[i], hex);
	}
}

/* reload_keys (SIGHUP) reads the configuration file again and loads every
 * 'key' in it into a new set, which replaces the running one only if all of
 * them loaded: a renewal that puts a new key next to the old one (or in its
 * place) needs no restart, and a broken file keeps the old keys. Only the
 * keys are reloaded; other directives (socket, users, metrics) need a
 * restart and are not even parsed here (no user lookups in the sandbox). */
static void reload_keys(void)
{
	struct cfg_directive dirs[NTS_ARRAY_SIZE(directives)];
	struct sg_config *fresh = calloc(1, sizeof(*fresh));
	struct sg_keyset ks;
	const char *err;

	memset(&ks, 0, sizeof(ks));
	if (fresh == NULL) {
		log_err("SIGHUP: out of memory; keeping the running keys");
		return;
	}
	for (size_t i = 0; i < NTS_ARRAY_SIZE(directives); i++) {
		dirs[i] = directives[i];
		if (strcmp(dirs[i].name, "key") != 0) {
			dirs[i].type = CFG_IGNORE;
		}
	}
	if (!cfg_parse_file(d.dm.conf_path, dirs, NTS_ARRAY_SIZE(dirs), fresh)) {
		log_err("SIGHUP: %s has errors; keeping the running keys", d.dm.conf_path);
		goto out;
	}
	if (fresh->num_keys == 0) {
		log_err("SIGHUP: %s names no key; keeping the running keys", d.dm.conf_path);
		goto out;
	}
	for (int i = 0; i < fresh->num_keys; i++) {
		if (!sg_keyset_add(&ks, fresh->keys[i], &err)) {
			log_err("SIGHUP: %s: %s; keeping the running keys", fresh->keys[i], err);
			sg_keyset_cleanup(&ks);
			goto out;
		}
	}
	sg_keyset_cleanup(&d.keys);
	d.keys = ks;
	memcpy(d.cfg.keys, fresh->keys, sizeof(d.cfg.keys));
	d.cfg.num_keys = fresh->num_keys;
	log_info("SIGHUP: %d key%s loaded", d.keys.num, d.keys.num == 1 ? "" : "s");
	log_keys(&d.cfg, &d.keys);
out:
	free(fresh);
}

static void on_stop(int signum)
{
	log_info("signal %d: stopping", signum);
}

static int health(void *arg, struct metrics_buf *b)
{
	(void)arg;
	if (d.keys.num == 0) {
		metrics_buf_printf(b, "unhealthy: no keys\n");
		return 0;
	}
	metrics_buf_printf(b, "ok\n");
	return 1;
}

static void render(void *arg, struct metrics_buf *b)
{
	char lab[64];
	const struct metrics_hist *hs[1];
	(void)arg;
	metrics_family(b, "nts_signer_requests_total", "counter", "Well-formed sign requests.");
	metrics_sample(b, "nts_signer_requests_total", NULL, d.requests);
	metrics_family(b, "nts_signer_failures_total", "counter",
	               "Requests not signed and connections dropped, by reason.");
	for (int i = 1; i < NUM_FAIL; i++) {
		snprintf(lab, sizeof(lab), "reason=\"%s\"", fail_names[i]);
		metrics_sample(b, "nts_signer_failures_total", lab, d.fails[i]);
	}
	metrics_family(b, "nts_signer_connections", "gauge", "KE server connections open now.");
	metrics_sample(b, "nts_signer_connections", NULL, (uint64_t)d.conns.num);
	metrics_family(b, "nts_signer_connections_total", "counter", "Connections accepted.");
	metrics_sample(b, "nts_signer_connections_total", NULL, d.connections_total);
	metrics_family(b, "nts_signer_keys", "gauge", "Private keys loaded.");
	metrics_sample(b, "nts_signer_keys", NULL, (uint64_t)d.keys.num);
	version_metric(b, "nts_signer_build_info");
	hs[0] = &d.latency;
	metrics_family(b, "nts_signer_sign_seconds", "histogram",
	               "Time from reading a request to sending its reply.");
	metrics_hist_render(b, "nts_signer_sign_seconds", NULL, latency_bounds, hs, 1);
	hs[0] = &d.age;
	metrics_family(b, "nts_signer_request_age_seconds", "histogram",
	               "Age of a request when read (queueing in the socket).");
	metrics_hist_render(b, "nts_signer_request_age_seconds", NULL, latency_bounds, hs, 1);
}

/* check_config is --check: every key loads. */
static int check_config(const struct sg_config *cfg, const char *conf)
{
	const char *err;
	for (int i = 0; i < cfg->num_keys; i++) {
		if (!sg_keyset_add(&d.keys, cfg->keys[i], &err)) {
			fprintf(stderr, "%s: %s: %s\n", conf, cfg->keys[i], err);
			sg_keyset_cleanup(&d.keys);
			return 1;
		}
	}
	sg_keyset_cleanup(&d.keys);
	printf("%s: OK\n", conf);
	return 0;
}

/* load_keys loads every key (fatal on failure) and locks memory. */
static void load_keys(const struct sg_config *cfg)
{
	const char *err;
	for (int i = 0; i < cfg->num_keys; i++) {
		if (!sg_keyset_add(&d.keys, cfg->keys[i], &err)) {
			log_fatal("%s: %s", cfg->keys[i], err);
		}
	}
	log_keys(cfg, &d.keys);
	/* keep the keys out of swap, those loaded later on SIGHUP too (MCL_FUTURE:
	 * every later mapping is locked, so all the process maps must fit in
	 * RLIMIT_MEMLOCK, LimitMEMLOCK=16M in the unit; measured: about 6 MiB
	 * locked after handshakes). Best effort: if the limit does not allow
	 * it, nothing is locked and this says so. */
	if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
		log_warn("cannot lock memory: %s", strerror(errno));
	}
}

int main(int argc, char **argv)
{
	struct sg_config *cfg = &d.cfg;

	if (!daemon_init(&d.dm, &schema, cfg, argc, argv)) {
		return 1;
	}
	if (!smem_init()) {
		fprintf(stderr, "libsodium initialisation failed\n");
		return 1;
	}
	if (d.dm.check) {
		return check_config(cfg, d.dm.conf_path);
	}
	daemon_start(&d.dm);
	load_keys(cfg);
	d.lfd = listen_socket(cfg->socket);
	if (d.lfd < 0) {
		log_fatal("cannot listen on %s: %s", cfg->socket, strerror(errno));
	}
	daemon_serve_metrics(&d.dm, render, health);
	if (!daemon_drop(&d.dm)) {
		return 1;
	}
	uv_poll_init(d.dm.loop, &d.lpoll, d.lfd);
	uv_poll_start(&d.lpoll, UV_READABLE, on_accept);
	uv_timer_init(d.dm.loop, &d.slow_timer);
	uv_timer_start(&d.slow_timer, on_slow_timer, 100, 100);
	d.dm.on_hup = reload_keys;
	d.dm.on_stop = on_stop;
	daemon_signals(&d.dm);
	daemon_sandbox(&d.dm, SANDBOX_SIGNER);
	for (int i = 0; i < cfg->num_allow; i++) {
		log_info("signing for %s", cfg->allow[i]);
	}
	log_info("listening on %s with %d key%s", cfg->socket, d.keys.num,
	         d.keys.num == 1 ? "" : "s");
	notify_ready(); /* socket listening, keys loaded */

	uv_run(d.dm.loop, UV_RUN_DEFAULT);

	while (d.conns.first != NULL) {
		conn_close(LIST_ENTRY(d.conns.first, struct sg_conn, link));
	}
	metrics_server_stop(d.dm.metrics);
	(void)daemon_close_loop(d.dm.loop);
	close(d.lfd);
	sg_keyset_cleanup(&d.keys);
	log_info("stopped");
	return 0;
}
