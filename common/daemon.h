/*
 * daemon.h: what both daemons do the same way around their main loops.
 */
#ifndef NTS_DAEMON_H
#define NTS_DAEMON_H

#include <uv.h>

#include "common/compiler.h"

/* daemon_parse_args reads the command line all three daemons share:
 * "-c FILE" (default |*conf| as passed in), "-d"/"--debug", "--check";
 * anything else (including -h/--help and stray arguments) prints the usage
 * line for |name| and exits with status 2. */
void daemon_parse_args(int argc, char **argv, const char *name, const char **conf, int *out_debug,
                       int *out_check);

/* daemon_drop_privileges switches to |user| (and its group, no
 * supplementary groups); logs and returns 0 on failure. */
int daemon_drop_privileges(const char *user) NTS_WUR;

/* daemon_close_loop closes every handle still open on |loop|, runs it
 * until the close callbacks are done and closes it. Returns 1 if nothing
 * was left behind. */
int daemon_close_loop(uv_loop_t *loop);

#endif
