/*
 * signer_client.c: a KE worker's connection to nts-signer (see
 * signer_client.h).
 */
#include "ke-server/signer_client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "common/log.h"

#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 1000

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void try_connect(struct ke_signer *s);

static void on_retry(uv_timer_t *t)
{
	try_connect(t->data);
}

static void schedule_retry(struct ke_signer *s)
{
	if (s->closing) {
		return;
	}
	uv_timer_start(&s->retry, on_retry, s->backoff_ms, 0);
	s->backoff_ms = s->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : s->backoff_ms * 2;
}

static void release_slot(struct ke_signer *s, uint32_t slot)
{
	s->slots[slot].owner = NULL;
	s->free_slots[s->num_free++] = (uint16_t)slot;
}

/* disconnect drops the connection, fails every request in flight and
 * schedules a reconnect. */
static void disconnect(struct ke_signer *s)
{
	if (s->fd < 0) {
		return;
	}
	uv_poll_stop(&s->poll);
	s->num_queued = 0; /* their slots are failed below */
	uv_check_stop(&s->flush);
	/* the poll handle is tied to the descriptor: close it, and make a new
	 * one at the next connect */
	uv_close((uv_handle_t *)&s->poll, NULL);
	close(s->fd);
	s->fd = -1;
	metrics_inc(&s->disconnects);
	for (uint32_t i = 0; i < KE_SIGN_SLOTS; i++) {
		void *owner = s->slots[i].owner;
		if (owner != NULL) {
			release_slot(s, i);
			s->done(owner, 0, NULL, 0);
		}
	}
	schedule_retry(s);
}

static void on_readable(uv_poll_t *p, int status, int events)
{
	struct ke_signer *s = p->data;
	uint8_t buf[KL_MAX_REPLY + 1];

	if (status < 0) {
		LOG_RL_WARN("signer %s: connection failed", s->path);
		disconnect(s);
		return;
	}
	for (int i = 0; i < 256; i++) {
		ssize_t n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			break;
		}
		if (n <= 0) {
			LOG_RL_WARN("signer %s: connection lost", s->path);
			disconnect(s);
			return;
		}
		struct kl_reply rep;
		CBS cbs;
		CBS_init(&cbs, buf, (size_t)n > sizeof(buf) ? sizeof(buf) : (size_t)n);
		if ((size_t)n > KL_MAX_REPLY || !kl_parse_reply(&rep, &cbs)) {
			LOG_RL_ERR("signer %s: malformed reply: dropping the connection", s->path);
			disconnect(s);
			return;
		}
		uint32_t slot = rep.id & (KE_SIGN_SLOTS - 1);
		void *owner = s->slots[slot].owner;
		if (owner == NULL || s->slots[slot].id != rep.id) {
			continue; /* cancelled (deadline passed or connection closed) */
		}
		release_slot(s, slot);
		if (rep.status != KL_OK) {
			LOG_RL_WARN("signer %s: refused: %s", s->path, kl_status_name(rep.status));
		}
		s->done(owner, rep.status == KL_OK, rep.sig, rep.sig_len);
	}
	(void)events;
}

/* flush_queue sends every queued request in one sendmmsg. Requests the
 * socket does not take (full) are failed; an error other than a full socket
 * drops the connection, which fails everything in flight. */
static void flush_queue(struct ke_signer *s)
{
	struct mmsghdr msgs[KE_SIGN_QUEUE];
	struct iovec iov[KE_SIGN_QUEUE];
	int n = s->num_queued, sent = 0;

	uv_check_stop(&s->flush);
	if (n == 0 || s->fd < 0) {
		s->num_queued = 0;
		return;
	}
	memset(msgs, 0, sizeof(msgs[0]) * (size_t)n);
	for (int i = 0; i < n; i++) {
		iov[i].iov_base = s->queue[i];
		iov[i].iov_len = s->queue_len[i];
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	while (sent < n) {
		int r =
		    sendmmsg(s->fd, msgs + sent, (unsigned)(n - sent), MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r > 0) {
			sent += r;
			continue;
		}
		if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			LOG_RL_WARN("signer %s: send failed: %s", s->path, strerror(errno));
			s->num_queued = 0;
			disconnect(s);
			return;
		}
		if (r < 0 && errno == EINTR) {
			continue;
		}
		break; /* socket full: fail the rest */
	}
	s->num_queued = 0;
	for (int i = sent; i < n; i++) {
		/* the id, not the slot: a cancelled request's slot may already
		 * belong to a newer one */
		uint32_t slot = s->queue_id[i] & (KE_SIGN_SLOTS - 1);
		void *owner = s->slots[slot].owner;
		if (owner != NULL && s->slots[slot].id == s->queue_id[i]) {
			release_slot(s, slot);
			s->done(owner, 0, NULL, 0);
		}
	}
}

