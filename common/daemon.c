/*
 * daemon.c: shared daemon glue (see daemon.h).
 */
#include "common/daemon.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

int daemon_drop_privileges(const char *user)
{
	struct passwd *pw = getpwnam(user);
	if (pw == NULL) {
		log_err("no such user %s", user);
		return 0;
	}
	if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
		log_err("cannot drop privileges to %s: %s", user, strerror(errno));
		return 0;
	}
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
