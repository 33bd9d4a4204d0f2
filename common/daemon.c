/*
 * daemon.c: shared daemon glue (see daemon.h).
 */
#include "common/daemon.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/smem.h"
#include "common/version.h"

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
