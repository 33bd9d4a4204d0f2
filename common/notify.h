/*
 * notify.h: the systemd readiness protocol (sd_notify) without libsystemd.
 */
#ifndef NTS_NOTIFY_H
#define NTS_NOTIFY_H

#include "common/compiler.h"

/* notify_send sends |state| (e.g. "READY=1") as one datagram to the
 * AF_UNIX socket named by $NOTIFY_SOCKET: a path, or "@name" for the
 * abstract namespace. Returns 1 if it was sent, 0 if $NOTIFY_SOCKET is
 * unset (not started by systemd with Type=notify: nothing to do) and -1
 * on an error (bad variable, socket or send failure; errno is set). */
int notify_send(const char *state) NTS_WUR;

/* notify_ready tells the service manager that the daemon serves. Errors
 * are logged once; a daemon keeps running either way. */
void notify_ready(void);

#endif
