/*
 * sock.c: open, set up and bind a daemon's socket.
 */
#include "common/sock.h"

#include <errno.h>
#include <netinet/in.h>
#include <unistd.h>

int sock_open_bound(const struct sockaddr *addr, socklen_t len, int type, int backlog,
                    sock_setup_fn setup, void *arg)
{
	int one = 1;
	int fd = socket(addr->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
		goto err;
	}
	if (addr->sa_family == AF_INET6) {
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	if (setup != NULL && !setup(fd, addr->sa_family, arg)) {
		goto err;
	}
	if (bind(fd, addr, len) != 0) {
		goto err;
	}
	if (type == SOCK_STREAM && listen(fd, backlog) != 0) {
		goto err;
	}
	return fd;
err:;
	int e = errno;
	close(fd);
	errno = e;
	return -1;
}
