/*
 * notify.c: sd_notify in a few lines (see notify.h). The protocol is one
 * datagram of newline-separated VAR=VALUE assignments to the socket in
 * $NOTIFY_SOCKET (systemd.service(5) Type=notify, sd_notify(3)).
 */
#include "common/notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"

int notify_send(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t len, state_len = strlen(state);
	int fd, ret = -1;

	if (path == NULL || path[0] == '\0') {
		return 0;
	}
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len < 2 || len > sizeof(sun.sun_path)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(sun.sun_path, path, len);
	if (path[0] == '@') {
		sun.sun_path[0] = '\0'; /* abstract namespace: no terminator */
	} else if (len == sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -1;
	}
	socklen_t alen =
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/' ? 1 : 0));
	if (sendto(fd, state, state_len, MSG_NOSIGNAL, (struct sockaddr *)&sun, alen) ==
	    (ssize_t)state_len) {
		ret = 1;
	}
	int saved = errno;
	close(fd);
	errno = saved;
	return ret;
}

void notify_ready(void)
{
	if (notify_send("READY=1") < 0) {
		log_warn("cannot notify the service manager ($NOTIFY_SOCKET): %s", strerror(errno));
	}
}
