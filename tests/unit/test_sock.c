/*
 * test_sock: sock_open_bound binds UDP and TCP sockets (listening for TCP),
 * runs the caller's set-up first, and fails with the errno of the failed
 * step, closing what it opened.
 */
#include "common/sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <unistd.h>

#include "testutil.h"

static int calls;

static int setup_ok(int fd, int family, void *arg)
{
	(void)fd;
	calls++;
	CHECK_EQ(family, AF_INET);
	CHECK(arg == &calls);
	return 1;
}

static int setup_fail(int fd, int family, void *arg)
{
	(void)fd;
	(void)family;
	(void)arg;
	errno = EPERM;
	return 0;
}

static struct sockaddr_in loopback(uint16_t port)
{
	struct sockaddr_in a = {0};
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

int main(void)
{
	struct sockaddr_in a = loopback(0);
	int types[] = {SOCK_DGRAM, SOCK_STREAM};
	for (size_t i = 0; i < 2; i++) {
		calls = 0;
		int fd = sock_open_bound((struct sockaddr *)&a, sizeof(a), types[i], 16, setup_ok,
		                         &calls);
		CHECK(fd >= 0);
		CHECK_EQ(calls, 1);
		struct sockaddr_in b;
		socklen_t bl = sizeof(b);
		CHECK(getsockname(fd, (struct sockaddr *)&b, &bl) == 0);
		CHECK(b.sin_port != 0);
		CHECK((fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
		CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
		int acc = 0;
		socklen_t al = sizeof(acc);
		CHECK(getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) == 0);
		CHECK_EQ(acc, types[i] == SOCK_STREAM);
		/* a second socket on the same port: SO_REUSEPORT */
		struct sockaddr_in same = loopback(ntohs(b.sin_port));
		int fd2 = sock_open_bound((struct sockaddr *)&same, sizeof(same), types[i], 16,
		                          NULL, NULL);
		CHECK(fd2 >= 0);
		close(fd2);
		close(fd);
	}
	errno = 0;
	CHECK_EQ(sock_open_bound((struct sockaddr *)&a, sizeof(a), SOCK_DGRAM, 0, setup_fail, NULL),
	         (uint64_t)-1);
	CHECK_EQ(errno, EPERM);
	/* TEST-NET-1 is not ours: bind fails, errno from bind */
	struct sockaddr_in far = loopback(0);
	inet_pton(AF_INET, "192.0.2.1", &far.sin_addr);
	errno = 0;
	CHECK_EQ(sock_open_bound((struct sockaddr *)&far, sizeof(far), SOCK_DGRAM, 0, NULL, NULL),
	         (uint64_t)-1);
	CHECK_EQ(errno, EADDRNOTAVAIL);
	return test_summary("sock");
}