static void on_flush(uv_check_t *h)
{
	flush_queue(h->data);
}

static void try_connect(struct ke_signer *s)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (s->closing || s->fd >= 0) {
		return;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", s->path);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		schedule_retry(s);
		return;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		char why[512];
		LOG_RL_WARN("signer %s", ke_signer_connect_error(why, sizeof(why), s->path, errno));
		close(fd);
		schedule_retry(s);
		return;
	}
	if (uv_poll_init(s->loop, &s->poll, fd) != 0) {
		close(fd);
		schedule_retry(s);
		return;
	}
	s->fd = fd;
	s->poll.data = s;
	s->backoff_ms = BACKOFF_MIN_MS;
	metrics_inc(&s->connects);
	uv_poll_start(&s->poll, UV_READABLE | UV_DISCONNECT, on_readable);
	log_info("signer %s: connected", s->path);
}

void ke_signer_init(struct ke_signer *s, uv_loop_t *loop, const char *path, ke_signer_done_fn done)
{
	s->loop = loop;
	s->path = path;
	s->done = done;
	s->fd = -1;
	s->closing = 0;
	s->backoff_ms = BACKOFF_MIN_MS;
	s->num_free = 0;
	for (uint32_t i = KE_SIGN_SLOTS; i-- > 0;) {
		s->slots[i].owner = NULL;
		s->free_slots[s->num_free++] = (uint16_t)i;
	}
	s->num_queued = 0;
	uv_timer_init(loop, &s->retry);
	s->retry.data = s;
	uv_check_init(loop, &s->flush);
	s->flush.data = s;
	try_connect(s);
}

int ke_signer_submit(struct ke_signer *s, void *owner, const uint8_t key_id[KL_KEY_ID_LEN],
                     uint16_t algorithm, const uint8_t *in, size_t in_len, uint32_t *out_ticket)
{
	struct kl_request req;
	struct wbuf w;

	if (s->fd < 0 || s->num_free == 0 || in_len == 0 || in_len > KL_MAX_INPUT) {
		return 0;
	}
	if (s->num_queued == KE_SIGN_QUEUE) {
		flush_queue(s);
		if (s->fd < 0) {
			return 0;
		}
	}
	uint32_t slot = s->free_slots[s->num_free - 1];
	s->seq++;
	req.id = (s->seq << KE_SIGN_SLOT_BITS) | slot;
	req.sent_ns = mono_ns();
	memcpy(req.key_id, key_id, KL_KEY_ID_LEN);
	req.algorithm = algorithm;
	req.input = in;
	req.input_len = in_len;
	wbuf_init(&w, s->queue[s->num_queued], KL_MAX_REQUEST);
	if (!kl_build_request(&w, &req)) {
		return 0;
	}
	s->queue_len[s->num_queued] = w.len;
	s->queue_id[s->num_queued] = req.id;
	if (s->num_queued++ == 0) {
		uv_check_start(&s->flush, on_flush);
	}
	s->num_free--;
	s->slots[slot].owner = owner;
	s->slots[slot].id = req.id;
	*out_ticket = req.id;
	return 1;
}

void ke_signer_cancel(struct ke_signer *s, uint32_t ticket)
{
	uint32_t slot = ticket & (KE_SIGN_SLOTS - 1);
	if (s->slots[slot].owner != NULL && s->slots[slot].id == ticket) {
		release_slot(s, slot);
	}
}

