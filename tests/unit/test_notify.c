/* test_notify.c: notify_send against a datagram socket standing in for
 * systemd's, at a path and in the abstract namespace; bad variables. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/notify.h"

#include "tests/unit/testutil.h"

/* listener binds a datagram socket at |name| (leading '@': abstract). */
static int listener(const char *name)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t len = strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || len >= sizeof(sun.sun_path)) {
		return -1;
	}
	memcpy(sun.sun_path, name, len);
	socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	if (name[0] == '@') {
		sun.sun_path[0] = '\0';
	} else {
		alen++;
	}
	if (bind(fd, (struct sockaddr *)&sun, alen) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void expect(int fd, const char *what)
{
	char buf[256];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	CHECK(n >= 0);
	if (n >= 0) {
		CHECK_MEM((const uint8_t *)buf, (size_t)n, (const uint8_t *)what, strlen(what));
	}
}

int main(void)
{
	char dir[] = "/tmp/nts-notify.XXXXXX", path[128], abstract[64];

	unsetenv("NOTIFY_SOCKET");
	CHECK_EQ(notify_send("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	CHECK_EQ(notify_send("READY=1"), 0);

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/notify", dir);
	int fd = listener(path);
	CHECK(fd >= 0);
	setenv("NOTIFY_SOCKET", path, 1);
	CHECK_EQ(notify_send("READY=1"), 1);
	expect(fd, "READY=1");
	CHECK_EQ(notify_send("STATUS=serving\nREADY=1"), 1);
	expect(fd, "STATUS=serving\nREADY=1");
	close(fd);
	unlink(path);
	/* nobody listening any more: an error, not a crash */
	CHECK_EQ(notify_send("READY=1"), -1);
	rmdir(dir);

	snprintf(abstract, sizeof(abstract), "@nts-notify-test-%d", (int)getpid());
	fd = listener(abstract);
	CHECK(fd >= 0);
	setenv("NOTIFY_SOCKET", abstract, 1);
	CHECK_EQ(notify_send("READY=1"), 1);
	expect(fd, "READY=1");
	close(fd);

	setenv("NOTIFY_SOCKET", "relative/path", 1);
	CHECK_EQ(notify_send("READY=1"), -1);
	CHECK_EQ(errno, EINVAL);
	setenv("NOTIFY_SOCKET", "@", 1);
	CHECK_EQ(notify_send("READY=1"), -1);
	char longp[200];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	setenv("NOTIFY_SOCKET", longp, 1);
	CHECK_EQ(notify_send("READY=1"), -1);
	unsetenv("NOTIFY_SOCKET");
	notify_ready(); /* unset: silent no-op */
	return test_summary("notify");
}
