/*
 * worker.c: the KE worker threads: one libuv loop each, with their own
 * SO_REUSEPORT listeners and signer link.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "common/sock.h"
#include "ke-server/conn.h"

static int tcp_setup(int fd, int family, void *arg)
{
	int one = 1;
	int defer_s = *(const int *)arg;
	(void)family;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
		return 0;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_s, sizeof(defer_s));
	return 1;
}

int ke_listen_socket(const struct sockaddr *addr, socklen_t len, unsigned defer_s)
{
	int d = (int)defer_s;
	return sock_open_bound(addr, len, SOCK_STREAM, 1024, tcp_setup, &d);
}

static void on_wakeup(uv_async_t *a)
{
	struct ke_worker *w = a->data;
	if (!atomic_load(&w->srv->stop)) {
		return;
	}
	/* drain: stop accepting; connections in flight finish or hit their
	 * deadline, and the loop ends when the last one is closed */
	for (int i = 0; i < w->num_listeners; i++) {
		uv_close((uv_handle_t *)&w->listeners[i], NULL);
	}
	ke_drain_finish(w);
	uv_close((uv_handle_t *)&w->wakeup, NULL);
}

static void worker_main(void *arg)
{
	struct ke_worker *w = arg;
	uv_run(&w->loop, UV_RUN_DEFAULT);
	uv_loop_close(&w->loop);
}

int ke_worker_start(struct ke_worker *w)
{
	if (uv_loop_init(&w->loop) != 0) {
		return 0;
	}
	uv_async_init(&w->loop, &w->wakeup, on_wakeup);
	w->wakeup.data = w;
	if (w->srv->cfg.signer[0] != '\0') {
		ke_signer_init(&w->signer, &w->loop, w->srv->cfg.signer, ke_keyless_on_signed);
	}
	for (int i = 0; i < w->num_listeners; i++) {
		uv_tcp_init(&w->loop, &w->listeners[i]);
		w->listeners[i].data = w;
		if (uv_tcp_open(&w->listeners[i], w->fds[i]) != 0 ||
		    uv_listen((uv_stream_t *)&w->listeners[i], 1024, ke_on_connection) != 0) {
			return 0;
		}
	}
	if (uv_thread_create(&w->thread, worker_main, w) != 0) {
		return 0;
	}
	w->started = 1;
	return 1;
}