void ke_signer_close(struct ke_signer *s)
{
	s->closing = 1;
	for (uint32_t i = 0; i < KE_SIGN_SLOTS; i++) {
		s->slots[i].owner = NULL;
	}
	if (s->fd >= 0) {
		uv_poll_stop(&s->poll);
		uv_close((uv_handle_t *)&s->poll, NULL);
		close(s->fd);
		s->fd = -1;
	}
	uv_timer_stop(&s->retry);
	uv_close((uv_handle_t *)&s->retry, NULL);
	s->num_queued = 0;
	uv_check_stop(&s->flush);
	uv_close((uv_handle_t *)&s->flush, NULL);
}

const char *ke_signer_connect_error(char *buf, size_t len, const char *path, int e)
{
	if (e != EACCES && e != EPERM) {
		snprintf(buf, len, "%s: cannot connect: %s", path, strerror(e));
		return buf;
	}
	/* the socket is open to all; the directory it is in (RuntimeDirectory,
	 * mode 0750) lets in only nts-signer's group */
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct stat st;
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
	}
	if (stat(dir, &st) == 0) {
		snprintf(buf, len,
		         "%s: cannot connect: %s: this user (uid %u) must be in the signer group, "
		         "the group of %s (gid %u): SupplementaryGroups=nts-signer in the unit "
		         "(docs/signer.md)",
		         path, strerror(e), (unsigned)geteuid(), dir, (unsigned)st.st_gid);
	} else {
		snprintf(buf, len,
		         "%s: cannot connect: %s: this user (uid %u) must be in the signer group "
		         "(SupplementaryGroups=nts-signer in the unit; docs/signer.md)",
		         path, strerror(e), (unsigned)geteuid());
	}
	return buf;
}

int ke_signer_probe(const char *path, uint64_t timeout_ms, const uint8_t key_id[KL_KEY_ID_LEN],
                    uint16_t algorithm, uint8_t *out_status, char *err, size_t err_len)
{
	static const char context[] = "TLS 1.3, server CertificateVerify";
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	uint8_t input[64 + sizeof(context) + 32];
	uint8_t msg[KL_MAX_REQUEST], buf[KL_MAX_REPLY + 1];
	struct kl_request req;
	struct kl_reply rep;
	struct wbuf w;
	int ret = 0;

	memset(input, 0x20, 64);
	memcpy(input + 64, context, sizeof(context)); /* with its zero byte */
	RAND_bytes(input + 64 + sizeof(context), 32); /* the "transcript hash" */
	req.id = 1;
	req.sent_ns = mono_ns();
	memcpy(req.key_id, key_id, KL_KEY_ID_LEN);
	req.algorithm = algorithm;
	req.input = input;
	req.input_len = sizeof(input);
	wbuf_init(&w, msg, sizeof(msg));
	if (!kl_build_request(&w, &req)) {
		snprintf(err, err_len, "%s: cannot build a request", path);
		return 0;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, err_len, "%s: socket: %s", path, strerror(errno));
		return 0;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		ke_signer_connect_error(err, err_len, path, errno);
		goto out;
	}
	if (send(fd, msg, w.len, MSG_NOSIGNAL) != (ssize_t)w.len) {
		snprintf(err, err_len, "%s: send failed: %s", path, strerror(errno));
		goto out;
	}
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	int r;
	do {
		r = poll(&pfd, 1, (int)timeout_ms);
	} while (r < 0 && errno == EINTR);
	if (r == 0) {
		snprintf(err, err_len, "%s: no answer within %u ms", path, (unsigned)timeout_ms);
		goto out;
	}
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
	if (n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE))) {
		snprintf(err, err_len,
		         "%s: the signer closed the connection (is uid %u an 'allowuser' of "
		         "nts-signer?)",
		         path, (unsigned)geteuid());
		goto out;
	}
	if (n < 0) {
		snprintf(err, err_len, "%s: recv: %s", path, strerror(errno));
		goto out;
	}
	CBS cbs;
	CBS_init(&cbs, buf, (size_t)n > sizeof(buf) ? sizeof(buf) : (size_t)n);
	if ((size_t)n > KL_MAX_REPLY || !kl_parse_reply(&rep, &cbs) || rep.id != req.id) {
		snprintf(err, err_len, "%s: malformed reply", path);
		goto out;
	}
	*out_status = rep.status;
	ret = 1;
out:
	close(fd);
	return ret;
}
